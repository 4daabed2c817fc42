//! The Executor's part of `update`: choosing a runbook, confirming it (typing the host's
//! name when it is destructive), following runs in tabs and cancelling them.

use crate::app::State;
use crate::app::state::{LogLine, MAX_RUN_TABS, RunPhase, RunTab};
use crate::app::ui_state::{Mode, View};
use crate::app::ui_state::{Pane, PendingExec};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::common::{Outcome, flash, guarded, refused_early};
use crate::app::dialogs::confirmation::{Said, answer};
use crate::app::effect::Effect;
use crate::config::keymap::{Action, Section};
use crate::event::LinkHealth;
use crate::executor::run::{Status, Stream};
use crate::executor::{RunPlan, RunUpdate, plan_adhoc, plan_runbook};
use crate::platform::model::Level;

impl State {
    /// Redis cannot be reached: dispatch cannot work, and runbooks are the way to act.
    pub fn queue_path_down(&self) -> bool {
        self.links.iter().any(|l| {
            l.name == crate::event::links::REDIS && matches!(l.health, LinkHealth::Down { .. })
        })
    }
}

/// `e`: the Executor view, or back. From an agent's tile while the queue path is down, it
/// lists the runbooks that repair that agent.
pub(crate) fn toggle_view(state: &mut State) -> Outcome {
    if state.ui.view == View::Executor {
        state.ui.view = View::Dashboard;
        return Outcome::redraw();
    }
    state.ui.view = View::Executor;
    state.ui.mode = Mode::Normal;
    let down = state.queue_path_down();
    let x = &mut state.executor;
    x.agent_filter = None;
    if down
        && state.ui.focus == Pane::Agents
        && let Some(agent) = state.agents.get(state.ui.agent_sel)
        && !x.for_agent(&agent.name).is_empty()
    {
        x.agent_filter = Some(agent.name.clone());
        x.tab = 0;
    }
    x.book_sel = x.book_sel.min(x.listed().len().saturating_sub(1));
    Outcome::redraw()
}

/// Keys in the Executor view; `None` lets the main screen's meaning apply.
pub(crate) fn act(state: &mut State, action: Action) -> Option<Outcome> {
    let page = (state.ui.height as usize / 2).max(1);
    let x = &mut state.executor;
    let tabs = x.runs.len() + 1;
    match action {
        Action::FocusNext => x.tab = (x.tab + 1) % tabs,
        Action::FocusPrev => x.tab = (x.tab + tabs - 1) % tabs,
        _ if crate::app::common::is_movement(action) => {
            let step = crate::app::common::step_of(action, page);
            if let Some(run) = x.current_mut() {
                // Up is towards older output: a larger offset from the bottom.
                let max = run.lines.len().saturating_sub(1) as isize;
                run.offset = (run.offset as isize).saturating_sub(step).clamp(0, max) as usize;
            } else {
                let len = x.listed().len() as isize;
                x.book_sel = (x.book_sel as isize)
                    .saturating_add(step)
                    .clamp(0, (len - 1).max(0)) as usize;
            }
        }
        Action::Run | Action::Zoom => {
            if x.tab != 0 {
                return Some(Outcome::default());
            }
            let Some(name) = x
                .listed()
                .get(x.book_sel)
                .map(|(_, r)| r.name.get_ref().clone())
            else {
                flash(
                    state,
                    Level::Info,
                    "no runbook to run: none are configured".into(),
                );
                return Some(Outcome::redraw());
            };
            return Some(ask_runbook(state, &name, None));
        }
        Action::Cancel => return Some(cancel_in_tab(state)),
        Action::CloseTab => {
            let Some(run) = x.current() else {
                return Some(Outcome::default());
            };
            if run.running() {
                flash(
                    state,
                    Level::Info,
                    "this run is still going: cancel it first (ctrl-c)".into(),
                );
                return Some(Outcome::redraw());
            }
            x.runs.remove(x.tab - 1);
            x.tab = x.tab.min(x.runs.len());
        }
        Action::Back if x.agent_filter.is_some() => x.agent_filter = None,
        Action::Back | Action::Executor => state.ui.view = View::Dashboard,
        _ => return None,
    }
    Some(Outcome::redraw())
}

