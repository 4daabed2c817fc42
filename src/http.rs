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

/// An HTTP client whose every request, connecting included, ends within `timeout`.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    ensure_crypto();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("chavion-tui/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))
}
