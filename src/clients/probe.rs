//! One probe of one port-map entry, bounded by its timeout: a TCP connect, an HTTP(S) GET, a
//! Redis PING, PostgreSQL `SELECT 1`, the Socket.IO open packet, or a verified TLS handshake
//! with the certificate's days left; from here, or from another host over SSH. The feed
//! (`feeds::probes`) runs one on each entry's interval; `status` runs each once.

use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::Config;
use crate::config::model::ProbeKind;
use crate::platform::links::ProbeOutcome;

/// Why a probe found its port down, by kind; its words are what the Ports pane shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The connection itself: refused, unreachable, reset… (`io_reason`'s words).
    #[error("{0}")]
    Connect(String),
    #[error("HTTP {code} from {path}, expected {want}")]
    Status { code: u16, path: String, want: u16 },
    #[error("HTTP {code} from {path}")]
    ServerError { code: u16, path: String },
    #[error("not an HTTP answer: `{0}`")]
    NotHttp(String),
    /// The TLS set-up or handshake (never skipped): a bad CA file, a bad name, a refusal.
    #[error("{0}")]
    Tls(String),
    /// The service answered, but not as it should (a refused login, a wrong PING answer,
    /// no Engine.IO open packet), or the entry cannot be probed as written.
    #[error("{0}")]
    Service(String),
    /// The SSH host the port is checked from (`probe_via`).
    #[error("{0}")]
    Via(String),
}

#[derive(Debug, Clone)]
pub struct Target {
    pub index: usize,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub kind: ProbeKind,
    pub path: String,
    pub status: Option<u16>,
    /// Credentials or a full URL; never printed.
    pub url: String,
    pub ca_file: String,
    pub interval: Duration,
    pub timeout: Duration,
    /// Checked from another host, over SSH (`probe_via`).
    pub via: Option<Via>,
}

/// An SSH host a port is checked from: one session per host, shared by its ports' probes
/// and opened again when it drops. Host keys are checked as strictly as the executor's.
#[derive(Clone)]
pub struct Via {
    pub name: String,
    host: crate::executor::plan::HostTarget,
    opts: crate::executor::ssh::SshOptions,
    session: Arc<tokio::sync::Mutex<Option<crate::executor::ssh::Session>>>,
}

impl std::fmt::Debug for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Via({})", self.name)
    }
}

impl Via {
    /// A connection to `host:port` made from the SSH host: the port's own answer, from
    /// inside. For HTTP the status is read through it; other kinds are judged on the
    /// connection alone (the tunnel carries bytes, not their protocol's checks).
    async fn reach(
        &self,
        host: &str,
        port: u16,
    ) -> Result<russh::Channel<russh::client::Msg>, ProbeError> {
        let mut slot = self.session.lock().await;
        if slot.as_ref().is_none_or(|s| s.is_closed()) {
            let s = crate::executor::ssh::connect(&self.host, &self.opts)
                .await
                .map_err(|e| ProbeError::Via(format!("via {}: {e}", self.name)))?;
            *slot = Some(s);
        }
        let session = slot.as_ref().expect("connected above");
        match session
            .channel_open_direct_tcpip(host, u32::from(port), "127.0.0.1", 0)
            .await
        {
            Ok(ch) => Ok(ch),
            Err(russh::Error::ChannelOpenFailure(why)) => Err(ProbeError::Via(format!(
                "not reachable from {} ({})",
                self.name,
                channel_failure(why)
            ))),
            Err(e) => {
                // The session itself failed: the next probe connects again.
                *slot = None;
                Err(ProbeError::Via(format!("via {}: {e}", self.name)))
            }
        }
    }
}

fn channel_failure(why: russh::ChannelOpenFailure) -> &'static str {
    match why {
        russh::ChannelOpenFailure::ConnectFailed => "connection refused or unreachable",
        russh::ChannelOpenFailure::AdministrativelyProhibited => "the SSH server forbids tunnels",
        russh::ChannelOpenFailure::ResourceShortage => "the SSH server is short of resources",
        _ => "the SSH server would not open a tunnel",
    }
}

