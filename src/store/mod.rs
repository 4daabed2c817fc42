//! The audit store: the operators' trail, the dispatch outbox and the activity log.
//! Embedded SQLite (WAL) by default; PostgreSQL when the URL says `postgres://`. Two concrete
//! pools behind one enum, because sqlx's Any driver cannot serve both (no chrono, `?`
//! placeholders that PostgreSQL rejects); `$N` placeholders work on both. Times are epoch
//! milliseconds so the same SQL reads the same on both.

mod shared;
pub use shared::{Settle, SharedStore};

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// Why the store could not be opened or used, in the operator's words; the target is named
/// with its password hidden.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the audit store {target}: {source}")]
    Open { target: String, source: sqlx::Error },
    #[error("migrating {target}: {source}")]
    Migrate {
        target: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("cannot create {dir}: {source}")]
    Dir { dir: String, source: std::io::Error },
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

#[derive(Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    pub at_ms: i64,
    /// OS user.
    pub who: String,
    /// SSH_CLIENT of the session, if any: where the operator came from.
    pub ssh_client: String,
    pub action: String,
    pub target: String,
    /// SHA-256 of the exact payload, so the trail proves what was sent without storing it.
    pub digest: String,
    pub outcome: String,
    pub detail: String,
    /// The context it was confirmed in (`default` without contexts).
    #[serde(default = "default_context")]
    pub context: String,
}

fn default_context() -> String {
    crate::config::contexts::DEFAULT.to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxEntry {
    pub task_id: String,
    pub queue_key: String,
    pub message: String,
    pub sent_event: String,
    pub created_ms: i64,
    pub attempts: i64,
    /// The broker it was confirmed for (`dispatch::Target::broker_id`): only a control room
    /// connected to that broker delivers it.
    pub broker: String,
    /// The context it was confirmed in, for the record (delivery goes by broker).
    pub context: String,
}

/// A dispatch still waiting in the outbox, as `audit --outbox` lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Waiting {
    pub task_id: String,
    pub broker: String,
    pub queue_key: String,
    pub created_ms: i64,
    pub attempts: i64,
    pub last_error: String,
}

/// One executor run, as the trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RunRecord {
    pub started_ms: i64,
    pub ended_ms: i64,
    pub who: String,
    pub ssh_client: String,
    pub runbook: String,
    pub host: String,
    /// user@address:port
    pub login: String,
    /// The exact line the remote shell ran.
    pub command: String,
    /// None when it never ran, or ended without a status (killed by a signal, link lost).
    pub exit_status: Option<i64>,
    pub outcome: String,
    /// The first and last lines of its output.
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredLine {
    pub at_ms: i64,
    pub level: String,
    pub source: String,
    pub message: String,
}

/// Every row read back is cleaned as if it came from the network: a shared PostgreSQL is
/// written by others (another control room, anyone with its password), and what it holds
/// goes to the screen, the shell's output and files.
trait Cleaned {
    fn cleaned(self) -> Self;
}

fn c(text: &mut String, max: usize) {
    *text = crate::sanitize::clean(text, max);
}

fn block(text: &mut String, max: usize) {
    *text = crate::sanitize::clean_lines(text, max);
}

impl Cleaned for AuditRecord {
    fn cleaned(mut self) -> Self {
        for (f, max) in [
            (&mut self.who, 64),
            (&mut self.ssh_client, 64),
            (&mut self.action, 64),
            (&mut self.digest, 128),
            (&mut self.context, 64),
            (&mut self.target, 400),
            (&mut self.outcome, 400),
        ] {
            c(f, max);
        }
        block(&mut self.detail, 4000);
        self
    }
}

impl Cleaned for RunRecord {
    fn cleaned(mut self) -> Self {
        for (f, max) in [
            (&mut self.who, 64),
            (&mut self.ssh_client, 64),
            (&mut self.runbook, 120),
            (&mut self.host, 120),
            (&mut self.login, 200),
            (&mut self.outcome, 400),
        ] {
            c(f, max);
        }
        block(&mut self.command, 4000);
        block(&mut self.output, 8000);
        self
    }
}

