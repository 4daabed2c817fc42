//! The dispatch form and the `:` command line. Both end in `submit`, which builds the exact
//! request (pure: time from the state, id from the run's seed) and asks for confirmation
//! with the message it would send; only `y` turns it into an `Effect::Dispatch`.

use crate::app::State;
use crate::app::ui_state::{Flash, Form, FormField, Mode, Pane, PendingDispatch, PendingEmit};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::common::{Outcome, flash, guarded, refused_early};
use crate::app::effect::Effect;
use crate::app::model::draft::{
    AgentQueue, Draft, derived_task_id, parse_args, parse_kwargs, request,
};
use crate::gate::Act;
use crate::platform::model::Level;
use crate::platform::wire;

const HISTORY_MAX: usize = 100;

/// `d`: the form, preset to the selected agent. Refused at once under --read-only.
pub fn open_form(state: &mut State) -> Outcome {
    if let Some(no) = refused_early(state, Act::Dispatch, false) {
        return no;
    }
    let agent = if state.ui.focus == Pane::Agents {
        state.ui.agent_sel.min(state.agents.len().saturating_sub(1))
    } else {
        0
    };
    state.ui.mode = Mode::Form(Box::new(Form {
        field: FormField::Task,
        agent,
        task: String::new(),
        args: String::new(),
        kwargs: String::new(),
        priority: 0,
        when: String::new(),
        expires: String::new(),
        error: None,
    }));
    Outcome::redraw()
}

/// Configured task names of the form's agent that start with what was typed.
pub fn completions(state: &State, form: &Form) -> Vec<String> {
    let typed = form.task.trim();
    state.agents.get(form.agent).map_or_else(Vec::new, |a| {
        a.tasks
            .iter()
            .filter(|t| t.starts_with(typed) && t.as_str() != typed)
            .cloned()
            .collect()
    })
}

/// The live error of a field, if its text cannot be used as it stands.
pub fn field_error(form: &Form, field: FormField) -> Option<String> {
    match field {
        FormField::Args => parse_args(&form.args).err().map(|e| e.0),
        FormField::Kwargs => parse_kwargs(&form.kwargs).err().map(|e| e.0),
        FormField::When
            if !form.when.trim().is_empty() && form.when.trim().parse::<f64>().is_err() =>
        {
            chrono::DateTime::parse_from_rfc3339(form.when.trim())
                .err()
                .map(|_| "countdown in seconds, or an ETA like 2026-11-24T03:00:00Z".to_string())
        }
        FormField::Expires if !form.expires.trim().is_empty() => {
            match form.expires.trim().parse::<f64>() {
                Ok(s) if s > 0.0 => None,
                _ => Some("seconds from now, more than 0".into()),
            }
        }
        _ => None,
    }
}

fn draft(state: &State, form: &Form) -> Result<Draft, crate::app::model::input_error::InputError> {
    if let Some(e) = FormField::ALL.iter().find_map(|f| field_error(form, *f)) {
        return Err(e.into());
    }
    let when = form.when.trim();
    Ok(Draft {
        agent: state
            .agents
            .get(form.agent)
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        task: form.task.clone(),
        args: form.args.clone(),
        kwargs: form.kwargs.clone(),
        priority: form.priority,
        countdown: when.parse().ok(),
        eta: (!when.is_empty() && when.parse::<f64>().is_err()).then(|| when.to_string()),
        expires: form.expires.trim().parse().ok(),
    })
}

