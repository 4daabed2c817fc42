//! The live Redis feed: one pub/sub connection (agents, activity, Celery events), one
//! sampling connection (queue depths), and the pidbox's `enable_events` switch. Each owns
//! its connection (opened by `clients::broker`), reconnects by itself and reports its
//! health as `Link` events.

pub mod events_switch;
pub mod master;
mod pubsub;
pub mod sampler;

pub use pubsub::LINK;

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
        tasks.push(tokio::spawn(events_switch::enable_events_loop(
            cfg, every, tx,
        )));
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
