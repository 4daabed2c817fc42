//! `enable_events` broadcast on the pidbox every few seconds, as Flower does, so task
//! events flow even from workers started without `-E`; `heartbeat` once at start, so the
//! fleet shows up without waiting a period.

use std::time::Duration;
use tokio::sync::mpsc::Sender;

use super::FeedConfig;
use crate::clients::broker::{self, pidbox::broadcast};
use crate::event::Event;

pub async fn enable_events_loop(cfg: FeedConfig, every: Duration, tx: Sender<Event>) {
    let channel = cfg.channels.pidbox.clone();
    let mut conn = None;
    let mut first = true;
    loop {
        if conn.is_none() {
            conn = broker::connect(&cfg.url).await.ok();
        }
        if let Some(c) = conn.as_mut() {
            // `heartbeat` at start, as Celery's own event receivers do: workers answer with
            // a heartbeat at once, so the fleet shows up without waiting a period.
            let methods: &[&str] = if first {
                &["enable_events", "heartbeat"]
            } else {
                &["enable_events"]
            };
            for m in methods {
                match broadcast(c, &channel, m, serde_json::json!({})).await {
                    Ok(_) => first = false,
                    Err(e) => {
                        tracing::debug!("pidbox {m}: {e}");
                        conn = None;
                        break;
                    }
                }
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(every).await;
    }
}
