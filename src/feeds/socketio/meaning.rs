//! What a Socket.IO event means to the control room, by the endpoint's event map. Pure.
//! An event that is not in the map shows as raw activity: nothing is dropped silently.

use serde_json::Value;

use crate::config::model::Meaning;
use crate::platform::decode;
use crate::platform::model::*;
use crate::sanitize::clean;

fn malformed(source: &str, reason: String, v: &Value) -> FeedItem {
    FeedItem::Malformed {
        source: source.to_string(),
        reason,
        raw: clean(&v.to_string(), 200),
    }
}

fn task_kind(state: &str) -> Option<TaskEventKind> {
    Some(match state.to_ascii_uppercase().as_str() {
        "PENDING" | "SENT" => TaskEventKind::Sent,
        "RECEIVED" => TaskEventKind::Received,
        "STARTED" | "RUNNING" => TaskEventKind::Started,
        "SUCCESS" | "SUCCEEDED" | "DONE" => TaskEventKind::Succeeded,
        "FAILURE" | "FAILED" | "ERROR" => TaskEventKind::Failed,
        "RETRY" => TaskEventKind::Retried,
        "REVOKED" => TaskEventKind::Revoked,
        "REJECTED" => TaskEventKind::Rejected,
        _ => return None,
    })
}

/// `source` names the link (`sio:dashboard`), for warnings and raw lines; one arm per
/// meaning an event can have.
pub fn items(
    source: &str,
    nsp: &str,
    event: &str,
    args: &[Value],
    meaning: Option<Meaning>,
    now: f64,
) -> Vec<FeedItem> {
    let first = args.first().cloned().unwrap_or(Value::Null);
    let bytes = || serde_json::to_vec(&first).unwrap_or_default();
    // Where it came from, link and namespace: the same event on `/` and `/dash` differ.
    let origin = if nsp == "/" {
        clean(source, 40)
    } else {
        clean(&format!("{source}{nsp}"), 40)
    };
    match meaning.unwrap_or(Meaning::Raw) {
        Meaning::AgentState => vec![
            decode::agent(&bytes())
                .map_or_else(|e| malformed(source, e.0, &first), FeedItem::Agent),
        ],
        Meaning::Activity => vec![decode::activity(&bytes()).map_or_else(
            |e| malformed(&origin, e.0, &first),
            |mut a| {
                // The line keeps its own source; where it arrived is said after it.
                a.message = clean(&format!("{} · via {origin}", a.message), 2000);
                FeedItem::Activity(a)
            },
        )],
        Meaning::QueueDepth => vec![queue_depths(source, &first)],
        Meaning::TaskUpdate => vec![task_update(source, &first, now)],
        Meaning::Raw => {
            let payload = if args.is_empty() {
                String::new()
            } else {
                format!(" {}", Value::Array(args.to_vec()))
            };
            vec![FeedItem::Activity(ActivityReport {
                ts: None,
                level: Level::Info,
                source: origin,
                message: clean(&format!("{event}{payload}"), 2000),
                task_id: None,
            })]
        }
    }
}

/// `queue_depth`: `{queue, depth[, reserved]}`, or a list of them.
fn queue_depths(source: &str, first: &Value) -> FeedItem {
    let list = match first {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let samples: Option<Vec<QueueSample>> = list
        .iter()
        .map(|q| {
            Some(QueueSample {
                queue: clean(q.get("queue")?.as_str()?, 80),
                depth: q.get("depth")?.as_u64()?,
                reserved: q.get("reserved").and_then(Value::as_u64).unwrap_or(0),
            })
        })
        .collect();
    samples.map_or_else(
        || malformed(source, "queue_depth needs {queue, depth}".into(), first),
        FeedItem::Queues,
    )
}

/// `task_update`: `{task_id (or uuid), state[, worker, name, result, exception, queue]}`.
fn task_update(source: &str, first: &Value, now: f64) -> FeedItem {
    let id = first
        .get("task_id")
        .or_else(|| first.get("uuid"))
        .and_then(Value::as_str);
    let kind = first
        .get("state")
        .and_then(Value::as_str)
        .and_then(task_kind);
    let (Some(id), Some(kind)) = (id, kind) else {
        return malformed(source, "task_update needs {task_id, state}".into(), first);
    };
    let text = |k: &str| {
        first.get(k).map(|v| {
            clean(
                &v.as_str().map_or_else(|| v.to_string(), str::to_string),
                1000,
            )
        })
    };
    FeedItem::Celery(CeleryEvent::Task(TaskEvent {
        kind,
        uuid: clean(id, 64),
        hostname: first
            .get("worker")
            .and_then(Value::as_str)
            .map(|w| clean(w, 120))
            .unwrap_or_default(),
        timestamp: now,
        fields: TaskFields {
            name: text("name"),
            result: text("result"),
            exception: text("exception"),
            queue: text("queue"),
            ..TaskFields::default()
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_meaning_reaches_its_pane() {
        let agent = items(
            "sio:d",
            "/",
            "agent_state",
            &[json!({"agent": "judging", "state": "busy", "detail": "risk"})],
            Some(Meaning::AgentState),
            1.0,
        );
        assert!(
            matches!(&agent[0], FeedItem::Agent(a) if a.agent == "JUDGING" && a.state == AgentState::Busy)
        );
        let line = items(
            "sio:d",
            "/",
            "activity",
            &[json!({"message": "hello", "level": "warn", "source": "DASH"})],
            Some(Meaning::Activity),
            1.0,
        );
        assert!(
            matches!(&line[0], FeedItem::Activity(a) if a.message == "hello · via sio:d" && a.level == Level::Warn && a.source == "DASH")
        );
        let q = items(
            "sio:d",
            "/",
            "queue_depth",
            &[json!([{"queue": "thinking", "depth": 7}])],
            Some(Meaning::QueueDepth),
            1.0,
        );
        assert_eq!(
            q,
            vec![FeedItem::Queues(vec![QueueSample {
                queue: "thinking".into(),
                depth: 7,
                reserved: 0
            }])]
        );
        let t = items(
            "sio:d",
            "/",
            "task_update",
            &[json!({"task_id": "t-9", "state": "SUCCESS", "name": "x.y", "result": 5})],
            Some(Meaning::TaskUpdate),
            1.0,
        );
        assert!(
            matches!(&t[0], FeedItem::Celery(CeleryEvent::Task(e)) if e.kind == TaskEventKind::Succeeded && e.fields.result.as_deref() == Some("5"))
        );
    }

    #[test]
    fn unmapped_events_are_raw_activity_never_dropped() {
        let raw = items(
            "sio:dashboard",
            "/dash",
            "tick",
            &[json!({"n": 8})],
            None,
            1.0,
        );
        assert!(
            matches!(&raw[0], FeedItem::Activity(a) if a.message == "tick [{\"n\":8}]" && a.source == "sio:dashboard/dash")
        );
        // The same event on `/` is told apart by its source.
        let root = items("sio:dashboard", "/", "tick", &[json!({"n": 8})], None, 1.0);
        assert!(matches!(&root[0], FeedItem::Activity(a) if a.source == "sio:dashboard"));
    }

    #[test]
    fn a_wrong_shape_is_a_warning_with_the_payload() {
        let bad = items(
            "sio:d",
            "/",
            "queue_depth",
            &[json!({"q": 1})],
            Some(Meaning::QueueDepth),
            1.0,
        );
        assert!(matches!(&bad[0], FeedItem::Malformed { raw, .. } if raw.contains("\"q\":1")));
    }
}
