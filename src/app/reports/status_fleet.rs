//! The fleet in `status`: the workers and agents, sampled once and judged as the screen
//! judges them. The sample is what the pidbox answered within a window (each worker with
//! the queues it consumes) and the workers the store's history knows of (which the TUI and
//! `watch` keep): a known worker that stays silent through the window is named, offline;
//! an agent whose queues have no live consumer is down.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::model::fleet::{set_state, worker_event, worker_queues};
use crate::app::model::health::Severity;
use crate::app::state::State;
use crate::config::model::{AlertKind, AlertSeverity};
use crate::platform::model::{AgentState, WorkerEvent, WorkerEventKind};

/// A worker that answered, with the queues it consumes.
pub type Answer = (String, Vec<String>);

/// What `status` found of the fleet.
#[derive(Debug, Clone, Default)]
pub struct FleetSample {
    /// The workers the store's history knows of (none without a store).
    pub known: Vec<crate::kept::Worker>,
    /// The workers that answered within the window, with the queues each consumes; why
    /// none could be asked (Redis unreachable) otherwise.
    pub answered: Option<Result<Vec<Answer>, crate::event::Failure>>,
}

/// One worker in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerLine {
    pub hostname: String,
    pub agent: Option<String>,
    /// online, offline, or unknown (the broker could not be asked).
    pub state: &'static str,
    pub online: bool,
    /// Seconds since it was last heard from, for a worker that did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silent_secs: Option<i64>,
    pub queues: Vec<String>,
    pub severity: Severity,
}

/// One agent in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentLine {
    pub name: String,
    /// idle, busy, failing, down, or unknown (the broker could not be asked).
    pub state: &'static str,
    pub workers_online: usize,
    pub queues: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    pub severity: Severity,
}

/// The sample applied to the state with the screen's own appliers: the known workers as
/// the history has them, each answer as a worker heard from with its queues, a known
/// worker that did not answer offline, and an agent with no live consumer down.
pub fn apply(state: &mut State, sample: FleetSample, at: DateTime<Utc>) {
    if !sample.known.is_empty() {
        crate::app::model::history::restore(state, Vec::new(), sample.known);
    }
    let Some(Ok(answered)) = sample.answered else {
        return;
    };
    for (hostname, queues) in answered {
        let hostname = crate::sanitize::clean(&hostname, 200);
        worker_event(state, at, heard(&hostname, at));
        worker_queues(state, &hostname, Ok(queues));
    }
    // No `AskQueues` is carried out here: the answers already said.
    state.effects_due.clear();
    let answered: Vec<String> = state
        .workers
        .values()
        .filter(|w| !w.restored)
        .map(|w| w.hostname.clone())
        .collect();
    for w in state.workers.values_mut() {
        if !answered.contains(&w.hostname) {
            w.online = false;
        }
    }
    for i in 0..state.agents.len() {
        let consumed = state
            .workers
            .values()
            .any(|w| w.online && w.agent == Some(i));
        if !consumed {
            let tile = &mut state.agents[i];
            set_state(tile, at, AgentState::Offline);
            tile.task = None;
        }
    }
}

/// A worker that answered, as a heartbeat: alive now, with nothing else known of it.
fn heard(hostname: &str, at: DateTime<Utc>) -> WorkerEvent {
    WorkerEvent {
        kind: WorkerEventKind::Heartbeat,
        hostname: hostname.to_string(),
        timestamp: at.timestamp_micros() as f64 / 1e6,
        freq: crate::platform::decode::heartbeat_period(None),
        active: 0,
        processed: 0,
        loadavg: [0.0; 3],
        sw_ver: None,
    }
}

/// The workers, online first, each judged: online is fine; one silent is degraded, and
/// takes the `worker_offline` rule's severity once its silence outlasts the rule's `for`.
pub fn workers(state: &State, sample_ok: bool, at: DateTime<Utc>) -> Vec<WorkerLine> {
    let rule = state
        .alerts
        .rules
        .iter()
        .find(|r| r.kind == AlertKind::WorkerOffline);
    let mut lines: Vec<WorkerLine> = state
        .workers
        .values()
        .map(|w| {
            let silent = (at - w.last_heartbeat).num_seconds().max(0);
            let (label, severity) = match (sample_ok, w.online) {
                (false, _) => ("unknown", Severity::Ok),
                (true, true) => ("online", Severity::Ok),
                (true, false) => ("offline", offline_severity(rule, silent)),
            };
            WorkerLine {
                hostname: w.hostname.clone(),
                agent: w.agent.map(|i| state.agents[i].name.clone()),
                state: label,
                online: w.online,
                silent_secs: (label != "online").then_some(silent),
                queues: w.queues.clone().unwrap_or_default(),
                severity,
            }
        })
        .collect();
    lines.sort_by(|a, b| {
        (a.state != "online", &a.hostname).cmp(&(b.state != "online", &b.hostname))
    });
    lines
}

fn offline_severity(
    rule: Option<&crate::app::model::alert_book::Rule>,
    silent_secs: i64,
) -> Severity {
    match rule {
        Some(r) if silent_secs >= r.wait.num_seconds() => match r.severity {
            AlertSeverity::Critical => Severity::Alarm,
            AlertSeverity::Warning => Severity::Warn,
            AlertSeverity::Info => Severity::Ok,
        },
        _ => Severity::Warn,
    }
}

/// The agents, each judged as its tile is: down with no live consumer (an alarm: the
/// platform has lost that part of itself), failing a warning.
pub fn agents(state: &State, sample_ok: bool) -> Vec<AgentLine> {
    state
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let online = state
                .workers
                .values()
                .filter(|w| w.online && w.agent == Some(i))
                .count();
            let (label, severity, why) = match (sample_ok, a.state) {
                (false, _) => ("unknown", Severity::Ok, None),
                (true, AgentState::Offline) => (
                    "down",
                    Severity::Alarm,
                    Some(format!("no live consumer on {}", a.queues.join(", "))),
                ),
                (true, AgentState::Error) => ("failing", Severity::Warn, a.detail.clone()),
                (true, AgentState::Busy) => ("busy", Severity::Ok, None),
                (true, AgentState::Idle) => ("idle", Severity::Ok, None),
                (true, AgentState::Unknown) => ("unknown", Severity::Ok, None),
            };
            AgentLine {
                name: a.name.clone(),
                state: label,
                workers_online: online,
                queues: a.queues.clone(),
                why,
                severity,
            }
        })
        .collect()
}
