//! The dashboard as a room of its own: focus moves between the panes, a pane zooms, and
//! movement keys select within the focused pane (the activity log scrolls).

use crate::app::common::{is_movement, moved, page, step_of};
use crate::app::ui_state::Pane;
use crate::app::ui_state::View;
use crate::app::{Outcome, State};
use crate::config::keymap::Action;

/// The dashboard's own keys; None leaves the key to the main screen's meaning.
pub fn act(state: &mut State, action: Action) -> Option<Outcome> {
    if state.ui.view != View::Dashboard {
        return None;
    }
    let cycle = |focus: Pane, step: isize| {
        let i = Pane::ORDER.iter().position(|p| *p == focus).unwrap_or(0) as isize;
        Pane::ORDER[(i + step).rem_euclid(Pane::ORDER.len() as isize) as usize]
    };
    let ui = &mut state.ui;
    match action {
        Action::FocusNext => ui.focus = cycle(ui.focus, 1),
        Action::FocusPrev => ui.focus = cycle(ui.focus, -1),
        Action::Zoom => ui.zoomed = !ui.zoomed,
        _ if is_movement(action) => {
            let step = step_of(action, page(state));
            return Some(move_in_pane(state, step));
        }
        _ => return None,
    }
    Some(Outcome::redraw())
}

fn move_in_pane(state: &mut State, step: isize) -> Outcome {
    match state.ui.focus {
        Pane::Agents => state.ui.agent_sel = moved(state.ui.agent_sel, step, state.agents.len()),
        Pane::Queues => state.ui.queue_sel = moved(state.ui.queue_sel, step, state.queues.len()),
        Pane::Ports => state.ui.port_sel = moved(state.ui.port_sel, step, state.ports.len()),
        Pane::Activity => return crate::app::views::activity::scroll(state, step),
    }
    Outcome::redraw()
}
