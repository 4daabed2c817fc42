//! Port probes, one task per port-map entry, all concurrent, each on its own interval (the
//! probe itself, with its timeout, is `clients::probe`). A probe that hangs costs only its
//! own task: the UI never waits on it.

use chrono::Utc;
use std::time::Duration;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

pub use crate::clients::probe::{Target, probe, targets};
use crate::event::Event;

pub fn spawn(targets: Vec<Target>, tx: Sender<Event>) -> Vec<JoinHandle<()>> {
    targets
        .into_iter()
        .map(|t| {
            let tx = tx.clone();
            tokio::spawn(async move {
                // Stagger the first round so eleven probes do not land in the same instant.
                tokio::time::sleep(Duration::from_millis(t.index as u64 * 20)).await;
                let mut ticker = tokio::time::interval(t.interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let outcome = probe(&t).await;
                    if tx
                        .send(Event::Probe {
                            at: Utc::now(),
                            index: t.index,
                            outcome,
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            })
        })
        .collect()
}
