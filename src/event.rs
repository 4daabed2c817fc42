//! Everything that can happen to the control room. Feeds, the keyboard, the clock and
//! finished actions all speak this one language; `app::update` is its only reader.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

pub use crate::platform::links::{LinkHealth, ProbeOutcome};
use crate::platform::model::FeedItem;

/// The names of the Redis feed's links, as the status bar and the app know them.
pub mod links {
    /// The pub/sub connection: agents, activity, Celery's events, the audit channel.
    pub const REDIS: &str = "redis";
    /// The flight recorder (not a connection, but it can stop: a full disk).
    pub const RECORDER: &str = "recorder";
    /// The queue-depth sampler's connection.
    pub const QUEUES: &str = "queues";
    /// The Docker Engine's event stream.
    pub const DOCKER: &str = "docker";
    /// The sentinels, followed for `+switch-master` (a `sentinel://` broker only).
    pub const SENTINEL: &str = "sentinel";
}

/// One context as the fleet overview (`:fleet`) shows it: a summary the loop makes of each
/// context's state once a second.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContextRow {
    pub name: String,
    pub color: String,
    pub protected: bool,
    pub agents_up: usize,
    pub agents: usize,
    pub workers_online: usize,
    /// The true queue depth, every queue.
    pub waiting: u64,
    pub failures_5m: usize,
    pub ports_down: usize,
    pub alerts_firing: usize,
    /// The Redis feed is up.
    pub live: bool,
    /// Events taken each second, oldest first.
    pub spark: Vec<u64>,
}

/// Where the sentinels say the broker's master is: at start, and after each failover.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MasterNews {
    /// The master's name among the sentinels (`redis.master_name`).
    pub name: String,
    /// host:port, cleaned.
    pub addr: String,
    /// Where it was before, when this is a move.
    pub previous: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// The wall clock moved on; drives ages, staleness and the status-bar clock.
    Tick(DateTime<Utc>),
    Key(KeyEvent),
    /// Every context, summed up for the fleet overview (the loop sends it to the context
    /// on screen).
    Contexts(Vec<ContextRow>),
    /// The sentinels named the broker's master, or a failover moved it.
    Master {
        at: DateTime<Utc>,
        news: MasterNews,
    },
    Resize {
        width: u16,
        height: u16,
    },
    /// Something a feed decoded, stamped with the local time it arrived.
    /// Boxed: channel slots are as big as the largest variant.
    Feed {
        at: DateTime<Utc>,
        item: Box<FeedItem>,
    },
    /// A batch from one read of a feed: applied together, drawn once.
    FeedBatch {
        at: DateTime<Utc>,
        items: Vec<FeedItem>,
    },
    /// A batch decoded from Redis, with the messages it came from when the flight recorder
    /// wants them (the loop takes them out before `update`; see `recorder`).
    WireBatch {
        at: DateTime<Utc>,
        items: Vec<FeedItem>,
        wire: Wire,
    },
    /// The health of one link to the outside world changed.
    Link {
        name: String,
        health: LinkHealth,
    },
    /// One port probe finished.
    Probe {
        at: DateTime<Utc>,
        index: usize,
        outcome: ProbeOutcome,
    },
    /// A feed shed messages rather than block its socket reader.
    Shed {
        feed: String,
        count: u64,
    },
    /// A worker's answers to its detail's questions, or why none came.
    Inspected {
        worker: String,
        outcome: Result<Box<crate::platform::pidbox::WorkerDetail>, Failure>,
    },
    /// A fleet order (or an inspect of every worker) finished: one line per worker or task,
    /// each ok or not; or why nothing was done.
    Ordered {
        what: String,
        outcome: Result<Vec<(bool, String)>, Failure>,
    },
    /// A retry order finished: its lines, as `Ordered`'s, and each task sent again with its
    /// new id.
    Retried {
        what: String,
        lines: Vec<(bool, String)>,
        links: Vec<(String, String)>,
    },
    /// Retries made earlier, read back from the store: (old id, new id).
    RetryLinks(Vec<(String, String)>),
    /// A queue's depth in each priority sub-queue, for a confirmation.
    QueueDepths {
        queue: String,
        depths: Result<[u64; 4], Failure>,
    },
    /// What the Docker Engine said of the containers.
    Containers(ContainerNews),
    /// The Prometheus panels were read: each panel's series, or why not.
    Panels {
        at: DateTime<Utc>,
        reads: Vec<PanelRead>,
    },
    /// A notifier was told of an alert (or could not be): the words for the activity log.
    Notified {
        via: String,
        outcome: Result<String, Failure>,
    },
    /// An action finished: what it was, and its outcome in words.
    ActionDone {
        what: String,
        outcome: Result<String, Failure>,
    },
    /// A dispatch was attempted: sent, queued locally, or failed (with why).
    Dispatched {
        agent: String,
        request: Box<crate::platform::wire::TaskRequest>,
        outcome: Result<Delivery, Failure>,
    },
    /// What a worker said it consumes (`active_queues`), or why it did not answer.
    /// How many pool processes a worker runs, from its `stats` (`pool.processes`).
    WorkerPool {
        worker: String,
        processes: u32,
    },
    WorkerQueues {
        worker: String,
        queues: Result<Vec<String>, Failure>,
    },
    /// Where a dispatch no worker has reported was found.
    Located {
        task_id: String,
        place: Place,
    },
    /// The outbox delivered a dispatch that had been queued locally.
    OutboxDelivered {
        task_id: String,
    },
    /// The store opened (in the background, after the first frame): older lines can be paged
    /// in from now on, and here are its latest, oldest first, to fill the activity pane.
    /// With them, the task history: the newest tasks (newest first) and the workers seen in
    /// the last hour, as they were last saved.
    StoreOpened {
        lines: Vec<crate::store::StoredLine>,
        tasks: Vec<crate::kept::Task>,
        workers: Vec<crate::kept::Worker>,
    },
    /// The exposure audit ran: what listens where it should not, and what is not in the map.
    Exposure {
        findings: Vec<crate::platform::exposure::Finding>,
    },
    /// News from an executor run.
    Run {
        id: u64,
        update: crate::executor::RunUpdate,
    },
    /// Tasks found in the store's history past what memory keeps, newest first.
    HistoryFound {
        word: String,
        tasks: Result<Vec<crate::kept::Task>, Failure>,
    },
    /// Older activity from the store, oldest first (empty: there is none).
    Older {
        lines: Vec<crate::store::StoredLine>,
    },
    /// Nothing else is waiting: a slice of background work (a filter's rescan).
    Work,
    /// SIGTERM or SIGHUP: leave cleanly.
    Shutdown {
        why: String,
    },
}