impl Cleaned for StoredLine {
    fn cleaned(mut self) -> Self {
        c(&mut self.level, 8);
        c(&mut self.source, 64);
        c(&mut self.message, 4000);
        self
    }
}

impl Cleaned for Waiting {
    fn cleaned(mut self) -> Self {
        c(&mut self.task_id, 64);
        c(&mut self.broker, 200);
        c(&mut self.queue_key, 200);
        c(&mut self.last_error, 400);
        self
    }
}

fn cleaned<T: Cleaned>(rows: Vec<T>) -> Vec<T> {
    rows.into_iter().map(Cleaned::cleaned).collect()
}

/// Runs the same statement on whichever pool this is.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

mod history;
pub use history::HistoryRow;

impl Store {
    /// `target` is a `postgres://` URL, or a path (or `sqlite:` URL) for the embedded store.
    pub async fn open(target: &str) -> Result<Store, StoreError> {
        let redacted = crate::sanitize::redact_url(target);
        let open = |source| StoreError::Open {
            target: redacted.clone(),
            source,
        };
        let migrate = |source| StoreError::Migrate {
            target: redacted.clone(),
            source,
        };
        if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(5))
                .connect(target)
                .await
                .map_err(open)?;
            sqlx::migrate!("migrations/postgres")
                .run(&pool)
                .await
                .map_err(migrate)?;
            return Ok(Store::Postgres(pool));
        }
        let path = target
            .strip_prefix("sqlite://")
            .or_else(|| target.strip_prefix("sqlite:"))
            .unwrap_or(target);
        if let Some(dir) = Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                dir: dir.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(open)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an outbox entry acknowledged to the operator survives a power cut.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        // SQLite has no migration lock (PostgreSQL's migrator takes an advisory one), and
        // turning WAL on wants the file to itself: two processes opening a new store at
        // once (a control room and a shell command) can trip over each other. The loser
        // tries again and finds the winner's work done.
        let mut tries = 0;
        loop {
            let opened = async {
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options.clone())
                    .await
                    .map_err(open)?;
                sqlx::migrate!("migrations/sqlite")
                    .run(&pool)
                    .await
                    .map_err(migrate)?;
                Ok::<_, StoreError>(pool)
            };
            match opened.await {
                Ok(pool) => return Ok(Store::Sqlite(pool)),
                Err(_) if tries < 10 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100 + fastrand::u64(..200))).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "SQLite",
            Store::Postgres(_) => "PostgreSQL",
        }
    }

    pub async fn record(&self, r: &AuditRecord) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO audit (at_ms, who, ssh_client, action, target, digest, outcome, detail, context) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(r.at_ms).bind(&r.who).bind(&r.ssh_client).bind(&r.action).bind(&r.target).bind(&r.digest).bind(&r.outcome).bind(&r.detail).bind(&r.context)
                .execute(pool).await.map(|_| ())
        })
    }

    pub async fn audit_since(&self, since_ms: i64) -> Result<Vec<AuditRecord>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_as::<_, AuditRecord>("SELECT at_ms, who, ssh_client, action, target, digest, outcome, detail, context FROM audit WHERE at_ms >= $1 ORDER BY at_ms, id")
                .bind(since_ms).fetch_all(pool).await
        })
        .map(cleaned)
    }

    pub async fn record_run(&self, r: &RunRecord) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO runs (started_ms, ended_ms, who, ssh_client, runbook, host, login, command, exit_status, outcome, output) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                .bind(r.started_ms).bind(r.ended_ms).bind(&r.who).bind(&r.ssh_client).bind(&r.runbook).bind(&r.host).bind(&r.login).bind(&r.command).bind(r.exit_status).bind(&r.outcome).bind(&r.output)
                .execute(pool).await.map(|_| ())
        })
    }

    pub async fn runs_since(&self, since_ms: i64) -> Result<Vec<RunRecord>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_as::<_, RunRecord>("SELECT started_ms, ended_ms, who, ssh_client, runbook, host, login, command, exit_status, outcome, output FROM runs WHERE started_ms >= $1 ORDER BY started_ms, id")
                .bind(since_ms).fetch_all(pool).await
        })
        .map(cleaned)
    }

    /// Keeps a dispatch until Redis takes it. Idempotent on the task id.
    pub async fn outbox_put(&self, e: &OutboxEntry) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO outbox (task_id, queue_key, message, sent_event, created_ms, broker, context) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (task_id) DO NOTHING")
                .bind(&e.task_id).bind(&e.queue_key).bind(&e.message).bind(&e.sent_event).bind(e.created_ms).bind(&e.broker).bind(&e.context)
                .execute(pool).await.map(|_| ())
        })
    }

    /// The dispatches waiting for `broker`, oldest first: only these may be delivered there.
    pub async fn outbox_pending(&self, broker: &str) -> Result<Vec<OutboxEntry>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_as::<_, OutboxEntry>("SELECT task_id, queue_key, message, sent_event, created_ms, attempts, broker, context FROM outbox WHERE sent_ms IS NULL AND broker = $1 ORDER BY created_ms, task_id")
                .bind(broker).fetch_all(pool).await
        })
    }

    /// Every dispatch still waiting, for whichever broker, oldest first.
    pub async fn outbox_waiting(&self) -> Result<Vec<Waiting>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_as::<_, Waiting>("SELECT task_id, broker, queue_key, created_ms, attempts, last_error FROM outbox WHERE sent_ms IS NULL ORDER BY created_ms, task_id")
                .fetch_all(pool).await
        })
        .map(cleaned)
    }

    /// The newest `limit` dispatches kept in the outbox, sent or not, newest first.
    pub async fn outbox_recent(&self, limit: i64) -> Result<Vec<OutboxEntry>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_as::<_, OutboxEntry>("SELECT task_id, queue_key, message, sent_event, created_ms, attempts, broker, context FROM outbox ORDER BY created_ms DESC, task_id LIMIT $1")
                .bind(limit).fetch_all(pool).await
        })
    }

    /// The exact message a dispatch from a control room sent (or will send), if this store
    /// holds it: a retry sends it again, under a new id.
    pub async fn outbox_message(&self, task_id: &str) -> Result<Option<String>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT message FROM outbox WHERE task_id = $1")
                .bind(task_id).fetch_optional(pool).await
        })
    }

    pub async fn outbox_sent(&self, task_id: &str, at_ms: i64) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE outbox SET sent_ms = $1, attempts = attempts + 1 WHERE task_id = $2")
                .bind(at_ms).bind(task_id).execute(pool).await.map(|_| ())
        })
    }

    pub async fn outbox_failed(&self, task_id: &str, why: &str) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE task_id = $2")
                .bind(why).bind(task_id).execute(pool).await.map(|_| ())
        })
    }

    /// Notes which task each retry sent again, and its new id.
    pub async fn retries_put(
        &self,
        links: &[(String, String)],
        at_ms: i64,
        context: &str,
    ) -> Result<(), sqlx::Error> {
        if links.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO retries (old_id, new_id, at_ms, context) ");
            q.push_values(links.iter().take(500), |mut b, (old, new)| {
                b.push_bind(old.clone()).push_bind(new.clone()).push_bind(at_ms).push_bind(context.to_string());
            });
            q.push(" ON CONFLICT (old_id, new_id) DO NOTHING");
            q.build().execute(pool).await.map(|_| ())
        })
    }

    /// The newest `n` retries, (old id, new id), newest first; ids cleaned (anyone with the
    /// store's password may write them).
    pub async fn retries_recent(&self, n: i64) -> Result<Vec<(String, String)>, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query_as::<_, (String, String)>("SELECT old_id, new_id FROM retries ORDER BY at_ms DESC LIMIT $1")
                .bind(n).fetch_all(pool).await
        })
        .map(|rows| {
            rows.into_iter()
                .map(|(o, n)| (crate::sanitize::clean(&o, 200), crate::sanitize::clean(&n, 200)))
                .collect()
        })
    }

    /// Drops a dispatch that was never delivered from the outbox; false when no waiting
    /// dispatch has that id (a delivered one is history, and stays).
    pub async fn outbox_drop(&self, task_id: &str) -> Result<bool, sqlx::Error> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM outbox WHERE task_id = $1 AND sent_ms IS NULL")
                .bind(task_id).execute(pool).await.map(|r| r.rows_affected() > 0)
        })
    }

    /// Appends a batch in one transaction, then trims to the newest `keep` lines.
    pub async fn activity_append(
        &self,
        lines: &[StoredLine],
        keep: i64,
        context: &str,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for l in lines {
                sqlx::query("INSERT INTO activity (at_ms, level, source, message, context) VALUES ($1, $2, $3, $4, $5)")
                    .bind(l.at_ms).bind(&l.level).bind(&l.source).bind(&l.message).bind(context)
                    .execute(&mut *tx).await?;
            }
            // The context's own newest `keep`: others' lines in a shared store are not counted.
            sqlx::query("DELETE FROM activity WHERE context = $2 AND id < (SELECT id FROM activity WHERE context = $2 ORDER BY id DESC LIMIT 1 OFFSET $1)")
                .bind((keep - 1).max(0)).bind(context).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// The newest `n` lines older than `before_ms`, oldest first: a page of history.
    pub async fn activity_before(
        &self,
        before_ms: i64,
        n: i64,
        context: &str,
    ) -> Result<Vec<StoredLine>, sqlx::Error> {
        let mut lines = on_pool!(self, pool => {
            sqlx::query_as::<_, StoredLine>("SELECT at_ms, level, source, message FROM activity WHERE at_ms < $1 AND context = $3 ORDER BY at_ms DESC, id DESC LIMIT $2")
                .bind(before_ms).bind(n).bind(context).fetch_all(pool).await
        })?;
        lines.reverse();
        Ok(cleaned(lines))
    }

    /// The lines from `from_ms` to `to_ms`, oldest first, at most `n` (the newest kept).
    pub async fn activity_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        n: i64,
        context: &str,
    ) -> Result<Vec<StoredLine>, sqlx::Error> {
        let mut lines = on_pool!(self, pool => {
            sqlx::query_as::<_, StoredLine>("SELECT at_ms, level, source, message FROM activity WHERE at_ms >= $1 AND at_ms <= $2 AND context = $4 ORDER BY at_ms DESC, id DESC LIMIT $3")
                .bind(from_ms).bind(to_ms).bind(n).bind(context).fetch_all(pool).await
        })?;
        lines.reverse();
        Ok(cleaned(lines))
    }

    /// The newest `n` lines, oldest first.
    pub async fn activity_recent(
        &self,
        n: i64,
        context: &str,
    ) -> Result<Vec<StoredLine>, sqlx::Error> {
        let mut lines = on_pool!(self, pool => {
            sqlx::query_as::<_, StoredLine>("SELECT at_ms, level, source, message FROM activity WHERE context = $2 ORDER BY id DESC LIMIT $1")
                .bind(n).bind(context).fetch_all(pool).await
        })?;
        lines.reverse();
        Ok(cleaned(lines))
    }
}

/// Who is at the keyboard: the OS user, and the SSH client they came from.
pub fn operator() -> (String, String) {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(user_of_this_process);
    let ssh = std::env::var("SSH_CLIENT").unwrap_or_default();
    (crate::sanitize::clean(&user, 64), ssh)
}

/// The process's own uid (the owner of /proc/self), named from /etc/passwd when it is
/// listed there: a cron job or a systemd unit has no USER, but it always has a uid.
fn user_of_this_process() -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return "unknown".into();
    };
    name_of_uid(
        uid,
        &std::fs::read_to_string("/etc/passwd").unwrap_or_default(),
    )
    .unwrap_or_else(|| format!("uid {uid}"))
}

fn name_of_uid(uid: u32, passwd: &str) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

pub fn digest(payload: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(payload)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_uid_is_named_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nops:x:1001:1001::/home/ops:/bin/sh\n";
        assert_eq!(super::name_of_uid(1001, passwd).as_deref(), Some("ops"));
        assert_eq!(super::name_of_uid(0, passwd).as_deref(), Some("root"));
        assert_eq!(super::name_of_uid(7, passwd), None);
        // This process has a uid, so it is never "unknown".
        assert_ne!(super::user_of_this_process(), "unknown");
    }
}
