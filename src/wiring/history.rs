//! The store's side of a control room: opened in the background with the history it
//! holds (activity lines, tasks, workers, retry links), new activity lines copied to it,
//! and the outbox delivered from it.

use std::time::Duration;
use tokio::sync::mpsc;

use super::{HISTORY_LINES, OUTBOX_EVERY, OUTBOX_IDLE};
use crate::actions;
use crate::app::State;
use crate::event::Event;
use crate::store::{Settle, SharedStore, Store, StoredLine};

/// Opens the audit store at `url` (none without one); a store that cannot be opened is reported
/// and the control room runs without one (dispatches then need Redis up).
pub async fn open_store(url: Option<&str>) -> Result<Option<Store>, crate::store::StoreError> {
    match url {
        None => Ok(None),
        Some(url) => Store::open(url).await.map(Some),
    }
}

/// Opens the store, hands it to the actions, and tells `update` how it went: with the
/// history it holds, or why there is none.
pub(super) async fn open_in_background(
    url: Option<String>,
    max_tasks: usize,
    context: String,
    settle: Settle,
    tx: mpsc::Sender<Event>,
) {
    let event = match open_store(url.as_deref()).await {
        Ok(None) => return settle.to(None),
        Ok(Some(store)) => {
            let lines = store
                .activity_recent(HISTORY_LINES, &context)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!("activity history not read: {e}");
                    Vec::new()
                });
            let (tasks, workers) = restore_history(&store, max_tasks, &context).await;
            match store
                .retries_recent(crate::app::model::retries::KEPT as i64)
                .await
            {
                Ok(mut links) if !links.is_empty() => {
                    links.reverse();
                    let _ = tx.send(Event::RetryLinks(links)).await;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("the retries' links not read: {e}"),
            }
            settle.to(Some(store));
            Event::StoreOpened {
                lines,
                tasks,
                workers,
            }
        }
        Err(why) => {
            settle.to(None);
            Event::ActionDone {
                what: "audit store".into(),
                outcome: Err(why.to_string().into()),
            }
        }
    };
    let _ = tx.send(event).await;
}

/// The newest `max_tasks` tasks and the workers seen in the last hour, as last saved,
/// decoded off the loop. A body that no longer reads (an older version's) is skipped.
pub async fn restore_history(
    store: &Store,
    max_tasks: usize,
    context: &str,
) -> (Vec<crate::kept::Task>, Vec<crate::kept::Worker>) {
    let (tasks, workers) = match (
        store.history_tasks(max_tasks as i64, context).await,
        worker_rows(store, context).await,
    ) {
        (Ok(t), Ok(w)) => (t, w),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("task history not read: {e}");
            return (Vec::new(), Vec::new());
        }
    };
    tokio::task::spawn_blocking(move || {
        (
            tasks
                .iter()
                .filter_map(|b| serde_json::from_str(b).ok())
                .collect(),
            workers
                .iter()
                .filter_map(|b| serde_json::from_str(b).ok())
                .collect(),
        )
    })
    .await
    .unwrap_or_default()
}

/// The workers seen in the last hour, as last saved (their JSON), the newest
/// `MAX_WORKERS`: the ones a control room or `status` should hear from.
async fn worker_rows(store: &Store, context: &str) -> Result<Vec<String>, sqlx::Error> {
    let hour_ago = crate::store::now_ms() - 3_600_000;
    store
        .history_workers(hour_ago, context, crate::app::state::MAX_WORKERS as i64)
        .await
}

/// The workers seen in the last hour, decoded: those `status` should hear from.
pub async fn restore_workers(store: &Store, context: &str) -> Vec<crate::kept::Worker> {
    match worker_rows(store, context).await {
        Ok(bodies) => bodies
            .iter()
            .filter_map(|b| serde_json::from_str(b).ok())
            .collect(),
        Err(e) => {
            tracing::warn!("worker history not read: {e}");
            Vec::new()
        }
    }
}

/// Delivers what the outbox holds, every few seconds, and says what it delivered.
pub async fn outbox(ctx: actions::Context, tx: mpsc::Sender<Event>) {
    let Some(store) = ctx.store.get().await else {
        return;
    };
    // What waits for other brokers is said once per change, not every round.
    let mut told: Option<String> = None;
    loop {
        let elsewhere = crate::actions::dispatch::waiting_elsewhere(&ctx.target, &store).await;
        if elsewhere != told {
            if let Some(words) = &elsewhere {
                let event = Event::ActionDone {
                    what: "outbox".into(),
                    outcome: Ok(words.clone()),
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
            told = elsewhere;
        }
        let waiting = match crate::actions::drain_audited(&ctx, &store).await {
            Ok(drained) => {
                for (task_id, _) in drained.delivered {
                    if tx.send(Event::OutboxDelivered { task_id }).await.is_err() {
                        return;
                    }
                }
                drained.waiting.is_some()
            }
            // The store itself failed: try again later, as for a Redis that is away.
            Err(e) => {
                tracing::warn!("outbox: {e}");
                true
            }
        };
        // While something waits, try every OUTBOX_EVERY; with nothing waiting, rest until a
        // dispatch is queued locally (or OUTBOX_IDLE, for another control room's entries).
        if waiting {
            tokio::time::sleep(OUTBOX_EVERY).await;
        } else {
            let _ = tokio::time::timeout(OUTBOX_IDLE, ctx.outbox_wake.notified()).await;
        }
    }
}

/// Copies new activity lines to the store in batches, at most once a second.
pub(super) async fn persist_activity(
    store: SharedStore,
    keep: i64,
    context: String,
    mut lines: mpsc::Receiver<StoredLine>,
) {
    // Lines wait in the channel while the store opens; with no store they are let go.
    let Some(store) = store.get().await else {
        return;
    };
    let mut batch = Vec::new();
    while lines.recv_many(&mut batch, 1024).await > 0 {
        if let Err(e) = store.activity_append(&batch, keep, &context).await {
            tracing::warn!("activity not stored: {e}");
        }
        batch.clear();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Hands the activity lines `update` appended since `persisted` to the store writer; never
/// waits (a full channel drops lines from the store, not from the screen). Returns the new
/// mark.
pub fn hand_over_new_lines(state: &State, persisted: u64, tx: &mpsc::Sender<StoredLine>) -> u64 {
    let log = &state.activity;
    let new = (log.total - persisted).min(log.lines.len() as u64) as usize;
    for l in log.lines.iter().skip(log.lines.len() - new) {
        let _ = tx.try_send(StoredLine {
            at_ms: l.at.timestamp_millis(),
            level: l.level.label().to_string(),
            source: l.source.clone(),
            message: l.message.clone(),
        });
    }
    log.total
}
