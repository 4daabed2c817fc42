//! The Workers view as a room of its own: the selection (by hostname, so it stays on its
//! worker whatever joins or leaves), and the worker detail, which asks the worker over the
//! pidbox when it opens, every `REFRESH` while it stays open, and at once on `refresh`.
//! Nothing is asked while no detail is open.

use crate::app::common::{flash, is_movement, log, moved, page, step_of};
use crate::app::ui_state::{Mode, View};
use crate::app::{Outcome, State};
use crate::kept::Worker;
use chrono::{DateTime, Duration, Utc};

use crate::app::effect::Effect;
use crate::config::keymap::Action;
use crate::platform::model::Level;
use crate::platform::pidbox::WorkerDetail;

/// How often an open detail asks again.
pub const REFRESH: Duration = Duration::seconds(5);

/// The Workers view's keys, and its detail's; None leaves the key to the main screen.
pub fn act(state: &mut State, action: Action) -> Option<Outcome> {
    if state.ui.mode == Mode::WorkerDetail {
        let ui = &mut state.ui;
        match action {
            Action::Back | Action::Zoom => ui.mode = Mode::Normal,
            Action::Up => ui.worker_scroll = ui.worker_scroll.saturating_sub(1),
            Action::Down => ui.worker_scroll = ui.worker_scroll.saturating_add(1).min(500),
            Action::Top => ui.worker_scroll = 0,
            Action::Refresh => return Some(ask(state)),
            // The `:` line over the detail: an order given there comes back to it.
            Action::Command => {
                ui.mode = Mode::Command(String::new());
                ui.resume_detail = true;
            }
            Action::Quit | Action::Help => return None,
            _ => return Some(Outcome::default()),
        }
        return Some(Outcome::redraw());
    }
    if state.ui.view != View::Workers || state.ui.mode != Mode::Normal {
        return None;
    }
    match action {
        Action::Zoom => {
            if picked(state).is_none() {
                return Some(Outcome::default());
            }
            state.ui.mode = Mode::WorkerDetail;
            state.ui.worker_scroll = 0;
            let fresh = state
                .inspected
                .get(state.ui.worker_pick.as_deref().unwrap_or(""))
                .and_then(|i| i.asked_at)
                .is_some_and(|at| state.now - at < REFRESH);
            if fresh {
                return Some(Outcome::redraw());
            }
            Some(ask(state))
        }
        Action::Refresh => Some(ask(state)),
        _ if is_movement(action) => {
            let step = step_of(action, page(state));
            move_pick(state, step);
            Some(Outcome::redraw())
        }
        _ => None,
    }
}

/// The selected worker, if it is still known.
pub fn picked(state: &State) -> Option<&Worker> {
    state.workers.get(state.ui.worker_pick.as_deref()?)
}

/// In the Workers view, something is selected once there is a worker.
pub fn keep_pick(state: &mut State) {
    if state.ui.view == View::Workers && picked(state).is_none() {
        state.ui.worker_pick = state.workers.keys().next().cloned();
    }
}

fn move_pick(state: &mut State, step: isize) {
    let names: Vec<&String> = state.workers.keys().collect();
    let at = state
        .ui
        .worker_pick
        .as_ref()
        .and_then(|p| names.iter().position(|n| *n == p))
        .unwrap_or(0);
    let to = moved(at, step, names.len());
    state.ui.worker_pick = names.get(to).map(|n| (*n).clone());
}

/// Asks the selected worker now, unless a question to it is already out.
fn ask(state: &mut State) -> Outcome {
    let Some(worker) = picked(state).map(|w| w.hostname.clone()) else {
        flash(
            state,
            Level::Info,
            "no worker selected: select one in the Workers view".into(),
        );
        return Outcome::redraw();
    };
    match ask_effect(state, &worker, state.now) {
        Some(effect) => Outcome {
            redraw: true,
            effects: vec![effect],
        },
        None => Outcome::redraw(),
    }
}

fn ask_effect(state: &mut State, worker: &str, now: DateTime<Utc>) -> Option<Effect> {
    let entry = state.inspected.entry(worker.to_string()).or_default();
    if entry.asking.is_some() {
        return None;
    }
    entry.asking = Some(now);
    entry.asked_at = Some(now);
    Some(Effect::Inspect {
        worker: worker.to_string(),
    })
}

/// On each tick: the open detail asks again once its answer is `REFRESH` old.
pub fn refresh_due(state: &mut State, now: DateTime<Utc>) -> Option<Effect> {
    if state.ui.mode != Mode::WorkerDetail {
        return None;
    }
    let worker = picked(state)?.hostname.clone();
    let due = state
        .inspected
        .get(&worker)
        .and_then(|i| i.asked_at)
        .is_none_or(|at| now - at >= REFRESH);
    if !due {
        return None;
    }
    ask_effect(state, &worker, now)
}

/// A worker's answers (or its silence) arrived.
pub fn inspected(
    state: &mut State,
    worker: &str,
    outcome: Result<Box<WorkerDetail>, crate::event::Failure>,
) -> Outcome {
    let now = state.now;
    let entry = state.inspected.entry(worker.to_string()).or_default();
    entry.asking = None;
    match outcome {
        Ok(detail) => {
            entry.detail = *detail;
            entry.at = Some(now);
            entry.error = None;
        }
        Err(why) => {
            let first = entry.error.is_none();
            entry.error = Some(why.to_string());
            // Said once in the log, not at every refresh while it stays silent.
            if first {
                log(
                    state,
                    now,
                    Level::Warn,
                    "celery",
                    format!("worker {worker}: {why}"),
                );
            }
        }
    }
    // Only forget what no one looks at: the workers no longer known.
    let known = &state.workers;
    state.inspected.retain(|w, _| known.contains_key(w));
    Outcome::redraw()
}
