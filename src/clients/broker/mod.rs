//! The platform's Redis, Celery's broker: every connection to it is opened here (plain,
//! TLS with the system's or the config's CA, or through Sentinel to the master of the
//! moment), with its errors said in plain words that never carry the URL. `pidbox` asks and
//! commands the workers; `queues` reads and changes what waits.

pub mod pidbox;
pub mod queues;

use std::time::Duration;

pub use crate::redis_url::{db_of, host_port};

/// How long a connection may take, and an answer.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(2);
pub const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// A connection (multiplexed: one socket, many callers) to the Redis `url` names.
pub async fn connect(url: &str) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let client = client(url).await?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_WITHIN))
        .set_response_timeout(Some(ANSWER_WITHIN));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// A client for the Redis a URL names. Behind Sentinel, the sentinels are asked which node
/// is the master now (and the node is asked whether it thinks so too) at every connection,
/// so every feed, sample, order and dispatch that connects after a failover reaches the new
/// master. The redis crate's `sentinel` feature does the asking.
pub async fn client(url: &str) -> redis::RedisResult<redis::Client> {
    if url.starts_with("rediss://") {
        return tls_client(url);
    }
    if !crate::redis_url::is_sentinel(url) {
        return redis::Client::open(url);
    }
    let s = crate::redis_url::sentinel(url).map_err(|why| {
        redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "sentinel URL", why))
    })?;
    let mut sentinel = redis::sentinel::Sentinel::build(sentinel_nodes(&s))?;
    let mut node = redis::RedisConnectionInfo::default().set_db(s.db.into());
    if let Some(user) = &s.username {
        node = node.set_username(user);
    }
    if let Some(pw) = &s.password {
        node = node.set_password(pw);
    }
    let info =
        redis::sentinel::SentinelNodeConnectionInfo::default().set_redis_connection_info(node);
    match tokio::time::timeout(
        CONNECT_WITHIN,
        sentinel.async_master_for(&s.master_name, Some(&info)),
    )
    .await
    {
        Ok(found) => found,
        Err(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "no sentinel named the master in time",
        ))),
    }
}

/// `rediss://` (Memorystore with TLS): the server's certificate is verified against the
/// system's roots, or against the config's `ca_file` alone when one is given. There is no
/// way to skip the check: a URL that asks (`#insecure`) is refused.
fn tls_client(url: &str) -> redis::RedisResult<redis::Client> {
    let refuse =
        |why: String| redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "TLS", why));
    crate::http::ensure_crypto();
    let (url, ca_file) = crate::redis_url::take_ca(url);
    if url.contains("#insecure") {
        return Err(refuse(
            "#insecure asks to skip the certificate check, which is never done".into(),
        ));
    }
    match ca_file {
        None => redis::Client::open(url),
        Some(path) => {
            let pem = std::fs::read(&path)
                .map_err(|e| refuse(format!("cannot read the CA file {path}: {e}")))?;
            redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                },
            )
        }
    }
}

/// The sentinels as the redis crate takes them, with their own password if they have one.
pub fn sentinel_nodes(s: &crate::redis_url::SentinelUrl) -> Vec<redis::ConnectionInfo> {
    use redis::IntoConnectionInfo;
    s.nodes
        .iter()
        .filter_map(|(host, port)| {
            let info = redis::ConnectionAddr::Tcp(host.clone(), *port)
                .into_connection_info()
                .ok()?;
            let mut settings = redis::RedisConnectionInfo::default();
            if let Some(pw) = &s.sentinel_password {
                settings = settings.set_password(pw);
            }
            Some(info.set_redis_settings(settings))
        })
        .collect()
}

/// Plain words for a Redis error, never the URL (it may carry a password).
pub fn reason(e: &redis::RedisError) -> String {
    // A TLS refusal is an I/O error to the redis crate; it must read as what it is.
    let text = e.to_string();
    if let Some(i) = text.find("invalid peer certificate") {
        return format!(
            "TLS refused: the server's certificate is not trusted ({})",
            crate::sanitize::clean(&text[i + "invalid peer certificate".len()..], 80)
                .trim_start_matches([':', ' '])
        );
    }
    if e.is_connection_refusal() {
        return "connection refused".into();
    }
    if e.is_timeout() {
        return "timed out".into();
    }
    if e.is_connection_dropped() || e.is_io_error() {
        return "connection lost".into();
    }
    crate::sanitize::clean(&e.to_string(), 120)
}
