//! Celery's remote control on Redis: a broadcast on the `celery.pidbox` fanout channel, and
//! questions asked of workers with their replies collected (as `celery inspect` does), on
//! the operator's word or the control room's.

use std::time::Duration;

use crate::platform::wire;

/// Publishes one broadcast; returns how many subscribers (workers) received it.
pub async fn broadcast(
    conn: &mut redis::aio::MultiplexedConnection,
    channel: &str,
    method: &str,
    arguments: serde_json::Value,
) -> redis::RedisResult<u64> {
    let body = wire::pidbox_envelope(
        method,
        arguments,
        chrono::Utc::now().timestamp_micros() as f64 / 1e6,
    );
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(body)
        .query_async(conn)
        .await
}

/// Replies read at most for one question asked of every worker, as many workers as the
/// control room keeps.
pub const MAX_REPLIES: usize = 2_000;

/// Asks workers over the pidbox and collects their replies for `window`, as `celery
/// inspect` does: the reply queue's binding is added first (the worker routes its reply by
/// it), the request published, replies popped, and the queue and binding removed after.
/// Each reply is (worker hostname, what it said).
pub async fn ask(
    conn: &mut redis::aio::MultiplexedConnection,
    keyprefix: &str,
    channel: &str,
    method: &str,
    arguments: serde_json::Value,
    destination: &[String],
    window: Duration,
) -> redis::RedisResult<Vec<(String, serde_json::Value)>> {
    let oid = wire::new_uuid();
    let ticket = wire::new_uuid();
    let queue = format!("{oid}.reply.celery.pidbox");
    let binding = format!("{keyprefix}_kombu.binding.reply.celery.pidbox");
    let member = format!("{oid}\x06\x16\x06\x16{queue}");
    let key = format!("{keyprefix}{queue}");
    let _: i64 = redis::cmd("SADD")
        .arg(&binding)
        .arg(&member)
        .query_async(conn)
        .await?;
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    let body = wire::pidbox_request(method, arguments, destination, &ticket, &oid, now);
    let published: redis::RedisResult<u64> = redis::cmd("PUBLISH")
        .arg(channel)
        .arg(body)
        .query_async(conn)
        .await;
    let mut replies = Vec::new();
    if published.is_ok() {
        let deadline = tokio::time::Instant::now() + window;
        // Every named worker answered: no need to wait out the window. Asked of all, at
        // most `MAX_REPLIES`: anyone may push to the reply queue.
        let enough = match destination.len() {
            0 => MAX_REPLIES,
            n => n,
        };
        while replies.len() < enough {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            // A MultiplexedConnection must not block: pop, and wait a little between tries.
            let popped: Option<Vec<u8>> = redis::cmd("RPOP").arg(&key).query_async(conn).await?;
            match popped {
                Some(raw) => replies.extend(reply_of(&raw)),
                None => tokio::time::sleep(left.min(Duration::from_millis(50))).await,
            }
        }
    }
    let _: redis::RedisResult<i64> = redis::cmd("SREM")
        .arg(&binding)
        .arg(&member)
        .query_async(conn)
        .await;
    let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&key).query_async(conn).await;
    published?;
    Ok(replies)
}

/// One worker's reply (`{"w1@host": …}`) out of its kombu envelope; names cleaned.
fn reply_of(raw: &[u8]) -> Vec<(String, serde_json::Value)> {
    let Ok(body) = crate::platform::decode::kombu_body(raw) else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(&body)
    else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(host, said)| (crate::sanitize::clean(&host, 120), said))
        .collect()
}

/// The queues a worker consumes, from its `active_queues` reply, as the worker detail reads
/// it (names cleaned there); entries without a name are left out.
pub fn queues_of(said: &serde_json::Value) -> Vec<String> {
    let mut d = crate::platform::pidbox::WorkerDetail::default();
    d.apply(crate::platform::pidbox::Inspect::ActiveQueues, said);
    d.queues
        .into_iter()
        .map(|q| q.name)
        .filter(|n| !n.is_empty())
        .collect()
}

/// The processes in a worker's pool, from its `stats` reply: the `pool.processes` list
/// (prefork), else `pool.max-concurrency` (threads, gevent, solo).
pub fn pool_size(said: &serde_json::Value) -> Option<u32> {
    let pool = &said["pool"];
    pool["processes"]
        .as_array()
        .map(|p| p.len() as u32)
        .or_else(|| {
            pool["max-concurrency"]
                .as_u64()
                .map(|n| n.min(u32::MAX as u64) as u32)
        })
}

/// Why a pidbox question or broadcast did not go as sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PidboxError {
    /// What Redis (or the way to it) said, in `reason`'s words.
    #[error("{0}")]
    Redis(String),
    /// A broadcast that no worker heard (what was published).
    #[error("{0} published, but no worker is listening on the control channel")]
    Unheard(String),
}

impl From<redis::RedisError> for PidboxError {
    fn from(e: redis::RedisError) -> PidboxError {
        PidboxError::Redis(super::reason(&e))
    }
}

/// Revokes a task on every worker; with `terminate`, the worker running it kills it.
pub async fn revoke(
    url: &str,
    channel: &str,
    task_id: &str,
    terminate: bool,
    signal: crate::platform::pidbox::KillSignal,
) -> Result<String, PidboxError> {
    let mut conn = super::connect(url).await?;
    let args =
        serde_json::json!({"task_id": task_id, "terminate": terminate, "signal": signal.name()});
    let n = broadcast(&mut conn, channel, "revoke", args).await?;
    let what = if terminate {
        format!("terminate ({})", signal.name())
    } else {
        "revoke".to_string()
    };
    match n {
        0 => Err(PidboxError::Unheard(what)),
        n => Ok(format!("{what} sent to {n} worker(s)")),
    }
}

/// `ask`, on a connection of its own: the one way the actions and the CLI ask workers.
pub async fn call(
    url: &str,
    keyprefix: &str,
    channel: &str,
    method: &str,
    arguments: serde_json::Value,
    destination: &[String],
    window: Duration,
) -> Result<Vec<(String, serde_json::Value)>, PidboxError> {
    let mut conn = super::connect(url).await?;
    ask(
        &mut conn,
        keyprefix,
        channel,
        method,
        arguments,
        destination,
        window,
    )
    .await
    .map_err(PidboxError::from)
}
