//! The Tasks view's list: which tasks pass the filter, in which order. Pure, shared by
//! `update` (what the selection points at) and `draw` (what is shown).
//!
//! Filter syntax: space-separated terms, all of which must match (case-insensitive):
//! `state:fail` (prefix of the state), `agent:think`, `name:deploy`, `worker:w1`, and bare
//! words, which match the task name, id or worker.

use super::state::{State, Task, TaskSort};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
enum Term {
    State(String),
    Agent(String),
    Name(String),
    Worker(String),
    Any(String),
}

pub struct Filter(Vec<Term>);

impl Filter {
    pub fn parse(text: &str) -> Filter {
        Filter(
            text.split_whitespace()
                .map(|w| {
                    let lower = w.to_lowercase();
                    match lower.split_once(':') {
                        Some(("state", v)) => Term::State(v.to_string()),
                        Some(("agent", v)) => Term::Agent(v.to_string()),
                        Some(("name", v)) => Term::Name(v.to_string()),
                        Some(("worker", v)) => Term::Worker(v.to_string()),
                        _ => Term::Any(lower),
                    }
                })
                .collect(),
        )
    }

    /// Runs for every kept task on every frame while a filter is set: nothing allocates.
    pub fn matches(&self, state: &State, t: &Task) -> bool {
        let name = t.fields.name.as_deref().unwrap_or("");
        let agent = t.agent.map_or("", |i| state.agents[i].name.as_str());
        self.0.iter().all(|term| match term {
            // What the row shows (TERMINATED, LOST?) as well as Celery's own state.
            Term::State(v) => {
                starts_with_ci(t.state.label(), v) || starts_with_ci(shown_state(t), v)
            }
            Term::Agent(v) => contains_ci(agent, v),
            Term::Name(v) => contains_ci(name, v),
            Term::Worker(v) => contains_ci(&t.worker, v),
            Term::Any(v) => {
                contains_ci(name, v) || contains_ci(&t.uuid, v) || contains_ci(&t.worker, v)
            }
        })
    }
}

/// The state a row shows: this control room's own findings before Celery's state.
pub fn shown_state(t: &Task) -> &'static str {
    if t.queued_locally {
        "QUEUED LOCALLY"
    } else if t.lost {
        "LOST?"
    } else if t.terminated {
        "TERMINATED"
    } else {
        t.state.label()
    }
}

