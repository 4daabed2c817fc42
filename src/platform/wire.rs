//! Encoders for the bytes the platform puts on Redis: kombu envelopes around Celery events,
//! and Chavion agent/activity JSON. The demo fleet publishes with these, so its bytes are
//! exactly what a real worker sends (see docs/WIRE.md).

use base64::Engine;
use serde_json::{Value, json};

/// A kombu envelope as Celery's event dispatcher publishes it on Redis fanout.
pub fn kombu_event_envelope(body: &Value, hostname: &str, routing_key: &str, tag: &str) -> Vec<u8> {
    let body_b64 = base64::engine::general_purpose::STANDARD
        .encode(serde_json::to_vec(body).expect("JSON values serialize"));
    serde_json::to_vec(&json!({
        "body": body_b64,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {"hostname": hostname},
        "properties": {
            "delivery_mode": 1,
            "delivery_info": {"exchange": "celeryev", "routing_key": routing_key},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": tag,
        }
    }))
    .expect("JSON values serialize")
}

/// The channel a Celery event of `event_type` (e.g. `task-started`) is published on.
pub fn celery_channel(prefix: &str, event_type: &str) -> String {
    format!("{prefix}{}", event_type.replace('-', "."))
}

pub fn worker_heartbeat(
    hostname: &str,
    ts: f64,
    active: u64,
    processed: u64,
    loadavg: [f64; 3],
) -> Value {
    json!({
        "hostname": hostname, "utcoffset": 0, "pid": 4242, "clock": processed + 1,
        "freq": 2.0, "active": active, "processed": processed, "loadavg": loadavg,
        "sw_ident": "py-celery", "sw_ver": "5.7.0", "sw_sys": "Linux",
        "timestamp": ts, "type": "worker-heartbeat"
    })
}

pub fn agent_json(
    agent: &str,
    state: &str,
    task_id: Option<&str>,
    detail: &str,
    model: &str,
    ts: f64,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "agent": agent, "state": state, "task_id": task_id, "detail": detail, "model": model, "ts": ts
    }))
    .expect("JSON values serialize")
}

pub fn activity_json(
    level: &str,
    source: &str,
    message: &str,
    task_id: Option<&str>,
    ts: f64,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "ts": ts, "level": level, "source": source, "message": message, "task_id": task_id
    }))
    .expect("JSON values serialize")
}

/// A random (v4) UUID, as Celery's own task ids and reply queues are.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    for x in &mut b {
        *x = fastrand::u8(..);
    }
    format_v4(b)
}

/// Sixteen bytes as a v4 UUID (version and variant bits set).
pub fn format_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A remote-control broadcast as celery.app.control publishes it on Redis: no destination
/// (every worker), no reply wanted.
pub fn pidbox_envelope(method: &str, arguments: Value, now: f64) -> Vec<u8> {
    let body = json!({
        "method": method, "arguments": arguments,
        "destination": null, "pattern": null, "matcher": null,
    });
    pidbox_wrap(&body, now)
}

/// A remote-control request that wants replies, as `celery inspect` sends it: to the
/// workers named in `destination` (every worker when empty), with a ticket, and replies
/// routed to `oid` on the `reply.celery.pidbox` exchange.
pub fn pidbox_request(
    method: &str,
    arguments: Value,
    destination: &[String],
    ticket: &str,
    oid: &str,
    now: f64,
) -> Vec<u8> {
    let destination = (!destination.is_empty()).then_some(destination);
    let body = json!({
        "method": method, "arguments": arguments,
        "destination": destination, "pattern": null, "matcher": null,
        "ticket": ticket,
        "reply_to": {"exchange": "reply.celery.pidbox", "routing_key": oid},
    });
    pidbox_wrap(&body, now)
}

