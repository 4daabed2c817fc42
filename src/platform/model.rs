//! What the decoders produce: the platform's facts, already cleaned of control sequences.

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FeedItem {
    Agent(AgentReport),
    Activity(ActivityReport),
    Celery(CeleryEvent),
    Queues(Vec<QueueSample>),
    /// Another (or this) control room's operator did something.
    Audit(AuditNote),
    /// A payload no decoder could read: shown as a warning carrying its (cleaned) raw text.
    Malformed {
        source: String,
        reason: String,
        raw: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    Idle,
    Busy,
    Error,
    Offline,
    Unknown,
}

impl AgentState {
    pub fn label(self) -> &'static str {
        match self {
            AgentState::Idle => "idle",
            AgentState::Busy => "busy",
            AgentState::Error => "error",
            AgentState::Offline => "offline",
            AgentState::Unknown => "unknown",
        }
    }
}

/// One agent's self-report on `chavion:agents:<NAME>` (see docs/PROTOCOL.md).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentReport {
    pub agent: String,
    pub state: AgentState,
    pub task_id: Option<String>,
    pub detail: Option<String>,
    pub model: Option<String>,
    /// When the agent says it happened; the tile uses arrival time for staleness so that a
    /// skewed clock on the agent's container cannot make it look alive or dead.
    pub ts: Option<DateTime<Utc>>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "debug" | "trace" => Level::Debug,
            "info" | "notice" => Level::Info,
            "warn" | "warning" => Level::Warn,
            "error" | "err" | "critical" | "fatal" => Level::Error,
            _ => return None,
        })
    }
}

/// One line on `chavion:activity`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActivityReport {
    pub ts: Option<DateTime<Utc>>,
    pub level: Level,
    pub source: String,
    pub message: String,
    pub task_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WorkerEventKind {
    Online,
    Heartbeat,
    Offline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TaskEventKind {
    Sent,
    Received,
    Started,
    Succeeded,
    Failed,
    Retried,
    Revoked,
    Rejected,
}

impl TaskEventKind {
    pub fn label(self) -> &'static str {
        match self {
            TaskEventKind::Sent => "PENDING",
            TaskEventKind::Received => "RECEIVED",
            TaskEventKind::Started => "STARTED",
            TaskEventKind::Succeeded => "SUCCESS",
            TaskEventKind::Failed => "FAILURE",
            TaskEventKind::Retried => "RETRY",
            TaskEventKind::Revoked => "REVOKED",
            TaskEventKind::Rejected => "REJECTED",
        }
    }

    /// The task has ended and will not run again: a revoke changes nothing. (A retried task
    /// is not final: it is due to run again.)
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskEventKind::Succeeded
                | TaskEventKind::Failed
                | TaskEventKind::Revoked
                | TaskEventKind::Rejected
        )
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerEvent {
    pub kind: WorkerEventKind,
    pub hostname: String,
    pub timestamp: f64,
    /// Heartbeat period in seconds; the worker is offline after `2 * freq` of silence.
    pub freq: f64,
    pub active: u64,
    pub processed: u64,
    pub loadavg: [f64; 3],
    pub sw_ver: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TaskFields {
    pub name: Option<String>,
    pub args: Option<String>,
    pub kwargs: Option<String>,
    pub result: Option<String>,
    pub exception: Option<String>,
    pub traceback: Option<String>,
    pub runtime: Option<f64>,
    pub queue: Option<String>,
    pub retries: Option<u64>,
    /// On task-revoked: whether the running task was killed.
    pub terminated: Option<bool>,
    /// How it was sent, from task-sent and task-received only: boxed, so the events that
    /// carry none of it (most of them) stay small on the feed path.
    pub sending: Option<Box<Sending>>,
}

/// What task-sent and task-received say of how a task was sent.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Sending {
    /// When it is due (a countdown or an ETA) and when it expires: RFC 3339, as sent.
    pub eta: Option<String>,
    pub expires: Option<String>,
    /// The task that started its workflow, and the one that sent it.
    pub root_id: Option<String>,
    pub parent_id: Option<String>,
    pub exchange: Option<String>,
    pub routing_key: Option<String>,
    /// The sending process's id (task-sent: the client's).
    pub pid: Option<u64>,
}

impl Sending {
    /// None when the event said nothing of it.
    pub fn boxed(self) -> Option<Box<Sending>> {
        (self != Sending::default()).then(|| Box::new(self))
    }

    /// Takes what `other` says, keeping what it does not.
    pub fn merge(&mut self, other: &Sending) {
        macro_rules! keep {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f.clone(); } )* };
        }
        keep!(eta, expires, root_id, parent_id, exchange, routing_key, pid);
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskEvent {
    pub kind: TaskEventKind,
    pub uuid: String,
    pub hostname: String,
    pub timestamp: f64,
    pub fields: TaskFields,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CeleryEvent {
    Worker(WorkerEvent),
    Task(TaskEvent),
}

/// One sample of a queue's depth: the sum of its four priority sub-queues.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QueueSample {
    pub queue: String,
    pub depth: u64,
    /// Delivered to a worker but not acknowledged: prefetched, or waiting for an ETA.
    pub reserved: u64,
}

/// One operator action, as announced on the audit channel.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuditNote {
    /// The control room that did it.
    pub instance: String,
    pub who: String,
    /// The address the operator came from (the first word of SSH_CLIENT), or empty.
    pub from: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
}
