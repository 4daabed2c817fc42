//! Celery's remote control on Redis: a broadcast on the `celery.pidbox` fanout channel.
//! `enable_events` is sent periodically, as Flower does; `revoke` on the operator's word.

use std::time::Duration;
use tokio::sync::mpsc::Sender;

use super::{FeedConfig, sampler};
use crate::event::Event;
use crate::feeds::wire;

/// Publishes one broadcast; returns how many subscribers (workers) received it.
pub async fn broadcast(
    conn: &mut redis::aio::MultiplexedConnection,
    channel: &str,
    method: &str,
    arguments: serde_json::Value,
) -> redis::RedisResult<u64> {
    let body = wire::pidbox_envelope(
        method,
        arguments,
        chrono::Utc::now().timestamp_micros() as f64 / 1e6,
    );
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(body)
        .query_async(conn)
        .await
}

pub async fn enable_events_loop(cfg: FeedConfig, every: Duration, tx: Sender<Event>) {
    let channel = cfg.channels.pidbox.clone();
    let mut conn = None;
    let mut first = true;
    loop {
        if conn.is_none() {
            conn = sampler::connect(&cfg.url).await.ok();
        }
        if let Some(c) = conn.as_mut() {
            // `heartbeat` at start, as Celery's own event receivers do: workers answer with
            // a heartbeat at once, so the fleet shows up without waiting a period.
            let methods: &[&str] = if first {
                &["enable_events", "heartbeat"]
            } else {
                &["enable_events"]
            };
            for m in methods {
                match broadcast(c, &channel, m, serde_json::json!({})).await {
                    Ok(_) => first = false,
                    Err(e) => {
                        tracing::debug!("pidbox {m}: {e}");
                        conn = None;
                        break;
                    }
                }
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(every).await;
    }
}

/// Revokes a task on every worker; with `terminate`, the worker running it kills it.
pub async fn revoke(
    url: &str,
    channel: &str,
    task_id: &str,
    terminate: bool,
) -> Result<String, String> {
    let mut conn = sampler::connect(url).await.map_err(|e| super::reason(&e))?;
    let args = serde_json::json!({"task_id": task_id, "terminate": terminate, "signal": "SIGTERM"});
    let n = broadcast(&mut conn, channel, "revoke", args)
        .await
        .map_err(|e| super::reason(&e))?;
    let what = if terminate { "terminate" } else { "revoke" };
    match n {
        0 => Err(format!(
            "{what} published, but no worker is listening on the control channel"
        )),
        n => Ok(format!("{what} sent to {n} worker(s)")),
    }
}