/// Cancel in a run's tab: TERM, then KILL; in the runbook list, where it is said.
fn cancel_in_tab(state: &mut State) -> Outcome {
    let Some(run) = state.executor.current_mut() else {
        // Not a quit here: runs may be going in other tabs.
        let (cancel, quit) = (
            state.keymap.hint(Section::Executor, Action::Cancel),
            state.keymap.hint(Section::Normal, Action::Quit),
        );
        flash(
            state,
            Level::Info,
            format!("{cancel} cancels the run in its own tab; {quit} quits"),
        );
        return Outcome::redraw();
    };
    if run.phase != RunPhase::Running && run.phase != RunPhase::Connecting {
        return Outcome::default();
    }
    run.phase = RunPhase::Cancelling;
    let id = run.id;
    let what = format!(
        "cancelling {} on {}: TERM, then KILL",
        run.plan.runbook, run.plan.host.name
    );
    flash(state, Level::Warn, what);
    Outcome {
        redraw: true,
        effects: vec![Effect::CancelRun { id }],
    }
}

/// `:exec RUNBOOK [HOST]`.
pub fn exec_command(state: &mut State, rest: &str) -> Outcome {
    let mut parts = rest.split_whitespace();
    let Some(book) = parts.next() else {
        flash(state, Level::Warn, "usage: :exec RUNBOOK [HOST]".into());
        return Outcome::redraw();
    };
    let host = parts.next().map(str::to_string);
    ask_runbook(state, book, host.as_deref())
}

/// `:run HOST COMMAND`, only with `executor.allow_adhoc`.
pub fn adhoc_command(state: &mut State, rest: &str) -> Outcome {
    let (host, command) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    match plan_adhoc(&state.executor.config, host, command.trim()) {
        Ok(plan) => ask(state, plan, vec![host.to_string()]),
        Err(why) => {
            flash(state, Level::Warn, format!("refused: {why}"));
            Outcome::redraw()
        }
    }
}

fn ask_runbook(state: &mut State, book: &str, host: Option<&str>) -> Outcome {
    let hosts = state
        .executor
        .config
        .runbooks
        .iter()
        .find(|r| r.name.get_ref() == book)
        .map(|r| r.hosts.get_ref().clone())
        .unwrap_or_default();
    match plan_runbook(&state.executor.config, book, host) {
        Ok(plan) => ask(state, plan, hosts),
        Err(why) => {
            flash(state, Level::Warn, why.to_string());
            Outcome::redraw()
        }
    }
}

fn ask(state: &mut State, plan: RunPlan, hosts: Vec<String>) -> Outcome {
    // Say no before asking, not after.
    if let Some(no) = refused_early(state, crate::app::effect::run_act(&plan), true) {
        return no;
    }
    let host = hosts.iter().position(|h| *h == plan.host.name).unwrap_or(0);
    state.ui.mode = Mode::ConfirmExec(Box::new(PendingExec {
        plan,
        hosts,
        host,
        typed: String::new(),
        wrong: None,
    }));
    Outcome::redraw()
}

pub(crate) fn confirm_key(state: &mut State, mut p: Box<PendingExec>, key: KeyEvent) -> Outcome {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => {
            flash(state, Level::Info, "cancelled: nothing was run".into());
            return Outcome::redraw();
        }
        KeyCode::Char('c') if ctrl => {
            flash(state, Level::Info, "cancelled: nothing was run".into());
            return Outcome::redraw();
        }
        KeyCode::Tab | KeyCode::BackTab if p.hosts.len() > 1 && p.plan.runbook != "adhoc" => {
            let n = p.hosts.len();
            p.host = if key.code == KeyCode::Tab {
                (p.host + 1) % n
            } else {
                (p.host + n - 1) % n
            };
            if let Ok(plan) = plan_runbook(
                &state.executor.config,
                &p.plan.runbook,
                Some(&p.hosts[p.host]),
            ) {
                p.plan = plan;
            }
            p.typed.clear();
        }
        KeyCode::Char('n') | KeyCode::Char('N') if !p.plan.destructive => {
            flash(state, Level::Info, "cancelled: nothing was run".into());
            return Outcome::redraw();
        }
        KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter if !p.plan.destructive => {
            return start(state, p.plan);
        }
        _ => {
            let word = p.plan.destructive.then(|| p.plan.host.name.clone());
            match answer(word.as_deref(), &mut p.typed, &key) {
                Said::Yes => return start(state, p.plan),
                Said::Mistyped => {
                    let why = if p.typed.is_empty() {
                        format!(
                            "not run: nothing typed; type the host's name `{}` exactly, then Enter",
                            p.plan.host.name
                        )
                    } else {
                        format!(
                            "not run: `{}` is not `{}`; type the host's name `{}` exactly, then Enter",
                            p.typed, p.plan.host.name, p.plan.host.name
                        )
                    };
                    flash(state, Level::Warn, why.clone());
                    p.wrong = Some(why);
                }
                Said::Typing => p.wrong = None,
                Said::No | Said::Other => {}
            }
        }
    }
    state.ui.mode = Mode::ConfirmExec(p);
    Outcome::redraw()
}

