//! Which events are recorded, and how each comes back. Keys, resizes, background work and
//! the answers only a confirmation or a detail pane wanted change nothing a replay shows of
//! the platform, so they are left out; everything the feeds and the actions report is in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{ContainerNews, Delivery, Event, LinkHealth, PanelRead, Place, ProbeOutcome};
use crate::platform::model::FeedItem;

/// An event as recorded: everything but the wire batches, whose raw bytes are kept instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Recorded {
    Tick(DateTime<Utc>),
    Feed {
        at: DateTime<Utc>,
        item: FeedItem,
    },
    /// A batch from a feed whose bytes are not kept (Socket.IO, log files, journals).
    Items {
        at: DateTime<Utc>,
        items: Vec<FeedItem>,
    },
    Link {
        name: String,
        health: LinkHealth,
    },
    Probe {
        at: DateTime<Utc>,
        index: usize,
        outcome: ProbeOutcome,
    },
    Shed {
        feed: String,
        count: u64,
    },
    Exposure(Vec<crate::platform::exposure::Finding>),
    Containers(ContainerNews),
    Panels {
        at: DateTime<Utc>,
        reads: Vec<PanelRead>,
    },
    ActionDone {
        what: String,
        outcome: Result<String, crate::event::Failure>,
    },
    Dispatched {
        agent: String,
        request: crate::platform::wire::TaskRequest,
        outcome: Result<Delivery, crate::event::Failure>,
    },
    Located {
        task_id: String,
        place: Place,
    },
    OutboxDelivered {
        task_id: String,
    },
    WorkerQueues {
        worker: String,
        queues: Result<Vec<String>, crate::event::Failure>,
    },
    Notified {
        via: String,
        outcome: Result<String, crate::event::Failure>,
    },
    Ordered {
        what: String,
        outcome: Result<Vec<(bool, String)>, crate::event::Failure>,
    },
    // New kinds go last: a segment names its kinds by their place in this list.
    Master {
        at: DateTime<Utc>,
        news: crate::event::MasterNews,
    },
    WorkerPool {
        worker: String,
        processes: u32,
    },
}

impl Recorded {
    /// What of `ev` is recorded (a copy), or None for what is not. Wire batches are taken
    /// apart by the caller before this.
    // Long, on purpose: one arm per event kind, each a copy.
    pub fn of(ev: &Event) -> Option<Recorded> {
        Some(match ev {
            Event::Tick(at) => Recorded::Tick(*at),
            Event::Feed { at, item } => Recorded::Feed {
                at: *at,
                item: (**item).clone(),
            },
            Event::FeedBatch { at, items } | Event::WireBatch { at, items, .. } => {
                Recorded::Items {
                    at: *at,
                    items: items.clone(),
                }
            }
            Event::Link { name, health } => Recorded::Link {
                name: name.clone(),
                health: health.clone(),
            },
            Event::Probe { at, index, outcome } => Recorded::Probe {
                at: *at,
                index: *index,
                outcome: outcome.clone(),
            },
            Event::Shed { feed, count } => Recorded::Shed {
                feed: feed.clone(),
                count: *count,
            },
            Event::Exposure { findings } => Recorded::Exposure(findings.clone()),
            Event::Containers(news) => Recorded::Containers(news.clone()),
            Event::Panels { at, reads } => Recorded::Panels {
                at: *at,
                reads: reads.clone(),
            },
            Event::ActionDone { what, outcome } => Recorded::ActionDone {
                what: what.clone(),
                outcome: outcome.clone(),
            },
            Event::Dispatched {
                agent,
                request,
                outcome,
            } => Recorded::Dispatched {
                agent: agent.clone(),
                request: (**request).clone(),
                outcome: outcome.clone(),
            },
            Event::Located { task_id, place } => Recorded::Located {
                task_id: task_id.clone(),
                place: place.clone(),
            },
            Event::OutboxDelivered { task_id } => Recorded::OutboxDelivered {
                task_id: task_id.clone(),
            },
            Event::WorkerQueues { worker, queues } => Recorded::WorkerQueues {
                worker: worker.clone(),
                queues: queues.clone(),
            },
            Event::WorkerPool { worker, processes } => Recorded::WorkerPool {
                worker: worker.clone(),
                processes: *processes,
            },
            Event::Notified { via, outcome } => Recorded::Notified {
                via: via.clone(),
                outcome: outcome.clone(),
            },
            Event::Retried { what, lines, .. } => Recorded::Ordered {
                what: what.clone(),
                outcome: Ok(lines.clone()),
            },
            Event::Ordered { what, outcome } => Recorded::Ordered {
                what: what.clone(),
                outcome: outcome.clone(),
            },
            Event::Master { at, news } => Recorded::Master {
                at: *at,
                news: news.clone(),
            },
            Event::Key(_)
            | Event::Contexts(_)
            | Event::Resize { .. }
            | Event::Inspected { .. }
            | Event::QueueDepths { .. }
            | Event::StoreOpened { .. }
            | Event::Run { .. }
            | Event::Older { .. }
            | Event::HistoryFound { .. }
            | Event::RetryLinks(_)
            | Event::Work
            | Event::Shutdown { .. } => return None,
        })
    }

    /// The event again, for `update`.
    pub fn into_event(self) -> Event {
        match self {
            Recorded::Tick(at) => Event::Tick(at),
            Recorded::Feed { at, item } => Event::Feed {
                at,
                item: Box::new(item),
            },
            Recorded::Items { at, items } => Event::FeedBatch { at, items },
            Recorded::Link { name, health } => Event::Link { name, health },
            Recorded::Probe { at, index, outcome } => Event::Probe { at, index, outcome },
            Recorded::Shed { feed, count } => Event::Shed { feed, count },
            Recorded::Exposure(findings) => Event::Exposure { findings },
            Recorded::Containers(news) => Event::Containers(news),
            Recorded::Panels { at, reads } => Event::Panels { at, reads },
            Recorded::ActionDone { what, outcome } => Event::ActionDone { what, outcome },
            Recorded::Dispatched {
                agent,
                request,
                outcome,
            } => Event::Dispatched {
                agent,
                request: Box::new(request),
                outcome,
            },
            Recorded::Located { task_id, place } => Event::Located { task_id, place },
            Recorded::OutboxDelivered { task_id } => Event::OutboxDelivered { task_id },
            Recorded::WorkerQueues { worker, queues } => Event::WorkerQueues { worker, queues },
            Recorded::WorkerPool { worker, processes } => Event::WorkerPool { worker, processes },
            Recorded::Notified { via, outcome } => Event::Notified { via, outcome },
            Recorded::Ordered { what, outcome } => Event::Ordered { what, outcome },
            Recorded::Master { at, news } => Event::Master { at, news },
        }
    }
}
