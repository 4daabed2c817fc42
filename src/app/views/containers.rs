//! The agents' containers in the state: what the Docker Engine last said of each, which
//! agent it belongs to, its CPU and memory while someone looks, and the Containers view's
//! keys (select by id, detail, restart with a confirmation). Pure.

use chrono::{DateTime, Utc};
use std::collections::VecDeque;

use crate::app::common::{Outcome, flash, log};
use crate::app::effect::Effect;
pub use crate::app::model::containers::*;
use crate::app::state::State;
use crate::event::ContainerNews;
use crate::orders::{ContainerAim, ContainerOp, Order};
use crate::platform::containers::{Container, RunState};
use crate::platform::model::Level;

/// What the Engine said, applied.
pub fn news(state: &mut State, news: ContainerNews) -> Outcome {
    let now = state.now;
    match news {
        ContainerNews::Listed(all) => {
            let before = std::mem::take(&mut state.docker.rows);
            for c in all {
                let old = before.get(&c.id);
                let row = row(state, c, old, now);
                state.docker.rows.insert(row.c.id.clone(), row);
            }
            let n = state.docker.rows.len();
            log(
                state,
                now,
                Level::Info,
                "docker",
                format!("{n} container(s) on {}", state.docker.host),
            );
        }
        ContainerNews::Changed { container, action } => {
            let old = state.docker.rows.get(&container.id).cloned();
            let row = row(state, *container, old.as_ref(), now);
            let source = row
                .agent
                .map_or_else(|| "docker".to_string(), |i| state.agents[i].name.clone());
            let words = format!("container {}: {action} → {}", row.c.name, row.c.summary());
            let level = match row.c.state {
                _ if row.c.oom_killed => Level::Error,
                RunState::Running if row.c.is_well() => Level::Info,
                RunState::Exited if row.c.exit_code == 0 && action != "die" => Level::Info,
                _ => Level::Warn,
            };
            state.docker.rows.insert(row.c.id.clone(), row);
            log(state, now, level, &source, words);
        }
        ContainerNews::Removed { id } => {
            if let Some(r) = state.docker.rows.remove(&id) {
                log(
                    state,
                    now,
                    Level::Warn,
                    "docker",
                    format!("container {} removed", r.c.name),
                );
            }
        }
        ContainerNews::Stats(samples) => {
            for (id, u) in samples {
                if let Some(r) = state.docker.rows.get_mut(&id) {
                    r.usage = Some(u);
                    push(&mut r.cpu, (u.cpu_pct * 10.0).round().max(0.0) as u64);
                    push(&mut r.mem, u.mem);
                }
            }
            return Outcome {
                redraw: state.ui.view == crate::app::state::View::Containers,
                ..Outcome::default()
            };
        }
    }
    Outcome::redraw()
}

fn row(state: &State, c: Container, old: Option<&Row>, now: DateTime<Utc>) -> Row {
    Row {
        agent: state.docker.agent_of(&c),
        usage: old.and_then(|o| o.usage),
        cpu: old.map(|o| o.cpu.clone()).unwrap_or_default(),
        mem: old.map(|o| o.mem.clone()).unwrap_or_default(),
        seen: now,
        c,
    }
}

fn push<T>(q: &mut VecDeque<T>, v: T) {
    q.push_back(v);
    while q.len() > HISTORY {
        q.pop_front();
    }
}

/// Whether the feed should sample stats: the view is open. Said to the actions when it
/// changes.
pub fn looking(state: &mut State) {
    let now = state.ui.view == crate::app::state::View::Containers;
    if now != state.docker.looking {
        state.docker.looking = now;
        state.effects_due.push(Effect::DockerLooking(now));
    }
}

/// Moves the Containers view's selection, which follows the container's id.
pub fn move_pick(state: &mut State, step: isize) {
    let ids: Vec<String> = state
        .docker
        .listed()
        .iter()
        .map(|r| r.c.id.clone())
        .collect();
    if ids.is_empty() {
        return;
    }
    let at = state
        .docker
        .pick
        .as_ref()
        .and_then(|p| ids.iter().position(|i| i == p));
    let next = match at {
        None => 0,
        Some(i) => (i as isize + step).clamp(0, ids.len() as isize - 1) as usize,
    };
    state.docker.pick = Some(ids[next].clone());
}

