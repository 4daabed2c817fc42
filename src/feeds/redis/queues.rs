//! Changing what waits in a queue: purge and move, across the four priority sub-queues
//! kombu keeps for each queue (docs/WIRE.md). Each change runs as one Lua script, which
//! Redis runs atomically: a purge removes exactly what it counted, and a move takes each
//! message out of one list and into the other in the same step, so a control room killed
//! half-way leaves every message in one queue or the other, never in neither.

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
