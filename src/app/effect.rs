//! What `update` asks the outside world to do. Every operator action becomes an `Effect`,
//! so read-only mode and the audit trail each have one place to live.

use crate::executor::RunPlan;
use crate::gate::Act;
use crate::platform::wire::TaskRequest;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Leave the TUI and restore the terminal.
    Quit,
    /// Show another context (`:ctx NAME`, Enter in the fleet overview): the loop switches.
    SwitchContext { name: String },
    /// Revoke a task on every worker (pidbox broadcast); `terminate` kills it if running.
    Revoke {
        task_id: String,
        terminate: bool,
        /// What a terminate sends to the process running it.
        signal: crate::orders::KillSignal,
    },
    /// Send a task to an agent's queue (through the outbox).
    Dispatch { agent: String, request: TaskRequest },
    /// Emit a Socket.IO event and wait for the server's ack.
    Emit {
        endpoint: String,
        namespace: String,
        event: String,
        payload: serde_json::Value,
    },
    /// Run a command over SSH (a runbook, or ad hoc); news comes back as `Event::Run`.
    Exec { id: u64, plan: Box<RunPlan> },
    /// End a run: TERM, then KILL after the grace period.
    CancelRun { id: u64 },
    /// Older activity from the store, for scrolling back past the top.
    LoadOlder { before_ms: i64, limit: i64 },
    /// Write these lines (the filtered view) to a file.
    SaveLog {
        path: std::path::PathBuf,
        lines: Vec<crate::app::model::activity::LogLine>,
        utc: bool,
    },
    /// Put text on the operator's clipboard: OSC 52, written between frames.
    Copy { text: String },
    /// Ring the terminal's bell (an alert fired and `ui.bell` is on), between frames.
    Bell,
    /// An alert acknowledged here: audited, and so announced on the audit channel, where
    /// the other control rooms mark it too.
    Ack { target: String },
    /// Look for a dispatch no worker has reported: in its queue, in kombu's `unacked`, or
    /// nowhere. Only reads.
    Locate { request: TaskRequest },
    /// Push a lost dispatch again, same id and bytes (`celery.redeliver_lost`).
    Redeliver { agent: String, request: TaskRequest },
    /// A dispatch's end is known (from the events): its result-backend poll stops.
    ResultKnown { task_id: String },
    /// Ask a worker which queues it consumes (`active_queues` over the pidbox): it maps
    /// the worker to its agent. Only reads; never in the demo.
    AskQueues { worker: String },
    /// Ask one worker everything its detail shows (stats, queues, registered tasks, conf,
    /// the tasks it holds). Only reads; never in the demo.
    Inspect { worker: String },
    /// Ask every worker one inspect method; each answer goes to the activity log.
    InspectAll {
        method: crate::platform::pidbox::Inspect,
        known: Vec<String>,
    },
    /// Carry out a confirmed fleet order (a worker command, a retry, a purge, a move).
    Order(Box<crate::orders::Order>),
    /// Read a queue's depth in each priority sub-queue, for a confirmation. Only reads.
    QueueDepths { queue: String },
    /// Tell the alert's notifiers (webhooks, commands) that it fired or resolved. It
    /// changes nothing on the platform: sent under --read-only too (`watch` is read-only),
    /// never from the demo.
    Notify(Box<crate::app::model::alert_book::Notice>),
    /// The Containers view opened (true) or closed: the Docker feed samples stats only
    /// while it is open.
    DockerLooking(bool),
    /// Save the incident timeline between two times to the data dir (`:timeline -30m`).
    SaveTimeline { from_ms: i64, to_ms: i64 },
    /// Follow a container's logs into the activity stream (`:logs`). Only reads.
    FollowLogs { id: String, source: String },
    /// Write the tasks and workers that changed to the store's history (every few seconds),
    /// so a restart shows them again. Changes nothing on the platform.
    SaveHistory(Box<crate::kept::Changed>),
    /// Search the store's task history for tasks older than `before_ms` whose id or name
    /// contains `word` (the Tasks view's filter, past what memory keeps). Only reads.
    SearchHistory { word: String, before_ms: i64 },
}

impl Effect {
    /// Effects for the host of the loop itself (the terminal, the set of contexts), which
    /// no action performs.
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            Effect::Quit | Effect::SwitchContext { .. } | Effect::Copy { .. } | Effect::Bell
        )
    }

    /// What the effect does to the platform, for the one gate (`crate::gate`): None for the
    /// effects that only read or only touch this terminal.
    pub fn act(&self) -> Option<Act> {
        Some(match self {
            Effect::Revoke {
                terminate: true, ..
            } => Act::Terminate,
            Effect::Revoke { .. } => Act::Revoke,
            Effect::Dispatch { .. } => Act::Dispatch,
            Effect::Emit { .. } => Act::Emit,
            Effect::Exec { plan, .. } => run_act(plan),
            Effect::Redeliver { .. } => Act::Redeliver,
            Effect::Order(order) => order.act(),
            Effect::Quit
            | Effect::SwitchContext { .. }
            | Effect::CancelRun { .. }
            | Effect::LoadOlder { .. }
            | Effect::SaveLog { .. }
            | Effect::Copy { .. }
            | Effect::Bell
            | Effect::Ack { .. }
            | Effect::Locate { .. }
            | Effect::ResultKnown { .. }
            | Effect::AskQueues { .. }
            | Effect::Inspect { .. }
            | Effect::InspectAll { .. }
            | Effect::QueueDepths { .. }
            | Effect::Notify(_)
            | Effect::DockerLooking(_)
            | Effect::SaveTimeline { .. }
            | Effect::SaveHistory(_)
            | Effect::SearchHistory { .. }
            | Effect::FollowLogs { .. } => return None,
        })
    }
}

/// What running `plan` is: an ad-hoc command or a runbook.
pub fn run_act(plan: &RunPlan) -> Act {
    if plan.runbook == "adhoc" {
        Act::Run
    } else {
        Act::Exec
    }
}
