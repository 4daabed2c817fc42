//! The Tasks view's list: which tasks pass the filter, in which order. Pure, shared by
//! `update` (what the selection points at) and `draw` (what is shown).
//!
//! Filter syntax: space-separated terms, all of which must match (case-insensitive):
//! `state:fail` (prefix of the state), `agent:think`, `name:deploy`, `worker:w1`, and bare
//! words, which match the task name, id or worker.

use super::state::{State, Task, TaskSort};

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

    pub fn matches(&self, state: &State, t: &Task) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let name = t.fields.name.as_deref().unwrap_or("").to_lowercase();
        let agent = t
            .agent
            .map(|i| state.agents[i].name.to_lowercase())
            .unwrap_or_default();
        self.0.iter().all(|term| match term {
            Term::State(v) => t.state.label().to_lowercase().starts_with(v.as_str()),
            Term::Agent(v) => agent.contains(v.as_str()),
            Term::Name(v) => name.contains(v.as_str()),
            Term::Worker(v) => t.worker.to_lowercase().contains(v.as_str()),
            Term::Any(v) => {
                name.contains(v.as_str())
                    || t.uuid.to_lowercase().contains(v.as_str())
                    || t.worker.to_lowercase().contains(v.as_str())
            }
        })
    }
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

/// The tasks the view shows, filtered and sorted.
pub fn visible(state: &State) -> Vec<&Task> {
    let filter = Filter::parse(&state.ui.filter);
    let mut list: Vec<&Task> = state
        .tasks
        .order
        .iter()
        .filter_map(|id| state.tasks.by_id.get(id))
        .filter(|t| filter.matches(state, t))
        .collect();
    let agent_name = |t: &Task| {
        t.agent
            .map(|i| state.agents[i].name.as_str())
            .unwrap_or("~")
    };
    match state.ui.task_sort {
        TaskSort::Newest => list.sort_by_key(|t| std::cmp::Reverse(t.updated)),
        TaskSort::Name => list.sort_by(|a, b| {
            a.fields
                .name
                .cmp(&b.fields.name)
                .then(b.updated.cmp(&a.updated))
        }),
        TaskSort::State => list.sort_by(|a, b| {
            a.state
                .label()
                .cmp(b.state.label())
                .then(b.updated.cmp(&a.updated))
        }),
        TaskSort::Agent => list.sort_by(|a, b| {
            agent_name(a)
                .cmp(agent_name(b))
                .then(b.updated.cmp(&a.updated))
        }),
        TaskSort::Runtime => list.sort_by(|a, b| {
            runtime(state, b)
                .partial_cmp(&runtime(state, a))
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
    }
    list
}

pub fn selected(state: &State) -> Option<&Task> {
    visible(state).get(state.ui.task_sel).copied()
}