/// `:restart|:stop|:start|:kill [SIGNAL] [NAME | agent AGENT]`: the order for the named
/// container, every container of an agent, or the selected one; confirmed before it goes.
pub fn order(
    state: &mut State,
    op: ContainerOp,
    rest: &str,
) -> Result<Order, crate::app::model::input_error::InputError> {
    if !state.docker.on {
        return Err("Docker is not configured: set [docker] url".into());
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    let rows: Vec<&Row> = match words.as_slice() {
        [] => state.docker.picked().into_iter().collect(),
        ["agent", name] => {
            let Some(i) = state
                .agents
                .iter()
                .position(|a| a.name.eq_ignore_ascii_case(name))
            else {
                return Err(format!("no agent is called {name}").into());
            };
            state.docker.of_agent(i)
        }
        [name] => state
            .docker
            .rows
            .values()
            .filter(|r| r.c.name == *name || r.c.service.as_deref() == Some(*name))
            .collect(),
        _ => return Err("say one container, or `agent NAME`".into()),
    };
    if rows.is_empty() {
        return Err(match words.as_slice() {
            [] => {
                "no container selected: open the Containers view (:containers) and pick one".into()
            }
            _ => format!("no container matches {rest:?} on {}", state.docker.host).into(),
        });
    }
    Ok(Order::Container {
        op,
        host: state.docker.host.clone(),
        aims: rows
            .iter()
            .map(|r| ContainerAim {
                id: r.c.id.clone(),
                name: r.c.name.clone(),
                seen: r.c.summary(),
            })
            .collect(),
    })
}

/// `:logs [NAME]`: follow a container's logs into the activity stream.
pub fn follow_logs(state: &mut State, rest: &str) -> Outcome {
    let name = rest.trim();
    let row = if name.is_empty() {
        state.docker.picked()
    } else {
        state
            .docker
            .rows
            .values()
            .find(|r| r.c.name == name || r.c.service.as_deref() == Some(name))
    };
    let Some(r) = row else {
        flash(
            state,
            Level::Warn,
            "which container? `:logs NAME`, or pick one in the Containers view".into(),
        );
        return Outcome::redraw();
    };
    let (id, source) = (
        r.c.id.clone(),
        r.c.service.clone().unwrap_or_else(|| r.c.name.clone()),
    );
    flash(
        state,
        Level::Info,
        format!("following {source}'s logs into the activity stream"),
    );
    Outcome {
        redraw: true,
        effects: vec![Effect::FollowLogs { id, source }],
    }
}

/// The container commands of the `:` line; None for any other command.
pub fn command(state: &mut State, cmd: &str, rest: &str) -> Option<Outcome> {
    let op = match cmd {
        "containers" => {
            state.ui.view = crate::app::state::View::Containers;
            if state.docker.pick.is_none() {
                move_pick(state, 0);
            }
            return Some(Outcome::redraw());
        }
        "logs" => return Some(follow_logs(state, rest)),
        "restart" => ContainerOp::Restart,
        "stop" => ContainerOp::Stop,
        "start" => ContainerOp::Start,
        "kill" => ContainerOp::Kill(String::new()),
        _ => return None,
    };
    // `:kill [SIGNAL] [NAME]`: a first word in capitals is the signal.
    let (op, rest) = match op {
        ContainerOp::Kill(_) => {
            let mut w = rest.splitn(2, char::is_whitespace);
            match w.next() {
                Some(sig)
                    if !sig.is_empty()
                        && sig
                            .chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
                {
                    let sig = sig.trim_start_matches("SIG").to_string();
                    (ContainerOp::Kill(sig), w.next().unwrap_or("").trim())
                }
                _ => (ContainerOp::Kill("KILL".into()), rest),
            }
        }
        op => (op, rest),
    };
    Some(propose(state, op, rest))
}

/// The confirmation for `op` on what `rest` names (or the selection).
pub fn propose(state: &mut State, op: ContainerOp, rest: &str) -> Outcome {
    match order(state, op, rest) {
        Err(why) => {
            flash(state, Level::Warn, why.to_string());
            Outcome::redraw()
        }
        Ok(order) => {
            let mut lines = vec![format!("on the Docker Engine at {}", state.docker.host)];
            if let Order::Container { aims, .. } = &order {
                for a in aims {
                    lines.push(format!("{}: {} now", a.name, a.seen));
                }
            }
            crate::app::dialogs::orders::ask(state, order, lines, None, None)
        }
    }
}

/// The Containers view's keys: movement (the selection follows the id), Enter for the
/// detail, `retry` (R) to restart the selected container, `refresh` (r) … None leaves the key
/// to the main screen.
pub fn act(state: &mut State, action: crate::config::keymap::Action) -> Option<Outcome> {
    use crate::app::state::{Mode, View};
    use crate::config::keymap::Action;
    if state.ui.mode == Mode::ContainerDetail {
        return match action {
            Action::Back | Action::Zoom => {
                state.ui.mode = Mode::Normal;
                Some(Outcome::redraw())
            }
            Action::Retry => Some(propose(state, ContainerOp::Restart, "")),
            Action::Quit | Action::Help | Action::Command => None,
            _ => Some(Outcome::default()),
        };
    }
    if state.ui.view != View::Containers || state.ui.mode != Mode::Normal {
        return None;
    }
    match action {
        Action::Zoom if state.docker.picked().is_some() => {
            state.ui.mode = Mode::ContainerDetail;
            Some(Outcome::redraw())
        }
        Action::Retry => Some(propose(state, ContainerOp::Restart, "")),
        _ if crate::app::common::is_movement(action) => {
            move_pick(state, crate::app::common::step_of(action, 10));
            Some(Outcome::redraw())
        }
        _ => None,
    }
}