/// A key in the dispatch form: move between fields, change a choice, type, send or cancel.
pub fn form_key(state: &mut State, mut form: Box<Form>, key: KeyEvent) -> Outcome {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let idx = FormField::ALL
        .iter()
        .position(|f| *f == form.field)
        .unwrap_or(0);
    let step = |d: isize| {
        FormField::ALL[(idx as isize + d).rem_euclid(FormField::ALL.len() as isize) as usize]
    };
    form.error = None;
    match key.code {
        KeyCode::Esc => {
            state.ui.mode = Mode::Normal;
            flash(
                state,
                Level::Info,
                "dispatch cancelled: nothing was sent".into(),
            );
            return Outcome::redraw();
        }
        KeyCode::Enter => {
            return match draft(state, &form) {
                Ok(d) => submit(state, d, Some(form)),
                Err(e) => {
                    form.error = Some(e.to_string());
                    state.ui.mode = Mode::Form(form);
                    Outcome::redraw()
                }
            };
        }
        KeyCode::Tab | KeyCode::Down => form.field = step(1),
        KeyCode::BackTab | KeyCode::Up => form.field = step(-1),
        KeyCode::Left | KeyCode::Right => {
            let right = key.code == KeyCode::Right;
            match form.field {
                FormField::Agent if !state.agents.is_empty() => {
                    let n = state.agents.len();
                    form.agent = if right {
                        (form.agent + 1) % n
                    } else {
                        (form.agent + n - 1) % n
                    };
                }
                FormField::Priority => {
                    form.priority = if right {
                        (form.priority + 1).min(9)
                    } else {
                        form.priority.saturating_sub(1)
                    }
                }
                FormField::Task if right => {
                    if let Some(first) = completions(state, &form).first() {
                        form.task = first.clone();
                    }
                }
                _ => {}
            }
        }
        KeyCode::Char(c) if !ctrl && form.field == FormField::Priority => {
            if let Some(d) = c.to_digit(10) {
                form.priority = d as u8;
            }
        }
        _ => {
            if let Some(t) = text_of(&mut form) {
                crate::app::dialogs::line_edit::edit(t, &key);
            }
        }
    }
    state.ui.mode = Mode::Form(form);
    Outcome::redraw()
}

fn text_of(form: &mut Form) -> Option<&mut String> {
    match form.field {
        FormField::Task => Some(&mut form.task),
        FormField::Args => Some(&mut form.args),
        FormField::Kwargs => Some(&mut form.kwargs),
        FormField::When => Some(&mut form.when),
        FormField::Expires => Some(&mut form.expires),
        FormField::Agent | FormField::Priority => None,
    }
}

/// Builds the exact request and asks for confirmation with it. A refused draft goes back to
/// the form (or, from the command line, into the status bar), saying why.
fn submit(state: &mut State, d: Draft, form: Option<Box<Form>>) -> Outcome {
    if let Some(no) = refused_early(state, Act::Dispatch, false) {
        state.ui.mode = Mode::Normal;
        return no;
    }
    let agents: Vec<AgentQueue> = state
        .agents
        .iter()
        .map(|a| AgentQueue {
            name: a.name.clone(),
            queue: a.queues.first().cloned(),
        })
        .collect();
    let id = derived_task_id(state.session.id_seed, state.dispatches);
    match request(&agents, &d, state.now, id, state.session.origin.clone()) {
        Ok((agent, req)) => {
            let message = wire::task_message(&req, &req.id);
            let envelope: serde_json::Value =
                serde_json::from_slice(&message).expect("we just built it");
            let body = crate::platform::decode::kombu_body(&message)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
            let preview = format!(
                "LPUSH {}\n{}\n\nbody, decoded:\n{}",
                wire::queue_key("", &req.queue, req.priority).replace("\x06\x16", "\\x06\\x16"),
                serde_json::to_string_pretty(&envelope).unwrap_or_default(),
                body.map(|b| serde_json::to_string_pretty(&b).unwrap_or_default())
                    .unwrap_or_default()
            );
            state.ui.mode = Mode::ConfirmDispatch(Box::new(PendingDispatch {
                agent,
                request: req,
                preview,
                scroll: 0,
            }));
        }
        Err(why) => match form {
            Some(mut f) => {
                f.error = Some(why.to_string());
                state.ui.mode = Mode::Form(f);
            }
            None => {
                state.ui.mode = Mode::Normal;
                flash(state, Level::Warn, format!("refused: {why}"));
            }
        },
    }
    Outcome::redraw()
}

pub fn confirm_dispatch_key(
    state: &mut State,
    mut pending: Box<PendingDispatch>,
    key: KeyEvent,
) -> Outcome {
    match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') => {
            state.ui.mode = Mode::Normal;
            state.dispatches += 1;
            let PendingDispatch { agent, request, .. } = *pending;
            guarded(state, Effect::Dispatch { agent, request })
        }
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
            state.ui.mode = Mode::Normal;
            flash(
                state,
                Level::Info,
                "dispatch cancelled: nothing was sent".into(),
            );
            Outcome::redraw()
        }
        KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown => {
            pending.scroll = match key.code {
                KeyCode::Up => pending.scroll.saturating_sub(1),
                KeyCode::PageUp => pending.scroll.saturating_sub(10),
                KeyCode::Down => pending.scroll.saturating_add(1).min(400),
                _ => pending.scroll.saturating_add(10).min(400),
            };
            state.ui.mode = Mode::ConfirmDispatch(pending);
            Outcome::redraw()
        }
        _ => {
            state.ui.mode = Mode::ConfirmDispatch(pending);
            Outcome::default()
        }
    }
}

