//! Which decoder reads which Redis channel. The demo fleet, the live Redis feed and the
//! tests all go through here, so they all exercise the same bytes-to-events path.

use super::decode;
use super::model::{CeleryEvent, FeedItem};
use crate::glob;
use crate::sanitize::clean_bytes;

/// Shown in warnings: enough to recognise the payload, never enough to flood the log.
const RAW_PREVIEW: usize = 200;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Channels {
    pub agents: String,
    pub activity: String,
    /// `/{db}.celeryev/` with kombu's fanout prefix and any global key prefix applied.
    pub celery_prefix: String,
    /// Where remote-control broadcasts go: `/{db}.celery.pidbox`, prefixed the same way.
    pub pidbox: String,
    /// Where every control room announces its operators' actions.
    pub audit: String,
}

impl Channels {
    pub fn new(
        agents: &str,
        activity: &str,
        db: u32,
        global_keyprefix: &str,
        fanout_prefix: bool,
    ) -> Channels {
        let fanout = if fanout_prefix {
            format!("/{db}.")
        } else {
            String::new()
        };
        Channels {
            agents: agents.to_string(),
            activity: activity.to_string(),
            celery_prefix: format!("{global_keyprefix}{fanout}celeryev/"),
            pidbox: format!("{global_keyprefix}{fanout}celery.pidbox"),
            audit: "chavion:audit".into(),
        }
    }

    /// The PSUBSCRIBE patterns that cover them all.
    pub fn patterns(&self) -> [String; 4] {
        [
            self.agents.clone(),
            self.activity.clone(),
            format!("{}*", self.celery_prefix),
            self.audit.clone(),
        ]
    }
}

fn malformed(source: &str, reason: String, payload: &[u8]) -> FeedItem {
    FeedItem::Malformed {
        source: source.to_string(),
        reason,
        raw: clean_bytes(payload, RAW_PREVIEW),
    }
}

pub fn route(channels: &Channels, channel: &str, payload: &[u8], out: &mut Vec<FeedItem>) {
    if channel.starts_with(&channels.celery_prefix) {
        match decode::celery_events(payload) {
            Ok(events) => {
                for ev in events {
                    out.push(match ev {
                        Ok(ev) => FeedItem::Celery(ev),
                        Err(e) => malformed("celery", e.0, payload),
                    });
                }
            }
            Err(e) => out.push(malformed("celery", e.0, payload)),
        }
    } else if channel == channels.audit {
        out.push(
            decode::audit(payload)
                .map_or_else(|e| malformed("audit", e.0, payload), FeedItem::Audit),
        );
    } else if channel == channels.activity {
        out.push(
            decode::activity(payload)
                .map_or_else(|e| malformed("activity", e.0, payload), FeedItem::Activity),
        );
    } else if glob::matches(&channels.agents, channel) {
        out.push(
            decode::agent(payload)
                .map_or_else(|e| malformed("agents", e.0, payload), FeedItem::Agent),
        );
    } else {
        out.push(malformed(
            "redis",
            format!(
                "message on unexpected channel `{}`",
                crate::sanitize::clean(channel, 80)
            ),
            payload,
        ));
    }
}

/// Handy for tests and the demo: the Celery events of a batch, ignoring everything else.
pub fn celery_only(items: &[FeedItem]) -> Vec<&CeleryEvent> {
    items
        .iter()
        .filter_map(|i| {
            if let FeedItem::Celery(c) = i {
                Some(c)
            } else {
                None
            }
        })
        .collect()
}
