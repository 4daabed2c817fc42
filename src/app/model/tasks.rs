//! The Tasks view's list: which tasks pass the filter, in which order. Pure, shared by
//! `update` (what the selection points at) and `draw` (what is shown).
//!
//! Filter syntax (case-insensitive): space-separated terms, all of which must match;
//! `OR` between groups of terms; `!` before a term negates it.
//! - `state:fail` (a prefix of the state), `agent:think`, `name:deploy`, `worker:w1`;
//! - `name:=X` (exactly that name), `exception:=KeyError` (exactly that exception type);
//! - `args:TEXT`, `kwargs:KEY=VALUE` (or `kwargs:TEXT`), `result:TEXT`, `exception:TEXT`;
//! - `received:>14:05`, `received:<-15m` (times as `:at` takes them);
//! - bare words match the name, id, worker, args, kwargs, result or exception.
//!
//! A malformed filter is refused in words (`Filter::parse`), never half-applied.

use crate::app::state::{State, Task, TaskSort};
use chrono::{DateTime, Utc};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
enum Term {
    State(String),
    Agent(String),
    Name(String),
    /// `name:=X`: exactly this task name.
    NameIs(String),
    Worker(String),
    Args(String),
    /// `'KEY': ` and `"KEY": ` (the repr's two quotings, made once), and the value.
    Kwarg {
        single: String,
        double: String,
        value: String,
    },
    Kwargs(String),
    Result(String),
    Exception(String),
    /// `exception:=X`: the exception's type is exactly X (`RuntimeError`).
    ExceptionIs(String),
    /// Received after (Greater) or before (Less) a time.
    Received(Ordering, DateTime<Utc>),
    Any(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    not: bool,
    term: Term,
}

/// Groups of clauses: a task passes when every clause of some group holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Vec<Vec<Clause>>);

const FIELDS: &str = "state, agent, name, worker, args, kwargs, result, exception, received";

impl Filter {
    /// Parses a filter; `now` and `utc` place the times (`-15m`, `14:05`) as `:at` does.
    pub fn parse(
        text: &str,
        now: DateTime<Utc>,
        utc: bool,
    ) -> Result<Filter, crate::app::model::input_error::InputError> {
        let mut groups = vec![Vec::new()];
        for w in text.split_whitespace() {
            if w == "OR" || w == "or" || w == "|" {
                if groups.last().is_some_and(Vec::is_empty) {
                    return Err("OR needs a term on each side".into());
                }
                groups.push(Vec::new());
                continue;
            }
            let (not, w) = match w.strip_prefix('!') {
                Some(rest) if !rest.is_empty() => (true, rest),
                Some(_) => return Err("`!` needs a term after it (`!state:success`)".into()),
                None => (false, w),
            };
            let term = term(w, now, utc)?;
            groups
                .last_mut()
                .expect("one group at least")
                .push(Clause { not, term });
        }
        if groups.len() > 1 && groups.last().is_some_and(Vec::is_empty) {
            return Err("OR needs a term on each side".into());
        }
        groups.retain(|g| !g.is_empty());
        Ok(Filter(groups))
    }

