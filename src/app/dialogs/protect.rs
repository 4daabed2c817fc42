//! A protected context (`protected = true`, production): every action that changes its
//! platform, once the action's own confirmation is given, waits for the context's name to
//! be typed. One place for all of them: the effects a key produced that the gate would judge
//! (`Effect::act`) are held here, and released only on the exact name.

use crate::app::common::flash;
use crate::app::ui_state::Mode;
use crate::app::{Outcome, State};
use crossterm::event::KeyEvent;

use crate::app::dialogs::confirmation::{Said, answer};
use crate::app::effect::Effect;
pub use crate::app::ui_state::Held;
use crate::platform::model::Level;

/// After a key: in a protected context, what would change the platform is held.
pub fn hold(state: &mut State, mut out: Outcome) -> Outcome {
    if !state.session.context.protected || !out.effects.iter().any(|e| e.act().is_some()) {
        return out;
    }
    let (held, free): (Vec<Effect>, Vec<Effect>) =
        out.effects.drain(..).partition(|e| e.act().is_some());
    state.ui.mode = Mode::ConfirmContext(Box::new(Held {
        effects: held,
        typed: String::new(),
    }));
    Outcome {
        redraw: true,
        effects: free,
    }
}

/// Keys while held: the name typed, Enter to go ahead, Esc to drop it.
pub fn key(state: &mut State, mut held: Held, key: KeyEvent) -> Outcome {
    let name = state.session.context.name.clone();
    match answer(Some(&name), &mut held.typed, &key) {
        Said::No => {
            state.ui.mode = Mode::Normal;
            flash(
                state,
                Level::Info,
                format!("not done: {} in `{name}` dropped", held.words().join(", ")),
            );
            return Outcome::redraw();
        }
        Said::Yes => {
            state.ui.mode = Mode::Normal;
            return Outcome {
                redraw: true,
                effects: held.effects,
            };
        }
        Said::Mistyped => {
            let why = if held.typed.is_empty() {
                format!("nothing typed; type the context's name `{name}` exactly, then Enter")
            } else {
                format!(
                    "`{}` is not `{name}`; type the context's name exactly, then Enter",
                    held.typed
                )
            };
            flash(state, Level::Warn, format!("not yet: {why}"));
            held.typed.clear();
        }
        Said::Typing | Said::Other => {}
    }
    state.ui.mode = Mode::ConfirmContext(Box::new(held));
    Outcome::redraw()
}
