//! Decoders: pure functions of bytes. No I/O, no clock. Everything they return is already
//! stripped of control sequences and cut to a sane length.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::model::*;
use crate::sanitize::{clean, clean_lines};

/// Chavion payloads are small JSON objects; anything bigger is a bug or an attack.
pub const MAX_CHAVION_PAYLOAD: usize = 64 * 1024;
/// A full `task.multi` batch of 24 events with 1 KB reprs is about 40 KB.
pub const MAX_CELERY_PAYLOAD: usize = 512 * 1024;

const SHORT: usize = 120;
const TEXT: usize = 2_000;
const REPR: usize = 1_000;
const TRACEBACK: usize = 8_000;

#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError(pub String);

impl<E: std::fmt::Display> From<E> for DecodeError {
    fn from(e: E) -> Self {
        DecodeError(e.to_string())
    }
}

fn too_big(payload: &[u8], max: usize) -> Result<(), DecodeError> {
    if payload.len() > max {
        return Err(DecodeError(format!(
            "payload too large: {} bytes (limit {max})",
            payload.len()
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawTs {
    Epoch(f64),
    Text(String),
}

fn parse_ts(ts: Option<RawTs>) -> Result<Option<DateTime<Utc>>, DecodeError> {
    match ts {
        None => Ok(None),
        Some(RawTs::Epoch(secs)) => epoch(secs)
            .map(Some)
            .ok_or_else(|| DecodeError(format!("ts {secs} is out of range"))),
        Some(RawTs::Text(t)) => DateTime::parse_from_rfc3339(&t)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| {
                DecodeError(format!(
                    "ts `{}` is neither RFC 3339 nor epoch seconds",
                    clean(&t, 40)
                ))
            }),
    }
}

pub fn epoch(secs: f64) -> Option<DateTime<Utc>> {
    if !secs.is_finite() || !(0.0..1e11).contains(&secs) {
        return None;
    }
    DateTime::from_timestamp(secs.trunc() as i64, ((secs.fract()) * 1e9) as u32)
}

fn opt(s: Option<String>, max: usize) -> Option<String> {
    s.map(|s| clean(&s, max)).filter(|s| !s.is_empty())
}

#[derive(Deserialize)]
struct RawAgent {
    agent: String,
    state: String,
    #[serde(default)]
    task_id: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    ts: Option<RawTs>,
}

/// An agent-state message from `chavion:agents:<NAME>`.
pub fn agent(payload: &[u8]) -> Result<AgentReport, DecodeError> {
    too_big(payload, MAX_CHAVION_PAYLOAD)?;
    let raw: RawAgent = serde_json::from_slice(payload)?;
    let state = match raw.state.to_ascii_lowercase().as_str() {
        "idle" => AgentState::Idle,
        "busy" | "working" => AgentState::Busy,
        "error" | "failed" => AgentState::Error,
        "offline" | "stopped" => AgentState::Offline,
        "unknown" => AgentState::Unknown,
        _ => {
            return Err(DecodeError(format!(
                "unknown state `{}`; expected idle, busy, error, offline or unknown",
                clean(&raw.state, 40)
            )));
        }
    };
    let agent = clean(&raw.agent, 40).to_uppercase();
    if agent.is_empty() {
        return Err(DecodeError("agent is empty".into()));
    }
    Ok(AgentReport {
        agent,
        state,
        task_id: opt(raw.task_id, SHORT),
        detail: opt(raw.detail, TEXT),
        model: opt(raw.model, 40),
        ts: parse_ts(raw.ts)?,
    })
}

#[derive(Deserialize)]
struct RawActivity {
    #[serde(default)]
    ts: Option<RawTs>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    source: Option<String>,
    message: String,
    #[serde(default)]
    task_id: Option<String>,
}

/// An activity line from `chavion:activity`.
pub fn activity(payload: &[u8]) -> Result<ActivityReport, DecodeError> {
    too_big(payload, MAX_CHAVION_PAYLOAD)?;
    let raw: RawActivity = serde_json::from_slice(payload)?;
    let level = match raw.level.as_deref() {
        None => Level::Info,
        Some(l) => Level::parse(l)
            .ok_or_else(|| DecodeError(format!("unknown level `{}`", clean(l, 20))))?,
    };
    Ok(ActivityReport {
        ts: parse_ts(raw.ts)?,
        level,
        source: opt(raw.source, 24).unwrap_or_else(|| "activity".into()),
        message: clean(&raw.message, TEXT),
        task_id: opt(raw.task_id, SHORT),
    })
}

#[derive(Deserialize)]
struct Envelope {
    body: String,
    #[serde(rename = "content-type", default)]
    content_type: Option<String>,
    #[serde(default)]
    properties: Properties,
}

#[derive(Deserialize, Default)]
struct Properties {
    #[serde(default)]
    body_encoding: Option<String>,
}

/// The kombu message envelope around a Celery event; returns the decoded body.
pub fn kombu_body(payload: &[u8]) -> Result<Vec<u8>, DecodeError> {
    too_big(payload, MAX_CELERY_PAYLOAD)?;
    let env: Envelope = serde_json::from_slice(payload)?;
    match env.content_type.as_deref() {
        None | Some("application/json") => {}
        Some(other) => {
            return Err(DecodeError(format!(
                "content-type `{}` is not supported; configure the JSON serializer",
                clean(other, 60)
            )));
        }
    }
    match env.properties.body_encoding.as_deref() {
        Some("base64") => Ok(base64::engine::general_purpose::STANDARD
            .decode(env.body.as_bytes())
            .map_err(|e| DecodeError(format!("bad base64 body: {e}")))?),
        None | Some("utf-8") => Ok(env.body.into_bytes()),
        Some(other) => Err(DecodeError(format!(
            "body_encoding `{}` is not supported",
            clean(other, 30)
        ))),
    }
}

/// Celery events from one message: one event, or a `task.multi` list of them. Each event
/// stands alone: one bad entry in a batch does not cost the others.
pub fn celery_events(payload: &[u8]) -> Result<Vec<Result<CeleryEvent, DecodeError>>, DecodeError> {
    let body = kombu_body(payload)?;
    // Fast path: each event read straight into a typed struct. Anything it does not take
    // (a wrong type somewhere) goes the slow way, through a JSON value, for the exact
    // complaint; so each event still stands alone.
    if let Ok(items) = serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(&body) {
        return Ok(items
            .iter()
            .filter_map(|raw| fast_event(raw.get()))
            .collect());
    }
    if body.first() == Some(&b'{')
        && let Ok(text) = std::str::from_utf8(&body)
    {
        return Ok(fast_event(text).into_iter().collect());
    }
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| DecodeError(format!("body is not JSON: {e}")))?;
    Ok(match value {
        Value::Array(items) => items.iter().filter_map(celery_event).collect(),
        single => celery_event(&single).into_iter().collect(),
    })
}

/// One event as Celery sends it; strings borrow from the body unless escaped.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow, rename = "type")]
    ty: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    uuid: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    hostname: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    args: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    kwargs: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    result: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    exception: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    traceback: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    queue: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    routing_key: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    exchange: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    eta: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    expires: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    root_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    parent_id: Option<std::borrow::Cow<'a, str>>,
    pid: Option<f64>,
    #[serde(borrow)]
    sw_ver: Option<std::borrow::Cow<'a, str>>,
    timestamp: Option<f64>,
    runtime: Option<f64>,
    retries: Option<f64>,
    freq: Option<f64>,
    active: Option<f64>,
    processed: Option<f64>,
    loadavg: Option<Vec<f64>>,
    terminated: Option<bool>,
}

/// A borrowed string field, cleaned and cut to `max`, as the slow path's `s` does.
fn cleaned(x: &Option<std::borrow::Cow<str>>, max: usize) -> Option<String> {
    x.as_deref().map(|x| clean(x, max))
}

fn fast_event(raw: &str) -> Option<Result<CeleryEvent, DecodeError>> {
    let Ok(e) = serde_json::from_str::<RawEvent>(raw) else {
        // The slow path says exactly what is wrong with it.
        return match serde_json::from_str::<Value>(raw) {
            Ok(v) => celery_event(&v),
            Err(err) => Some(Err(DecodeError(format!("event is not JSON: {err}")))),
        };
    };
    let Some(ty) = e.ty.as_deref() else {
        return Some(Err(DecodeError("event has no `type`".into())));
    };
    let kind = match kind_of(ty)? {
        Kind::Worker(kind) => kind,
        Kind::Task(kind) => return Some(fast_task(kind, &e)),
    };
    let Some(hostname) = cleaned(&e.hostname, SHORT) else {
        return Some(Err(DecodeError("worker event has no hostname".into())));
    };
    let mut loadavg = [0.0; 3];
    for (slot, x) in loadavg.iter_mut().zip(e.loadavg.iter().flatten()) {
        *slot = *x;
    }
    Some(Ok(CeleryEvent::Worker(WorkerEvent {
        kind,
        hostname,
        timestamp: e.timestamp.unwrap_or(0.0),
        freq: heartbeat_period(e.freq),
        active: e.active.unwrap_or(0.0).max(0.0) as u64,
        processed: e.processed.unwrap_or(0.0).max(0.0) as u64,
        loadavg,
        sw_ver: cleaned(&e.sw_ver, 40),
    })))
}

/// The events that say how a task was sent (eta, root, parent, exchange, client).
fn carries_sending(kind: TaskEventKind) -> bool {
    matches!(kind, TaskEventKind::Sent | TaskEventKind::Received)
}

fn fast_task(kind: TaskEventKind, e: &RawEvent) -> Result<CeleryEvent, DecodeError> {
    let Some(uuid) = cleaned(&e.uuid, 64) else {
        return Err(DecodeError("task event has no uuid".into()));
    };
    // A result is usually a repr string; custom serializers send JSON values: show them.
    let result =
        e.result.and_then(
            |r| match serde_json::from_str::<std::borrow::Cow<str>>(r.get()) {
                Ok(text) => Some(clean(&text, REPR)),
                Err(_) if r.get() == "null" => None,
                Err(_) => Some(clean(r.get(), REPR)),
            },
        );
    Ok(CeleryEvent::Task(TaskEvent {
        kind,
        uuid,
        hostname: cleaned(&e.hostname, SHORT).unwrap_or_default(),
        timestamp: e.timestamp.unwrap_or(0.0),
        fields: TaskFields {
            name: cleaned(&e.name, 200),
            args: cleaned(&e.args, REPR),
            kwargs: cleaned(&e.kwargs, REPR),
            result,
            exception: cleaned(&e.exception, REPR),
            traceback: e.traceback.as_deref().map(|t| clean_lines(t, TRACEBACK)),
            runtime: e.runtime,
            queue: cleaned(&e.queue, SHORT).or(cleaned(&e.routing_key, SHORT)),
            retries: e.retries.map(|r| r.max(0.0) as u64),
            terminated: e.terminated,
            // Only task-sent and task-received say how a task was sent: the other events
            // (most of them) allocate nothing for it.
            sending: carries_sending(kind)
                .then(|| Sending {
                    eta: cleaned(&e.eta, 40),
                    expires: cleaned(&e.expires, 40),
                    root_id: cleaned(&e.root_id, 64),
                    parent_id: cleaned(&e.parent_id, 64),
                    exchange: cleaned(&e.exchange, SHORT),
                    routing_key: cleaned(&e.routing_key, SHORT),
                    // Every event carries its sender's pid; only task-sent's is the client's.
                    pid: e
                        .pid
                        .filter(|p| kind == TaskEventKind::Sent && *p >= 0.0)
                        .map(|p| p as u64),
                })
                .and_then(Sending::boxed),
        },
    }))
}

fn s(v: &Value, key: &str, max: usize) -> Result<Option<String>, DecodeError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(x)) => Ok(Some(if max == TRACEBACK {
            clean_lines(x, max)
        } else {
            clean(x, max)
        })),
        // Results of custom serializers can be JSON values rather than reprs: show them.
        Some(other) if key == "result" => Ok(Some(clean(&other.to_string(), max))),
        Some(other) => Err(DecodeError(format!(
            "`{key}` should be a string, got {}",
            kind(other)
        ))),
    }
}

