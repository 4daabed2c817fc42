//! Socket.IO channels: an Engine.IO 4 / Socket.IO 5 client on tokio-tungstenite, fed by the
//! platform's Flask-SocketIO servers. The protocol layer is ours, small and tested: the only
//! Rust Socket.IO crate is dormant and pins an old tungstenite.

pub mod client;
pub mod codec;
pub mod meaning;

use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

use crate::config::model::SocketIoEndpoint;

/// The endpoint as configured, with its token resolved (config, else the environment).
pub fn endpoint(cfg: &SocketIoEndpoint) -> client::Endpoint {
    let token = Some(cfg.token.clone())
        .filter(|t| !t.is_empty())
        .or_else(|| {
            (!cfg.token_env.is_empty())
                .then(|| std::env::var(&cfg.token_env).ok())
                .flatten()
        });
    client::Endpoint {
        name: cfg.name.clone(),
        url: cfg.url.get_ref().clone(),
        path: cfg.path.clone(),
        namespaces: cfg
            .namespaces
            .iter()
            .map(|n| {
                if n.starts_with('/') {
                    n.clone()
                } else {
                    format!("/{n}")
                }
            })
            .collect(),
        token,
        events: cfg.events.clone(),
        max_frame: *cfg.max_frame.get_ref(),
    }
}

/// Handles to the running endpoints, for operator actions.
#[derive(Clone, Default)]
pub struct Links {
    pub endpoints: HashMap<String, mpsc::Sender<client::Command>>,
}

impl Links {
    /// Emits `event` on `endpoint`'s `namespace` and waits for the server's ack.
    pub async fn emit_with_ack(
        &self,
        endpoint: &str,
        namespace: &str,
        event: &str,
        payload: Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        let cmds = self.endpoints.get(endpoint).ok_or_else(|| {
            let mut names: Vec<_> = self.endpoints.keys().map(String::as_str).collect();
            names.sort();
            format!(
                "no Socket.IO endpoint `{endpoint}`; endpoints: {}",
                names.join(", ")
            )
        })?;
        let (reply, answer) = oneshot::channel();
        let nsp = if namespace.starts_with('/') {
            namespace.to_string()
        } else {
            format!("/{namespace}")
        };
        cmds.send(client::Command::Emit {
            nsp,
            event: event.to_string(),
            payload,
            timeout,
            reply,
        })
        .await
        .map_err(|_| "the endpoint's task has stopped".to_string())?;
        match tokio::time::timeout(timeout + Duration::from_secs(1), answer).await {
            Ok(Ok(r)) => r,
            _ => Err(format!("no ack after {} s", timeout.as_secs())),
        }
    }
}
