//! The decoders against envelopes in the captured shapes of docs/WIRE.md,
//! and against the malformed corpus every decoder must survive.

use base64::Engine;
use serde_json::json;

use super::decode::*;
use super::model::*;
use super::route::{Channels, route};
use super::wire;

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(v).unwrap())
}

fn channels() -> Channels {
    Channels::new("chavion:agents:*", "chavion:activity", 0, "", true)
}

#[test]
fn celery_prefix_follows_db_fanout_and_global_keyprefix() {
    assert_eq!(channels().celery_prefix, "/0.celeryev/");
    assert_eq!(
        Channels::new("a", "b", 3, "", true).celery_prefix,
        "/3.celeryev/"
    );
    assert_eq!(
        Channels::new("a", "b", 0, "", false).celery_prefix,
        "celeryev/"
    );
    assert_eq!(
        Channels::new("a", "b", 0, "prod:", true).celery_prefix,
        "prod:/0.celeryev/"
    );
    assert_eq!(channels().patterns()[2], "/0.celeryev/*");
}

#[test]
fn task_message_envelope_body_is_base64_json() {
    // The protocol v2 task message captured from celery 5.7.0 (countdown=60, expires=3600).
    let body =
        json!([[4, 4], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]);
    let envelope = json!({
        "body": b64(&body), "content-encoding": "utf-8", "content-type": "application/json",
        "headers": {"lang": "py", "task": "tasks.add", "id": "6f1c", "argsrepr": "(4, 4)"},
        "properties": {"correlation_id": "6f1c", "delivery_mode": 2, "expiration": "3600000",
            "delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0,
            "body_encoding": "base64", "delivery_tag": "t1"}
    });
    let decoded = kombu_body(&serde_json::to_vec(&envelope).unwrap()).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&decoded).unwrap(),
        body
    );
}

#[test]
fn worker_heartbeat_decodes_every_field() {
    let hb = wire::worker_heartbeat("thinking@vm", 1_700_000_000.5, 2, 41, [0.5, 0.25, 0.125]);
    let bytes = wire::kombu_event_envelope(&hb, "thinking@vm", "worker.heartbeat", "t");
    let evs = celery_events(&bytes).unwrap();
    let CeleryEvent::Worker(w) = evs[0].clone().unwrap() else {
        panic!("not a worker event")
    };
    assert_eq!(w.kind, WorkerEventKind::Heartbeat);
    assert_eq!(w.hostname, "thinking@vm");
    assert_eq!((w.active, w.processed, w.freq), (2, 41, 2.0));
    assert_eq!(w.loadavg, [0.5, 0.25, 0.125]);
    assert_eq!(w.sw_ver.as_deref(), Some("5.7.0"));
    assert_eq!(w.timestamp, 1_700_000_000.5);
}

#[test]
fn task_multi_batch_decodes_each_event_and_keeps_good_ones_beside_bad() {
    let batch = json!([
        {"type": "task-received", "uuid": "u1", "name": "tasks.add", "args": "(4, 4)", "kwargs": "{}",
         "hostname": "w1@localhost", "timestamp": 1.0, "retries": 0, "root_id": "u1", "parent_id": null},
        {"type": "task-started", "uuid": "u1", "hostname": "w1@localhost", "timestamp": 2.0},
        {"type": "task-succeeded", "uuid": "u1", "result": "8", "runtime": 0.0021, "hostname": "w1@localhost", "timestamp": 3.0},
        {"type": "task-failed", "uuid": 17, "exception": "ZeroDivisionError('division by zero')"},
        {"type": "task-failed", "uuid": "u2", "exception": "ZeroDivisionError('division by zero')",
         "traceback": "Traceback (most recent call last):\n  File \"x\"\nZeroDivisionError", "hostname": "w1@localhost", "timestamp": 4.0},
        {"type": "task-custom-progress", "uuid": "u3"}
    ]);
    let bytes = wire::kombu_event_envelope(&batch, "w1@localhost", "task.multi", "t");
    let evs = celery_events(&bytes).unwrap();
    assert_eq!(
        evs.len(),
        5,
        "custom event types are skipped, the rest kept"
    );
    let kinds: Vec<_> = evs
        .iter()
        .map(|e| match e {
            Ok(CeleryEvent::Task(t)) => Some(t.kind),
            _ => None,
        })
        .collect();
    use TaskEventKind::*;
    assert_eq!(
        kinds,
        [
            Some(Received),
            Some(Started),
            Some(Succeeded),
            None,
            Some(Failed)
        ]
    );
    let Ok(CeleryEvent::Task(ok)) = &evs[2] else {
        panic!()
    };
    assert_eq!(ok.fields.result.as_deref(), Some("8"));
    assert_eq!(ok.fields.runtime, Some(0.0021));
    let Err(bad) = &evs[3] else { panic!() };
    assert_eq!(bad.0, "`uuid` should be a string, got a number");
    let Ok(CeleryEvent::Task(failed)) = &evs[4] else {
        panic!()
    };
    assert!(
        failed
            .fields
            .traceback
            .as_deref()
            .unwrap()
            .contains("\n  File"),
        "tracebacks keep their lines"
    );
}