fn n(v: &Value, key: &str) -> Result<Option<f64>, DecodeError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(x)) => Ok(x.as_f64()),
        Some(other) => Err(DecodeError(format!(
            "`{key}` should be a number, got {}",
            kind(other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `None` for event types the control room does not track (custom events, say).
fn celery_event(v: &Value) -> Option<Result<CeleryEvent, DecodeError>> {
    let Some(ty) = v.get("type").and_then(Value::as_str) else {
        return Some(Err(DecodeError("event has no `type`".into())));
    };
    Some(match kind_of(ty)? {
        Kind::Worker(kind) => worker_event(kind, v),
        Kind::Task(kind) => task_event(kind, v),
    })
}

enum Kind {
    Worker(WorkerEventKind),
    Task(TaskEventKind),
}

/// `None` for event types the control room does not track (custom events, say).
fn kind_of(ty: &str) -> Option<Kind> {
    Some(match ty {
        "worker-online" => Kind::Worker(WorkerEventKind::Online),
        "worker-heartbeat" => Kind::Worker(WorkerEventKind::Heartbeat),
        "worker-offline" => Kind::Worker(WorkerEventKind::Offline),
        "task-sent" => Kind::Task(TaskEventKind::Sent),
        "task-received" => Kind::Task(TaskEventKind::Received),
        "task-started" => Kind::Task(TaskEventKind::Started),
        "task-succeeded" => Kind::Task(TaskEventKind::Succeeded),
        "task-failed" => Kind::Task(TaskEventKind::Failed),
        "task-retried" => Kind::Task(TaskEventKind::Retried),
        "task-revoked" => Kind::Task(TaskEventKind::Revoked),
        "task-rejected" => Kind::Task(TaskEventKind::Rejected),
        _ => return None,
    })
}

fn worker_event(kind: WorkerEventKind, v: &Value) -> Result<CeleryEvent, DecodeError> {
    let hostname = s(v, "hostname", SHORT)?
        .ok_or_else(|| DecodeError("worker event has no hostname".into()))?;
    let mut loadavg = [0.0; 3];
    if let Some(Value::Array(l)) = v.get("loadavg") {
        for (slot, x) in loadavg.iter_mut().zip(l) {
            *slot = x.as_f64().unwrap_or(0.0);
        }
    }
    Ok(CeleryEvent::Worker(WorkerEvent {
        kind,
        hostname,
        timestamp: n(v, "timestamp")?.unwrap_or(0.0),
        freq: heartbeat_period(n(v, "freq")?),
        active: n(v, "active")?.unwrap_or(0.0).max(0.0) as u64,
        processed: n(v, "processed")?.unwrap_or(0.0).max(0.0) as u64,
        loadavg,
        sw_ver: s(v, "sw_ver", 40)?,
    }))
}

fn task_event(kind: TaskEventKind, v: &Value) -> Result<CeleryEvent, DecodeError> {
    let uuid = s(v, "uuid", 64)?.ok_or_else(|| DecodeError("task event has no uuid".into()))?;
    Ok(CeleryEvent::Task(TaskEvent {
        kind,
        uuid,
        hostname: s(v, "hostname", SHORT)?.unwrap_or_default(),
        timestamp: n(v, "timestamp")?.unwrap_or(0.0),
        fields: TaskFields {
            name: s(v, "name", 200)?,
            args: s(v, "args", REPR)?,
            kwargs: s(v, "kwargs", REPR)?,
            result: s(v, "result", REPR)?,
            exception: s(v, "exception", REPR)?,
            traceback: s(v, "traceback", TRACEBACK)?,
            runtime: n(v, "runtime")?,
            queue: s(v, "queue", SHORT)?.or(s(v, "routing_key", SHORT)?),
            retries: n(v, "retries")?.map(|r| r.max(0.0) as u64),
            terminated: v.get("terminated").and_then(Value::as_bool),
            sending: if carries_sending(kind) {
                Sending {
                    eta: s(v, "eta", 40)?,
                    expires: s(v, "expires", 40)?,
                    root_id: s(v, "root_id", 64)?,
                    parent_id: s(v, "parent_id", 64)?,
                    exchange: s(v, "exchange", SHORT)?,
                    routing_key: s(v, "routing_key", SHORT)?,
                    pid: n(v, "pid")?
                        .filter(|p| kind == TaskEventKind::Sent && *p >= 0.0)
                        .map(|p| p as u64),
                }
                .boxed()
            } else {
                None
            },
        },
    }))
}

#[derive(Deserialize)]
struct RawAuditNote {
    instance: String,
    record: RawAuditRecord,
}

#[derive(Deserialize)]
struct RawAuditRecord {
    who: String,
    #[serde(default)]
    ssh_client: String,
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    outcome: String,
}

/// An operator action announced by a control room on the audit channel.
pub fn audit(payload: &[u8]) -> Result<AuditNote, DecodeError> {
    too_big(payload, MAX_CHAVION_PAYLOAD)?;
    let raw: RawAuditNote = serde_json::from_slice(payload)?;
    Ok(AuditNote {
        instance: clean(&raw.instance, 40),
        who: clean(&raw.record.who, 40),
        from: clean(
            raw.record
                .ssh_client
                .split_whitespace()
                .next()
                .unwrap_or(""),
            60,
        ),
        action: clean(&raw.record.action, 30),
        target: clean(&raw.record.target, 200),
        outcome: clean(&raw.record.outcome, 300),
    })
}

/// Celery's Redis result backend record (`celery-task-meta-<id>`), as the task event it
/// amounts to; `None` while the task has not finished.
pub fn backend_meta(id: &str, payload: &[u8], now: f64) -> Result<Option<TaskEvent>, DecodeError> {
    too_big(payload, MAX_CELERY_PAYLOAD)?;
    let v: Value = serde_json::from_slice(payload)?;
    let status = v
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| DecodeError("result record has no status".into()))?;
    let kind = match status {
        "SUCCESS" => TaskEventKind::Succeeded,
        "FAILURE" => TaskEventKind::Failed,
        "REVOKED" => TaskEventKind::Revoked,
        _ => return Ok(None),
    };
    let result = v.get("result").cloned().unwrap_or(Value::Null);
    let mut fields = TaskFields {
        traceback: s(&v, "traceback", TRACEBACK)?,
        ..TaskFields::default()
    };
    if kind == TaskEventKind::Failed {
        // {"exc_type": "RuntimeError", "exc_message": ["planned failure"], ...}
        let ty = result
            .get("exc_type")
            .and_then(Value::as_str)
            .unwrap_or("Exception");
        let msg = match result.get("exc_message") {
            Some(Value::Array(parts)) => parts
                .iter()
                .map(|p| {
                    p.as_str()
                        .map_or_else(|| p.to_string(), |s| format!("'{s}'"))
                })
                .collect::<Vec<_>>()
                .join(", "),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        fields.exception = Some(clean(&format!("{ty}({msg})"), REPR));
    } else {
        fields.result = Some(clean(&result.to_string(), REPR));
    }
    Ok(Some(TaskEvent {
        kind,
        uuid: clean(id, 64),
        hostname: String::new(),
        timestamp: now,
        fields,
    }))
}

/// Celery's default heartbeat period, in seconds.
pub const DEFAULT_FREQ: f64 = 2.0;
/// The longest heartbeat period believed. A worker's `freq` decides when it is declared
/// offline (2 × freq of silence) and forgotten, so `freq=1e9` from a fake worker would keep
/// it online for ever; Celery's own workers use 2 s.
pub const MAX_FREQ: f64 = 60.0;
/// The shortest: below it, one late heartbeat would flap a worker offline.
pub const MIN_FREQ: f64 = 0.5;

/// A worker event's heartbeat period, clamped to what a real worker would say.
pub fn heartbeat_period(freq: Option<f64>) -> f64 {
    match freq {
        Some(f) if f > 0.0 => f.clamp(MIN_FREQ, MAX_FREQ),
        _ => DEFAULT_FREQ,
    }
}