pub fn targets(cfg: &Config) -> Vec<Target> {
    // One SSH session per host that ports are checked from.
    let vias: std::collections::HashMap<String, Via> = cfg
        .executor
        .hosts
        .iter()
        .filter(|h| cfg.ports.iter().any(|p| &p.probe_via == h.name.get_ref()))
        .map(|h| {
            let via = Via {
                name: h.name.get_ref().clone(),
                host: crate::executor::plan::HostTarget::from_config(h),
                opts: crate::executor::ssh::SshOptions::from_config(&cfg.executor),
                session: Default::default(),
            };
            (via.name.clone(), via)
        })
        .collect();
    cfg.ports
        .iter()
        .enumerate()
        .map(|(index, p)| Target {
            via: vias.get(&p.probe_via).cloned(),
            url: phase_two_url(cfg, p).unwrap_or_else(|| p.url.clone()),
            index,
            name: p.name.clone(),
            host: p.host.clone(),
            port: *p.port.get_ref(),
            kind: p.probe,
            path: p.path.clone(),
            status: p.status,
            ca_file: p.ca_file.clone(),
            interval: Duration::from_secs(
                p.interval_secs
                    .as_ref()
                    .map_or(*cfg.probes.interval_secs.get_ref(), |v| *v.get_ref())
                    .max(1),
            ),
            timeout: Duration::from_millis(
                p.timeout_ms
                    .as_ref()
                    .map_or(*cfg.probes.timeout_ms.get_ref(), |v| *v.get_ref())
                    .max(10),
            ),
        })
        .collect()
}

/// With `[prometheus] url` (and `grafana_url`) set, the Prometheus and Grafana rows of the
/// port map are probed where they really are, on their health endpoints, unless the row
/// names a URL of its own.
fn phase_two_url(cfg: &Config, p: &crate::config::model::PortConfig) -> Option<String> {
    if !p.url.is_empty() || !matches!(p.probe, ProbeKind::Http | ProbeKind::Https) {
        return None;
    }
    let (base, health) = match p.name.to_ascii_lowercase().as_str() {
        "prometheus" => (cfg.prometheus.url.as_ref()?, "/-/healthy"),
        "grafana" => (cfg.prometheus.grafana_url.as_ref()?, "/api/health"),
        _ => return None,
    };
    Some(format!("{}{health}", base.get_ref().trim_end_matches('/')))
}

impl Target {
    /// A one-off target outside the port map (a Socket.IO endpoint, say): the rest defaults.
    pub fn adhoc(kind: ProbeKind, host: &str, port: u16, timeout: Duration) -> Target {
        Target {
            index: 0,
            name: String::new(),
            host: host.into(),
            port,
            kind,
            path: "/".into(),
            status: None,
            url: String::new(),
            ca_file: String::new(),
            interval: timeout,
            timeout,
            via: None,
        }
    }
}

/// One probe of one target, bounded by its timeout.
pub async fn probe(t: &Target) -> ProbeOutcome {
    let started = Instant::now();
    let checked = async {
        match &t.via {
            Some(via) => run_via(t, via).await,
            None => run(t).await,
        }
    };
    match tokio::time::timeout(t.timeout, checked).await {
        Err(_) => ProbeOutcome::Down {
            why: format!("no answer in {} ms", t.timeout.as_millis()),
        },
        Ok(Err(why)) => ProbeOutcome::Down {
            why: why.to_string(),
        },
        Ok(Ok(cert_days)) => ProbeOutcome::Up {
            latency: started.elapsed(),
            cert_days,
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
        ConnectionReset => "connection reset".into(),
        UnexpectedEof => "closed without answering".into(),
        _ => e.to_string(),
    }
}

/// `scheme://host[:port]/path` → (tls, host, port, path).
pub fn split_url(url: &str) -> Option<(bool, String, u16, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let tls = matches!(scheme, "https" | "wss");
    let (authority, path) = rest
        .find('/')
        .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() => (h.to_string(), p.parse().ok()?),
        _ => (authority.to_string(), if tls { 443 } else { 80 }),
    };
    Some((
        tls,
        host.trim_matches(['[', ']']).to_string(),
        port,
        path.to_string(),
    ))
}

/// From the SSH host: a connection to the port, and for plain HTTP its status.
async fn run_via(t: &Target, via: &Via) -> Result<Option<i64>, ProbeError> {
    let channel = via.reach(&t.host, t.port).await?;
    if t.kind == ProbeKind::Http {
        let code = http_status(channel.into_stream(), &t.host, &t.path).await?;
        return match t.status {
            Some(want) if code != want => Err(ProbeError::Status {
                code,
                path: t.path.clone(),
                want,
            }),
            None if code >= 500 => Err(ProbeError::ServerError {
                code,
                path: t.path.clone(),
            }),
            _ => Ok(None),
        };
    }
    Ok(None)
}

