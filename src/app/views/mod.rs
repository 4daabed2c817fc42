//! The view list: every view, the `:` words that open it, and its keymap section. Adding a
//! view is a row here, its room (keys, commands) and its drawing; the keys route through
//! `act`, which asks the rooms in turn.

pub mod activity;
pub mod alerts;
pub mod containers;
pub mod contexts;
pub mod dashboard;
pub mod executor;
pub mod issues;
pub mod links;
pub mod tasks;
pub mod workers;

use crate::app::common::Outcome;
use crate::app::state::{Mode, State, View};
use crate::config::keymap::{Action, Section};

/// (view, the `:` words that open it, its keymap section). Views with richer commands of
/// their own (`:containers PATTERN`, `:fleet`) open themselves in their rooms.
pub const VIEWS: &[(View, &[&str], Section)] = &[
    (View::Dashboard, &["dashboard", "home"], Section::Dashboard),
    (View::Tasks, &["tasks"], Section::Tasks),
    (View::Workers, &["workers"], Section::Workers),
    (View::Issues, &["issues"], Section::Issues),
    (View::Alerts, &["alerts"], Section::Alerts),
    (View::Metrics, &["metrics"], Section::Metrics),
    (View::Executor, &["executor", "runbooks"], Section::Executor),
    (View::Containers, &[], Section::Containers),
    (View::Contexts, &[], Section::Contexts),
    (View::Links, &["links"], Section::Links),
];

/// The keymap section of `view`: its own keys, over the main screen's.
pub fn section(view: View) -> Section {
    VIEWS
        .iter()
        .find(|(v, _, _)| *v == view)
        .map_or(Section::Normal, |(_, _, s)| *s)
}

/// `:WORD` that opens a view: the view shown, whatever dialog was open closed.
pub fn open(state: &mut State, word: &str) -> Option<Outcome> {
    let (view, _, _) = VIEWS.iter().find(|(_, words, _)| words.contains(&word))?;
    state.ui.view = *view;
    state.ui.mode = Mode::Normal;
    Some(Outcome::redraw())
}

/// A key's action, offered to the rooms in turn (each takes only what is its own: its view
/// on screen, its dialog open); None when none of them took it.
pub fn act(state: &mut State, action: Action) -> Option<Outcome> {
    crate::app::views::tasks::act(state, action)
        .or_else(|| crate::app::views::workers::act(state, action))
        .or_else(|| crate::app::views::issues::act(state, action))
        .or_else(|| crate::app::views::contexts::act(state, action))
        .or_else(|| crate::app::views::alerts::act(state, action))
        .or_else(|| crate::app::views::links::act(state, action))
        .or_else(|| crate::app::views::containers::act(state, action))
        .or_else(|| {
            (state.ui.view == View::Executor && state.ui.mode == Mode::Normal)
                .then(|| crate::app::views::executor::act(state, action))
                .flatten()
        })
        .or_else(|| {
            crate::app::views::activity::active(state)
                .then(|| crate::app::views::activity::act(state, action))
                .flatten()
        })
        .or_else(|| crate::app::views::dashboard::act(state, action))
}