fn start(state: &mut State, plan: RunPlan) -> Outcome {
    let x = &mut state.executor;
    if x.runs.len() >= MAX_RUN_TABS {
        match x.runs.iter().position(|r| !r.running()) {
            Some(i) => {
                x.runs.remove(i);
            }
            None => {
                flash(
                    state,
                    Level::Warn,
                    format!(
                        "refused: {MAX_RUN_TABS} runs are still going; wait for one or cancel it"
                    ),
                );
                return Outcome::redraw();
            }
        }
    }
    let id = x.next_id;
    let out = guarded(
        state,
        Effect::Exec {
            id,
            plan: Box::new(plan.clone()),
        },
    );
    if out.effects.is_empty() {
        return out;
    }
    let x = &mut state.executor;
    x.next_id += 1;
    x.runs.push(RunTab {
        id,
        plan,
        phase: RunPhase::Connecting,
        started: state.now,
        lines: Default::default(),
        capacity: *x.config.scrollback_lines.get_ref(),
        dropped: 0,
        offset: 0,
    });
    x.tab = x.runs.len();
    state.ui.view = View::Executor;
    state.ui.mode = Mode::Normal;
    out
}

pub(crate) fn run_event(state: &mut State, id: u64, update: RunUpdate) -> Outcome {
    let visible =
        state.ui.view == View::Executor && state.executor.current().is_some_and(|r| r.id == id);
    let Some(run) = state.executor.runs.iter_mut().find(|r| r.id == id) else {
        return Outcome::default();
    };
    let what = format!("{} on {}", run.plan.runbook, run.plan.host.name);
    match update {
        RunUpdate::Started => {
            if run.phase == RunPhase::Connecting {
                run.phase = RunPhase::Running;
            }
            let login = run.plan.host.login();
            let now = state.now;
            crate::app::common::log(
                state,
                now,
                Level::Info,
                "executor",
                format!("{what}: running as {login}"),
            );
            Outcome::redraw()
        }
        RunUpdate::Output(lines) => {
            // Into the one activity stream too, under the runbook's name, so a run's output
            // can be filtered and searched with everything else.
            let source = format!("exec:{}", run.plan.runbook);
            let now = state.now;
            let copies: Vec<LogLine> = lines
                .iter()
                .map(|(stream, text)| LogLine {
                    at: now,
                    level: if *stream == Stream::Err {
                        Level::Warn
                    } else {
                        Level::Info
                    },
                    source: source.clone(),
                    message: text.clone(),
                })
                .collect();
            for (stream, line) in lines {
                run.push(stream, line);
            }
            for l in copies {
                state.activity.push(l);
            }
            Outcome {
                redraw: visible || state.ui.view == View::Dashboard,
                effects: Vec::new(),
            }
        }
        RunUpdate::Ended(end) => {
            let level = match &end.status {
                Status::Exit(0) => Level::Info,
                Status::NotStarted(_) => Level::Error,
                _ => Level::Warn,
            };
            let summary = end.summary();
            run.phase = RunPhase::Ended(end);
            flash(state, level, format!("{what}: {summary}"));
            Outcome::redraw()
        }
    }
}
