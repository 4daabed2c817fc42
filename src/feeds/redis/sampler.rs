//! Queue depth, sampled in one pipelined round trip: LLEN of the four priority sub-queues of
//! every queue (kombu's `_size`), plus the reserved and ETA tasks parked in `unacked`, split
//! per queue. Queues come from the config and from kombu's bindings.

use chrono::Utc;
use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::mpsc::Sender;

use super::{ANSWER_WITHIN, CONNECT_WITHIN, FeedConfig, reason};
use crate::event::Event;
use crate::platform::model::{FeedItem, QueueSample};

pub const LINK: &str = crate::event::links::QUEUES;
/// kombu's PRIORITY_STEPS and separator: sub-queue keys are `queue`, `queue\x06\x163`, ….
pub const PRIORITY_STEPS: [u8; 4] = [0, 3, 6, 9];
pub const SEP: &str = "\x06\x16";
/// Above this many unacked messages, only the total is fetched, not the per-queue split.
const UNACKED_DETAIL_MAX: u64 = 2_000;
/// Rediscover queues every this many samples.
const DISCOVER_EVERY: u64 = 10;
/// Queues sampled at most: the configured ones and the first found beyond them.
pub const MAX_QUEUES: usize = 500;
/// Bound on binding keys read per discovery.
const MAX_BINDINGS: usize = 10_000;

pub fn sub_queue_key(prefix: &str, queue: &str, step: u8) -> String {
    if step == 0 {
        format!("{prefix}{queue}")
    } else {
        format!("{prefix}{queue}{SEP}{step}")
    }
}

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

pub async fn connect(url: &str) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let client = super::client(url).await?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_WITHIN))
        .set_response_timeout(Some(ANSWER_WITHIN));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
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

/// One round trip: 4 LLENs per queue, HLEN unacked and, when small enough, HVALS unacked.
pub async fn sample(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    queues: &BTreeSet<String>,
    detail: bool,
) -> redis::RedisResult<(Vec<QueueSample>, u64)> {
    let mut pipe = redis::pipe();
    for q in queues {
        for step in PRIORITY_STEPS {
            pipe.cmd("LLEN").arg(sub_queue_key(prefix, q, step));
        }
    }
    let unacked = format!("{prefix}unacked");
    pipe.cmd("HLEN").arg(&unacked);
    if detail {
        pipe.cmd("HVALS").arg(&unacked);
    }
    let values: Vec<redis::Value> = pipe.query_async(conn).await?;
    let int = |v: &redis::Value| -> u64 {
        match v {
            redis::Value::Int(i) => (*i).max(0) as u64,
            _ => 0,
        }
    };
    let per_queue = PRIORITY_STEPS.len();
    let total_unacked = values.get(queues.len() * per_queue).map(int).unwrap_or(0);
    let mut reserved: BTreeMap<String, u64> = BTreeMap::new();
    if let Some(redis::Value::Array(entries)) = values.get(queues.len() * per_queue + 1) {
        for entry in entries {
            if let redis::Value::BulkString(bytes) = entry
                && let Ok((_, _, routing_key)) =
                    serde_json::from_slice::<(serde::de::IgnoredAny, String, String)>(bytes)
            {
                *reserved.entry(routing_key).or_default() += 1;
            }
        }
    }
    let samples = queues
        .iter()
        .enumerate()
        .map(|(i, q)| QueueSample {
            // The key is used as Redis has it; the name shown is cleaned: a binding's
            // name is anyone's text (an escape sequence in it must not reach a terminal).
            queue: crate::sanitize::clean(q, 120),
            depth: values[i * per_queue..(i + 1) * per_queue]
                .iter()
                .map(int)
                .sum(),
            reserved: reserved.get(q).copied().unwrap_or(0),
        })
        .collect();
    Ok((samples, total_unacked))
}

/// Queues bound in kombu's routing table: members of `_kombu.binding.<exchange>` are
/// `routing_key\x06\x16pattern\x06\x16queue`. Control and event exchanges are skipped.
pub async fn discover(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
) -> redis::RedisResult<Vec<String>> {
    let pattern = format!("{prefix}_kombu.binding.*");
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        cursor = next;
        if cursor == 0 || keys.len() >= MAX_BINDINGS {
            break;
        }
    }
    let binding_prefix = format!("{prefix}_kombu.binding.");
    keys.retain(|k| {
        let exchange = k.strip_prefix(&binding_prefix).unwrap_or(k);
        !(exchange.ends_with("pidbox") || exchange == "celeryev")
    });
    let mut queues = Vec::new();
    for key in keys {
        let members: Vec<String> = redis::cmd("SMEMBERS").arg(&key).query_async(conn).await?;
        for m in members {
            if let Some(q) = m.split(SEP).nth(2).filter(|q| !q.is_empty()) {
                queues.push(q.to_string());
            }
        }
    }
    queues.sort();
    queues.dedup();
    Ok(queues)
}
