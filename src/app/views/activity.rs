//! The activity pane's keys, k9s's vocabulary and more: follow, wrap, timestamps, full
//! screen, clear, a filter (`/`), a search with next and previous, jump to a time, save
//! the filtered view, copy the selection to the operator's clipboard (OSC 52), and older
//! history paged in from the store when scrolling back past the top.

use crate::app::State;
use crate::app::state::LogLine;
use crate::app::ui_state::Pane;
use crate::app::ui_state::{Mode, View};
use chrono::{DateTime, Utc};

use crate::app::model::times::parse_time;
use crossterm::event::{KeyCode, KeyEvent};

use crate::app::common::{Outcome, flash};
use crate::app::effect::Effect;
use crate::app::model::activity::{Filter, OSC52_MAX, compile, format_line};
use crate::config::keymap::Action;
use crate::platform::model::Level;

/// Lines asked of the store per page of older history.
pub const HISTORY_PAGE: i64 = 2_000;

/// Whether the activity pane's own keys apply: it has the focus on the dashboard.
pub fn active(state: &State) -> bool {
    state.ui.view == View::Dashboard
        && state.ui.focus == Pane::Activity
        && state.ui.mode == Mode::Normal
}

pub(crate) fn act(state: &mut State, action: Action) -> Option<Outcome> {
    let log = &mut state.activity;
    match action {
        Action::Filter => {
            state.ui.mode = Mode::LogFilter(
                log.filter
                    .as_ref()
                    .map(|f| f.text.clone())
                    .unwrap_or_default(),
            )
        }
        Action::Search => state.ui.mode = Mode::LogSearch(log.search_text.clone()),
        Action::SearchNext | Action::SearchPrev => {
            return Some(next_match(state, action == Action::SearchNext));
        }
        Action::Wrap => log.wrap = !log.wrap,
        Action::Timestamps => log.timestamps = !log.timestamps,
        Action::Utc => state.utc = !state.utc,
        Action::Fullscreen => {
            state.ui.fullscreen = !state.ui.fullscreen;
        }
        Action::Clear => {
            log.clear();
            flash(
                state,
                Level::Info,
                "activity cleared from the screen; the store keeps it (scroll up to page it back)"
                    .into(),
            );
        }
        Action::Mark => {
            log.mark = match log.mark {
                Some(_) => None,
                None => log.cursor().and_then(|c| log.visible_seq(c)),
            };
            if log.mark.is_some() {
                log.follow = false;
            }
        }
        Action::Copy => return Some(copy(state)),
        Action::Save => return Some(save(state)),
        Action::GoTo => state.ui.mode = Mode::Command("at ".into()),
        Action::Top => {
            let log = &mut state.activity;
            log.follow = false;
            log.offset = log.visible_len().saturating_sub(1);
            return Some(older_if_at_top(state, true));
        }
        Action::Bottom => log.resume_follow(),
        Action::Back if state.ui.fullscreen => state.ui.fullscreen = false,
        Action::Back if log.mark.is_some() => log.mark = None,
        _ => return None,
    }
    Some(Outcome::redraw())
}

/// Up and down in the log: up pauses following; past the top, the store is asked for more.
pub(crate) fn scroll(state: &mut State, step: isize) -> Outcome {
    let log = &mut state.activity;
    let max = log.visible_len().saturating_sub(1);
    let was = log.offset;
    log.offset = (log.offset as isize)
        .saturating_sub(step)
        .clamp(0, max as isize) as usize;
    if step < 0 {
        log.follow = false;
        if was == max {
            return older_if_at_top(state, false);
        }
    } else if log.offset == 0 {
        log.resume_follow();
    }
    Outcome::redraw()
}

fn older_if_at_top(state: &mut State, quiet: bool) -> Outcome {
    let log = &mut state.activity;
    if !state.history_store || log.history_pending || log.history_exhausted {
        if !quiet && log.history_exhausted {
            flash(
                state,
                Level::Info,
                "the top: the store has nothing older".into(),
            );
        }
        return Outcome::redraw();
    }
    let Some(first) = log.lines.front() else {
        return Outcome::redraw();
    };
    log.history_pending = true;
    Outcome {
        redraw: true,
        effects: vec![Effect::LoadOlder {
            before_ms: first.at.timestamp_millis(),
            limit: HISTORY_PAGE,
        }],
    }
}

/// Older lines arrived from the store: in front, the view holding still.
pub(crate) fn older(state: &mut State, lines: Vec<crate::store::StoredLine>) -> Outcome {
    let now = state.now;
    let lines: Vec<LogLine> = lines
        .into_iter()
        .map(|l| crate::app::common::stored_line(l, now))
        .collect();
    let asked = lines.len();
    let took = state.activity.prepend(lines);
    if asked > took {
        flash(
            state,
            Level::Info,
            format!(
                "older history: {took} lines paged in; memory is full (twice activity.max_lines): press end to follow again"
            ),
        );
    }
    if let Some(at) = state.ui.goto_pending.take() {
        return goto(state, at);
    }
    Outcome::redraw()
}