// Long, on purpose: one arm per probe kind.
async fn run(t: &Target) -> Result<Option<i64>, ProbeError> {
    let (tls, host, port, path) = match split_url(&t.url) {
        Some(u)
            if matches!(
                t.kind,
                ProbeKind::Http | ProbeKind::Https | ProbeKind::Socketio
            ) =>
        {
            u
        }
        _ => (
            t.kind == ProbeKind::Https,
            t.host.clone(),
            t.port,
            t.path.clone(),
        ),
    };
    match t.kind {
        ProbeKind::Tcp => connect(&host, port).await.map(|_| None),
        ProbeKind::Http | ProbeKind::Https => {
            let tcp = connect(&host, port).await?;
            let code = if tls {
                let (stream, _) = tls_connect(tcp, &host, &t.ca_file).await?;
                http_status(stream, &host, &path).await?
            } else {
                http_status(tcp, &host, &path).await?
            };
            match t.status {
                Some(want) if code != want => Err(ProbeError::Status { code, path, want }),
                None if code >= 500 => Err(ProbeError::ServerError { code, path }),
                _ => Ok(None),
            }
        }
        ProbeKind::Tls => {
            let tcp = connect(&host, port).await?;
            let (_, days) = tls_connect(tcp, &host, &t.ca_file).await?;
            Ok(days)
        }
        ProbeKind::Redis => {
            let url = if t.url.is_empty() {
                format!("redis://{host}:{port}")
            } else {
                t.url.clone()
            };
            let mut conn = crate::clients::broker::connect(&url)
                .await
                .map_err(|e| ProbeError::Service(crate::clients::broker::reason(&e)))?;
            let pong: String = redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(|e| ProbeError::Service(crate::clients::broker::reason(&e)))?;
            if pong == "PONG" {
                Ok(None)
            } else {
                Err(ProbeError::Service(format!(
                    "PING answered `{}`",
                    crate::sanitize::clean(&pong, 20)
                )))
            }
        }
        ProbeKind::Postgres => {
            if t.url.is_empty() {
                return Err(ProbeError::Service(
                    "no credentials: set `url = \"postgres://…\"` for this entry".into(),
                ));
            }
            use sqlx::Connection;
            let mut conn = sqlx::postgres::PgConnection::connect(&t.url)
                .await
                .map_err(|e| {
                    ProbeError::Service(crate::sanitize::redact_url(&crate::sanitize::clean(
                        &e.to_string(),
                        200,
                    )))
                })?;
            let one: i32 = sqlx::query_scalar("SELECT 1")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| ProbeError::Service(crate::sanitize::clean(&e.to_string(), 200)))?;
            let _ = conn.close().await;
            if one == 1 {
                Ok(None)
            } else {
                Err(ProbeError::Service("SELECT 1 did not return 1".into()))
            }
        }
        ProbeKind::Socketio => {
            crate::http::ensure_crypto();
            let scheme = if tls { "wss" } else { "ws" };
            let path = if path == "/" {
                "/socket.io/".to_string()
            } else {
                path
            };
            let url = format!("{scheme}://{host}:{port}{path}?EIO=4&transport=websocket");
            let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
                .await
                .map_err(|e| ProbeError::Service(crate::clients::socketio::words(&e)))?;
            use futures_util::{SinkExt, StreamExt};
            let first = ws.next().await;
            let _ = ws
                .send(tokio_tungstenite::tungstenite::Message::text("1"))
                .await;
            match first {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))
                    if matches!(
                        crate::platform::socketio::parse_eio(&t),
                        Ok(crate::platform::socketio::Eio::Open(_))
                    ) =>
                {
                    Ok(None)
                }
                _ => Err(ProbeError::Service("no Engine.IO open packet".into())),
            }
        }
    }
}

async fn connect(host: &str, port: u16) -> Result<TcpStream, ProbeError> {
    TcpStream::connect((host, port))
        .await
        .map_err(|e| ProbeError::Connect(io_reason(&e)))
}

async fn http_status<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    host: &str,
    path: &str,
) -> Result<u16, ProbeError> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: chavion-tui\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    let io = |e: std::io::Error| ProbeError::Connect(io_reason(&e));
    s.write_all(req.as_bytes()).await.map_err(io)?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    // Only the status line matters; read no more than a few KB of anything.
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 4096 {
        let n = s.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().and_then(|c| c.parse().ok())) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => Ok(code),
        _ => Err(ProbeError::NotHttp(crate::sanitize::clean(
            line.lines().next().unwrap_or(""),
            60,
        ))),
    }
}

