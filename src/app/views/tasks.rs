//! The Tasks view as a room of its own: its keys (select, details, sort, filter, revoke and
//! terminate with their confirmation), over the list `tasks` keeps. The selection follows
//! task ids (`tasks::move_pick`), so an action lands on the task that was highlighted.

use crate::app::common::{flash, guarded, is_movement, page, refused_early, short_id, step_of};
use crate::app::ui_state::Confirm;
use crate::app::ui_state::{Mode, View};
use crate::app::{Outcome, State};
use crossterm::event::{KeyCode, KeyEvent};

use crate::app::dialogs::confirmation::Said;
use crate::app::effect::Effect;
use crate::app::model::tasks;
use crate::config::keymap::{Action, Section};
use crate::gate::Act;
use crate::platform::model::{Level, TaskEventKind};

/// The Tasks view's own keys, and the task detail's; None leaves the key to the main
/// screen's meaning.
pub fn act(state: &mut State, action: Action) -> Option<Outcome> {
    let ui = &mut state.ui;
    if ui.mode == Mode::Detail {
        match action {
            Action::FocusNext | Action::FocusPrev => {
                let n = tasks::selected(state).map_or(0, |t| tasks::links(state, t).len());
                let ui = &mut state.ui;
                ui.detail_link = match (ui.detail_link, action) {
                    _ if n == 0 => None,
                    (None, Action::FocusNext) => Some(0),
                    (None, _) => Some(n - 1),
                    (Some(i), Action::FocusNext) => Some((i + 1) % n),
                    (Some(i), _) => Some((i + n - 1) % n),
                };
            }
            Action::Zoom if ui.detail_link.is_some() => return Some(follow_link(state)),
            Action::Back | Action::Zoom => {
                ui.mode = Mode::Normal;
                ui.detail_link = None;
            }
            Action::Up => ui.detail_scroll = ui.detail_scroll.saturating_sub(1),
            Action::Down => ui.detail_scroll = ui.detail_scroll.saturating_add(1).min(500),
            Action::Retry => return Some(crate::app::dialogs::orders::retry_key(state)),
            // Revoke and terminate, as its footer offers, on the task it shows.
            Action::Revoke | Action::Terminate => {
                return Some(ask_revoke(state, action == Action::Terminate));
            }
            Action::Quit | Action::Help => return None,
            _ => return Some(Outcome::default()),
        }
        return Some(Outcome::redraw());
    }
    if ui.view != View::Tasks {
        return None;
    }
    match action {
        // The selection stays on its task, wherever the new order puts it.
        Action::Sort => ui.task_sort = ui.task_sort.next(),
        Action::Revoke | Action::Terminate => {
            return Some(ask_revoke(state, action == Action::Terminate));
        }
        Action::Retry => return Some(crate::app::dialogs::orders::retry_key(state)),
        Action::Zoom => {
            if tasks::selected(state).is_none() {
                return Some(Outcome::default());
            }
            state.ui.mode = Mode::Detail;
            state.ui.detail_scroll = 0;
            state.ui.detail_link = None;
        }
        _ if is_movement(action) => {
            let step = step_of(action, page(state));
            tasks::move_pick(state, step);
        }
        _ => return None,
    }
    Some(Outcome::redraw())
}

/// Enter on a link of the task detail: the detail of that task, if it is still kept.
fn follow_link(state: &mut State) -> Outcome {
    let target = tasks::selected(state).and_then(|t| {
        let links = tasks::links(state, t);
        state
            .ui
            .detail_link
            .and_then(|i| links.get(i))
            .map(|(what, id)| (*what, id.to_string()))
    });
    let Some((what, id)) = target else {
        return Outcome::default();
    };
    let Some(target) = state.tasks.by_id.get(&id) else {
        flash(
            state,
            Level::Info,
            format!(
                "its {what} [{}] is not kept here (never seen, or evicted)",
                short_id(&id)
            ),
        );
        return Outcome::redraw();
    };
    if !tasks::Filter::current(state).matches(state, target) {
        flash(
            state,
            Level::Info,
            format!("filter cleared to show its {what} [{}]", short_id(&id)),
        );
        state.ui.filter.clear();
    }
    state.ui.task_pick = Some(id);
    state.ui.detail_link = None;
    state.ui.detail_scroll = 0;
    Outcome::redraw()
}

