//! What waits in a queue: its depth sampled in one round trip (`sample`), the queues found
//! in kombu's bindings (`discover`), and changing it: purge and move, across the four priority sub-queues
//! kombu keeps for each queue (docs/WIRE.md). Each change runs as one Lua script, which
//! Redis runs atomically: a purge removes exactly what it counted, and a move takes each
//! message out of one list and into the other in the same step, so a control room killed
//! half-way leaves every message in one queue or the other, never in neither.

use std::collections::{BTreeMap, BTreeSet};

use crate::platform::model::QueueSample;
use crate::platform::wire::{PRIORITY_STEPS as STEPS, queue_key};

/// The four keys of a queue, in step order.
pub fn keys(keyprefix: &str, queue: &str) -> [String; 4] {
    STEPS.map(|p| queue_key(keyprefix, queue, p))
}

/// Messages waiting in each sub-queue, in step order.
pub async fn depths(
    conn: &mut redis::aio::MultiplexedConnection,
    keyprefix: &str,
    queue: &str,
) -> redis::RedisResult<[u64; 4]> {
    let mut pipe = redis::pipe();
    for k in keys(keyprefix, queue) {
        pipe.cmd("LLEN").arg(k);
    }
    let n: Vec<u64> = pipe.query_async(conn).await?;
    Ok([n[0], n[1], n[2], n[3]])
}

/// Empties the four sub-queues, or, with a task name, removes only that task's messages and
/// keeps the rest in their order. Returns how many were removed from each sub-queue.
const PURGE: &str = r#"
local name = ARGV[1]
local removed = {}
for i, key in ipairs(KEYS) do
  if name == '' then
    removed[i] = redis.call('LLEN', key)
    redis.call('DEL', key)
  else
    local items = redis.call('LRANGE', key, 0, -1)
    local kept = {}
    for _, item in ipairs(items) do
      local ok, msg = pcall(cjson.decode, item)
      local task = ok and type(msg) == 'table' and type(msg.headers) == 'table' and msg.headers.task
      if task ~= name then table.insert(kept, item) end
    end
    removed[i] = #items - #kept
    if removed[i] > 0 then
      redis.call('DEL', key)
      for j = 1, #kept, 1000 do
        redis.call('RPUSH', key, unpack(kept, j, math.min(j + 999, #kept)))
      end
    end
  end
end
return removed
"#;

pub async fn purge(
    conn: &mut redis::aio::MultiplexedConnection,
    keyprefix: &str,
    queue: &str,
    task: Option<&str>,
) -> redis::RedisResult<[u64; 4]> {
    let ks = keys(keyprefix, queue);
    let n: Vec<u64> = redis::cmd("EVAL")
        .arg(PURGE)
        .arg(4)
        .arg(&ks[..])
        .arg(task.unwrap_or(""))
        .query_async(conn)
        .await?;
    Ok([n[0], n[1], n[2], n[3]])
}

/// Moves up to ARGV[1] of the oldest messages (those a worker would take next) from KEYS[1]
/// to KEYS[2], where they become the newest; with a task name in ARGV[2], only that task's.
/// Returns how many moved.
const MOVE: &str = r#"
local limit = tonumber(ARGV[1])
local name = ARGV[2]
local moved = 0
if name == '' then
  while moved < limit do
    local item = redis.call('RPOP', KEYS[1])
    if not item then break end
    redis.call('LPUSH', KEYS[2], item)
    moved = moved + 1
  end
  return moved
end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
for i = #items, 1, -1 do
  if moved >= limit then break end
  local ok, msg = pcall(cjson.decode, items[i])
  local task = ok and type(msg) == 'table' and type(msg.headers) == 'table' and msg.headers.task
  if task == name then
    redis.call('LREM', KEYS[1], -1, items[i])
    redis.call('LPUSH', KEYS[2], items[i])
    moved = moved + 1
  end
end
return moved
"#;

/// How many messages one script moves: small enough that Redis is never held for long.
pub const MOVE_BATCH: u64 = 100;

/// Moves every message (or every message of `task`) from one queue to another, sub-queue by
/// sub-queue so each keeps its priority. Batches of `MOVE_BATCH`, each atomic. Returns the
/// number moved from each sub-queue.
pub async fn move_all(
    conn: &mut redis::aio::MultiplexedConnection,
    keyprefix: &str,
    from: &str,
    to: &str,
    task: Option<&str>,
) -> redis::RedisResult<[u64; 4]> {
    let (src, dst) = (keys(keyprefix, from), keys(keyprefix, to));
    let mut moved = [0u64; 4];
    for i in 0..4 {
        loop {
            let n: u64 = redis::cmd("EVAL")
                .arg(MOVE)
                .arg(2)
                .arg(&src[i])
                .arg(&dst[i])
                .arg(MOVE_BATCH)
                .arg(task.unwrap_or(""))
                .query_async(conn)
                .await?;
            moved[i] += n;
            if n < MOVE_BATCH {
                break;
            }
        }
    }
    Ok(moved)
}

/// Sub-queue counts in words: "12 (priority 0: 10, 3: 2)".
pub fn per_step(n: &[u64; 4]) -> String {
    let total: u64 = n.iter().sum();
    let parts: Vec<String> = STEPS
        .iter()
        .zip(n)
        .filter(|(_, c)| **c > 0)
        .map(|(s, c)| format!("{s}: {c}"))
        .collect();
    if parts.is_empty() {
        return "0".into();
    }
    format!("{total} (priority {})", parts.join(", "))
}

/// kombu's PRIORITY_STEPS and separator: sub-queue keys are `queue`, `queue\x06\x163`, ….
pub const PRIORITY_STEPS: [u8; 4] = [0, 3, 6, 9];
pub const SEP: &str = "\x06\x16";
/// Bound on binding keys read per discovery.
const MAX_BINDINGS: usize = 10_000;

pub fn sub_queue_key(prefix: &str, queue: &str, step: u8) -> String {
    if step == 0 {
        format!("{prefix}{queue}")
    } else {
        format!("{prefix}{queue}{SEP}{step}")
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
