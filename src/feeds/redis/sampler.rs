//! Queue depth, sampled in one pipelined round trip: LLEN of the four priority sub-queues of
//! every queue (kombu's `_size`), plus the reserved and ETA tasks parked in `unacked`, split
//! per queue. Queues come from the config and from kombu's bindings.

use chrono::Utc;
use std::collections::BTreeSet;
use tokio::sync::mpsc::Sender;

use super::FeedConfig;
use crate::clients::broker::queues::{discover, sample};
use crate::clients::broker::{connect, reason};
use crate::event::Event;
use crate::platform::model::FeedItem;

pub const LINK: &str = crate::event::links::QUEUES;
/// Above this many unacked messages, only the total is fetched, not the per-queue split.
const UNACKED_DETAIL_MAX: u64 = 2_000;
/// Rediscover queues every this many samples.
const DISCOVER_EVERY: u64 = 10;
/// Queues sampled at most: the configured ones and the first found beyond them.
pub const MAX_QUEUES: usize = 500;
pub async fn run(cfg: FeedConfig, tx: Sender<Event>) {
    let (cfg, tx_ref) = (&cfg, &tx);
    super::supervise(
        LINK,
        &tx,
        cfg.moved.clone(),
        || async { connect(&cfg.url).await.map_err(|e| reason(&e)) },
        move |mut conn| async move { sample_forever(cfg, &mut conn, tx_ref).await },
    )
    .await;
}

async fn sample_forever(
    cfg: &FeedConfig,
    conn: &mut redis::aio::MultiplexedConnection,
    tx: &Sender<Event>,
) -> String {
    let mut queues: BTreeSet<String> = cfg.queues.iter().cloned().collect();
    let mut every = tokio::time::interval(cfg.sample_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut n: u64 = 0;
    let mut unacked_total: u64 = 0;
    loop {
        every.tick().await;
        if cfg.discover_queues && n.is_multiple_of(DISCOVER_EVERY) {
            match discover(conn, &cfg.keyprefix).await {
                Ok(found) => {
                    // Anyone who can write a binding names a queue: the set stays bounded.
                    for q in found {
                        if queues.len() >= MAX_QUEUES {
                            break;
                        }
                        queues.insert(q);
                    }
                }
                Err(e) => return reason(&e),
            }
        }
        n += 1;
        match sample(
            conn,
            &cfg.keyprefix,
            &queues,
            unacked_total <= UNACKED_DETAIL_MAX,
        )
        .await
        {
            Ok((samples, total)) => {
                unacked_total = total;
                if tx
                    .send(Event::Feed {
                        at: Utc::now(),
                        item: Box::new(FeedItem::Queues(samples)),
                    })
                    .await
                    .is_err()
                {
                    return "control room closed".into();
                }
            }
            Err(e) => return reason(&e),
        }
    }
}
