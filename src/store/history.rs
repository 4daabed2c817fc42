//! Task and worker history: the tasks and workers as last known, written every few seconds
//! by the control room and read back when one starts (docs/RECORDER.md, "History"). On a
//! shared PostgreSQL every control room writes and reads the same history.

use super::Store;

/// One task or worker for the history: its key (task id, hostname), its time, a name to
/// search by, and its JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub key: String,
    pub at_ms: i64,
    pub name: String,
    pub body: String,
}

/// Rows per INSERT: well under SQLite's and PostgreSQL's limits on bound parameters.
const CHUNK: usize = 500;

impl Store {
    /// Upserts the rows (a newer body replaces an older one), then trims the tasks to the
    /// newest `keep_tasks` and forgets workers not seen since `workers_since_ms`.
    pub async fn history_put(
        &self,
        tasks: &[HistoryRow],
        workers: &[HistoryRow],
        keep_tasks: i64,
        workers_since_ms: i64,
        context: &str,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in tasks.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO task_history (context, id, updated_ms, name, body) ");
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(context.to_string()).push_bind(r.key.clone()).push_bind(r.at_ms).push_bind(r.name.clone()).push_bind(r.body.clone());
                });
                q.push(" ON CONFLICT (context, id) DO UPDATE SET updated_ms = excluded.updated_ms, name = excluded.name, body = excluded.body");
                q.build().execute(&mut *tx).await?;
            }
            for chunk in workers.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO worker_history (context, hostname, seen_ms, body) ");
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(context.to_string()).push_bind(r.key.clone()).push_bind(r.at_ms).push_bind(r.body.clone());
                });
                q.push(" ON CONFLICT (context, hostname) DO UPDATE SET seen_ms = excluded.seen_ms, body = excluded.body");
                q.build().execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM task_history WHERE context = $2 AND updated_ms < (SELECT updated_ms FROM task_history WHERE context = $2 ORDER BY updated_ms DESC LIMIT 1 OFFSET $1)")
                .bind(keep_tasks).bind(context).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM worker_history WHERE context = $2 AND seen_ms < $1")
                .bind(workers_since_ms).bind(context).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// The newest `n` tasks' bodies, newest first.
    pub async fn history_tasks(&self, n: i64, context: &str) -> Result<Vec<String>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT body FROM task_history WHERE context = $2 ORDER BY updated_ms DESC LIMIT $1")
                .bind(n).bind(context).fetch_all(pool).await
        })
    }

    /// The bodies of the workers seen since `since_ms`, the newest `n` (a shared store may
    /// hold any number of rows, written by anyone).
    pub async fn history_workers(
        &self,
        since_ms: i64,
        context: &str,
        n: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT body FROM worker_history WHERE seen_ms >= $1 AND context = $2 ORDER BY seen_ms DESC LIMIT $3")
                .bind(since_ms).bind(context).bind(n).fetch_all(pool).await
        })
    }

    /// Tasks older than `before_ms` whose id or name contains `word`, newest first, at most
    /// `n`: the Tasks view's search beyond what is kept in memory.
    pub async fn history_search(
        &self,
        word: &str,
        before_ms: i64,
        n: i64,
        context: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        let like = format!(
            "%{}%",
            word.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        on_pool!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT body FROM task_history WHERE context = $4 AND updated_ms < $1 AND (id LIKE $2 ESCAPE '\\' OR name LIKE $2 ESCAPE '\\') ORDER BY updated_ms DESC LIMIT $3")
                .bind(before_ms).bind(like).bind(n).bind(context).fetch_all(pool).await
        })
    }
}
