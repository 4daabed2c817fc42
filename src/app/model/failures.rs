//! The Issues view's groups: failed tasks grouped by task name and exception type, from the
//! tasks kept in memory. Pure, and computed only while the view is open (a scan of the kept
//! tasks), so the feed path pays nothing for it.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

use crate::app::state::{State, Task};
use crate::platform::model::TaskEventKind;

/// The window the counts and the sparkline cover.
pub const WINDOW: Duration = Duration::minutes(60);
/// A group with no failure for this long, and a success of its task since, has recovered.
pub const QUIET: Duration = Duration::minutes(10);
/// The sparkline's buckets: one a minute over the last 30 minutes.
pub const BUCKETS: usize = 30;
/// Workers named per group before "+N".
const WORKERS_SHOWN: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    /// The exception's type: `RuntimeError` of `RuntimeError('boom')`.
    pub exception: String,
    /// Failures in the window, and in all the tasks kept.
    pub in_window: u64,
    pub total: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// The workers it failed on, most failures first.
    pub workers: Vec<(String, u64)>,
    /// The newest failure's traceback, or its exception when there is none.
    pub sample: String,
    /// Failures a minute, oldest first, the newest minute last.
    pub per_minute: [u64; BUCKETS],
    pub recovered: bool,
}

impl Group {
    /// The group's key, for the selection: it stays on its group as counts change.
    pub fn key(&self) -> String {
        format!("{} {}", self.name, self.exception)
    }

    /// "w1@h, w2@h +3".
    pub fn workers_words(&self) -> String {
        let shown: Vec<&str> = self
            .workers
            .iter()
            .take(WORKERS_SHOWN)
            .map(|(w, _)| w.as_str())
            .collect();
        match self.workers.len().saturating_sub(WORKERS_SHOWN) {
            0 => shown.join(", "),
            more => format!("{} +{more}", shown.join(", ")),
        }
    }

    /// The Tasks view's filter that lists exactly this group's failed tasks.
    pub fn filter(&self) -> String {
        format!(
            "state:fail name:={} exception:={}",
            self.name, self.exception
        )
    }
}

/// The exception's type out of its repr: `KeyError('x')` → `KeyError`,
/// `celery.exceptions.Retry: …` → `celery.exceptions.Retry`.
pub fn exception_type(repr: &str) -> &str {
    let end = repr
        .find(|c: char| c == '(' || c == ':' || c.is_whitespace())
        .unwrap_or(repr.len());
    let t = &repr[..end];
    if t.is_empty() { "?" } else { t }
}

/// Every group, the most failures in the window first, failing before recovered.
pub fn groups(state: &State) -> Vec<Group> {
    let now = state.now;
    let mut by: HashMap<(&str, &str), Vec<&Task>> = HashMap::new();
    let mut last_success: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for t in state.tasks.by_id.values() {
        let name = t.fields.name.as_deref().unwrap_or("?");
        match t.state {
            TaskEventKind::Failed => {
                let exc = exception_type(t.fields.exception.as_deref().unwrap_or(""));
                by.entry((name, exc)).or_default().push(t);
            }
            TaskEventKind::Succeeded => {
                let at = last_success.entry(name).or_insert(t.updated);
                *at = (*at).max(t.updated);
            }
            _ => {}
        }
    }
    let mut out: Vec<Group> = by
        .into_iter()
        .map(|((name, exc), tasks)| group(name, exc, &tasks, last_success.get(name), now))
        .collect();
    out.sort_by(|a, b| {
        a.recovered
            .cmp(&b.recovered)
            .then(b.in_window.cmp(&a.in_window))
            .then(b.last.cmp(&a.last))
            .then_with(|| a.key().cmp(&b.key()))
    });
    out
}

fn group(
    name: &str,
    exc: &str,
    tasks: &[&Task],
    last_success: Option<&DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Group {
    let first = tasks.iter().map(|t| t.updated).min().unwrap_or(now);
    let newest = tasks
        .iter()
        .max_by_key(|t| t.updated)
        .expect("a group has a task");
    let last = newest.updated;
    let mut per_minute = [0u64; BUCKETS];
    let mut workers: HashMap<&str, u64> = HashMap::new();
    let mut in_window = 0;
    for t in tasks {
        let ago = now - t.updated;
        if ago <= WINDOW {
            in_window += 1;
        }
        let minutes = ago.num_minutes();
        if (0..BUCKETS as i64).contains(&minutes) {
            per_minute[BUCKETS - 1 - minutes as usize] += 1;
        }
        if !t.worker.is_empty() {
            *workers.entry(t.worker.as_str()).or_default() += 1;
        }
    }
    let mut workers: Vec<(String, u64)> = workers
        .into_iter()
        .map(|(w, n)| (w.to_string(), n))
        .collect();
    workers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let sample = newest
        .fields
        .traceback
        .clone()
        .or_else(|| newest.fields.exception.clone())
        .unwrap_or_default();
    let recovered = now - last > QUIET && last_success.is_some_and(|s| *s > last);
    Group {
        name: name.to_string(),
        exception: exc.to_string(),
        in_window,
        total: tasks.len() as u64,
        first,
        last,
        workers,
        sample,
        per_minute,
        recovered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_read_off_the_repr() {
        assert_eq!(
            exception_type("RuntimeError('planned failure')"),
            "RuntimeError"
        );
        assert_eq!(
            exception_type("celery.exceptions.Retry: later"),
            "celery.exceptions.Retry"
        );
        assert_eq!(exception_type("TimeoutError"), "TimeoutError");
        assert_eq!(exception_type(""), "?");
    }
}
