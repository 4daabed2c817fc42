//! The fleet overview (`:fleet`) as a room of its own: one row per context, summed up from
//! each context's own state by the loop once a second (`Event::Contexts`); the selection
//! follows the context's name; Enter, or `:ctx NAME`, shows that context. Only the view
//! changes: every context keeps its own state, feeds and actions, so nothing typed in one
//! can reach another.

use crate::app::common::{flash, is_movement, moved, page, step_of};
use crate::app::effect::Effect;
use crate::app::model::health::{self, Severity};
use crate::app::ui_state::{Mode, View};
use crate::app::{Outcome, State};
use crate::config::contexts::ContextMeta;
use crate::config::keymap::Action;
use crate::event::ContextRow;
use crate::platform::model::{AgentState, Level, TaskEventKind};

/// One context's row, from its state. Failures are counted from the newest tasks back, so
/// the cost is the last five minutes' tasks, not the whole ring.
pub fn row_of(state: &State, meta: &ContextMeta, spark: Vec<u64>) -> ContextRow {
    let since = state.now - chrono::Duration::minutes(5);
    let failures_5m = state
        .tasks
        .newest
        .values()
        .map(|id| &state.tasks.by_id[id])
        .take_while(|t| t.updated >= since)
        .filter(|t| t.state == TaskEventKind::Failed)
        .count();
    ContextRow {
        name: meta.name.clone(),
        color: meta.color.clone(),
        protected: meta.protected,
        agents_up: state
            .agents
            .iter()
            .filter(|a| matches!(a.state, AgentState::Idle | AgentState::Busy))
            .count(),
        agents: state.agents.len(),
        workers_online: state.workers.values().filter(|w| w.online).count(),
        waiting: state.queues.iter().map(|q| q.depth).sum(),
        failures_5m,
        ports_down: state
            .ports
            .iter()
            .filter(|p| health::port(state, p).1 == Severity::Alarm)
            .count(),
        alerts_firing: state.alerts.firing().len(),
        // The demo fleet has no Redis: it is live as long as it runs.
        live: state.session.demo
            || state.links.iter().any(|l| {
                l.name == crate::event::links::REDIS && l.health == crate::event::LinkHealth::Up
            }),
        spark,
    }
}

/// The loop's summary arrived: kept, and drawn when the overview is on screen.
pub fn rows(state: &mut State, rows: Vec<ContextRow>) -> Outcome {
    let changed = state.ui.context_rows != rows;
    state.ui.context_rows = rows;
    Outcome {
        redraw: changed && state.ui.view == View::Contexts,
        effects: Vec::new(),
    }
}

/// `:fleet` and `:ctx NAME`; None for any other command.
pub fn command(state: &mut State, cmd: &str, rest: &str) -> Option<Outcome> {
    match cmd {
        "fleet" => {
            state.ui.view = View::Contexts;
            Some(Outcome::redraw())
        }
        "ctx" | "context" => Some(switch(state, rest.trim())),
        _ => None,
    }
}

fn switch(state: &mut State, name: &str) -> Outcome {
    if name.is_empty() {
        let known = state.session.contexts.join(", ");
        flash(
            state,
            Level::Info,
            format!(
                "this is `{}`; the contexts: {known}",
                state.session.context.name
            ),
        );
        return Outcome::redraw();
    }
    if !state.session.contexts.iter().any(|c| c == name) {
        let known = state.session.contexts.join(", ");
        flash(
            state,
            Level::Warn,
            format!(
                "no context named `{}`; the contexts: {known}",
                crate::sanitize::clean(name, 40)
            ),
        );
        return Outcome::redraw();
    }
    Outcome {
        redraw: true,
        effects: vec![Effect::SwitchContext {
            name: name.to_string(),
        }],
    }
}

/// The overview's keys; None leaves the key to the main screen.
pub fn act(state: &mut State, action: Action) -> Option<Outcome> {
    if state.ui.view != View::Contexts || state.ui.mode != Mode::Normal {
        return None;
    }
    let names: Vec<String> = state
        .ui
        .context_rows
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let at = picked_index(state).unwrap_or(0);
    match action {
        Action::Zoom => Some(match names.get(at) {
            Some(name) => switch(state, &name.clone()),
            None => Outcome::default(),
        }),
        _ if is_movement(action) => {
            let to = moved(at, step_of(action, page(state)), names.len());
            state.ui.context_pick = names.get(to).cloned();
            Some(Outcome::redraw())
        }
        _ => None,
    }
}

/// Where the picked context's row is now; the first when none is picked.
pub fn picked_index(state: &State) -> Option<usize> {
    let rows = &state.ui.context_rows;
    match &state.ui.context_pick {
        Some(name) => rows.iter().position(|r| &r.name == name),
        None => (!rows.is_empty()).then_some(0),
    }
}