pub fn command_key(state: &mut State, mut text: String, key: KeyEvent) -> Outcome {
    match key.code {
        KeyCode::Esc => {
            state.ui.mode = after_command(state);
            state.ui.history_pos = None;
            return Outcome::redraw();
        }
        KeyCode::Enter => {
            state.ui.mode = after_command(state);
            state.ui.history_pos = None;
            let line = text.trim().to_string();
            if !line.is_empty() {
                if state.ui.history.back() != Some(&line) {
                    state.ui.history.push_back(line.clone());
                }
                if state.ui.history.len() > HISTORY_MAX {
                    state.ui.history.pop_front();
                }
                return run_command(state, &line);
            }
            return Outcome::redraw();
        }
        KeyCode::Up | KeyCode::Down => {
            let n = state.ui.history.len();
            if n > 0 {
                let pos = match (state.ui.history_pos, key.code) {
                    (None, KeyCode::Up) => Some(n - 1),
                    (Some(p), KeyCode::Up) => Some(p.saturating_sub(1)),
                    (Some(p), KeyCode::Down) if p + 1 < n => Some(p + 1),
                    _ => None,
                };
                state.ui.history_pos = pos;
                text = pos.map(|p| state.ui.history[p].clone()).unwrap_or_default();
            }
        }
        KeyCode::Tab => {
            let (done, several) = crate::app::dialogs::commands::complete(state, &text);
            text = done;
            if several.len() > 1 {
                let shown: Vec<_> = several.iter().take(12).map(String::as_str).collect();
                state.flash = Some(Flash {
                    text: shown.join("  "),
                    level: Level::Info,
                    at: state.now,
                });
            }
        }
        _ => {
            crate::app::dialogs::line_edit::edit(&mut text, &key);
        }
    }
    state.ui.mode = Mode::Command(text);
    Outcome::redraw()
}

/// Where the `:` line returns: to the worker detail it was opened over, or the view.
fn after_command(state: &mut State) -> Mode {
    if std::mem::take(&mut state.ui.resume_detail) {
        Mode::WorkerDetail
    } else {
        Mode::Normal
    }
}

/// A `:` line: the fleet's orders, the views' own commands, a view opened, then the
/// command line's own.
fn run_command(state: &mut State, line: &str) -> Outcome {
    let (cmd, rest) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(c, r)| (c, r.trim()));
    if let Some(done) = crate::app::dialogs::orders::command(state, cmd, rest) {
        return done;
    }
    if let Some(done) = crate::app::views::containers::command(state, cmd, rest) {
        return done;
    }
    if let Some(done) = crate::app::views::contexts::command(state, cmd, rest) {
        return done;
    }
    if let Some(done) = crate::app::views::open(state, cmd) {
        return done;
    }
    // Only the fleet's orders come back to the worker detail; the rest leave it.
    if state.ui.mode == Mode::WorkerDetail {
        state.ui.mode = Mode::Normal;
    }
    match cmd {
        "q" | "quit" => crate::app::common::quit(state),
        "timeline" => timeline_command(state, rest),
        "help" => {
            state.ui.mode = Mode::Help;
            Outcome::redraw()
        }
        "dispatch" | "d" => dispatch_command(state, rest),
        "emit" => emit_command(state, rest),
        "exec" => crate::app::views::executor::exec_command(state, rest),
        "at" | "goto" => crate::app::views::activity::goto_command(state, rest),
        "run" => crate::app::views::executor::adhoc_command(state, rest),
        other => {
            flash(
                state,
                Level::Warn,
                format!(
                    "unknown command `{}`: try {}",
                    crate::sanitize::clean(other, 30),
                    crate::app::dialogs::commands::names()
                ),
            );
            Outcome::redraw()
        }
    }
}

