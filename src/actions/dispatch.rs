//! Dispatch: a real Celery protocol v2 message on the agent's queue (on the sub-queue for
//! its priority), plus the task-sent event, delivered exactly once.
//!
//! Never lost, never twice:
//! 1. The message is written to the outbox in the audit store first (SQLite with
//!    synchronous=FULL, or PostgreSQL), before Redis is touched.
//! 2. Delivery is one Lua script, atomic on the Redis side: `SET chavion:dispatched:<id> NX`
//!    and, only if that key was new, `LPUSH` the message, `SADD` the queue's binding and
//!    `PUBLISH` the task-sent event. A second delivery of the same id finds the key and pushes
//!    nothing.
//! 3. Only then is the outbox row marked sent.
//!
//! A crash between 2 and 3 leaves the row pending; the outbox delivers it again on the next
//! start, the script finds the key, and no second copy reaches a worker. The key lives for
//! 7 days and sits in the same Redis as the queue, so the message and the proof that it was
//! pushed are kept (or lost, if Redis loses data) together.

use crate::clients::broker::{self, reason};
pub use crate::event::{Delivery, Place};
use crate::platform::wire::{self, TaskRequest};
use crate::store::{OutboxEntry, Store, now_ms};

pub const DEDUPE_TTL_SECS: u64 = 7 * 24 * 3600;