fn pidbox_wrap(body: &Value, now: f64) -> Vec<u8> {
    let body_b64 = base64::engine::general_purpose::STANDARD
        .encode(serde_json::to_vec(body).expect("JSON values serialize"));
    serde_json::to_vec(&json!({
        "body": body_b64,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        // Workers drop control messages whose `expires` has passed.
        "headers": {"clock": 1, "expires": now + 10.0},
        "properties": {
            "delivery_mode": 2,
            "delivery_info": {"exchange": "celery.pidbox", "routing_key": ""},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": format!("chavion-{}", (now * 1e6) as u64),
        }
    }))
    .expect("JSON values serialize")
}

/// What the operator asked to run; everything a Celery protocol v2 message needs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskRequest {
    pub id: String,
    pub name: String,
    pub queue: String,
    /// JSON arrays and objects, already validated.
    pub args: Value,
    pub kwargs: Value,
    pub priority: u8,
    /// When to run it (from a countdown or an ETA), and when it expires: RFC 3339, UTC.
    pub eta: Option<chrono::DateTime<chrono::Utc>>,
    pub expires: Option<chrono::DateTime<chrono::Utc>>,
    pub origin: String,
}

/// kombu's priority steps on Redis; the sub-queue of step 0 is the queue's own key.
pub const PRIORITY_STEPS: [u8; 4] = [0, 3, 6, 9];

/// kombu's priority steps on Redis: the sub-queue a priority lands on (largest step <= it).
pub fn priority_step(priority: u8) -> u8 {
    match priority.min(9) {
        0..=2 => 0,
        3..=5 => 3,
        6..=8 => 6,
        _ => 9,
    }
}

/// The Redis list a message of this priority is pushed to.
pub fn queue_key(keyprefix: &str, queue: &str, priority: u8) -> String {
    match priority_step(priority) {
        0 => format!("{keyprefix}{queue}"),
        step => format!("{keyprefix}{queue}\x06\x16{step}"),
    }
}

fn rfc3339(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// A Celery protocol v2 task message, as celery/app/amqp.py `as_task_v2` builds it and kombu's
/// Redis transport LPUSHes it (docs/WIRE.md).
pub fn task_message(req: &TaskRequest, delivery_tag: &str) -> Vec<u8> {
    let body = json!([req.args, req.kwargs, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]);
    let body_b64 = base64::engine::general_purpose::STANDARD
        .encode(serde_json::to_vec(&body).expect("JSON values serialize"));
    let repr = |v: &Value| crate::sanitize::clean(&v.to_string(), 1024);
    let mut properties = json!({
        "correlation_id": req.id,
        "reply_to": "",
        "delivery_mode": 2,
        "delivery_info": {"exchange": "", "routing_key": req.queue},
        "priority": req.priority.min(9),
        "body_encoding": "base64",
        "delivery_tag": delivery_tag,
    });
    if let Some(expires) = req.expires {
        let ms = (expires - chrono::Utc::now()).num_milliseconds().max(0);
        properties["expiration"] = json!(ms.to_string());
    }
    serde_json::to_vec(&json!({
        "body": body_b64,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py", "task": req.name, "id": req.id, "shadow": null,
            "eta": req.eta.as_ref().map(rfc3339), "expires": req.expires.as_ref().map(rfc3339),
            "group": null, "group_index": null, "retries": 0, "timelimit": [null, null],
            "root_id": req.id, "parent_id": null,
            "argsrepr": repr(&req.args), "kwargsrepr": repr(&req.kwargs),
            "origin": req.origin, "ignore_result": false,
            "replaced_task_nesting": 0, "stamped_headers": null, "stamps": {},
        },
        "properties": properties,
    }))
    .expect("JSON values serialize")
}

/// The task-sent event a producer with `task_send_sent_event` publishes, so the task shows
/// (as PENDING) before any worker touches it.
pub fn task_sent_event(req: &TaskRequest, hostname: &str, now: f64) -> Value {
    json!({
        "hostname": hostname, "utcoffset": 0, "pid": std::process::id(), "clock": 1,
        "uuid": req.id, "root_id": req.id, "parent_id": null, "name": req.name,
        "args": crate::sanitize::clean(&req.args.to_string(), 1024),
        "kwargs": crate::sanitize::clean(&req.kwargs.to_string(), 1024),
        "retries": 0, "eta": req.eta.as_ref().map(rfc3339), "expires": req.expires.as_ref().map(rfc3339),
        "queue": req.queue, "exchange": "", "routing_key": req.queue,
        "timestamp": now, "type": "task-sent",
    })
}