#[test]
fn agent_and_activity_payloads_decode_and_ignore_unknown_fields() {
    let a = agent(br#"{"agent":"thinking","state":"busy","task_id":"t-1","detail":"planning","model":"claude","ts":"2026-11-23T22:00:00Z","extra":[1,2]}"#).unwrap();
    assert_eq!(a.agent, "THINKING");
    assert_eq!(a.state, AgentState::Busy);
    assert_eq!(a.task_id.as_deref(), Some("t-1"));
    assert_eq!(a.ts.unwrap().to_rfc3339(), "2026-11-23T22:00:00+00:00");
    let l = activity(br#"{"ts":1700000000,"level":"warning","source":"JUDGING","message":"risk \u001b[31mhigh","task_id":null,"x":1}"#).unwrap();
    assert_eq!(l.level, Level::Warn);
    assert_eq!(l.message, "risk high");
    assert_eq!(l.ts.unwrap().timestamp(), 1_700_000_000);
}

#[test]
fn malformed_corpus_gives_warnings_carrying_the_raw_text() {
    let ch = channels();
    let huge = vec![b'x'; 1_048_576];
    let corpus: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "/0.celeryev/task.multi",
            br#"{"body":"!!!not base64!!!","properties":{"body_encoding":"base64"}}"#.to_vec(),
            "bad base64",
        ),
        (
            "/0.celeryev/task.multi",
            b"{not json".to_vec(),
            "key must be a string",
        ),
        (
            "/0.celeryev/worker.heartbeat",
            wire::kombu_event_envelope(
                &json!({"type":"worker-heartbeat","hostname":["x"]}),
                "h",
                "worker.heartbeat",
                "t",
            ),
            "should be a string",
        ),
        ("/0.celeryev/task.multi", huge.clone(), "payload too large"),
        ("chavion:agents:X", huge, "payload too large"),
        (
            "chavion:agents:X",
            b"\xff\xfe\x00garbage".to_vec(),
            "expected value",
        ),
        (
            "chavion:agents:X",
            br#"{"agent":"X","state":42}"#.to_vec(),
            "invalid type: integer `42`, expected a string",
        ),
        (
            "chavion:agents:X",
            br#"{"agent":"X","state":"dancing"}"#.to_vec(),
            "unknown state `dancing`",
        ),
        (
            "chavion:activity",
            br#"{"message":"\u001b]52;c;ZXZpbA==\u0007","level":"loud\u001b[2J"}"#.to_vec(),
            "unknown level",
        ),
        (
            "chavion:activity",
            b"\x1b[2J\x1b]0;owned\x07".to_vec(),
            "expected value",
        ),
        (
            "/0.celeryev/task.multi",
            wire::kombu_event_envelope(&json!("just a string"), "h", "x", "t"),
            "event has no `type`",
        ),
        ("elsewhere", b"hello".to_vec(), "unexpected channel"),
    ];
    for (channel, payload, why) in corpus {
        let mut out = Vec::new();
        route(&ch, channel, &payload, &mut out);
        assert_eq!(out.len(), 1, "{channel}: {out:?}");
        let FeedItem::Malformed { reason, raw, .. } = &out[0] else {
            panic!("{channel} {why}: {out:?}")
        };
        assert!(
            reason.contains(why),
            "{channel}: expected `{why}` in `{reason}`"
        );
        assert!(
            !raw.contains('\u{1b}') && !raw.contains('\u{7}'),
            "raw text must be cleaned: {raw:?}"
        );
        assert!(
            raw.chars().count() <= 240,
            "raw text must be cut: {} chars",
            raw.chars().count()
        );
    }
}