fn next_match(state: &mut State, forward: bool) -> Outcome {
    let log = &mut state.activity;
    if log.search.is_none() {
        flash(state, Level::Info, "no search yet: ctrl-f to search".into());
        return Outcome::redraw();
    }
    match log.search_from_cursor(forward) {
        Some(i) => log.show(i),
        None => {
            let text = log.search_text.clone();
            flash(state, Level::Info, format!("no line matches `{text}`"));
        }
    }
    Outcome::redraw()
}

/// Typing the filter or the search: applied on Enter; a bad regex is said, not applied.
pub(crate) fn prompt_key(
    state: &mut State,
    search: bool,
    mut text: String,
    key: KeyEvent,
) -> Outcome {
    match key.code {
        KeyCode::Esc => return Outcome::redraw(),
        KeyCode::Enter => {
            let applied = if search {
                apply_search(state, &text)
            } else {
                apply_filter(state, &text)
            };
            if let Err(why) = applied {
                flash(state, Level::Warn, why.to_string());
                state.ui.mode = if search {
                    Mode::LogSearch(text)
                } else {
                    Mode::LogFilter(text)
                };
            }
            return Outcome::redraw();
        }
        _ => {
            crate::app::dialogs::line_edit::edit(&mut text, &key);
        }
    }
    state.ui.mode = if search {
        Mode::LogSearch(text)
    } else {
        Mode::LogFilter(text)
    };
    Outcome::redraw()
}

fn apply_filter(
    state: &mut State,
    text: &str,
) -> Result<(), crate::app::model::input_error::InputError> {
    let filter = Filter::parse(text)?;
    state.activity.set_filter(filter);
    Ok(())
}

fn apply_search(
    state: &mut State,
    text: &str,
) -> Result<(), crate::app::model::input_error::InputError> {
    let log = &mut state.activity;
    if text.trim().is_empty() {
        log.search = None;
        log.search_text.clear();
        return Ok(());
    }
    log.search = Some(compile(text.trim())?);
    log.search_text = text.trim().to_string();
    // The most recent match at or above the bottom line first: what an operator looks for.
    let here = log.cursor().and_then(|c| log.visible(c));
    let re = log.search.as_ref().expect("set above");
    if !here.is_some_and(|l| re.is_match(&l.message) || re.is_match(&l.source)) {
        next_match(state, false);
    }
    Ok(())
}

pub fn goto_command(state: &mut State, rest: &str) -> Outcome {
    match parse_time(rest, state.now, state.utc) {
        Ok(at) => {
            state.ui.view = View::Dashboard;
            state.ui.focus = Pane::Activity;
            goto(state, at)
        }
        Err(why) => {
            flash(state, Level::Warn, why.to_string());
            Outcome::redraw()
        }
    }
}

fn goto(state: &mut State, at: DateTime<Utc>) -> Outcome {
    let log = &mut state.activity;
    let oldest = log.visible(0).map(|l| l.at);
    if oldest.is_some_and(|o| o > at) && state.history_store && !log.history_exhausted {
        // Older than anything in memory: page history in, then try again.
        state.ui.goto_pending = Some(at);
        let out = older_if_at_top(state, true);
        if !out.effects.is_empty() {
            return out;
        }
        state.ui.goto_pending = None;
    }
    let log = &mut state.activity;
    match log.first_at_or_after(at) {
        Some(i) => log.show(i),
        None => flash(
            state,
            Level::Info,
            "nothing that late yet: showing the newest".into(),
        ),
    }
    Outcome::redraw()
}

fn selected_text(state: &State) -> Option<(String, usize)> {
    let log = &state.activity;
    let (lo, hi) = log.selection()?;
    let text: Vec<String> = (lo..=hi)
        .filter_map(|i| log.visible(i))
        .map(|l| format_line(l, state.utc))
        .collect();
    Some((text.join("\n"), hi - lo + 1))
}

fn copy(state: &mut State) -> Outcome {
    let Some((mut text, n)) = selected_text(state) else {
        flash(state, Level::Info, "nothing to copy".into());
        return Outcome::redraw();
    };
    let cut = text.len() > OSC52_MAX;
    if cut {
        let mut end = OSC52_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    let note = if cut {
        format!(" (cut to {} kB: terminals refuse more)", OSC52_MAX / 1000)
    } else {
        String::new()
    };
    state.activity.mark = None;
    flash(
        state,
        Level::Info,
        format!("copied {n} line(s) to your clipboard (OSC 52){note}"),
    );
    Outcome {
        redraw: true,
        effects: vec![Effect::Copy { text }],
    }
}

fn save(state: &mut State) -> Outcome {
    let log = &state.activity;
    let lines: Vec<LogLine> = (0..log.visible_len())
        .filter_map(|i| log.visible(i))
        .cloned()
        .collect();
    let name = format!("activity-{}.log", state.now.format("%Y%m%d-%H%M%S"));
    let path = state.policy.save_dir.join(name);
    Outcome {
        redraw: true,
        effects: vec![Effect::SaveLog {
            path,
            lines,
            utc: state.utc,
        }],
    }
}