/// Why a dispatch was not delivered nor kept, in the operator's words.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("cannot write the outbox: {0}")]
    Outbox(#[source] sqlx::Error),
    #[error("sent, but cannot mark the outbox: {0}")]
    Mark(#[source] sqlx::Error),
    #[error("Redis unreachable ({0}) and no audit store to keep it in")]
    Unkept(String),
    #[error("cannot read the outbox: {0}")]
    Read(#[source] sqlx::Error),
}

/// What one pass over the outbox did: the ids delivered now (true) or found already
/// delivered (false), and, when it stopped at an entry Redis did not take, why.
#[derive(Debug, Default, PartialEq)]
pub struct Drained {
    pub delivered: Vec<(String, bool)>,
    /// The entries delivered, as kept: each delivery is audited as its own record.
    pub entries: Vec<OutboxEntry>,
    /// An entry that failed for the first time, and why: audited once (it is tried again,
    /// and every later failure of it is no news).
    pub first_failure: Option<(OutboxEntry, String)>,
    /// Something still waits: Redis refused or was unreachable, in words.
    pub waiting: Option<String>,
}

const PUSH_ONCE: &str = r#"
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[4])
  redis.call('PUBLISH', ARGV[5], ARGV[2])
  return 1
end
return 0
"#;

#[derive(Debug, Clone)]
pub struct Target {
    pub redis_url: String,
    pub keyprefix: String,
    /// `/{db}.celeryev/`, prefixed: where the task-sent event goes.
    pub celery_prefix: String,
    /// The context this broker is watched as: named in the audit trail and the outbox.
    pub context: String,
}

impl Target {
    /// Which broker this is, as an outbox row records it: the URL without its password, with
    /// host, port and db written out (so `redis://localhost` and `redis://127.0.0.1:6379/0`
    /// are one broker), plus the key prefix. A dispatch is delivered only to the broker it
    /// was confirmed for.
    pub fn broker_id(&self) -> String {
        broker_id(&self.redis_url, &self.keyprefix)
    }
}

/// See `Target::broker_id`. Behind Sentinel the broker is the master's name and the
/// sentinels (sorted), never the node that happens to be master: a failover does not make
/// it another broker, and another master's name on the same sentinels is one.
pub fn broker_id(url: &str, keyprefix: &str) -> String {
    if let Ok(s) = crate::redis_url::sentinel(url) {
        let mut nodes: Vec<String> = s
            .nodes
            .iter()
            .map(|(h, p)| format!("{}:{p}", canonical_host(h)))
            .collect();
        nodes.sort();
        nodes.dedup();
        let user = s.username.map(|u| format!("{u}@")).unwrap_or_default();
        return format!(
            "sentinel://{user}{} master={}/{} prefix={keyprefix}",
            nodes.join(","),
            s.master_name,
            s.db
        );
    }
    let scheme = url.split_once("://").map_or("redis", |(s, _)| s);
    let authority = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    let user = authority
        .rsplit_once('@')
        .map(|(info, _)| info.split(':').next().unwrap_or(""))
        .filter(|u| !u.is_empty())
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let (host, port) = crate::clients::broker::host_port(url).unwrap_or_default();
    let host = canonical_host(&host);
    let port = if port == 0 { 6379 } else { port };
    let db = crate::clients::broker::db_of(url);
    format!("{scheme}://{user}{host}:{port}/{db} prefix={keyprefix}")
}

/// One spelling per host: `localhost` is 127.0.0.1, IPv6 in brackets, lower case.
fn canonical_host(host: &str) -> String {
    match host.to_ascii_lowercase().as_str() {
        "localhost" | "" => "127.0.0.1".to_string(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_string(),
    }
}

/// Longer queues are not scanned: a dispatch is taken to be in a backlog that long.
const SCAN_MAX: i64 = 50_000;

/// Looks for task `id` in its queue and in kombu's `unacked` hash, in one round trip.
pub async fn locate(target: &Target, req: &TaskRequest) -> Place {
    let mut conn = match broker::connect(&target.redis_url).await {
        Ok(c) => c,
        Err(e) => return Place::Unknown(reason(&e)),
    };
    let queue = wire::queue_key(&target.keyprefix, &req.queue, req.priority);
    let unacked = format!("{}unacked", target.keyprefix);
    let len: i64 = match redis::cmd("LLEN").arg(&queue).query_async(&mut conn).await {
        Ok(n) => n,
        Err(e) => return Place::Unknown(reason(&e)),
    };
    if len > SCAN_MAX {
        return Place::Queued;
    }
    // The queue's messages, then the messages held unacked.
    type Both = (Vec<Vec<u8>>, Vec<Vec<u8>>);
    let found: redis::RedisResult<Both> = redis::pipe()
        .cmd("LRANGE")
        .arg(&queue)
        .arg(0)
        .arg(-1)
        .cmd("HVALS")
        .arg(&unacked)
        .query_async(&mut conn)
        .await;
    let holds = |m: &Vec<u8>| m.windows(req.id.len()).any(|w| w == req.id.as_bytes());
    match found {
        Ok((queued, _)) if queued.iter().any(holds) => Place::Queued,
        Ok((_, held)) if held.iter().any(holds) => Place::Unacked,
        Ok(_) => Place::Nowhere,
        Err(e) => Place::Unknown(reason(&e)),
    }
}

/// Pushes a dispatch again, same id and bytes: the proof of the first push is dropped, then
/// the push-once script runs as for a first delivery.
pub async fn redeliver(target: &Target, e: &OutboxEntry, queue: &str) -> redis::RedisResult<()> {
    let mut conn = broker::connect(&target.redis_url).await?;
    let dedupe = format!("{}chavion:dispatched:{}", target.keyprefix, e.task_id);
    let _: i64 = redis::cmd("DEL")
        .arg(&dedupe)
        .query_async(&mut conn)
        .await?;
    push_once(&mut conn, target, e, queue).await.map(|_| ())
}

/// A random (v4) UUID, as Celery's own ids are.
pub fn new_task_id() -> String {
    wire::new_uuid()
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The outbox entry for a request: the exact bytes that will go to Redis.
pub fn entry(target: &Target, req: &TaskRequest) -> OutboxEntry {
    let origin = format!("chavion-tui@{}", hostname());
    let message = wire::task_message(req, &req.id);
    let event = wire::task_sent_event(req, &origin, now_ms() as f64 / 1000.0);
    let sent_event = wire::kombu_event_envelope(&event, &origin, "task.sent", &req.id);
    OutboxEntry {
        task_id: req.id.clone(),
        queue_key: wire::queue_key(&target.keyprefix, &req.queue, req.priority),
        message: String::from_utf8(message).expect("JSON is UTF-8"),
        sent_event: String::from_utf8(sent_event).expect("JSON is UTF-8"),
        created_ms: now_ms(),
        attempts: 0,
        broker: target.broker_id(),
        context: target.context.clone(),
    }
}

/// Runs the push-once script. Ok(true): pushed now; Ok(false): had been pushed before.
pub async fn push_once(
    conn: &mut redis::aio::MultiplexedConnection,
    target: &Target,
    e: &OutboxEntry,
    queue: &str,
) -> redis::RedisResult<bool> {
    let dedupe = format!("{}chavion:dispatched:{}", target.keyprefix, e.task_id);
    let binding = format!("{}_kombu.binding.{queue}", target.keyprefix);
    let member = format!("{queue}\x06\x16\x06\x16{queue}");
    let channel = format!("{}task.sent", target.celery_prefix);
    let pushed: i64 = redis::cmd("EVAL")
        .arg(PUSH_ONCE)
        .arg(3)
        .arg(&dedupe)
        .arg(&e.queue_key)
        .arg(&binding)
        .arg(&e.message)
        .arg(&e.sent_event)
        .arg(DEDUPE_TTL_SECS)
        .arg(&member)
        .arg(&channel)
        .query_async(conn)
        .await?;
    Ok(pushed == 1)
}

/// Dispatches one task, as the exact bytes of `e` (see `entry`): outbox first (when there is
/// a store), then Redis.
pub async fn dispatch(
    target: &Target,
    store: Option<&Store>,
    e: &OutboxEntry,
    queue: &str,
) -> Result<Delivery, DispatchError> {
    if let Some(store) = store {
        store.outbox_put(e).await.map_err(DispatchError::Outbox)?;
    }
    match deliver(target, e, queue).await {
        Ok(fresh) => {
            if let Some(store) = store {
                store
                    .outbox_sent(&e.task_id, now_ms())
                    .await
                    .map_err(DispatchError::Mark)?;
            }
            Ok(if fresh {
                Delivery::Sent
            } else {
                Delivery::AlreadySent
            })
        }
        Err(why) if store.is_some() => Ok(Delivery::QueuedLocally {
            why: why.to_string(),
        }),
        Err(why) => Err(DispatchError::Unkept(why.to_string())),
    }
}

async fn deliver(
    target: &Target,
    e: &OutboxEntry,
    queue: &str,
) -> Result<bool, crate::event::Failure> {
    let mut conn = broker::connect(&target.redis_url)
        .await
        .map_err(|e| reason(&e))?;
    push_once(&mut conn, target, e, queue)
        .await
        .map_err(|e| reason(&e))
        .map_err(crate::event::Failure::from)
}

/// The queue a queue key belongs to (the key without prefix and priority suffix).
pub fn queue_of(target: &Target, queue_key: &str) -> String {
    let k = queue_key
        .strip_prefix(&target.keyprefix)
        .unwrap_or(queue_key);
    k.split("\x06\x16").next().unwrap_or(k).to_string()
}

/// What the outbox holds for brokers other than `target`, in words, or None. These rows are
/// never delivered here: they were confirmed for another broker.
pub async fn waiting_elsewhere(target: &Target, store: &Store) -> Option<String> {
    let here = target.broker_id();
    let others: Vec<_> = store
        .outbox_waiting()
        .await
        .ok()?
        .into_iter()
        .filter(|w| w.broker != here)
        .collect();
    let first = others.first()?;
    let broker = if first.broker.is_empty() {
        "an unrecorded broker (queued by an older version)".to_string()
    } else {
        crate::sanitize::clean(&first.broker, 200)
    };
    Some(format!(
        "{} dispatch(es) in the outbox wait for another broker ({broker}{}); they are delivered only by a control room connected to it. `chavion-tui audit --outbox` lists them",
        others.len(),
        if others.len() > 1 { ", and others" } else { "" }
    ))
}

/// Delivers every pending outbox entry meant for this broker, oldest first; stops at the
/// first one Redis does not take, and says why (something still waits).
pub async fn drain_outbox(target: &Target, store: &Store) -> Result<Drained, DispatchError> {
    let pending = store
        .outbox_pending(&target.broker_id())
        .await
        .map_err(DispatchError::Read)?;
    if pending.is_empty() {
        return Ok(Drained::default());
    }
    let mut conn = match broker::connect(&target.redis_url).await {
        Ok(c) => c,
        Err(e) => {
            return Ok(Drained {
                waiting: Some(reason(&e)),
                ..Drained::default()
            });
        }
    };
    let mut done = Vec::new();
    let mut entries = Vec::new();
    let here = target.broker_id();
    for e in pending {
        // The store chose rows for this broker; the gate checks it once more before a push.
        if let Err(refusal) = crate::gate::same_broker(&e.broker, &here) {
            tracing::warn!("{refusal}");
            continue;
        }
        let queue = queue_of(target, &e.queue_key);
        match push_once(&mut conn, target, &e, &queue).await {
            Ok(fresh) => {
                store
                    .outbox_sent(&e.task_id, now_ms())
                    .await
                    .map_err(DispatchError::Mark)?;
                done.push((e.task_id.clone(), fresh));
                entries.push(e);
            }
            Err(err) => {
                let why = reason(&err);
                let _ = store.outbox_failed(&e.task_id, &why).await;
                let first = (e.attempts == 0).then(|| (e, why.clone()));
                return Ok(Drained {
                    delivered: done,
                    entries,
                    first_failure: first,
                    waiting: Some(why),
                });
            }
        }
    }
    Ok(Drained {
        delivered: done,
        entries,
        first_failure: None,
        waiting: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn priorities_map_to_kombu_sub_queues() {
        let keys: Vec<String> = [0u8, 2, 3, 5, 6, 9, 12]
            .iter()
            .map(|p| wire::queue_key("", "thinking", *p))
            .collect();
        assert_eq!(
            keys,
            [
                "thinking",
                "thinking",
                "thinking\x06\x163",
                "thinking\x06\x163",
                "thinking\x06\x166",
                "thinking\x06\x169",
                "thinking\x06\x169"
            ]
        );
        let t = Target {
            redis_url: String::new(),
            keyprefix: "p:".into(),
            celery_prefix: String::new(),
            context: "default".into(),
        };
        assert_eq!(queue_of(&t, "p:thinking\x06\x166"), "thinking");
    }

    #[test]
    fn a_broker_behind_sentinel_is_its_master_name_and_sentinels_not_a_node() {
        let a = broker_id(
            "sentinel://:pw@localhost:26379/0;sentinel://10.0.0.6:26380?master_name=m&sentinel_password=x",
            "",
        );
        assert_eq!(
            a,
            "sentinel://10.0.0.6:26380,127.0.0.1:26379 master=m/0 prefix="
        );
        // The same sentinels written in another order are the same broker.
        assert_eq!(
            a,
            broker_id(
                "sentinel://10.0.0.6:26380;sentinel://127.0.0.1:26379?master_name=m",
                ""
            )
        );
        // Another master on the same sentinels, or another db, is another broker.
        assert_ne!(
            a,
            broker_id(
                "sentinel://127.0.0.1:26379;sentinel://10.0.0.6:26380?master_name=n",
                ""
            )
        );
        assert_ne!(
            a,
            broker_id(
                "sentinel://127.0.0.1:26379/1;sentinel://10.0.0.6:26380?master_name=m",
                ""
            )
        );
        assert!(!a.contains("pw"));
    }

    #[test]
    fn a_broker_is_named_without_its_password_and_with_everything_else_written_out() {
        assert_eq!(
            broker_id("redis://localhost", ""),
            "redis://127.0.0.1:6379/0 prefix="
        );
        assert_eq!(
            broker_id("redis://127.0.0.1:6379/0", ""),
            broker_id("redis://localhost:6379", "")
        );
        assert_eq!(
            broker_id("rediss://ops:s3cret@Cache.Internal:6380/2?x=1", "p:"),
            "rediss://ops@cache.internal:6380/2 prefix=p:"
        );
        assert_eq!(
            broker_id("redis://:s3cret@[::1]:7000/1", ""),
            "redis://[::1]:7000/1 prefix="
        );
        assert_ne!(
            broker_id("redis://127.0.0.1:6379/0", ""),
            broker_id("redis://127.0.0.1:6380/0", "")
        );
        assert_ne!(
            broker_id("redis://127.0.0.1:6379/0", ""),
            broker_id("redis://127.0.0.1:6379/1", "")
        );
        assert_ne!(
            broker_id("redis://127.0.0.1:6379/0", "a:"),
            broker_id("redis://127.0.0.1:6379/0", "b:")
        );
    }

    #[test]
    fn task_ids_are_v4_uuids() {
        let id = new_task_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]));
        assert_ne!(id, new_task_id());
    }

    #[test]
    fn the_message_matches_celerys_v2_shape() {
        let req = TaskRequest {
            id: "6f1c".into(),
            name: "tasks.add".into(),
            queue: "celery".into(),
            args: serde_json::json!([4, 4]),
            kwargs: serde_json::json!({}),
            priority: 0,
            eta: None,
            expires: None,
            origin: "gen@vm".into(),
        };
        let msg: Value = serde_json::from_slice(&wire::task_message(&req, "t1")).unwrap();
        assert_eq!(msg["headers"]["task"], "tasks.add");
        assert_eq!(msg["headers"]["id"], "6f1c");
        assert_eq!(msg["headers"]["root_id"], "6f1c");
        assert_eq!(msg["headers"]["argsrepr"], "[4,4]");
        assert_eq!(msg["properties"]["delivery_info"]["routing_key"], "celery");
        assert_eq!(msg["properties"]["body_encoding"], "base64");
        assert!(
            msg["properties"].get("expiration").is_none(),
            "no expiration without expires"
        );
        let body = crate::platform::decode::kombu_body(&wire::task_message(&req, "t1")).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!([[4, 4], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}])
        );
    }
}
