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

/// Serves /metrics on `listener`; each scrape comes to the loop on the receiver.
pub fn spawn(listener: std::net::TcpListener) -> (JoinHandle<()>, mpsc::Receiver<Scrape>) {
    let (tx, rx) = mpsc::channel::<Scrape>(WAITING);
    let task = tokio::spawn(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| answer(req, tx.clone()));
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(io, service)
                    .await;
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
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let reply = |status: StatusCode, ctype: &'static str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
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
        (&hyper::Method::GET, "/") => {
            return reply(
                StatusCode::OK,
                TEXT,
                "chavion-tui: metrics at /metrics\n".into(),
            );
        }
        _ => {
            return reply(
                StatusCode::NOT_FOUND,
                TEXT,
                "not found: try /metrics\n".into(),
            );
        }
    }
    let (done, wait) = oneshot::channel();
    if loop_tx.try_send(done).is_err() {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            "busy: too many scrapes at once\n".into(),
        );
    }
    let rendered = async {
        let snapshot = wait.await.ok()?;
        tokio::task::spawn_blocking(move || snapshot.render())
            .await
            .ok()
    };
    match tokio::time::timeout(ANSWER_WITHIN, rendered).await {
        Ok(Some(text)) => reply(StatusCode::OK, super::CONTENT_TYPE, text),
        _ => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            "the control room did not answer in time\n".into(),
        ),
    }
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
}
