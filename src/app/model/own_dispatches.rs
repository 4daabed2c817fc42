//! This control room's own dispatches, followed until a worker reports one. The outbox gets
//! a message into the queue exactly once; past that it is kombu's, and a Redis that dies
//! the moment a worker pops a message loses it (BRPOP has taken it, kombu's `unacked`
//! bookkeeping never landed). A dispatch nobody reports is looked for in Redis; one that is
//! nowhere is reported, and pushed again when the platform says its tasks are idempotent.
//! Pure: `update` drives it, the lookups are effects.

use chrono::{DateTime, Duration, Utc};
use std::collections::VecDeque;

use crate::platform::wire::TaskRequest;

/// Dispatches followed at once; the oldest are let go first.
const WATCH_MAX: usize = 1_000;
/// Pushes of one dispatch after the first, at most.
pub const REDELIVER_MAX: u32 = 3;

#[derive(Debug, Clone)]
pub struct Watched {
    pub agent: String,
    pub request: TaskRequest,
    /// In Redis since (None: still in the local outbox).
    pub since: Option<DateTime<Utc>>,
    /// A lookup is under way.
    pub looking: bool,
    /// Said once that a worker holds it unacked.
    pub told_unacked: bool,
    pub redelivered: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Watch {
    pub by_id: crate::kept::IdMap<Watched>,
    order: VecDeque<String>,
}

impl Watch {
    /// Follows a dispatch; `in_redis` is false while it waits in the local outbox.
    pub fn follow(
        &mut self,
        agent: &str,
        request: &TaskRequest,
        now: DateTime<Utc>,
        in_redis: bool,
    ) {
        if self.by_id.contains_key(&request.id) {
            return;
        }
        if self.order.len() >= WATCH_MAX
            && let Some(old) = self.order.pop_front()
        {
            self.by_id.remove(&old);
        }
        self.order.push_back(request.id.clone());
        self.by_id.insert(
            request.id.clone(),
            Watched {
                agent: agent.to_string(),
                request: request.clone(),
                since: in_redis.then_some(now),
                looking: false,
                told_unacked: false,
                redelivered: 0,
            },
        );
    }

    /// The outbox has put it in Redis now.
    pub fn delivered(&mut self, task_id: &str, now: DateTime<Utc>) {
        if let Some(w) = self.by_id.get_mut(task_id) {
            w.since = Some(now);
        }
    }

    /// No longer followed: a worker reported it, or it was given up as lost.
    pub fn forget(&mut self, task_id: &str) {
        if self.by_id.remove(task_id).is_some() {
            self.order.retain(|id| id != task_id);
        }
    }

    /// Dispatches in Redis for `after` with no word from a worker and no lookup under way;
    /// each is marked as being looked up.
    pub fn due(&mut self, now: DateTime<Utc>, after: Duration) -> Vec<(String, TaskRequest)> {
        let mut due = Vec::new();
        for id in &self.order {
            if let Some(w) = self.by_id.get_mut(id)
                && !w.looking
                && w.since.is_some_and(|s| now - s >= after)
            {
                w.looking = true;
                due.push((id.clone(), w.request.clone()));
            }
        }
        due
    }

    /// A lookup ended: follow it for another period from `now`.
    pub fn again(&mut self, task_id: &str, now: DateTime<Utc>) -> Option<&mut Watched> {
        let w = self.by_id.get_mut(task_id)?;
        w.looking = false;
        w.since = Some(now);
        Some(w)
    }
}
