//! The pub/sub reader. Redis cuts a subscriber whose output buffer passes 32 MB, so the socket
//! reader never waits on decoding, the app loop or drawing: it hands raw messages to a
//! decoder task through a queue bounded in bytes, and when that is full it sheds the message
//! and counts it rather than blocking.

use chrono::Utc;
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::mpsc::{self, Sender};
use tokio::task::JoinHandle;

use super::{FeedConfig, PING_EVERY};
use crate::clients::broker::{ANSWER_WITHIN, CONNECT_WITHIN, client, reason};
use crate::event::{Event, Wire};
use crate::platform::route::route;

pub const LINK: &str = crate::event::links::REDIS;
/// Raw bytes waiting for the decoder, at most.
const RAW_BUDGET: usize = 64 * 1024 * 1024;
/// Messages decoded into one batch for the app.
const BATCH: usize = 1024;

struct Shared {
    bytes: AtomicUsize,
    shed: AtomicU64,
}

pub fn spawn(cfg: FeedConfig, tx: Sender<Event>) -> Vec<JoinHandle<()>> {
    let shared = Arc::new(Shared {
        bytes: AtomicUsize::new(0),
        shed: AtomicU64::new(0),
    });
    // Unbounded in count, bounded in bytes by RAW_BUDGET: the reader must never await here.
    let (raw_tx, raw_rx) = mpsc::unbounded_channel::<(String, Vec<u8>)>();
    vec![
        tokio::spawn(read(cfg.clone(), tx.clone(), raw_tx, shared.clone())),
        tokio::spawn(decode(cfg, tx, raw_rx, shared)),
    ]
}

async fn read(
    cfg: FeedConfig,
    tx: Sender<Event>,
    raw: mpsc::UnboundedSender<(String, Vec<u8>)>,
    shared: Arc<Shared>,
) {
    let patterns = cfg.channels.patterns();
    let (raw, shared) = (&raw, &shared);
    super::supervise(
        LINK,
        &tx,
        cfg.moved.clone(),
        || connect(&cfg.url, &patterns),
        move |pubsub| serve(pubsub, raw, shared),
    )
    .await;
}

/// Reads until the connection fails; returns why.
async fn serve(
    pubsub: redis::aio::PubSub,
    raw: &mpsc::UnboundedSender<(String, Vec<u8>)>,
    shared: &Shared,
) -> String {
    let (mut sink, mut stream) = pubsub.split();
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(msg) => {
                    let payload = msg.get_payload_bytes();
                    let used = shared.bytes.fetch_add(payload.len(), Ordering::Relaxed);
                    if used + payload.len() > RAW_BUDGET {
                        shared.bytes.fetch_sub(payload.len(), Ordering::Relaxed);
                        shared.shed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if raw.send((msg.get_channel_name().to_string(), payload.to_vec())).is_err() {
                        return "decoder stopped".into();
                    }
                }
                None => return "connection closed".into(),
            },
            _ = ping.tick() => {
                match tokio::time::timeout(ANSWER_WITHIN, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return reason(&e),
                    Err(_) => return format!("no answer to PING within {} s", ANSWER_WITHIN.as_secs()),
                }
            }
        }
    }
}

async fn connect(url: &str, patterns: &[String]) -> Result<redis::aio::PubSub, String> {
    let attempt = async {
        let client = client(url).await?;
        let mut pubsub = client.get_async_pubsub().await?;
        // A fresh connection each time: subscriptions can never be doubled.
        for p in patterns {
            pubsub.psubscribe(p).await?;
        }
        Ok::<_, redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(CONNECT_WITHIN, attempt).await {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(e)) => Err(reason(&e)),
        Err(_) => Err(format!("no answer within {} s", CONNECT_WITHIN.as_secs())),
    }
}

async fn decode(
    cfg: FeedConfig,
    tx: Sender<Event>,
    mut raw: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    shared: Arc<Shared>,
) {
    let mut buf = Vec::with_capacity(BATCH);
    loop {
        if raw.recv_many(&mut buf, BATCH).await == 0 {
            return;
        }
        let mut items = Vec::with_capacity(buf.len());
        let mut freed = 0;
        for (channel, payload) in &buf {
            freed += payload.len();
            route(&cfg.channels, channel, payload, &mut items);
        }
        shared.bytes.fetch_sub(freed, Ordering::Relaxed);
        let at = Utc::now();
        // With the recorder on, the messages themselves go on with the batch (a move, no
        // copy), so a replay decodes them again with the decoders of its day.
        let ev = if cfg.keep_wire {
            let messages = std::mem::replace(&mut buf, Vec::with_capacity(BATCH));
            Event::WireBatch {
                at,
                items,
                wire: Wire {
                    messages,
                    bytes: freed,
                },
            }
        } else {
            buf.clear();
            Event::FeedBatch { at, items }
        };
        // Waiting here is fine: only this task waits, and the reader sheds meanwhile.
        if tx.send(ev).await.is_err() {
            return;
        }
        let shed = shared.shed.swap(0, Ordering::Relaxed);
        if shed > 0
            && tx
                .send(Event::Shed {
                    feed: LINK.into(),
                    count: shed,
                })
                .await
                .is_err()
        {
            return;
        }
    }
}
