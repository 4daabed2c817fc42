//! The /metrics endpoint: a plain HTTP/1 server (hyper) on an address bound before anything
//! starts, loopback unless the operator said `--metrics-public`. It owns no state: each
//! scrape asks the loop, which renders from its state between two events and answers on a
//! oneshot. A loop that does not answer within the scrape's budget gets a 503, never a hang.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// One scrape waiting for the loop: answer with a snapshot of the state (`answer`).
pub type Scrape = oneshot::Sender<Box<super::Snapshot>>;

/// What the loop does with a scrape: copies what it shows, between two events; the
/// encoding happens on the server's side.
pub fn answer_scrape(scrape: Scrape, state: &crate::app::State) {
    let _ = scrape.send(Box::new(super::Snapshot::of(state)));
}

/// How long a scrape waits for the loop before a 503 (Prometheus's default timeout is 10 s).
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Scrapes waiting at once; more are answered 503 at once.
const WAITING: usize = 8;

/// Where to serve, from `--metrics`: `PORT`, `HOST:PORT` or `[V6]:PORT`. A port alone is
/// on 127.0.0.1. An address off this machine is refused unless `public` (`--metrics-public`).
pub fn parse_addr(text: &str, public: bool) -> Result<SocketAddr, String> {
    let addr = match text.parse::<u16>() {
        Ok(port) => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        Err(_) => text.parse::<SocketAddr>().map_err(|_| {
            format!("--metrics {text:?} is not an address: give PORT, HOST:PORT or [V6]:PORT")
        })?,
    };
    if !addr.ip().is_loopback() && !public {
        return Err(format!(
            "--metrics {addr} would serve the platform's state beyond this machine: bind \
             127.0.0.1 (the default), or add --metrics-public if that is really meant"
        ));
    }
    Ok(addr)
}

/// Binds now, so a port in use is refused before anything starts.
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, String> {
    let l = std::net::TcpListener::bind(addr)
        .map_err(|e| format!("--metrics {addr}: cannot listen there: {e}"))?;
    l.set_nonblocking(true)
        .map_err(|e| format!("--metrics {addr}: {e}"))?;
    Ok(l)
}

/// Connections served at once; more are closed as soon as they are accepted.
pub const MAX_CONNECTIONS: usize = 32;
/// The whole of one connection, from accept to the last byte written: a client that never
/// reads its answer holds it no longer than this. One request a connection (no keep-alive),
/// so this is the deadline of the response, the write included.
pub const RESPONSE_WITHIN: Duration = Duration::from_secs(10);
/// A rendered exposition is shared by every scrape for this long, so concurrent scrapers
/// cost one copy and one render.
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// After an accept error (out of descriptors, say), the pause before accepting again.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The last exposition rendered: one render at a time (the lock is held through it), and
/// shared by reference (`Bytes`) with every response that carries it.
type Cache = std::sync::Arc<tokio::sync::Mutex<Option<(tokio::time::Instant, Bytes)>>>;

/// Serves /metrics on `listener`; each scrape comes to the loop on the receiver.
pub fn spawn(listener: std::net::TcpListener) -> (JoinHandle<()>, mpsc::Receiver<Scrape>) {
    let (tx, rx) = mpsc::channel::<Scrape>(WAITING);
    let task = tokio::spawn(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        let cache = Cache::default();
        let mut failing = false;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => {
                    failing = false;
                    stream
                }
                Err(e) => {
                    // EMFILE and its kind pass: the loop pauses and goes on, never ends.
                    if !failing {
                        tracing::warn!("/metrics: cannot accept a connection: {e}");
                    }
                    failing = true;
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                // Over the cap: closed at once.
                drop(stream);
                continue;
            };
            let (tx, cache) = (tx.clone(), cache.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    answer(req, tx.clone(), cache.clone())
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(RESPONSE_WITHIN)
                    .keep_alive(false)
                    .serve_connection(io, service);
                let _ = tokio::time::timeout(RESPONSE_WITHIN, conn).await;
                drop(slot);
            });
        }
    });
    (task, rx)
}

