//! Retry chains: which task was sent again under which new id. A task already retried is
//! left out of the next bulk retry and shown as "already retried as [id]", so a failure and
//! its own failed retry are not both sent again (one failure would run three times). Links
//! come from this control room's retries (`Event::Retried`) and from the store, where every
//! control room sharing it keeps them (`Event::RetryLinks`).

use std::collections::{HashMap, VecDeque};

/// Links kept at most: the oldest is forgotten first. The store is read back as far.
pub const KEPT: usize = 20_000;
/// Links followed at most from one task to the newest of its chain (a cycle planted in the
/// store ends here).
const CHAIN_MAX: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Retries {
    newer: HashMap<String, String>,
    order: VecDeque<String>,
}

impl Retries {
    /// Notes that `old` was sent again as `new`.
    pub fn note(&mut self, old: String, new: String) {
        if old == new {
            return;
        }
        if self.newer.insert(old.clone(), new).is_none() {
            self.order.push_back(old);
        }
        while self.order.len() > KEPT {
            if let Some(gone) = self.order.pop_front() {
                self.newer.remove(&gone);
            }
        }
    }

    /// The id `task` was retried as, if it was.
    pub fn retried_as(&self, task: &str) -> Option<&str> {
        self.newer.get(task).map(String::as_str)
    }

    /// The newest of `task`'s chain (itself when it was never retried).
    pub fn newest<'a>(&'a self, task: &'a str) -> &'a str {
        let mut at = task;
        for _ in 0..CHAIN_MAX {
            match self.newer.get(at) {
                Some(next) => at = next,
                None => break,
            }
        }
        at
    }

    pub fn len(&self) -> usize {
        self.newer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.newer.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_is_followed_to_its_newest_and_a_planted_cycle_ends() {
        let mut r = Retries::default();
        r.note("a".into(), "b".into());
        r.note("b".into(), "c".into());
        assert_eq!(r.retried_as("a"), Some("b"));
        assert_eq!(r.retried_as("c"), None);
        assert_eq!(r.newest("a"), "c");
        assert_eq!(r.newest("c"), "c");
        r.note("c".into(), "a".into());
        // A cycle stops after CHAIN_MAX steps rather than looping.
        let end = r.newest("a");
        assert!(["a", "b", "c"].contains(&end));
    }

    #[test]
    fn the_oldest_links_are_forgotten_past_the_cap() {
        let mut r = Retries::default();
        for i in 0..KEPT + 10 {
            r.note(format!("old{i}"), format!("new{i}"));
        }
        assert_eq!(r.len(), KEPT);
        assert_eq!(r.retried_as("old0"), None);
        assert_eq!(
            r.retried_as(&format!("old{}", KEPT + 9)),
            Some(&*format!("new{}", KEPT + 9))
        );
    }
}
