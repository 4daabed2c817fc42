//! Task and worker history across restarts. Every 5 s of the clock, the tasks updated
//! since the last save and the workers heard from go to the store (`Effect::SaveHistory`,
//! serialized off the loop); when the store opens at start, what it kept comes back
//! (`restore`), marked as restored until a live event confirms or supersedes it.

use chrono::{DateTime, Duration, Utc};

use super::effect::Effect;
use super::state::{State, Task, Worker};
pub use crate::kept::Changed;

/// How often the changes are saved.
const EVERY_SECS: i64 = 5;
/// A task's time is its worker's clock: a minute of slack catches a clock a little behind.
const SLACK_SECS: i64 = 60;
/// At most this many tasks a save: a flood saves the newest, and the loop copies few.
const MAX_TASKS: usize = 5_000;

/// On the tick: the changes to save, when a save is due and there is a store to save to.
pub fn due(state: &mut State, now: DateTime<Utc>) -> Option<Effect> {
    if !state.history_store || state.session.demo {
        return None;
    }
    let last = *state
        .history_saved
        .get_or_insert(now - Duration::seconds(EVERY_SECS));
    if now - last < Duration::seconds(EVERY_SECS) {
        return None;
    }
    state.history_saved = Some(now);
    let since = last - Duration::seconds(SLACK_SECS);
    let tasks: Vec<Task> = state
        .tasks
        .newest
        .iter()
        .take_while(|((std::cmp::Reverse(updated), _), _)| *updated >= since)
        .filter_map(|(_, id)| state.tasks.by_id.get(id))
        .filter(|t| !t.restored)
        .take(MAX_TASKS)
        .cloned()
        .collect();
    let workers: Vec<Worker> = state
        .workers
        .values()
        .filter(|w| !w.restored && w.last_heartbeat >= last)
        .cloned()
        .collect();
    (!tasks.is_empty() || !workers.is_empty())
        .then(|| Effect::SaveHistory(Box::new(Changed { tasks, workers })))
}

/// On the way out: everything changed since the last save, whenever that was, so a clean
/// restart loses nothing.
pub fn last(state: &mut State) -> Option<Effect> {
    let now = state.now;
    state.history_saved = state
        .history_saved
        .map(|t| t - Duration::seconds(EVERY_SECS));
    due(state, now)
}

/// What the store kept, back in the state: tasks (newest first) fill the ring behind the
/// live ones, never in place of one; workers not heard from live yet. Each is marked.
pub fn restore(state: &mut State, tasks: Vec<Task>, workers: Vec<Worker>) -> usize {
    let agents = state.agents.len();
    let mut n = 0;
    for mut t in tasks {
        if state.tasks.by_id.len() >= state.tasks.capacity {
            break;
        }
        if state.tasks.by_id.contains_key(&t.uuid) {
            continue;
        }
        t.restored = true;
        t.agent = t.agent.filter(|a| *a < agents);
        state.tasks.restore(t);
        n += 1;
    }
    for mut w in workers {
        if state.workers.contains_key(&w.hostname) {
            continue;
        }
        w.restored = true;
        w.agent = w.agent.filter(|a| *a < agents);
        state.workers.insert(w.hostname.clone(), w);
    }
    n
}
