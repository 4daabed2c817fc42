//! Plain TCP-connect probes, one task per port-map entry, all concurrent. A probe that
//! hangs costs only its own task: the UI never waits on it.

use chrono::Utc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

use crate::event::{Event, ProbeOutcome};

pub async fn tcp_connect(host: &str, port: u16, timeout: Duration) -> ProbeOutcome {
    let started = Instant::now();
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(_stream)) => ProbeOutcome::Up {
            latency: started.elapsed(),
        },
        Ok(Err(e)) => ProbeOutcome::Down { why: io_reason(&e) },
        Err(_) => ProbeOutcome::Down {
            why: format!("no answer in {} ms", timeout.as_millis()),
        },
    }
}

/// Plain words for the errors operators meet, not Rust's Debug output.
fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        TimedOut => "timed out".into(),
        HostUnreachable => "host unreachable".into(),
        NetworkUnreachable => "network unreachable".into(),
        AddrNotAvailable => "address not available".into(),
        _ => e.to_string(),
    }
}

pub fn spawn(
    targets: Vec<(String, u16)>,
    interval: Duration,
    timeout: Duration,
    tx: Sender<Event>,
) -> Vec<JoinHandle<()>> {
    targets
        .into_iter()
        .enumerate()
        .map(|(index, (host, port))| {
            let tx = tx.clone();
            tokio::spawn(async move {
                // Stagger the first round so eleven probes do not land in the same instant.
                tokio::time::sleep(Duration::from_millis(index as u64 * 20)).await;
                let mut ticker = tokio::time::interval(interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let outcome = tcp_connect(&host, port, timeout).await;
                    if tx
                        .send(Event::Probe {
                            at: Utc::now(),
                            index,
                            outcome,
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn up_for_a_real_listener_and_refused_for_a_closed_port() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().port();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        assert!(matches!(
            tcp_connect("127.0.0.1", open, Duration::from_secs(1)).await,
            ProbeOutcome::Up { .. }
        ));
        assert_eq!(
            tcp_connect("127.0.0.1", closed, Duration::from_secs(1)).await,
            ProbeOutcome::Down {
                why: "connection refused".into()
            }
        );
    }
}
