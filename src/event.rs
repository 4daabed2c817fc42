//! Everything that can happen to the control room. Feeds, the keyboard, the clock and
//! finished actions all speak this one language; `app::update` is its only reader.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use std::time::Duration;

use crate::feeds::model::FeedItem;

#[derive(Debug, Clone)]
pub enum Event {
    /// The wall clock moved on; drives ages, staleness and the status-bar clock.
    Tick(DateTime<Utc>),
    Key(KeyEvent),
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
    /// An action finished: what it was, and its outcome in words.
    ActionDone {
        what: String,
        outcome: Result<String, String>,
    },
    /// A dispatch was attempted: sent, queued locally, or failed (with why).
    Dispatched {
        agent: String,
        request: Box<crate::feeds::wire::TaskRequest>,
        outcome: Result<crate::actions::dispatch::Delivery, String>,
    },
    /// What a worker said it consumes (`active_queues`), or why it did not answer.
    WorkerQueues {
        worker: String,
        queues: Result<Vec<String>, String>,
    },
    /// Where a dispatch no worker has reported was found.
    Located {
        task_id: String,
        place: crate::actions::dispatch::Place,
    },
    /// The outbox delivered a dispatch that had been queued locally.
    OutboxDelivered {
        task_id: String,
    },
    /// The store opened (in the background, after the first frame): older lines can be paged
    /// in from now on, and here are its latest, oldest first, to fill the activity pane.
    StoreOpened {
        lines: Vec<crate::store::StoredLine>,
    },
    /// The exposure audit ran: what listens where it should not, and what is not in the map.
    Exposure {
        findings: Vec<crate::feeds::exposure::Finding>,
    },
    /// News from an executor run.
    Run {
        id: u64,
        update: crate::executor::RunUpdate,
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

#[derive(Debug, Clone, PartialEq)]
pub enum LinkHealth {
    Connecting,
    Up,
    /// Up, but not all of it: a namespace refused us, say.
    Degraded {
        why: String,
    },
    Down {
        why: String,
        retry_in: Option<Duration>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeOutcome {
    /// `cert_days`: for TLS probes, the days left on the server's certificate.
    Up {
        latency: Duration,
        cert_days: Option<i64>,
    },
    Down {
        why: String,
    },
}
