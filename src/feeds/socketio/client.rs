//! One Socket.IO endpoint: a task that owns its WebSocket (Engine.IO 4, websocket transport
//! only), connects every namespace with its auth payload, answers pings, notices a server
//! that stops pinging, reassembles binary events, enforces frame limits, carries acks with
//! timeouts, and reconnects with a new handshake (1 s doubling to 5 s, jittered).

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::meaning;
pub use crate::clients::socketio::{Command, EmitError, Endpoint, words};
use crate::event::{Event, LinkHealth};
use crate::platform::backoff::Backoff;
use crate::platform::model::FeedItem;
use crate::platform::socketio::{self as codec, Eio, Kind};

const CONNECT_WITHIN: Duration = Duration::from_secs(5);

pub fn spawn(
    ep: Endpoint,
    tx: mpsc::Sender<Event>,
) -> (tokio::task::JoinHandle<()>, mpsc::Sender<Command>) {
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    (tokio::spawn(run(ep, tx, cmd_rx)), cmd_tx)
}

async fn run(ep: Endpoint, tx: mpsc::Sender<Event>, mut cmds: mpsc::Receiver<Command>) {
    crate::http::ensure_crypto();
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
    let link = ep.link();
    loop {
        let _ = tx
            .send(Event::Link {
                name: link.clone(),
                health: LinkHealth::Connecting,
            })
            .await;
        let mut s = Session::new(&ep, &tx);
        let why = s.run(&mut cmds, &mut backoff).await;
        s.fail_pending(&why);
        let wait = backoff.next_wait();
        tracing::warn!(link, %why, ?wait, "socket.io link down");
        if tx
            .send(Event::Link {
                name: link.clone(),
                health: LinkHealth::Down {
                    why,
                    retry_in: Some(wait),
                },
            })
            .await
            .is_err()
        {
            return;
        }
        // Emits while down are answered at once, not left to time out in silence.
        let until = Instant::now() + wait;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => break,
                cmd = cmds.recv() => match cmd {
                    Some(Command::Emit { reply, .. }) => { let _ = reply.send(Err(EmitError::NotConnected(ep.name.clone()))); }
                    None => return,
                },
            }
        }
    }
}

/// Who waits for an ack, until when, and how long that was.
/// Why a session ended, in the words its link shows (down, and retrying).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
struct Ended(String);

impl From<String> for Ended {
    fn from(why: String) -> Ended {
        Ended(why)
    }
}

impl From<&str> for Ended {
    fn from(why: &str) -> Ended {
        Ended(why.to_string())
    }
}

type PendingAck = (oneshot::Sender<Result<Value, EmitError>>, Instant, Duration);

