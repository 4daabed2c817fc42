//! Encoders for the bytes the platform puts on Redis: kombu envelopes around Celery events,
//! and Chavion agent/activity JSON. The demo fleet publishes with these, so its bytes are
//! exactly what a real worker sends (see shared/reference/celery-wire.md).

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

/// A remote-control broadcast as celery.app.control publishes it on Redis: no destination
/// (every worker), no reply wanted.
pub fn pidbox_envelope(method: &str, arguments: Value, now: f64) -> Vec<u8> {
    let body = json!({
        "method": method, "arguments": arguments,
        "destination": null, "pattern": null, "matcher": null,
    });
    let body_b64 = base64::engine::general_purpose::STANDARD
        .encode(serde_json::to_vec(&body).expect("JSON values serialize"));
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