pub fn filter_key(mut text: String, key: KeyEvent, state: &mut State) -> Outcome {
    match key.code {
        KeyCode::Enter => {
            // A malformed filter is said, and the prompt stays open to fix it.
            if let Err(why) = tasks::Filter::parse(&text, state.now, state.utc) {
                flash(state, Level::Warn, format!("filter not applied: {why}"));
                state.ui.mode = Mode::Filter(text);
                return Outcome::redraw();
            }
            state.ui.filter = text.trim().to_string();
            // A new filter shows other rows: the selection starts again at its top,
            // unless the selected task still passes it.
            if tasks::selected(state).is_none() {
                tasks::pick_row(state, 0);
            }
            state.ui.mode = Mode::Normal;
            // Past what memory keeps: a page of older matches from the store's history
            // (Enter again pages further back).
            return Outcome {
                redraw: true,
                effects: crate::app::model::history::search(state)
                    .into_iter()
                    .collect(),
            };
        }
        KeyCode::Esc => {
            state.ui.mode = Mode::Normal;
            return Outcome::redraw();
        }
        _ => {
            crate::app::dialogs::line_edit::edit(&mut text, &key);
        }
    }
    state.ui.mode = Mode::Filter(text);
    Outcome::redraw()
}

pub fn confirm_key(state: &mut State, key: KeyEvent, c: Confirm) -> Outcome {
    // A running task: the terminate the confirmation offers, then the signal to send.
    if !c.terminate
        && c.running
        && state.keymap.lookup(Section::Normal, &key) == Some(Action::Terminate)
    {
        if let Some(no) = refused_early(state, Act::Terminate, false) {
            return no;
        }
        state.ui.mode = Mode::Confirm(Confirm {
            terminate: true,
            ..c
        });
        return Outcome::redraw();
    }
    if c.terminate && key.code == KeyCode::Tab {
        let signal = c.signal.next();
        state.ui.mode = Mode::Confirm(Confirm { signal, ..c });
        return Outcome::redraw();
    }
    match crate::app::dialogs::confirmation::answer(None, &mut String::new(), &key) {
        Said::Yes => {
            state.ui.mode = Mode::Normal;
            let effect = Effect::Revoke {
                task_id: c.task_id,
                terminate: c.terminate,
                signal: c.signal,
            };
            guarded(state, effect)
        }
        Said::No => {
            state.ui.mode = Mode::Normal;
            flash(state, Level::Info, "cancelled: nothing was sent".into());
            Outcome::redraw()
        }
        Said::Mistyped | Said::Typing | Said::Other => Outcome::default(),
    }
}

fn ask_revoke(state: &mut State, terminate: bool) -> Outcome {
    let Some(t) = tasks::selected(state) else {
        let why = match tasks::pick_gone(state) {
            Some(id) => format!(
                "refused: the selected task [{}] is no longer kept (evicted, oldest first); select another",
                short_id(id)
            ),
            None => "no task selected".into(),
        };
        flash(state, Level::Info, why);
        return Outcome::redraw();
    };
    if t.state.is_final() {
        // Revoking an ended task changes nothing: say so instead of asking.
        let why = format!(
            "refused: {} [{}] already ended ({}); revoking it changes nothing",
            t.fields.name.as_deref().unwrap_or("task"),
            short_id(&t.uuid),
            t.state.label()
        );
        flash(state, Level::Info, why);
        return Outcome::redraw();
    }
    let confirm = Confirm {
        task_id: t.uuid.clone(),
        label: format!(
            "{} [{}]",
            t.fields.name.as_deref().unwrap_or("task"),
            short_id(&t.uuid)
        ),
        terminate,
        running: t.state == TaskEventKind::Started,
        signal: crate::orders::KillSignal::Term,
    };
    let act = if terminate {
        Act::Terminate
    } else {
        Act::Revoke
    };
    if let Some(no) = refused_early(state, act, false) {
        return no;
    }
    state.ui.mode = Mode::Confirm(confirm);
    Outcome::redraw()
}