/// The next scrape of /metrics; never, when none is served.
pub async fn next_scrape(scrapes: &mut Option<mpsc::Receiver<Scrape>>) -> Option<Scrape> {
    match scrapes {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn answer(
    req: Request<Incoming>,
    loop_tx: mpsc::Sender<Scrape>,
    cache: Cache,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let reply = |status: StatusCode, ctype: &'static str, body: Bytes| {
        let mut r = Response::new(Full::new(body));
        *r.status_mut() = status;
        r.headers_mut().insert(
            "content-type",
            hyper::header::HeaderValue::from_static(ctype),
        );
        Ok(r)
    };
    const TEXT: &str = "text/plain; charset=utf-8";
    match (req.method(), req.uri().path()) {
        (&hyper::Method::GET, "/metrics") => {}
        // As celery-exporter serves it: the process answers, whatever the platform's state.
        (&hyper::Method::GET, "/health") => {
            return reply(StatusCode::OK, TEXT, Bytes::from_static(b"ok\n"));
        }
        (&hyper::Method::GET, "/") => {
            return reply(
                StatusCode::OK,
                TEXT,
                Bytes::from_static(b"chavion-tui: metrics at /metrics\n"),
            );
        }
        _ => {
            return reply(
                StatusCode::NOT_FOUND,
                TEXT,
                Bytes::from_static(b"not found: try /metrics\n"),
            );
        }
    }
    match tokio::time::timeout(ANSWER_WITHIN, exposition(&loop_tx, &cache)).await {
        Ok(Ok(text)) => reply(StatusCode::OK, super::CONTENT_TYPE, text),
        Ok(Err(why)) => reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, Bytes::from(why)),
        Err(_) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            Bytes::from_static(b"the control room did not answer in time\n"),
        ),
    }
}

/// The exposition: the cached one while fresh, else one new render (scrapes that arrive
/// during it wait for it and share it).
async fn exposition(loop_tx: &mpsc::Sender<Scrape>, cache: &Cache) -> Result<Bytes, &'static str> {
    let mut held = cache.lock().await;
    if let Some((at, text)) = held.as_ref()
        && at.elapsed() < FRESH_FOR
    {
        return Ok(text.clone());
    }
    let (done, wait) = oneshot::channel();
    if loop_tx.try_send(done).is_err() {
        return Err("busy: too many scrapes at once\n");
    }
    let snapshot = wait.await.map_err(|_| "the control room is going\n")?;
    let text = tokio::task::spawn_blocking(move || Bytes::from(snapshot.render()))
        .await
        .map_err(|_| "the exposition could not be rendered\n")?;
    *held = Some((tokio::time::Instant::now(), text.clone()));
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_alone_is_loopback_and_a_public_address_needs_its_flag() {
        assert_eq!(
            parse_addr("9808", false).unwrap().to_string(),
            "127.0.0.1:9808"
        );
        assert_eq!(
            parse_addr("[::1]:9808", false).unwrap().to_string(),
            "[::1]:9808"
        );
        let no = parse_addr("0.0.0.0:9808", false).unwrap_err();
        assert!(no.contains("--metrics-public"), "{no}");
        assert!(parse_addr("0.0.0.0:9808", true).is_ok());
        assert!(
            parse_addr("localhost:x", false)
                .unwrap_err()
                .contains("not an address")
        );
    }

    async fn get(port: u16, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).await.unwrap();
        text
    }

    /// `/health` as celery-exporter serves it, and a task that never failed has its failed
    /// series at 0 (exception ""), which the community dashboards' success-rate panels need.
    #[tokio::test]
    async fn health_answers_and_a_healthy_task_has_a_zero_failed_series() {
        let km =
            crate::config::keymap::build("default", std::path::Path::new("/nonexistent"), vec![])
                .unwrap();
        let mut state =
            crate::app::State::new(&crate::config::Config::default(), km, chrono::Utc::now());
        state.task_counts.count(
            crate::platform::model::TaskEventKind::Succeeded,
            crate::app::model::task_counts::Labels {
                name: Some("thinking.add"),
                hostname: "w@h",
                queue: Some("thinking"),
                exception: None,
                runtime: Some(0.2),
                wait: None,
            },
        );
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (_server, mut scrapes) = spawn(listener);
        tokio::spawn(async move {
            while let Some(s) = scrapes.recv().await {
                answer_scrape(s, &state);
            }
        });
        let health = get(port, "/health").await;
        assert!(
            health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"),
            "{health}"
        );
        let metrics = get(port, "/metrics").await;
        assert!(
            metrics.contains(
                "celery_task_failed_total{name=\"thinking.add\",hostname=\"h\",exception=\"\",queue_name=\"thinking\"} 0"
            ),
            "{metrics}"
        );
    }
}