/// `:timeline [FROM]`: the incident timeline from FROM (an hour ago by default) to now,
/// saved to a file.
fn timeline_command(state: &mut State, rest: &str) -> Outcome {
    let from = if rest.is_empty() { "-1h" } else { rest };
    match crate::app::model::times::parse_time(from, state.now, state.utc) {
        Ok(at) if at <= state.now => Outcome {
            redraw: true,
            effects: vec![Effect::SaveTimeline {
                from_ms: at.timestamp_millis(),
                to_ms: state.now.timestamp_millis(),
            }],
        },
        Ok(_) => {
            flash(
                state,
                Level::Warn,
                "a timeline starts in the past: :timeline -30m".into(),
            );
            Outcome::redraw()
        }
        Err(why) => {
            flash(state, Level::Warn, why.to_string());
            Outcome::redraw()
        }
    }
}

/// `WORD WORD [JSON]`, as `:dispatch` and `:emit` take them: None when a word is missing.
fn two_words_and_json(rest: &str) -> Option<(&str, &str, &str)> {
    let mut parts = rest.splitn(3, char::is_whitespace);
    let (first, second, json) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("").trim(),
    );
    (!first.is_empty() && !second.is_empty()).then_some((first, second, json))
}

/// `:dispatch AGENT TASK [JSON]`: one JSON value, an array for the args, an object for the
/// kwargs; asks first.
fn dispatch_command(state: &mut State, rest: &str) -> Outcome {
    let Some((agent, task, json)) = two_words_and_json(rest) else {
        flash(
            state,
            Level::Warn,
            "usage: :dispatch AGENT TASK [JSON args array or kwargs object]".into(),
        );
        return Outcome::redraw();
    };
    // One JSON value: an array is the args, an object the kwargs.
    let (args, kwargs) = if json.starts_with('{') {
        (String::new(), json.to_string())
    } else {
        (json.to_string(), String::new())
    };
    let d = Draft {
        agent: agent.into(),
        task: task.into(),
        args,
        kwargs,
        ..Draft::default()
    };
    submit(state, d, None)
}

/// `:emit ENDPOINT[/namespace] EVENT [JSON]`: asks first, then emits and waits for the ack.
fn emit_command(state: &mut State, rest: &str) -> Outcome {
    let Some((target, event, json)) = two_words_and_json(rest) else {
        flash(
            state,
            Level::Warn,
            "usage: :emit ENDPOINT[/namespace] EVENT [JSON]".into(),
        );
        return Outcome::redraw();
    };
    let (endpoint, namespace) = match target.split_once('/') {
        Some((e, n)) => (e.to_string(), format!("/{n}")),
        None => (target.to_string(), "/".to_string()),
    };
    let payload = if json.is_empty() {
        serde_json::Value::Null
    } else {
        match serde_json::from_str(json) {
            Ok(v) => v,
            Err(e) => {
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                flash(
                    state,
                    Level::Warn,
                    format!(
                        "refused: payload: invalid JSON at line {}, column {}: {msg}",
                        e.line(),
                        e.column()
                    ),
                );
                return Outcome::redraw();
            }
        }
    };
    let pending = PendingEmit {
        endpoint,
        namespace,
        event: event.to_string(),
        payload,
    };
    if let Some(no) = refused_early(state, Act::Emit, false) {
        return no;
    }
    state.ui.mode = Mode::ConfirmEmit(Box::new(pending));
    Outcome::redraw()
}

fn emit_effect(p: &PendingEmit) -> Effect {
    Effect::Emit {
        endpoint: p.endpoint.clone(),
        namespace: p.namespace.clone(),
        event: p.event.clone(),
        payload: p.payload.clone(),
    }
}

pub fn confirm_emit_key(state: &mut State, pending: Box<PendingEmit>, key: KeyEvent) -> Outcome {
    match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') => {
            state.ui.mode = Mode::Normal;
            guarded(state, emit_effect(&pending))
        }
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
            state.ui.mode = Mode::Normal;
            flash(
                state,
                Level::Info,
                "emit cancelled: nothing was sent".into(),
            );
            Outcome::redraw()
        }
        _ => {
            state.ui.mode = Mode::ConfirmEmit(pending);
            Outcome::default()
        }
    }
}
