//! The feeds' checks, each run once, for `status`: a Socket.IO endpoint judged by the real
//! session, the exposure audit read from /proc, and the name of the Docker link. The shell
//! reaches the feeds only through here.

use std::time::Duration;

pub use crate::feeds::docker::LINK as DOCKER_LINK;

/// The exposure audit, read once from this host's /proc (blocking: call it off the runtime).
pub fn exposure_here(mapped: &[(String, u16, bool)]) -> Vec<crate::platform::exposure::Finding> {
    crate::feeds::exposure::audit_here(mapped)
}

/// How long `status` gives a Socket.IO endpoint to connect all its namespaces.
const SIO_WITHIN: Duration = Duration::from_secs(6);

/// One Socket.IO link, judged by the real client: up once every namespace is connected,
/// degraded when one refuses (auth), down when it cannot connect within `SIO_WITHIN`.
pub async fn socketio_link(
    ep: crate::feeds::socketio::client::Endpoint,
) -> (String, crate::event::LinkHealth) {
    use crate::event::{Event, LinkHealth};
    let name = ep.link();
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let (task, cmds) = crate::feeds::socketio::client::spawn(ep, tx);
    let deadline = tokio::time::Instant::now() + SIO_WITHIN;
    let mut health = LinkHealth::Down {
        why: format!("not connected within {} s", SIO_WITHIN.as_secs()),
        retry_in: None,
    };
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        match event {
            Event::Link {
                health: LinkHealth::Connecting,
                ..
            } => {}
            Event::Link { health: h, .. } => {
                health = match h {
                    LinkHealth::Down { why, .. } => LinkHealth::Down {
                        why,
                        retry_in: None,
                    },
                    other => other,
                };
                break;
            }
            _ => {}
        }
    }
    // Letting go of its commands closes the session properly; it gets a moment for it.
    drop(cmds);
    if tokio::time::timeout(Duration::from_millis(500), task)
        .await
        .is_err()
    {
        tracing::debug!("a Socket.IO endpoint did not close in time");
    }
    (name, health)
}
