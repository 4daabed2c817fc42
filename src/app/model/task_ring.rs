//! The kept tasks as a ring: bounded, the oldest evicted first, with the newest-first index
//! the Tasks view reads its screenful from.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, VecDeque};

use crate::kept::{IdMap, Task};
use crate::platform::model::{TaskEventKind, TaskFields};

/// Task history as a ring: the oldest are evicted first once `capacity` is reached.
#[derive(Debug, Clone)]
pub struct TaskStore {
    pub by_id: IdMap<Task>,
    pub order: VecDeque<String>,
    pub capacity: usize,
    pub arrived: u64,
    /// Ids newest first (latest update, then arrival): the Tasks view's default order, kept
    /// as tasks change so a frame reads its screenful off the front.
    pub newest: BTreeMap<(std::cmp::Reverse<DateTime<Utc>>, u64), String>,
}

impl TaskStore {
    pub fn new(capacity: usize) -> TaskStore {
        TaskStore {
            by_id: IdMap::default(),
            order: VecDeque::new(),
            capacity,
            arrived: 0,
            newest: BTreeMap::new(),
        }
    }

    /// A task read back from the history, older than what is live: first in line to be
    /// evicted. The caller checks there is room and that the id is new.
    pub fn restore(&mut self, mut task: Task) {
        self.arrived += 1;
        task.seq = self.arrived;
        self.order.push_front(task.uuid.clone());
        self.newest.insert(
            (std::cmp::Reverse(task.updated), task.seq),
            task.uuid.clone(),
        );
        self.by_id.insert(task.uuid.clone(), task);
    }

    /// The task `uuid` (new if unseen, evicting the oldest when full), its update time set
    /// to `updated(previous)`.
    pub fn upsert(
        &mut self,
        uuid: &str,
        updated: impl FnOnce(DateTime<Utc>) -> DateTime<Utc>,
    ) -> (&mut Task, bool) {
        let fresh = !self.by_id.contains_key(uuid);
        if fresh {
            if self.order.len() >= self.capacity
                && let Some(old) = self.order.pop_front()
                && let Some(t) = self.by_id.remove(&old)
            {
                self.newest.remove(&(std::cmp::Reverse(t.updated), t.seq));
            }
            self.order.push_back(uuid.to_string());
            self.arrived += 1;
            self.by_id.insert(
                uuid.to_string(),
                Task {
                    uuid: uuid.to_string(),
                    state: TaskEventKind::Sent,
                    worker: String::new(),
                    agent: None,
                    updated: DateTime::<Utc>::UNIX_EPOCH,
                    received: None,
                    started: None,
                    fields: TaskFields::default(),
                    terminated: false,
                    queued_locally: false,
                    seq: self.arrived,
                    lost: false,
                    times: [0.0; 8],
                    client: None,
                    restored: false,
                    gone: None,
                },
            );
        }
        let task = self.by_id.get_mut(uuid).expect("inserted above");
        let before = (std::cmp::Reverse(task.updated), task.seq);
        task.updated = updated(task.updated);
        let after = (std::cmp::Reverse(task.updated), task.seq);
        if fresh || before != after {
            self.newest.remove(&before);
            self.newest.insert(after, uuid.to_string());
        }
        (task, fresh)
    }
}
