//! The live Redis feed: one pub/sub connection (agents, activity, Celery events), one
//! sampling connection (queue depths), and the pidbox publisher (enable_events, revoke).
//! Each owns its connection, reconnects by itself and reports its health as `Link` events.

pub mod control;
pub mod master;
mod pubsub;
pub mod queues;
pub mod sampler;

pub use pubsub::LINK;

pub use crate::redis_url::{db_of, host_port};
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

use crate::event::{Event, LinkHealth};
use crate::platform::backoff::Backoff;
use crate::platform::route::Channels;

/// Redis must be noticed gone within 2 s: a PING every second that must answer within one.
/// A silent pub/sub link is found within PING_EVERY + ANSWER_WITHIN; the queue sampler's
/// own round trip every second finds a dead Redis sooner.
pub const PING_EVERY: Duration = Duration::from_secs(3);
pub const ANSWER_WITHIN: Duration = Duration::from_secs(1);
pub const CONNECT_WITHIN: Duration = Duration::from_secs(2);
pub const BACKOFF_FIRST: Duration = Duration::from_millis(500);
pub const BACKOFF_CAP: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct FeedConfig {
    pub url: String,
    pub channels: Channels,
    pub keyprefix: String,
    pub db: u32,
    pub queues: Vec<String>,
    pub discover_queues: bool,
    pub sample_every: Duration,
    pub enable_events_every: Option<Duration>,
    /// Hand the raw messages on with each batch (`Event::WireBatch`), for the flight recorder.
    pub keep_wire: bool,
    /// Wakes the links when the master behind Sentinel moves (never, for one Redis).
    pub moved: master::Moved,
}

pub fn spawn(mut cfg: FeedConfig, tx: Sender<Event>) -> Vec<JoinHandle<()>> {
    // Behind Sentinel, the master is followed first, so every link below moves with it.
    let (moved, follower) = master::spawn(&cfg.url, tx.clone());
    cfg.moved = moved;
    let mut tasks: Vec<JoinHandle<()>> = follower.into_iter().collect();
    tasks.extend(pubsub::spawn(cfg.clone(), tx.clone()));
    tasks.push(tokio::spawn(sampler::run(cfg.clone(), tx.clone())));
    if let Some(every) = cfg.enable_events_every {
        tasks.push(tokio::spawn(control::enable_events_loop(cfg, every, tx)));
    }
    tasks
}

/// One connection's life, again and again: `Connecting` before each attempt, `Up` once
/// `connect` succeeds, then `serve` until it ends with a reason, then `Down` with that reason
/// and the jittered wait before the next attempt. Each attempt is a fresh connection, so
/// subscriptions are never doubled. When the master behind Sentinel moves, the connection is
/// left (it is dropped, so nothing stays subscribed on the old node) and the next attempt
/// starts at once.
pub async fn supervise<C, FC, FS>(
    link: &str,
    tx: &Sender<Event>,
    mut moved: master::Moved,
    mut connect: impl FnMut() -> FC,
    mut serve: impl FnMut(C) -> FS,
) where
    FC: Future<Output = Result<C, String>>,
    FS: Future<Output = String>,
{
    let mut backoff = Backoff::new(BACKOFF_FIRST, BACKOFF_CAP);
    let event = |health| Event::Link {
        name: link.to_string(),
        health,
    };
    loop {
        let _ = tx.send(event(LinkHealth::Connecting)).await;
        let mut moved_now = false;
        let why = match connect().await {
            Err(why) => why,
            Ok(conn) => {
                backoff.reset();
                let _ = tx.send(event(LinkHealth::Up)).await;
                tokio::select! {
                    why = serve(conn) => why,
                    to = moved.next() => {
                        moved_now = true;
                        format!("the master moved to {to}")
                    }
                }
            }
        };
        let wait = if moved_now {
            Duration::ZERO
        } else {
            backoff.next_wait()
        };
        tracing::warn!(link, %why, ?wait, "link down");
        if tx
            .send(event(LinkHealth::Down {
                why,
                retry_in: Some(wait),
            }))
            .await
            .is_err()
        {
            return;
        }
        // A move during the wait (the sentinels promoted a replica while this link could
        // not reach the old master) ends it: the new master is there now.
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = moved.next() => {}
        }
    }
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
