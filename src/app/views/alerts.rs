//! The Alerts view as a room of its own: the selection (by rule and subject, so it stays on
//! its alert as others come and go) and the acknowledgement, which is audited and so
//! announced to the other control rooms.

use crate::app::common::{flash, is_movement, moved, page, step_of};
use crate::app::effect::Effect;
use crate::app::model::alert_book::ack_target;
use crate::app::ui_state::{Mode, View};
use crate::app::{Outcome, State};
use crate::config::keymap::Action;
use crate::platform::model::Level;

/// The alerts in the view's order (firing first, most severe first), each as its target.
pub fn listed(state: &State) -> Vec<String> {
    let book = &state.alerts;
    let mut all: Vec<_> = book.active.values().collect();
    all.sort_by_key(|a| {
        (
            a.fired.is_none(),
            std::cmp::Reverse(book.rules[a.rule].severity),
            a.since,
        )
    });
    all.iter()
        .map(|a| ack_target(&book.rules[a.rule].name, &a.subject))
        .collect()
}

/// The selected alert's row; the first when none is selected.
pub fn picked_index(state: &State, all: &[String]) -> Option<usize> {
    match &state.ui.alert_pick {
        Some(t) => all.iter().position(|x| x == t),
        None => (!all.is_empty()).then_some(0),
    }
}

pub fn act(state: &mut State, action: Action) -> Option<Outcome> {
    if state.ui.view != View::Alerts || state.ui.mode != Mode::Normal {
        return None;
    }
    let all = listed(state);
    match action {
        Action::Ack => {
            let Some(target) = picked_index(state, &all).map(|i| all[i].clone()) else {
                flash(state, Level::Info, "no alert to acknowledge".into());
                return Some(Outcome::redraw());
            };
            let who = state.session.who.clone();
            if !state.alerts.ack(&target, &who) {
                flash(
                    state,
                    Level::Info,
                    format!("{target} is not firing: only a firing alert is acknowledged"),
                );
                return Some(Outcome::redraw());
            }
            flash(state, Level::Info, format!("acknowledged {target}"));
            Some(Outcome {
                redraw: true,
                effects: vec![Effect::Ack { target }],
            })
        }
        _ if is_movement(action) => {
            let at = picked_index(state, &all).unwrap_or(0);
            let to = moved(at, step_of(action, page(state)), all.len());
            state.ui.alert_pick = all.get(to).cloned();
            Some(Outcome::redraw())
        }
        _ => None,
    }
}
