//! Task and worker history across restarts. Every 5 s of the clock, the tasks updated
//! since the last save and the workers heard from go to the store (`Effect::SaveHistory`,
//! serialized off the loop); when the store opens at start, what it kept comes back
//! (`restore`), marked as restored until a live event confirms or supersedes it.

use chrono::{DateTime, Duration, Utc};

use crate::app::effect::Effect;
use crate::app::state::{State, Task, Worker};
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

/// A page of tasks found in the history (`Event::HistoryFound`) beyond what memory keeps,
/// at most this many each time; the ring holds at most this many beyond its capacity.
pub const PAGE: usize = 200;

/// The Tasks view's filter applied: the store's history searched for older tasks that
/// match it, when there is a store and a word to search by.
pub fn search(state: &State) -> Option<Effect> {
    if !state.history_store || state.session.demo {
        return None;
    }
    let word = crate::app::model::tasks::Filter::current(state).search_word()?;
    // Older than the oldest kept: the next page back, each time.
    let before_ms = state
        .tasks
        .newest
        .last_key_value()
        .map_or(i64::MAX, |((std::cmp::Reverse(updated), _), _)| {
            updated.timestamp_millis()
        });
    Some(Effect::SearchHistory { word, before_ms })
}

/// What a search found, put in the ring as restored tasks (first in line to be evicted;
/// at most `PAGE` beyond its capacity) and said in a flash.
pub fn found(
    state: &mut State,
    word: &str,
    tasks: Result<Vec<Task>, crate::event::Failure>,
) -> bool {
    let tasks = match tasks {
        Ok(t) => t,
        Err(why) => {
            crate::app::common::flash(
                state,
                crate::platform::model::Level::Warn,
                format!("the task history could not be searched: {why}"),
            );
            return true;
        }
    };
    let room = (state.tasks.capacity + PAGE).saturating_sub(state.tasks.by_id.len());
    let agents = state.agents.len();
    let mut n = 0;
    for mut t in tasks.into_iter().take(room) {
        if state.tasks.by_id.contains_key(&t.uuid) {
            continue;
        }
        clean(&mut t, agents);
        state.tasks.restore(t);
        n += 1;
    }
    let said = if n == 0 {
        format!("nothing older matching `{word}` in the task history")
    } else {
        format!(
            "{n} older task(s) matching `{word}` from the task history (↺); Enter on the filter again for more"
        )
    };
    crate::app::common::flash(state, crate::platform::model::Level::Info, said);
    true
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
        clean(&mut t, agents);
        state.tasks.restore(t);
        n += 1;
    }
    for mut w in workers {
        w.hostname = crate::sanitize::clean(&w.hostname, 200);
        if state.workers.contains_key(&w.hostname) {
            continue;
        }
        if state.workers.len() >= crate::app::state::MAX_WORKERS {
            break;
        }
        w.restored = true;
        w.freq = crate::platform::decode::heartbeat_period(Some(w.freq));
        w.agent = w.agent.filter(|a| *a < agents);
        w.sw_ver = w.sw_ver.map(|v| crate::sanitize::clean(&v, 64));
        w.queues = w
            .queues
            .map(|q| q.iter().map(|n| crate::sanitize::clean(n, 200)).collect());
        state.workers.insert(w.hostname.clone(), w);
    }
    n
}

/// A task read back from the store, which a shared PostgreSQL lets others write to: its
/// text cleaned again before it reaches the screen, its agent kept only if it exists here.
fn clean(t: &mut Task, agents: usize) {
    use crate::sanitize::clean as c;
    t.restored = true;
    t.agent = t.agent.filter(|a| *a < agents);
    t.uuid = c(&t.uuid, 200);
    t.worker = c(&t.worker, 200);
    t.client = t.client.as_deref().map(|s| c(s, 200));
    t.gone = match t.gone.take() {
        Some(crate::kept::Gone::Purged { by }) => {
            Some(crate::kept::Gone::Purged { by: c(&by, 40) })
        }
        Some(crate::kept::Gone::LostWithWorker { worker }) => {
            Some(crate::kept::Gone::LostWithWorker {
                worker: c(&worker, 200),
            })
        }
        None => None,
    };
    let f = &mut t.fields;
    for text in [
        &mut f.name,
        &mut f.args,
        &mut f.kwargs,
        &mut f.result,
        &mut f.exception,
        &mut f.queue,
    ] {
        *text = text.as_deref().map(|s| c(s, 100_000));
    }
    f.traceback = f
        .traceback
        .as_deref()
        .map(|s| crate::sanitize::clean_lines(s, 100_000));
}