/// Messages as Redis delivered them: (channel, payload), and their payloads' bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wire {
    pub messages: Vec<(String, Vec<u8>)>,
    pub bytes: usize,
}

/// News from the Docker Engine.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ContainerNews {
    /// Everything, at connect: replaces what was known.
    Listed(Vec<crate::platform::containers::Container>),
    /// One container after an event of its own (`action`: start, die, oom, restart …).
    Changed {
        container: Box<crate::platform::containers::Container>,
        action: String,
    },
    Removed {
        id: String,
    },
    /// One stats sample per running container, by id.
    Stats(Vec<(String, crate::platform::containers::Usage)>),
}

/// One `[[panels]]` query's answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PanelRead {
    /// Its place in the config's `[[panels]]`.
    pub index: usize,
    pub outcome: Result<Vec<PanelSeries>, Failure>,
}

/// One series of a panel: its labels (cleaned) and its points, oldest first; NaN is a gap.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PanelSeries {
    pub label: String,
    pub points: Vec<f64>,
}

/// Why an order did not do what was asked: refused before anything was sent (the gate, a
/// check, an aim that does not hold), or tried and failed. Its words are for the operator;
/// which of the two it was is its variant, never its first word.
///
/// Recorded (the flight recorder, a panel's read) as its words alone, as these outcomes
/// always were: a replayed refusal comes back as a failure with the same words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Failure {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

impl From<crate::gate::Refusal> for Failure {
    fn from(r: crate::gate::Refusal) -> Failure {
        Failure::Refused(r.0)
    }
}

/// An error said in words is a failure; a refusal is always made one by name.
impl From<String> for Failure {
    fn from(words: String) -> Failure {
        Failure::Failed(words)
    }
}

impl From<Failure> for String {
    fn from(f: Failure) -> String {
        f.to_string()
    }
}

impl From<&str> for Failure {
    fn from(words: &str) -> Failure {
        Failure::Failed(words.to_string())
    }
}

/// How a dispatch went: what `Event::Dispatched` carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Delivery {
    /// On the queue now.
    Sent,
    /// It had already been pushed (an outbox retry after a crash): nothing pushed again.
    AlreadySent,
    /// Redis could not be reached: kept in the outbox, delivered when it comes back.
    QueuedLocally { why: String },
}

/// Where a dispatch is, once no worker has reported it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Place {
    /// Still in its queue: a backlog.
    Queued,
    /// In kombu's `unacked`: a worker took it and lost Redis before acking; it comes back
    /// after the broker's visibility timeout.
    Unacked,
    /// Neither: a worker popped it and it was lost, or it ran and its events were lost.
    Nowhere,
    /// Redis could not be asked.
    Unknown(String),
}

/// Hands lines read from outside to the loop as one batch stamped now; an empty batch only
/// asks whether anyone still listens. False when no one does.
pub async fn hand_on_lines(tx: &tokio::sync::mpsc::Sender<Event>, items: Vec<FeedItem>) -> bool {
    if items.is_empty() {
        return !tx.is_closed();
    }
    let batch = Event::FeedBatch {
        at: Utc::now(),
        items,
    };
    tx.send(batch).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::Failure;

    /// Recordings made before outcomes were typed hold their errors as words: they still
    /// read back, as failures with the same words, and a typed outcome records as words.
    #[test]
    fn a_failure_records_as_its_words_and_old_words_read_back() {
        let old: Result<String, String> = Err("failed: connection refused".into());
        let bytes = rmp_serde::to_vec(&old).unwrap();
        let read: Result<String, Failure> = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(
            read,
            Err(Failure::Failed("failed: connection refused".into()))
        );
        let refused: Result<String, Failure> = Err(Failure::Refused("refused: --demo".into()));
        let bytes = rmp_serde::to_vec(&refused).unwrap();
        let as_words: Result<String, String> = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(as_words, Err("refused: --demo".to_string()));
    }
}