/// The TLS client configuration for a `ca_file` (empty: the system's roots alone). Built once
/// per file and kept: probes run every few seconds, and the system's trust store is a few
/// hundred files.
fn tls_config(ca_file: &str) -> Result<Arc<rustls::ClientConfig>, ProbeError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static BUILT: OnceLock<Mutex<HashMap<String, Arc<rustls::ClientConfig>>>> = OnceLock::new();
    let cache = BUILT.get_or_init(Default::default);
    if let Some(c) = cache.lock().expect("not poisoned").get(ca_file) {
        return Ok(c.clone());
    }
    let config = build_tls_config(ca_file)?;
    cache
        .lock()
        .expect("not poisoned")
        .insert(ca_file.to_string(), config.clone());
    Ok(config)
}

fn build_tls_config(ca_file: &str) -> Result<Arc<rustls::ClientConfig>, ProbeError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    crate::http::ensure_crypto();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if !ca_file.is_empty() {
        let certs = CertificateDer::pem_file_iter(ca_file)
            .map_err(|e| ProbeError::Tls(format!("cannot read ca_file {ca_file}: {e}")))?;
        for cert in certs {
            roots
                .add(
                    cert.map_err(|e| {
                        ProbeError::Tls(format!("bad certificate in {ca_file}: {e}"))
                    })?,
                )
                .map_err(|e| ProbeError::Tls(format!("unusable CA in {ca_file}: {e}")))?;
        }
    }
    Ok(Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// A verified TLS handshake (never an unverified one), and the leaf certificate's days left.
async fn tls_connect(
    tcp: TcpStream,
    host: &str,
    ca_file: &str,
) -> Result<(tokio_rustls::client::TlsStream<TcpStream>, Option<i64>), ProbeError> {
    let config = tls_config(ca_file)?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| ProbeError::Tls(format!("`{host}` is not a valid TLS server name")))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| {
            ProbeError::Tls(format!(
                "TLS: {}",
                crate::sanitize::clean(&e.to_string(), 160)
            ))
        })?;
    let days = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|leaf| not_after(leaf.as_ref()))
        .map(|end| (end - Utc::now()).num_days());
    Ok((stream, days))
}

/// The `notAfter` of an X.509 certificate, by walking just enough DER:
/// Certificate → tbsCertificate → [version] serial signature issuer validity.
pub fn not_after(der: &[u8]) -> Option<chrono::DateTime<Utc>> {
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *b.first()?;
        let first = *b.get(1)?;
        let (len, head) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 {
                return None;
            }
            let len = b
                .get(2..2 + n)?
                .iter()
                .fold(0usize, |acc, x| (acc << 8) | *x as usize);
            (len, 2 + n)
        };
        let body = b.get(head..head + len)?;
        Some((tag, body, &b[head + len..]))
    }
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut rest = tbs;
    let (tag, _, r) = tlv(rest)?;
    if tag == 0xa0 {
        rest = r; // explicit version
    }
    for _ in 0..3 {
        rest = tlv(rest)?.2; // serial, signature, issuer
    }
    let (_, validity, _) = tlv(rest)?;
    let (_, _, after) = tlv(validity)?; // skip notBefore
    let (tag, time, _) = tlv(after)?;
    let text = std::str::from_utf8(time).ok()?;
    let full = match tag {
        0x17 => format!(
            "{}{}",
            if text[..2].parse::<u32>().ok()? < 50 {
                "20"
            } else {
                "19"
            },
            text
        ),
        0x18 => text.to_string(),
        _ => return None,
    };
    chrono::NaiveDateTime::parse_from_str(full.trim_end_matches('Z'), "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc())
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
            probe(&Target::adhoc(
                ProbeKind::Tcp,
                "127.0.0.1",
                open,
                Duration::from_secs(1)
            ))
            .await,
            ProbeOutcome::Up { .. }
        ));
        assert_eq!(
            probe(&Target::adhoc(
                ProbeKind::Tcp,
                "127.0.0.1",
                closed,
                Duration::from_secs(1)
            ))
            .await,
            ProbeOutcome::Down {
                why: "connection refused".into()
            }
        );
    }

    #[test]
    fn urls_name_their_targets() {
        assert_eq!(
            split_url("https://svc-abc.a.run.app/health"),
            Some((true, "svc-abc.a.run.app".into(), 443, "/health".into()))
        );
        assert_eq!(
            split_url("http://10.0.0.7:5004"),
            Some((false, "10.0.0.7".into(), 5004, "/".into()))
        );
        assert_eq!(
            split_url("wss://u:p@[::1]:8443/socket.io/"),
            Some((true, "::1".into(), 8443, "/socket.io/".into()))
        );
        assert_eq!(split_url("nonsense"), None);
    }
}
