//! What every view of the app shares, and depends on: the outcome of an update, the one
//! action gate (`guarded`), flashing and logging a message, movement steps and short ids.
//! The views (`tasks_view`, `exec`, `forms`, `logview`, …) depend on this; `update` routes
//! to the views; nothing here depends on `update` or on a view.

use crate::app::State;
use crate::app::state::LogLine;
use crate::app::ui_state::{Flash, Mode};
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};

use crate::app::effect::Effect;
use crate::config::keymap::Action;
use crate::gate::Act;
use crate::platform::model::Level;

#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub redraw: bool,
    pub effects: Vec<Effect>,
}

impl Outcome {
    pub fn redraw() -> Outcome {
        Outcome {
            redraw: true,
            effects: Vec::new(),
        }
    }
}

pub fn log(state: &mut State, at: DateTime<Utc>, level: Level, source: &str, message: String) {
    state.activity.push(LogLine {
        at,
        level,
        source: source.to_string(),
        message,
    });
}

/// `q` or `:q`: quits at once, or asks first while runs are going (quitting ends them).
pub fn quit(state: &mut State) -> Outcome {
    if state.executor.runs.iter().any(|r| r.running()) {
        state.ui.mode = Mode::ConfirmQuit;
        return Outcome::redraw();
    }
    Outcome {
        redraw: false,
        effects: vec![Effect::Quit],
    }
}

/// The one gate every dangerous effect passes: read-only mode refuses it here, in words.
pub fn guarded(state: &mut State, effect: Effect) -> Outcome {
    if let Some(act) = effect.act()
        && let Err(refusal) = state.gate().check(act)
    {
        flash(state, Level::Warn, refusal.0);
        return Outcome::redraw();
    }
    Outcome {
        redraw: true,
        effects: vec![effect],
    }
}

/// Before a form or a confirmation is shown: `Some` (the refusal, flashed) when the gate
/// would refuse `act` anyway, so the operator is told no before being asked. `demo_too`:
/// whether the demo refuses before asking as well (it shows the dispatch and emit forms, to
/// teach them, and refuses at the send).
pub fn refused_early(state: &mut State, act: Act, demo_too: bool) -> Option<Outcome> {
    let gate = state.gate();
    let gate = if demo_too {
        gate
    } else {
        crate::gate::Gate {
            demo: false,
            ..gate
        }
    };
    let refusal = gate.check(act).err()?;
    flash(state, Level::Warn, refusal.0);
    Some(Outcome::redraw())
}

pub fn flash(state: &mut State, level: Level, text: String) {
    let now = state.now;
    log(state, now, level, "control", text.clone());
    state.flash = Some(Flash {
        text,
        level,
        at: now,
    });
}

pub fn page(state: &State) -> usize {
    (state.ui.height as usize / 3).max(1)
}

/// Whether `action` is a movement key (up, down, a page, the top or the bottom).
pub fn is_movement(action: Action) -> bool {
    matches!(
        action,
        Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
    )
}

/// How far a movement key moves, in rows; Top and Bottom go as far as there is.
pub fn step_of(action: Action, page: usize) -> isize {
    match action {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -(page as isize),
        Action::PageDown => page as isize,
        Action::Top => isize::MIN / 2,
        _ => isize::MAX / 2,
    }
}

pub fn moved(sel: usize, step: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (sel as isize)
        .saturating_add(step)
        .clamp(0, len as isize - 1) as usize
}

pub fn short_id(id: &str) -> &str {
    &id[..id.floor_char_boundary(8)]
}

pub fn stored_line(l: crate::store::StoredLine, now: DateTime<Utc>) -> LogLine {
    LogLine {
        at: DateTime::<Utc>::from_timestamp_millis(l.at_ms).unwrap_or(now),
        level: Level::parse(&l.level).unwrap_or(Level::Info),
        source: l.source,
        message: l.message,
    }
}

/// `y` quits and cancels the runs still going (each is recorded as it ends); anything else
/// stays.
pub fn confirm_quit_key(state: &mut State, key: KeyEvent) -> Outcome {
    state.ui.mode = Mode::Normal;
    if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
        let now = state.now;
        log(
            state,
            now,
            Level::Warn,
            "control",
            "quitting with runs going: each is cancelled (TERM, then KILL) and recorded".into(),
        );
        return Outcome {
            redraw: false,
            effects: vec![Effect::Quit],
        };
    }
    flash(
        state,
        Level::Info,
        "not quitting: the runs go on (e for the Executor view)".into(),
    );
    Outcome::redraw()
}
