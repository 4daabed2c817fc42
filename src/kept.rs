//! The tasks and workers as the control room keeps them: plain data, shared by the app's
//! state, the history written to the store, and the event that brings them back at start.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::platform::model::{TaskEventKind, TaskFields};

/// Maps keyed by task id, looked up several times for every task event. foldhash is
/// several times quicker than the default SipHash on 36-byte ids, and its seed is random per
/// map, so ids chosen by a remote publisher cannot be aimed at one bucket.
pub type IdMap<V> = std::collections::HashMap<String, V, foldhash::fast::RandomState>;
/// A set of task ids; see `IdMap`.
pub type IdSet = std::collections::HashSet<String, foldhash::fast::RandomState>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    pub hostname: String,
    pub agent: Option<usize>,
    pub online: bool,
    pub last_heartbeat: DateTime<Utc>,
    pub freq: f64,
    pub active: u64,
    pub processed: u64,
    pub loadavg: [f64; 3],
    pub sw_ver: Option<String>,
    /// The queues it said it consumes (`active_queues`), once it has said.
    pub queues: Option<Vec<String>>,
    /// Tasks it finished, by outcome, as its events said since this control room started.
    pub succeeded: u64,
    pub failed: u64,
    pub retried: u64,
    /// Times it was asked, and when last: a worker whose control consumer was not up yet
    /// is asked again on a later heartbeat, a few times at most.
    pub asked: u8,
    pub asked_at: Option<DateTime<Utc>>,
    /// Read back from the history at start, and not heard from live since.
    #[serde(default)]
    pub restored: bool,
    /// Gone past the visibility timeout, and what it held marked lost: done once.
    #[serde(default)]
    pub settled: bool,
    /// Its pool's processes, as its `stats` said when it was asked its queues.
    #[serde(default)]
    pub processes: Option<u32>,
}

impl Worker {
    /// A worker first heard from at `at`, with nothing counted yet.
    pub fn new(
        hostname: String,
        agent: Option<usize>,
        online: bool,
        at: DateTime<Utc>,
        freq: f64,
    ) -> Worker {
        Worker {
            hostname,
            agent,
            online,
            last_heartbeat: at,
            freq,
            active: 0,
            processed: 0,
            loadavg: [0.0; 3],
            sw_ver: None,
            queues: None,
            succeeded: 0,
            failed: 0,
            retried: 0,
            asked: 0,
            asked_at: None,
            restored: false,
            settled: false,
            processes: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub uuid: String,
    pub state: TaskEventKind,
    pub worker: String,
    pub agent: Option<usize>,
    pub updated: DateTime<Utc>,
    pub received: Option<DateTime<Utc>>,
    pub started: Option<DateTime<Utc>>,
    pub fields: TaskFields,
    /// For revoke events: whether the worker killed the running task.
    pub terminated: bool,
    /// Dispatched while Redis was unreachable: waiting in the local outbox.
    pub queued_locally: bool,
    /// Arrival order, which breaks ties between equal sort keys.
    pub seq: u64,
    /// Dispatched from here, then neither reported by a worker nor found in Redis.
    pub lost: bool,
    /// When each kind of event last came (epoch seconds, 0 for never), indexed by
    /// `TaskEventKind as usize`: the detail's timeline. A fixed array, not a list: no
    /// allocation per task on the feed path.
    pub times: [f64; 8],
    /// The client that sent it (task-sent's hostname), when seen.
    pub client: Option<String>,
    /// Read back from the history at start, and not heard from live since.
    #[serde(default)]
    pub restored: bool,
    /// Known to be gone without an event saying so: purged from its queue by an operator,
    /// or lost with the worker that held it. Cleared by any later event of its own.
    #[serde(default)]
    pub gone: Option<Gone>,
}

/// How a task left without a word from Celery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gone {
    /// Removed from its queue by a purge (an operator's, as the audit channel said).
    Purged { by: String },
    /// Its worker went offline holding it, and stayed away past the broker's visibility
    /// timeout: kombu would have handed it back by then.
    LostWithWorker { worker: String },
}

/// The tasks and workers that changed since the last save to the store's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub tasks: Vec<Task>,
    pub workers: Vec<Worker>,
}