/// A task message sent again as a retry: the original envelope with a new id (`headers.id`,
/// the correlation id and the delivery tag; the root id too when the task was its own root),
/// and without the first run's ETA and expiry, so it runs now. Everything else (the body's
/// exact bytes, the time limits, the group) is kept. Also returns the request the message
/// carries, for its task-sent event.
pub fn retried_message(original: &str, new_id: &str) -> Result<(String, TaskRequest), String> {
    let mut env: Value =
        serde_json::from_str(original).map_err(|e| format!("the message is not JSON: {e}"))?;
    let old_id = env["headers"]["id"]
        .as_str()
        .ok_or("the message has no task id (not Celery protocol 2)")?
        .to_string();
    let name = env["headers"]["task"]
        .as_str()
        .ok_or("the message names no task")?
        .to_string();
    let queue = env["properties"]["delivery_info"]["routing_key"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let priority = env["properties"]["priority"].as_u64().unwrap_or(0).min(9) as u8;
    let body = match env["properties"]["body_encoding"].as_str() {
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(env["body"].as_str().unwrap_or(""))
            .map_err(|e| format!("bad base64 body: {e}"))?,
        _ => env["body"].as_str().unwrap_or("").as_bytes().to_vec(),
    };
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let headers = &mut env["headers"];
    headers["id"] = json!(new_id);
    if headers["root_id"].as_str() == Some(old_id.as_str()) {
        headers["root_id"] = json!(new_id);
    }
    headers["eta"] = Value::Null;
    headers["expires"] = Value::Null;
    let props = &mut env["properties"];
    props["correlation_id"] = json!(new_id);
    props["delivery_tag"] = json!(new_id);
    if let Some(p) = props.as_object_mut() {
        p.remove("expiration");
    }
    if let Some(d) = props["delivery_info"].as_object_mut() {
        d.remove("redelivered");
    }
    let req = TaskRequest {
        id: new_id.to_string(),
        name,
        queue,
        args: body[0].clone(),
        kwargs: body[1].clone(),
        priority,
        eta: None,
        expires: None,
        origin: env["headers"]["origin"].as_str().unwrap_or("").to_string(),
    };
    Ok((env.to_string(), req))
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    #[test]
    fn a_retried_message_keeps_its_body_and_takes_a_new_id() {
        let req = TaskRequest {
            id: "old".into(),
            name: "thinking.add".into(),
            queue: "thinking".into(),
            args: json!([1, 2]),
            kwargs: json!({"k": "v"}),
            priority: 6,
            eta: Some(chrono::Utc::now()),
            expires: Some(chrono::Utc::now()),
            origin: "x@y".into(),
        };
        let original = String::from_utf8(task_message(&req, "old")).unwrap();
        let (again, facts) = retried_message(&original, "new").unwrap();
        let a: Value = serde_json::from_str(&original).unwrap();
        let b: Value = serde_json::from_str(&again).unwrap();
        assert_eq!(a["body"], b["body"], "the exact body bytes are sent again");
        assert_eq!(b["headers"]["id"], "new");
        assert_eq!(b["headers"]["root_id"], "new");
        assert_eq!(b["properties"]["correlation_id"], "new");
        assert_eq!(b["headers"]["eta"], Value::Null);
        assert!(b["properties"].get("expiration").is_none());
        assert_eq!(b["headers"]["timelimit"], a["headers"]["timelimit"]);
        assert_eq!(
            (facts.name.as_str(), facts.queue.as_str(), facts.priority),
            ("thinking.add", "thinking", 6)
        );
        assert_eq!(
            (facts.args, facts.kwargs),
            (json!([1, 2]), json!({"k": "v"}))
        );
        assert!(retried_message("{}", "n").is_err());
        assert!(retried_message("not json", "n").is_err());
    }
}
