//! A Socket.IO endpoint as the control room addresses it (its URL, namespaces and token,
//! resolved from the config), and the handles the actions emit through (`Links`). The
//! session itself (the WebSocket, namespaces, pings, acks, reconnects) is one long-lived
//! task per endpoint in `feeds::socketio`, because it reads and emits on one connection.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

use crate::config::model::{Meaning, SocketIoEndpoint};

#[derive(Clone)]
pub struct Endpoint {
    pub name: String,
    pub url: String,
    pub path: String,
    pub namespaces: Vec<String>,
    /// Never printed, never logged.
    pub token: Option<String>,
    pub events: BTreeMap<String, Meaning>,
    pub max_frame: usize,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Endpoint {
    pub fn link(&self) -> String {
        format!("sio:{}", self.name)
    }

    pub fn ws_url(&self) -> String {
        let base = self.url.trim_end_matches('/');
        let path = format!("/{}/", self.path.trim_matches('/'));
        format!("{base}{path}?EIO=4&transport=websocket")
    }
}

pub enum Command {
    Emit {
        nsp: String,
        event: String,
        payload: Value,
        timeout: Duration,
        reply: oneshot::Sender<Result<Value, EmitError>>,
    },
}

/// The endpoint as configured, with its token resolved (config, else the environment).
pub fn endpoint(cfg: &SocketIoEndpoint) -> Endpoint {
    let token = Some(cfg.token.clone())
        .filter(|t| !t.is_empty())
        .or_else(|| {
            (!cfg.token_env.is_empty())
                .then(|| std::env::var(&cfg.token_env).ok())
                .flatten()
        });
    Endpoint {
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

/// Why an emit got no ack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("no Socket.IO endpoint `{name}`; endpoints: {known}")]
    NoEndpoint { name: String, known: String },
    #[error("the endpoint's task has stopped")]
    Stopped,
    /// The endpoint (its name) is down and retrying.
    #[error("{0} is not connected")]
    NotConnected(String),
    /// The namespace is not connected, or refused us (the words say which).
    #[error("{0}")]
    Namespace(String),
    #[error("payload of {size} bytes exceeds the server's maxPayload of {max}")]
    TooLarge { size: usize, max: u64 },
    #[error("connection lost while sending")]
    LostSending,
    #[error("connection lost before the ack: {0}")]
    Lost(String),
    #[error("no ack after {} s", .0.as_secs())]
    NoAck(Duration),
}

/// Handles to the running endpoints, for operator actions.
#[derive(Clone, Default)]
pub struct Links {
    pub endpoints: HashMap<String, mpsc::Sender<Command>>,
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
    ) -> Result<Value, EmitError> {
        let cmds = self.endpoints.get(endpoint).ok_or_else(|| {
            let mut names: Vec<_> = self.endpoints.keys().map(String::as_str).collect();
            names.sort();
            EmitError::NoEndpoint {
                name: endpoint.to_string(),
                known: names.join(", "),
            }
        })?;
        let (reply, answer) = oneshot::channel();
        let nsp = if namespace.starts_with('/') {
            namespace.to_string()
        } else {
            format!("/{namespace}")
        };
        cmds.send(Command::Emit {
            nsp,
            event: event.to_string(),
            payload,
            timeout,
            reply,
        })
        .await
        .map_err(|_| EmitError::Stopped)?;
        match tokio::time::timeout(timeout + Duration::from_secs(1), answer).await {
            Ok(Ok(r)) => r,
            _ => Err(EmitError::NoAck(timeout)),
        }
    }
}

pub fn words(e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        // rustls reports a refused certificate through the I/O layer.
        E::Io(io) if io.to_string().contains("certificate") => {
            format!("TLS: the server's certificate is not trusted ({io})")
        }
        E::Io(io) => io.to_string(),
        E::Http(resp) => format!("HTTP {} from the server", resp.status()),
        E::Tls(t) => format!("TLS: {t}"),
        other => other.to_string(),
    }
}
