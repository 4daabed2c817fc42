//! The one TLS set-up and the one HTTP client: rustls with the ring provider (no aws-lc,
//! so one TLS stack and no cmake), installed once per process before the first handshake;
//! reqwest over it for webhooks and Prometheus's HTTP API. Certificates are always verified
//! against the system's roots: there is no switch to skip it.

use std::time::Duration;

/// rustls needs a process-wide crypto provider before the first TLS handshake.
pub fn ensure_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Why an HTTP answer was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("no HTTP client: {0}")]
    NoClient(String),
    /// Past the cap (in KB): whoever answers may stream for ever.
    #[error("the answer is longer than {0} KB: not read")]
    TooLong(usize),
    #[error("the answer was cut short")]
    CutShort,
}

/// An HTTP client whose every request, connecting included, ends within `timeout`.
pub fn client(timeout: Duration) -> Result<reqwest::Client, HttpError> {
    ensure_crypto();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("chavion-tui/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HttpError::NoClient(e.to_string()))
}

/// The most of an HTTP answer's body read: Prometheus's `query_range` for a panel's four
/// series of 61 points is a few KB; anything that goes on past this is not an answer.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// An answer's body, read chunk by chunk and refused past `max` bytes: whoever listens on the
/// address (any local user can bind 9090 while Prometheus is down) may stream for ever.
pub async fn body_capped(mut reply: reqwest::Response, max: usize) -> Result<Vec<u8>, HttpError> {
    if reply.content_length().is_some_and(|n| n > max as u64) {
        return Err(HttpError::TooLong(max / 1024));
    }
    let mut body = Vec::new();
    while let Some(chunk) = reply.chunk().await.map_err(|_| HttpError::CutShort)? {
        if body.len() + chunk.len() > max {
            return Err(HttpError::TooLong(max / 1024));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