#[test]
fn pickle_serializer_is_named_not_misread() {
    let env = br#"{"body":"gAR9","content-type":"application/x-python-serialize","properties":{"body_encoding":"base64"}}"#;
    let err = kombu_body(env).unwrap_err();
    assert!(
        err.0.contains("application/x-python-serialize"),
        "{}",
        err.0
    );
}

#[test]
fn result_backend_records_become_task_events() {
    let ok = br#"{"status": "SUCCESS", "result": 42, "traceback": null, "children": [], "date_done": "2026-11-24T00:40:00.1+00:00", "task_id": "t1"}"#;
    let ev = backend_meta("t1", ok, 5.0).unwrap().unwrap();
    assert_eq!(
        (ev.kind, ev.fields.result.as_deref()),
        (TaskEventKind::Succeeded, Some("42"))
    );
    let bad = br#"{"status": "FAILURE", "result": {"exc_type": "RuntimeError", "exc_message": ["planned failure"], "exc_module": "builtins"}, "traceback": "Traceback (most recent call last):\n  boom", "task_id": "t2"}"#;
    let ev = backend_meta("t2", bad, 5.0).unwrap().unwrap();
    assert_eq!(
        ev.fields.exception.as_deref(),
        Some("RuntimeError('planned failure')")
    );
    assert!(ev.fields.traceback.unwrap().contains("\n  boom"));
    assert_eq!(
        backend_meta("t3", br#"{"status": "STARTED", "result": null}"#, 5.0).unwrap(),
        None
    );
    assert!(backend_meta("t4", br#"{"result": 1}"#, 5.0).is_err());
}

#[test]
fn how_a_task_was_sent_is_kept_and_cleaned_on_both_paths() {
    let sent = json!({
        "hostname": "client@vm", "pid": 4242, "clock": 1, "type": "task-sent",
        "uuid": "kid", "root_id": "root", "parent_id": "mum", "name": "t.step",
        "args": "()", "kwargs": "{}", "retries": 0,
        "eta": "2026-11-30T22:05:00+00:00", "expires": "2026-11-30T23:05:00+00:00",
        "queue": "thinking", "exchange": "ex\u{1b}[2J", "routing_key": "thinking",
        "timestamp": 1.8e9,
    });
    // The fast path (a typed read of the event), and the slow one (a JSON value) after
    // an unknown field type sends it there.
    let mut slow = sent.clone();
    slow["loadavg"] = json!("not a list");
    for ev in [sent, slow] {
        let bytes = wire::kombu_event_envelope(&ev, "client@vm", "task.sent", "t");
        let got = celery_events(&bytes).unwrap().remove(0).unwrap();
        let CeleryEvent::Task(t) = got else { panic!() };
        let s = t.fields.sending.expect("the sending facts");
        assert_eq!(s.root_id.as_deref(), Some("root"));
        assert_eq!(s.parent_id.as_deref(), Some("mum"));
        assert_eq!(s.eta.as_deref(), Some("2026-11-30T22:05:00+00:00"));
        assert_eq!(s.pid, Some(4242));
        assert!(!s.exchange.unwrap().contains('\u{1b}'));
    }
    // A task-started event says none of it: nothing is allocated for it.
    let started =
        json!({"hostname": "w@h", "type": "task-started", "uuid": "kid", "timestamp": 1.8e9});
    let bytes = wire::kombu_event_envelope(&started, "w@h", "task.started", "t");
    let CeleryEvent::Task(t) = celery_events(&bytes).unwrap().remove(0).unwrap() else {
        panic!()
    };
    assert!(t.fields.sending.is_none());
}

#[test]
fn a_heartbeat_period_is_clamped_to_what_a_real_worker_says() {
    for (freq, want) in [
        (serde_json::json!(1e9), MAX_FREQ),
        (serde_json::json!(0.0001), MIN_FREQ),
        (serde_json::json!(-5.0), DEFAULT_FREQ),
        (serde_json::json!(2.0), 2.0),
        (serde_json::json!(null), DEFAULT_FREQ),
    ] {
        let mut hb = wire::worker_heartbeat("fake@x", 1.0, 0, 0, [0.0; 3]);
        hb["freq"] = freq.clone();
        let bytes = wire::kombu_event_envelope(&hb, "fake@x", "worker.heartbeat", "t");
        let CeleryEvent::Worker(w) = celery_events(&bytes).unwrap()[0].clone().unwrap() else {
            panic!("not a worker event")
        };
        assert_eq!(w.freq, want, "freq {freq}");
    }
}