    /// The view's filter, as applied. Enter refuses a malformed one, so this holds; if it
    /// ever did not, nothing is matched rather than everything.
    pub fn current(state: &State) -> Filter {
        Filter::parse(&state.ui.filter, state.now, state.utc).unwrap_or_else(|_| {
            Filter(vec![vec![Clause {
                not: true,
                term: Term::Any(String::new()),
            }]])
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A word the store's history can be searched by (a task id or name contains it): the
    /// first plain word or `name:` of a filter without OR. The tasks found are then filtered
    /// by the whole filter like any other.
    pub fn search_word(&self) -> Option<String> {
        let [group] = self.0.as_slice() else {
            return None;
        };
        group.iter().find_map(|c| match (&c.term, c.not) {
            (Term::Any(w) | Term::Name(w) | Term::NameIs(w), false) if w.len() >= 3 => {
                Some(w.clone())
            }
            _ => None,
        })
    }

    /// Runs for every kept task on every frame while a filter is set: nothing allocates.
    pub fn matches(&self, state: &State, t: &Task) -> bool {
        self.0.is_empty()
            || self
                .0
                .iter()
                .any(|g| g.iter().all(|c| c.not != holds(&c.term, state, t)))
    }
}

fn term(
    w: &str,
    now: DateTime<Utc>,
    utc: bool,
) -> Result<Term, crate::app::model::input_error::InputError> {
    let Some((field, v)) = w.split_once(':') else {
        return Ok(Term::Any(w.to_lowercase()));
    };
    let field = field.to_lowercase();
    // A value with its own colons (a time, a URL) is kept whole.
    let lower = v.to_lowercase();
    let need = |what: &str| -> Result<(), crate::app::model::input_error::InputError> {
        if v.is_empty() {
            Err(format!("`{field}:` needs a value ({what})").into())
        } else {
            Ok(())
        }
    };
    Ok(match field.as_str() {
        "state" => {
            need("state:fail")?;
            Term::State(lower)
        }
        "agent" => Term::Agent(lower),
        "name" => match lower.strip_prefix('=') {
            Some(exact) => Term::NameIs(exact.to_string()),
            None => Term::Name(lower),
        },
        "worker" => Term::Worker(lower),
        "args" => Term::Args(lower),
        "result" => Term::Result(lower),
        "exception" => match lower.strip_prefix('=') {
            Some(exact) => Term::ExceptionIs(exact.to_string()),
            None => Term::Exception(lower),
        },
        "kwargs" => match v.split_once('=') {
            Some((k, value)) if !k.is_empty() => Term::Kwarg {
                single: format!("'{}': ", k.to_lowercase()),
                double: format!("\"{}\": ", k.to_lowercase()),
                value: value.trim_matches(['\'', '"']).to_lowercase(),
            },
            Some(_) => return Err("`kwargs:KEY=VALUE` needs a key".into()),
            None => Term::Kwargs(lower),
        },
        "received" => {
            let (cmp, at) = match v.split_at_checked(1) {
                Some((">", at)) => (Ordering::Greater, at),
                Some(("<", at)) => (Ordering::Less, at),
                _ => {
                    return Err(format!(
                        "`received:{v}`: say > or < before the time (received:>14:05, received:<-15m)"
                    ).into());
                }
            };
            let at = crate::app::model::times::parse_time(at, now, utc)?;
            Term::Received(cmp, at)
        }
        _ => {
            return Err(format!("`{field}:` is not a field; the fields are {FIELDS}").into());
        }
    })
}

fn holds(term: &Term, state: &State, t: &Task) -> bool {
    let f = &t.fields;
    let text = |o: &Option<String>, v: &str| o.as_deref().is_some_and(|x| contains_ci(x, v));
    match term {
        // What the row shows (TERMINATED, LOST?) as well as Celery's own state.
        Term::State(v) => starts_with_ci(t.state.label(), v) || starts_with_ci(shown_state(t), v),
        Term::Agent(v) => contains_ci(t.agent.map_or("", |i| state.agents[i].name.as_str()), v),
        Term::Name(v) => text(&f.name, v),
        Term::NameIs(v) => f.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(v)),
        Term::Worker(v) => contains_ci(&t.worker, v),
        Term::Args(v) => text(&f.args, v),
        Term::Kwargs(v) => text(&f.kwargs, v),
        Term::Kwarg {
            single,
            double,
            value,
        } => f
            .kwargs
            .as_deref()
            .is_some_and(|k| kwarg_is(k, single, value) || kwarg_is(k, double, value)),
        Term::Result(v) => text(&f.result, v),
        Term::Exception(v) => text(&f.exception, v),
        Term::ExceptionIs(v) => f.exception.as_deref().is_some_and(|e| {
            crate::app::model::failures::exception_type(e).eq_ignore_ascii_case(v)
        }),
        Term::Received(cmp, at) => t.received.is_some_and(|r| r.cmp(at) == *cmp),
        Term::Any(v) => {
            text(&f.name, v)
                || contains_ci(&t.uuid, v)
                || contains_ci(&t.worker, v)
                || text(&f.args, v)
                || text(&f.kwargs, v)
                || text(&f.result, v)
                || text(&f.exception, v)
        }
    }
}

/// Whether the kwargs repr has `key` (as `'key': `, already lowercase) with a value that
/// starts with `value` (quotes aside).
fn kwarg_is(repr: &str, key: &str, value: &str) -> bool {
    let lower_match = |at: usize| {
        let after = repr[at + key.len()..].trim_start_matches(['\'', '"']);
        starts_with_ci(after, value)
    };
    let (h, k) = (repr.as_bytes(), key.as_bytes());
    (0..h.len().saturating_sub(k.len() - 1))
        .filter(|&i| repr.is_char_boundary(i) && h[i..i + k.len()].eq_ignore_ascii_case(k))
        .any(lower_match)
}

/// The state a row shows: this control room's own findings before Celery's state.
pub fn shown_state(t: &Task) -> &'static str {
    if t.queued_locally {
        "QUEUED LOCALLY"
    } else if t.lost {
        "LOST?"
    } else if let Some(gone) = &t.gone {
        match gone {
            crate::kept::Gone::Purged { .. } => "PURGED",
            crate::kept::Gone::LostWithWorker { .. } => "LOST",
        }
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
    use crate::platform::model::TaskEventKind::*;
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
    let filter = Filter::current(state);
    if state.ui.task_sort == TaskSort::Newest && filter.is_empty() {
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
    Filter::current(state).matches(state, t).then_some(t)
}

/// The picked id when its task is no longer kept (evicted past `celery.max_tasks`).
pub fn pick_gone(state: &State) -> Option<&str> {
    let id = state.ui.task_pick.as_deref()?;
    (!state.tasks.by_id.contains_key(id)).then_some(id)
}

/// The row `t` stands in, in the view's order: how many shown tasks come before it. Linear,
/// like the frame itself; unfiltered newest-first it counts off the index.
pub fn row_of(state: &State, t: &Task) -> usize {
    let filter = Filter::current(state);
    if state.ui.task_sort == TaskSort::Newest && filter.is_empty() {
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

/// The tasks a detail links to, in order: its root and its parent (when not itself), then
/// its children (the tasks whose parent it is), oldest first, at most `MAX_CHILDREN`.
pub fn links<'a>(state: &'a State, t: &'a Task) -> Vec<(&'static str, &'a str)> {
    let mut out = Vec::new();
    let sending = t.fields.sending.as_deref();
    if let Some(root) = sending
        .and_then(|s| s.root_id.as_deref())
        .filter(|r| *r != t.uuid)
    {
        out.push(("root", root));
    }
    if let Some(parent) = sending.and_then(|s| s.parent_id.as_deref()) {
        out.push(("parent", parent));
    }
    // A scan of the kept tasks, only while a detail is open.
    let mut children: Vec<&Task> = state
        .tasks
        .by_id
        .values()
        .filter(|c| {
            c.fields
                .sending
                .as_ref()
                .and_then(|s| s.parent_id.as_deref())
                == Some(t.uuid.as_str())
        })
        .collect();
    children.sort_by_key(|c| c.seq);
    out.extend(
        children
            .into_iter()
            .take(MAX_CHILDREN)
            .map(|c| ("child", c.uuid.as_str())),
    );
    out
}

pub const MAX_CHILDREN: usize = 50;

/// Every kind of event the task had, with when it came, oldest first: the detail's
/// timeline (sent, received, started, retried, succeeded or failed, revoked).
pub fn timeline(t: &Task) -> Vec<(crate::platform::model::TaskEventKind, DateTime<Utc>)> {
    use crate::platform::model::TaskEventKind::*;
    let mut out: Vec<_> = [
        Sent, Received, Started, Succeeded, Failed, Retried, Revoked, Rejected,
    ]
    .into_iter()
    .filter_map(|k| {
        let at = t.times[k as usize];
        (at > 0.0)
            .then(|| DateTime::<Utc>::from_timestamp_micros((at * 1e6) as i64))
            .flatten()
            .map(|d| (k, d))
    })
    .collect();
    out.sort_by_key(|(_, at)| *at);
    out
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