struct Session<'a> {
    ep: &'a Endpoint,
    tx: &'a mpsc::Sender<Event>,
    connected: BTreeSet<String>,
    refused: BTreeMap<String, String>,
    /// Namespaces the server disconnected while the others stay up: each is asked again on
    /// its own backoff (when), and the link says so once, not by flapping.
    dropped: BTreeMap<String, (Backoff, Instant)>,
    pending: HashMap<u64, PendingAck>,
    next_id: u64,
    binary: Option<(codec::Packet, Vec<Vec<u8>>)>,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl<'a> Session<'a> {
    fn new(ep: &'a Endpoint, tx: &'a mpsc::Sender<Event>) -> Session<'a> {
        Session {
            ep,
            tx,
            connected: BTreeSet::new(),
            refused: BTreeMap::new(),
            dropped: BTreeMap::new(),
            pending: HashMap::new(),
            next_id: 1,
            binary: None,
        }
    }

    fn fail_pending(&mut self, why: &str) {
        for (_, (reply, _, _)) in self.pending.drain() {
            let _ = reply.send(Err(EmitError::Lost(why.to_string())));
        }
    }

    async fn emit_items(&self, items: Vec<FeedItem>) {
        if !items.is_empty() {
            let _ = self
                .tx
                .send(Event::FeedBatch {
                    at: Utc::now(),
                    items,
                })
                .await;
        }
    }

    async fn warn(&self, reason: String, raw: &str) {
        let item = FeedItem::Malformed {
            source: self.ep.link(),
            reason,
            raw: crate::sanitize::clean(raw, 200),
        };
        self.emit_items(vec![item]).await;
    }

    async fn health(&self) {
        let health = if let Some((nsp, why)) = self.refused.iter().next() {
            LinkHealth::Degraded {
                why: format!("auth refused by {nsp}: {why}"),
            }
        } else if let Some(nsp) = self.dropped.keys().next() {
            LinkHealth::Degraded {
                why: format!("{nsp} disconnected by the server; asking again"),
            }
        } else if self.connected.len() == self.ep.namespaces.len() {
            LinkHealth::Up
        } else {
            LinkHealth::Connecting
        };
        let _ = self
            .tx
            .send(Event::Link {
                name: self.ep.link(),
                health,
            })
            .await;
    }

    /// Runs one connection to its end (one select loop over frames, pings, commands and
    /// the sweep); returns why it ended, in words.
    async fn run(&mut self, cmds: &mut mpsc::Receiver<Command>, backoff: &mut Backoff) -> String {
        let (mut ws, open) = match self.handshake().await {
            Ok(x) => x,
            Err(why) => return why.0,
        };
        backoff.reset();
        for nsp in &self.ep.namespaces {
            if ws.send(self.connect_frame(nsp)).await.is_err() {
                return "connection lost while connecting namespaces".into();
            }
        }
        let silence = Duration::from_millis(open.ping_interval_ms + open.ping_timeout_ms);
        let mut ping_deadline = Instant::now() + silence;
        let mut sweep = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    None => return "connection closed".into(),
                    Some(Err(e)) => return format!("connection lost: {e}"),
                    // Flask-SocketIO leaves TCP open after its Close: drop the stream at once.
                    Some(Ok(Message::Close(_))) => return "the server closed the WebSocket".into(),
                    Some(Ok(Message::Text(t))) => {
                        if t.len() > self.ep.max_frame {
                            self.warn(format!("oversized frame: {} bytes (limit {}), dropped", t.len(), self.ep.max_frame), &t).await;
                            continue;
                        }
                        match codec::parse_eio(&t) {
                            Ok(Eio::Ping(p)) => {
                                ping_deadline = Instant::now() + silence;
                                if ws.send(Message::text(format!("3{p}"))).await.is_err() {
                                    return "connection lost answering a ping".into();
                                }
                            }
                            Ok(Eio::Message(m)) => {
                                if let Err(why) = self.on_packet(&mut ws, &m).await {
                                    return why.to_string();
                                }
                            }
                            Ok(Eio::Close) => return "the server closed the session".into(),
                            Ok(_) => {}
                            Err(e) => self.warn(e.to_string(), &t).await,
                        }
                    }
                    Some(Ok(Message::Binary(b))) => {
                        if b.len() > self.ep.max_frame {
                            self.warn(format!("oversized binary frame: {} bytes (limit {}), dropped", b.len(), self.ep.max_frame), "").await;
                            self.binary = None;
                            continue;
                        }
                        self.on_binary(b.to_vec()).await;
                    }
                    Some(Ok(_)) => {}
                },
                _ = tokio::time::sleep_until(ping_deadline) => {
                    return format!("no ping from the server in {} s", silence.as_secs());
                }
                cmd = cmds.recv() => match cmd {
                    None => {
                        // The control room is closing: say goodbye properly.
                        let _ = ws.send(Message::text("1")).await;
                        return "closed by the control room".into();
                    }
                    Some(Command::Emit { nsp, event, payload, timeout, reply }) => {
                        self.emit(&mut ws, &open, nsp, event, payload, timeout, reply).await;
                    }
                },
                _ = sweep.tick() => {
                    if let Err(why) = self.sweep(&mut ws).await {
                        return why.to_string();
                    }
                }
            }
        }
    }

    /// Every 200 ms: a namespace the server dropped is asked again when its wait is over,
    /// and an ack past its time is answered with the wait.
    async fn sweep(&mut self, ws: &mut Ws) -> Result<(), Ended> {
        let now = Instant::now();
        let due: Vec<String> = self
            .dropped
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for nsp in due {
            if ws.send(self.connect_frame(&nsp)).await.is_err() {
                return Err("connection lost while connecting a namespace again".into());
            }
            if let Some((backoff, at)) = self.dropped.get_mut(&nsp) {
                *at = now + backoff.next_wait();
            }
        }
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, (_, at, _))| *at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some((reply, _, t)) = self.pending.remove(&id) {
                let _ = reply.send(Err(EmitError::NoAck(t)));
            }
        }
        Ok(())
    }

    /// The CONNECT for `nsp`, with the auth payload (never logged).
    fn connect_frame(&self, nsp: &str) -> Message {
        let auth = self.ep.token.as_ref().map(|t| json!({"token": t}));
        Message::text(codec::encode(Kind::Connect, nsp, None, auth.as_ref()))
    }

    async fn handshake(&mut self) -> Result<(Ws, codec::Open), Ended> {
        let url = self.ep.ws_url();
        let (mut ws, _) = match tokio::time::timeout(
            CONNECT_WITHIN,
            tokio_tungstenite::connect_async(url.as_str()),
        )
        .await
        {
            Err(_) => return Err(format!("no answer within {} s", CONNECT_WITHIN.as_secs()).into()),
            Ok(Err(e)) => return Err(words(&e).into()),
            Ok(Ok(x)) => x,
        };
        let first = tokio::time::timeout(CONNECT_WITHIN, ws.next()).await;
        match first {
            Ok(Some(Ok(Message::Text(t)))) => match codec::parse_eio(&t) {
                Ok(Eio::Open(open)) => Ok((ws, open)),
                _ => Err(format!(
                    "expected the Engine.IO open packet, got `{}`",
                    crate::sanitize::clean(&t, 60)
                )
                .into()),
            },
            _ => Err("no Engine.IO open packet".into()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn emit(
        &mut self,
        ws: &mut Ws,
        open: &codec::Open,
        nsp: String,
        event: String,
        payload: Value,
        timeout: Duration,
        reply: oneshot::Sender<Result<Value, EmitError>>,
    ) {
        if !self.connected.contains(&nsp) {
            let why = self.refused.get(&nsp).map_or_else(
                || format!("namespace {nsp} is not connected"),
                |r| format!("namespace {nsp} refused us: {r}"),
            );
            let _ = reply.send(Err(EmitError::Namespace(why)));
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let frame = codec::encode(Kind::Event, &nsp, Some(id), Some(&json!([event, payload])));
        if frame.len() as u64 > open.max_payload {
            let _ = reply.send(Err(EmitError::TooLarge {
                size: frame.len(),
                max: open.max_payload,
            }));
            return;
        }
        if ws.send(Message::text(frame)).await.is_err() {
            let _ = reply.send(Err(EmitError::LostSending));
            return;
        }
        self.pending
            .insert(id, (reply, Instant::now() + timeout, timeout));
    }

    /// A namespace connected, refused, or dropped by the server (the others stay up: it is
    /// asked again on its own backoff, and the link says so once).
    async fn on_namespace(&mut self, p: codec::Packet) {
        match p.kind {
            Kind::Connect => {
                self.refused.remove(&p.nsp);
                let was_dropped = self.dropped.remove(&p.nsp).is_some();
                self.connected.insert(p.nsp.clone());
                if was_dropped {
                    let item = self.note(
                        crate::platform::model::Level::Info,
                        format!("{} connected again", p.nsp),
                    );
                    self.emit_items(vec![item]).await;
                }
                self.health().await;
            }
            Kind::ConnectError => {
                let why = codec::connect_error(p.data.as_ref());
                self.refused
                    .insert(p.nsp.clone(), crate::sanitize::clean(&why, 120));
                self.health().await;
            }
            Kind::Disconnect => {
                // One namespace dropped by the server: the others stay up. It is asked again
                // on its own backoff, and the link says so once.
                self.connected.remove(&p.nsp);
                if !self.dropped.contains_key(&p.nsp) {
                    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
                    let at = Instant::now() + backoff.next_wait();
                    self.dropped.insert(p.nsp.clone(), (backoff, at));
                    let item = self.note(crate::platform::model::Level::Warn, format!(
                            "{} disconnected by the server; the other namespaces stay connected, and it is asked again",
                            p.nsp
                        ));
                    self.emit_items(vec![item]).await;
                    self.health().await;
                }
            }
            _ => {}
        }
    }

    /// One Socket.IO packet, by its type.
    async fn on_packet(&mut self, ws: &mut Ws, text: &str) -> Result<(), Ended> {
        let p = match codec::parse_sio(text) {
            Ok(p) => p,
            Err(e) => {
                self.warn(e.to_string(), text).await;
                return Ok(());
            }
        };
        // Only the namespaces this client joined are listened to: a packet for any other
        // is ignored, its (untrusted) name never shown.
        if !self.ep.namespaces.contains(&p.nsp) {
            tracing::debug!("socket.io packet for a namespace not joined, ignored");
            return Ok(());
        }
        match p.kind {
            Kind::Connect | Kind::ConnectError | Kind::Disconnect => self.on_namespace(p).await,
            Kind::Event => {
                if let Some(id) = p.id {
                    // The server asked for an ack: give an empty one.
                    let _ = ws
                        .send(Message::text(codec::encode(
                            Kind::Ack,
                            &p.nsp,
                            Some(id),
                            Some(&json!([])),
                        )))
                        .await;
                }
                self.on_event(&p.nsp, p.data).await;
            }
            Kind::Ack => {
                if let Some((reply, _, _)) = p.id.and_then(|id| self.pending.remove(&id)) {
                    let data = match p.data {
                        Some(Value::Array(mut a)) if a.len() == 1 => a.remove(0),
                        Some(v) => v,
                        None => Value::Null,
                    };
                    let _ = reply.send(Ok(data));
                }
            }
            Kind::BinaryEvent | Kind::BinaryAck => {
                if p.attachments == 0 || p.attachments > 16 {
                    self.warn(
                        format!("binary packet with {} attachments", p.attachments),
                        text,
                    )
                    .await;
                } else {
                    self.binary = Some((p, Vec::new()));
                }
            }
        }
        Ok(())
    }

    /// A line for the activity log about this link itself.
    fn note(&self, level: crate::platform::model::Level, message: String) -> FeedItem {
        FeedItem::Activity(crate::platform::model::ActivityReport {
            ts: None,
            level,
            source: self.ep.link(),
            message: crate::sanitize::clean(&message, 300),
            task_id: None,
        })
    }

    async fn on_binary(&mut self, bytes: Vec<u8>) {
        let Some((packet, mut parts)) = self.binary.take() else {
            self.warn(
                format!("unexpected binary frame of {} bytes", bytes.len()),
                "",
            )
            .await;
            return;
        };
        parts.push(bytes);
        if parts.len() < packet.attachments {
            self.binary = Some((packet, parts));
            return;
        }
        let mut data = packet.data.clone().unwrap_or(Value::Null);
        codec::fill_placeholders(&mut data, &parts);
        if packet.kind == Kind::BinaryEvent {
            self.on_event(&packet.nsp, Some(data)).await;
        }
    }

    async fn on_event(&self, nsp: &str, data: Option<Value>) {
        let Some(Value::Array(items)) = data else {
            self.warn(
                "event without a name".into(),
                &data.map(|d| d.to_string()).unwrap_or_default(),
            )
            .await;
            return;
        };
        let Some(name) = items.first().and_then(Value::as_str) else {
            self.warn(
                "event without a name".into(),
                &Value::Array(items).to_string(),
            )
            .await;
            return;
        };
        let meaning = self.ep.events.get(name).copied();
        let now = Utc::now().timestamp_micros() as f64 / 1e6;
        let out = meaning::items(&self.ep.link(), nsp, name, &items[1..], meaning, now);
        self.emit_items(out).await;
    }
}
