//! Which queues each new worker consumes (`active_queues`), asked so that no number of
//! workers can cost the platform's Redis more than one connection.
//!
//! Anything that can PUBLISH to Redis can announce a worker, so worker events are hostile
//! input. Every new hostname once opened a connection of its own and held it for the ask
//! window: 3 000 fake workers took a real Redis from 4 to 1 005 clients. Now the questions
//! go to one task that owns one connection, gathers the workers waiting, asks up to
//! `BATCH` of them in one broadcast (Celery's `destination` list), and asks at most once
//! every `EVERY`. The waiting list is bounded; a worker turned away is asked again on a
//! later heartbeat (`app::fleet` re-asks a few times), so a flood delays the mapping of real
//! workers but never hurts Redis or this process.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc::{self, Sender};

use crate::clients::broker::{self, pidbox, reason};
use crate::event::Event;

/// Workers named in one broadcast.
pub const BATCH: usize = 64;
/// At most one question this often.
pub const EVERY: Duration = Duration::from_secs(1);
/// Workers waiting to be asked; more are turned away (and counted).
pub const WAITING: usize = 512;
/// How long workers are given to answer one question.
pub const WINDOW: Duration = Duration::from_secs(3);

/// Where the questions go: the first one starts the asking task (in the runtime it is
/// called from), which then lives as long as the control room.
#[derive(Clone, Default)]
pub struct Asker {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    wake: OnceLock<Sender<()>>,
    waiting: Mutex<Waiting>,
    turned_away: AtomicU64,
}

#[derive(Default)]
struct Waiting {
    order: VecDeque<String>,
    names: HashSet<String>,
}

/// What the asking task needs to reach the workers.
#[derive(Clone)]
pub struct Aim {
    pub redis_url: String,
    pub keyprefix: String,
    pub pidbox_channel: String,
}

impl Asker {
    /// Queues `worker` to be asked; its answer (or why there is none) comes back on `tx` as
    /// `Event::WorkerQueues`. A worker already waiting is not queued twice.
    pub fn ask(&self, aim: &Aim, worker: String, tx: &Sender<Event>) {
        {
            let Ok(mut w) = self.inner.waiting.lock() else {
                return;
            };
            if w.names.contains(&worker) {
                return;
            }
            if w.order.len() >= WAITING {
                self.inner.turned_away.fetch_add(1, Ordering::Relaxed);
                return;
            }
            w.names.insert(worker.clone());
            w.order.push_back(worker);
        }
        let wake = self.inner.wake.get_or_init(|| {
            let (wake_tx, wake_rx) = mpsc::channel(1);
            tokio::spawn(asking(self.inner.clone(), aim.clone(), wake_rx, tx.clone()));
            wake_tx
        });
        let _ = wake.try_send(());
    }

    /// Workers not queued because the waiting list was full, since start.
    pub fn turned_away(&self) -> u64 {
        self.inner.turned_away.load(Ordering::Relaxed)
    }

    /// Workers waiting now.
    pub fn waiting(&self) -> usize {
        self.inner.waiting.lock().map_or(0, |w| w.order.len())
    }
}

impl Inner {
    fn take_batch(&self) -> Vec<String> {
        let Ok(mut w) = self.waiting.lock() else {
            return Vec::new();
        };
        let n = w.order.len().min(BATCH);
        let batch: Vec<String> = w.order.drain(..n).collect();
        for b in &batch {
            w.names.remove(b);
        }
        batch
    }
}

/// The one asking task: one connection, one question at a time, at most one per `EVERY`.
async fn asking(inner: Arc<Inner>, aim: Aim, mut wake: mpsc::Receiver<()>, tx: Sender<Event>) {
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    let mut pace = tokio::time::interval(EVERY);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let batch = inner.take_batch();
        if batch.is_empty() {
            if wake.recv().await.is_none() || tx.is_closed() {
                return;
            }
            continue;
        }
        pace.tick().await;
        let answers = ask_batch(&mut conn, &aim, &batch).await;
        // Those that answered are asked their pool's size too (for
        // celery_active_process_count), in one more broadcast.
        let answered: Vec<String> = batch
            .iter()
            .zip(&answers)
            .filter(|(_, a)| a.is_ok())
            .map(|(w, _)| w.clone())
            .collect();
        let pools = ask_pools(&mut conn, &aim, &answered).await;
        for (worker, queues) in batch.into_iter().zip(answers) {
            if tx
                .send(Event::WorkerQueues { worker, queues })
                .await
                .is_err()
            {
                return;
            }
        }
        for (worker, processes) in pools {
            if tx
                .send(Event::WorkerPool { worker, processes })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// The pool size of each of `workers` that says it within the window (`stats`).
async fn ask_pools(
    conn: &mut Option<redis::aio::MultiplexedConnection>,
    aim: &Aim,
    workers: &[String],
) -> Vec<(String, u32)> {
    let Some(c) = conn.as_mut().filter(|_| !workers.is_empty()) else {
        return Vec::new();
    };
    let replies = pidbox::ask(
        c,
        &aim.keyprefix,
        &aim.pidbox_channel,
        "stats",
        serde_json::json!({}),
        workers,
        WINDOW,
    )
    .await
    .unwrap_or_default();
    replies
        .into_iter()
        .filter(|(host, _)| workers.contains(host))
        .filter_map(|(host, said)| pidbox::pool_size(&said).map(|n| (host, n)))
        .collect()
}

/// One broadcast to `batch`; each worker's queues, or why it has none, in the batch's order.
async fn ask_batch(
    conn: &mut Option<redis::aio::MultiplexedConnection>,
    aim: &Aim,
    batch: &[String],
) -> Vec<Result<Vec<String>, crate::event::Failure>> {
    if conn.is_none() {
        match broker::connect(&aim.redis_url).await {
            Ok(c) => *conn = Some(c),
            Err(e) => return vec![Err(reason(&e).into()); batch.len()],
        }
    }
    let Some(c) = conn.as_mut() else {
        return vec![Err("no connection".into()); batch.len()];
    };
    let replies = pidbox::ask(
        c,
        &aim.keyprefix,
        &aim.pidbox_channel,
        "active_queues",
        serde_json::json!({}),
        batch,
        WINDOW,
    )
    .await;
    match replies {
        Ok(replies) => batch
            .iter()
            .map(|w| {
                replies
                    .iter()
                    .find(|(host, _)| host == w)
                    .map(|(_, said)| pidbox::queues_of(said))
                    .ok_or_else(|| format!("no answer within {} s", WINDOW.as_secs()).into())
            })
            .collect(),
        Err(e) => {
            // Asked again on a fresh connection next time.
            *conn = None;
            vec![Err(reason(&e).into()); batch.len()]
        }
    }
}
