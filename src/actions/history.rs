//! The tasks and workers that changed, written to the store's history (`Effect::SaveHistory`),
//! serialized here, off the loop. A store that is not there (the demo, or one still opening)
//! means nothing is written; a failed write is logged, never shown as an alarm.

use crate::event::Event;
use crate::kept::Changed;
use crate::store::HistoryRow;

/// Tasks kept in the history, newest first: four times what memory keeps by default, so
/// a search can reach past the ring.
const KEEP_TASKS: i64 = 200_000;
/// Workers not seen for a day are forgotten.
const KEEP_WORKERS_MS: i64 = 24 * 3600 * 1000;

pub async fn save(ctx: &super::Context, changed: Changed) -> Option<Event> {
    let store = ctx.store.get().await?;
    let rows = tokio::task::spawn_blocking(move || rows_of(&changed))
        .await
        .ok()?;
    let since = crate::store::now_ms() - KEEP_WORKERS_MS;
    if let Err(e) = store
        .history_put(&rows.0, &rows.1, KEEP_TASKS, since, &ctx.target.context)
        .await
    {
        tracing::warn!(error = %e, "task history not written");
    }
    None
}

/// A page of tasks older than `before_ms` whose id or name contains `word`, decoded off
/// the loop.
pub async fn search(
    ctx: &super::Context,
    word: &str,
    before_ms: i64,
) -> Result<Vec<crate::kept::Task>, crate::event::Failure> {
    let Some(store) = ctx.store.get().await else {
        return Err("no store is open".into());
    };
    let bodies = store
        .history_search(
            word,
            before_ms,
            crate::app::model::history::PAGE as i64,
            &ctx.target.context,
        )
        .await
        .map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || {
        bodies
            .iter()
            .filter_map(|b| serde_json::from_str(b).ok())
            .collect()
    })
    .await
    .map_err(|e| e.to_string())
    .map_err(crate::event::Failure::from)
}

fn rows_of(changed: &Changed) -> (Vec<HistoryRow>, Vec<HistoryRow>) {
    let tasks = changed
        .tasks
        .iter()
        .filter_map(|t| {
            Some(HistoryRow {
                key: t.uuid.clone(),
                at_ms: t.updated.timestamp_millis(),
                name: t.fields.name.clone().unwrap_or_default(),
                body: serde_json::to_string(t).ok()?,
            })
        })
        .collect();
    let workers = changed
        .workers
        .iter()
        .filter_map(|w| {
            Some(HistoryRow {
                key: w.hostname.clone(),
                at_ms: w.last_heartbeat.timestamp_millis(),
                name: String::new(),
                body: serde_json::to_string(w).ok()?,
            })
        })
        .collect();
    (tasks, workers)
}