/// Whether `hay` contains `needle` (already lowercase), ignoring case.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if !needle.is_ascii() {
        return hay.to_lowercase().contains(needle);
    }
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn starts_with_ci(hay: &str, prefix: &str) -> bool {
    hay.len() >= prefix.len()
        && hay.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Seconds the task ran, or has been running so far. Celery reports a runtime only on
/// success; a task that failed or was revoked ran until its last event.
pub fn runtime(state: &State, t: &Task) -> Option<f64> {
    use crate::feeds::model::TaskEventKind::*;
    let end = match t.state {
        Succeeded | Failed | Revoked | Rejected | Retried => t.updated,
        Sent | Received | Started => state.now,
    };
    t.fields.runtime.or_else(|| {
        t.started
            .map(|s| (end - s).num_milliseconds().max(0) as f64 / 1000.0)
    })
}

/// How the chosen sort orders two tasks. A total order: ties fall back to arrival, so a
/// partial sort and a full one put the same task at each position, and rows never swap
/// places between frames.
fn order(state: &State, a: &Task, b: &Task) -> Ordering {
    let agent_name = |t: &Task| {
        t.agent
            .map(|i| state.agents[i].name.as_str())
            .unwrap_or("~")
    };
    let newest = || b.updated.cmp(&a.updated);
    let by = match state.ui.task_sort {
        TaskSort::Newest => newest(),
        TaskSort::Name => a.fields.name.cmp(&b.fields.name).then_with(newest),
        TaskSort::State => a.state.label().cmp(b.state.label()).then_with(newest),
        TaskSort::Agent => agent_name(a).cmp(agent_name(b)).then_with(newest),
        // Longest first, then those with no runtime yet; total_cmp, because the sorts
        // require a total order.
        TaskSort::Runtime => match (runtime(state, b), runtime(state, a)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        },
    };
    by.then(a.seq.cmp(&b.seq))
}

/// The tasks the view shows, filtered, and how many they are; only the first `upto` are
/// returned, in order. A frame needs a screenful: picking those out of 50 000 is linear,
/// where sorting them all took most of the frame.
pub fn visible_upto(state: &State, upto: usize) -> (usize, Vec<&Task>) {
    let filter = Filter::parse(&state.ui.filter);
    if state.ui.task_sort == TaskSort::Newest && filter.0.is_empty() {
        return newest_upto(state, upto);
    }
    let mut list: Vec<&Task> = state
        .tasks
        .by_id
        .values()
        .filter(|t| filter.matches(state, t))
        .collect();
    let matching = list.len();
    if upto == 0 {
        list.clear();
    } else if upto < matching {
        list.select_nth_unstable_by(upto - 1, |a, b| order(state, a, b));
        list.truncate(upto);
    }
    list.sort_unstable_by(|a, b| order(state, a, b));
    (matching, list)
}

/// Unfiltered, the default order is read off the front of its index: a screenful costs a
/// screenful. (With a filter the general path is faster: it goes through the tasks in memory
/// order, where walking the index visits them at random, several times slower.)
fn newest_upto(state: &State, upto: usize) -> (usize, Vec<&Task>) {
    let tasks = &state.tasks;
    let list = tasks
        .newest
        .values()
        .filter_map(|id| tasks.by_id.get(id))
        .take(upto)
        .collect();
    (tasks.by_id.len(), list)
}

/// Every task the view shows, in order.
pub fn visible(state: &State) -> Vec<&Task> {
    visible_upto(state, usize::MAX).1
}

/// The selected task, by its id: None when nothing is picked, or when the picked task was
/// evicted or does not pass the filter. Never a neighbour standing in its row.
pub fn selected(state: &State) -> Option<&Task> {
    let t = state.tasks.by_id.get(state.ui.task_pick.as_deref()?)?;
    Filter::parse(&state.ui.filter)
        .matches(state, t)
        .then_some(t)
}

/// The picked id when its task is no longer kept (evicted past `celery.max_tasks`).
pub fn pick_gone(state: &State) -> Option<&str> {
    let id = state.ui.task_pick.as_deref()?;
    (!state.tasks.by_id.contains_key(id)).then_some(id)
}

/// The row `t` stands in, in the view's order: how many shown tasks come before it. Linear,
/// like the frame itself; unfiltered newest-first it counts off the index.
pub fn row_of(state: &State, t: &Task) -> usize {
    let filter = Filter::parse(&state.ui.filter);
    if state.ui.task_sort == TaskSort::Newest && filter.0.is_empty() {
        return state
            .tasks
            .newest
            .range(..(std::cmp::Reverse(t.updated), t.seq))
            .count();
    }
    state
        .tasks
        .by_id
        .values()
        .filter(|o| filter.matches(state, o) && order(state, o, t) == Ordering::Less)
        .count()
}

/// Picks the task in `row` (the last one when the view is shorter), by its id.
pub fn pick_row(state: &mut State, row: usize) {
    let (_, list) = visible_upto(state, row.saturating_add(1));
    state.ui.task_pick = list.get(row).or(list.last()).map(|t| t.uuid.clone());
}

/// Moves the selection `step` rows from the selected task (from the top when none is).
pub fn move_pick(state: &mut State, step: isize) {
    let len = visible_upto(state, 0).0;
    let to = match selected(state) {
        Some(t) => (row_of(state, t) as isize).saturating_add(step),
        // Nothing (or an evicted task) selected: the first move lands on the first row,
        // or on the last for End.
        None if step >= isize::MAX / 4 => len as isize,
        None => 0,
    };
    let row = to.clamp(0, len.saturating_sub(1) as isize) as usize;
    pick_row(state, row);
}

#[cfg(test)]
mod tests {
    use super::{contains_ci, starts_with_ci};

    #[test]
    fn case_is_ignored_without_allocating_and_unicode_still_matches() {
        assert!(contains_ci("Thinking.Plan", "think"));
        assert!(contains_ci("worker@VM-3", "vm-3"));
        assert!(!contains_ci("thinking", "thinks"));
        assert!(contains_ci("anything", ""));
        assert!(contains_ci("ÉVALUER.tâche", "évaluer"));
        assert!(starts_with_ci("SUCCESS", "su"));
        assert!(!starts_with_ci("SUCCESS", "successful"));
        assert!(!starts_with_ci("FAILURE", "é"));
    }
}
