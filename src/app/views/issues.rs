//! The Issues view as a room of its own: failed tasks grouped by task name and exception
//! type (`failures::groups`), the selection by group, Enter to list a group's tasks in the
//! Tasks view, and the retry key to retry every failed task of the group.

use crate::app::common::{flash, is_movement, moved, page, step_of};
use crate::app::model::failures::{Group, groups};
use crate::app::ui_state::{Mode, View};
use crate::app::{Outcome, State};
use crate::config::keymap::Action;
use crate::platform::model::Level;

/// The Issues view's keys; None leaves the key to the main screen.
pub fn act(state: &mut State, action: Action) -> Option<Outcome> {
    if state.ui.view != View::Issues || state.ui.mode != Mode::Normal {
        return None;
    }
    match action {
        Action::Zoom => Some(list_tasks(state)),
        Action::Retry => Some(retry_group(state)),
        _ if is_movement(action) => {
            let all = groups(state);
            let at = picked_index(state, &all).unwrap_or(0);
            let to = moved(at, step_of(action, page(state)), all.len());
            state.ui.issue_pick = all.get(to).map(Group::key);
            Some(Outcome::redraw())
        }
        _ => None,
    }
}

/// Where the selected group stands now; the first group when none is selected.
pub fn picked_index(state: &State, all: &[Group]) -> Option<usize> {
    match &state.ui.issue_pick {
        Some(key) => all.iter().position(|g| g.key() == *key),
        None => (!all.is_empty()).then_some(0),
    }
}

fn picked(state: &State) -> Option<Group> {
    let all = groups(state);
    picked_index(state, &all).map(|i| all[i].clone())
}

/// Enter: the group's failed tasks, exactly, in the Tasks view.
fn list_tasks(state: &mut State) -> Outcome {
    let Some(g) = picked(state) else {
        return Outcome::default();
    };
    state.ui.filter = g.filter();
    state.ui.view = View::Tasks;
    state.ui.task_pick = None;
    crate::app::model::tasks::pick_row(state, 0);
    Outcome::redraw()
}

/// The retry key: every failed task of the group, through the bulk retry's confirmation.
fn retry_group(state: &mut State) -> Outcome {
    match picked(state) {
        Some(g) => {
            crate::app::dialogs::orders::command(state, "retry", &g.filter()).unwrap_or_default()
        }
        None => {
            flash(state, Level::Info, "no failing group selected".into());
            Outcome::redraw()
        }
    }
}
