//! The live Redis feed: one pub/sub connection (agents, activity, Celery events), one
//! sampling connection (queue depths), and the pidbox publisher (enable_events, revoke).
//! Each owns its connection, reconnects by itself and reports its health as `Link` events.

pub mod control;
mod pubsub;
pub mod queues;
pub mod sampler;

pub use pubsub::LINK;

pub use crate::redis_url::{db_of, host_port};
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

use super::backoff::Backoff;
use super::route::Channels;
use crate::event::{Event, LinkHealth};

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
}

pub fn spawn(cfg: FeedConfig, tx: Sender<Event>) -> Vec<JoinHandle<()>> {
    let mut tasks = pubsub::spawn(cfg.clone(), tx.clone());
    tasks.push(tokio::spawn(sampler::run(cfg.clone(), tx.clone())));
    if let Some(every) = cfg.enable_events_every {
        tasks.push(tokio::spawn(control::enable_events_loop(cfg, every, tx)));
    }
    tasks
}

/// One connection's life, again and again: `Connecting` before each attempt, `Up` once
/// `connect` succeeds, then `serve` until it ends with a reason, then `Down` with that reason
/// and the jittered wait before the next attempt. Each attempt is a fresh connection, so
/// subscriptions are never doubled.
pub async fn supervise<C, FC, FS>(
    link: &str,
    tx: &Sender<Event>,
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
        let why = match connect().await {
            Err(why) => why,
            Ok(conn) => {
                backoff.reset();
                let _ = tx.send(event(LinkHealth::Up)).await;
                serve(conn).await
            }
        };
        let wait = backoff.next_wait();
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
        tokio::time::sleep(wait).await;
    }
}

/// Plain words for a Redis error, never the URL (it may carry a password).
pub fn reason(e: &redis::RedisError) -> String {
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
