//! Decode throughput on one core (criterion): Celery events inside kombu envelopes (single,
//! and task.multi batches of 10), Chavion agent and activity JSON, Socket.IO event frames.
//! Each through the same `route` the live feed uses. `cargo bench --bench decode`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;

use chavion_tui::platform::route::{Channels, route};
use chavion_tui::platform::socketio as codec;
use chavion_tui::platform::wire;

fn task_event(n: u64, kind: &str) -> serde_json::Value {
    json!({
        "hostname": "thinking@vm", "utcoffset": 0, "pid": 41, "clock": n,
        "uuid": format!("{n:08x}-0000-4000-8000-000000000000"), "timestamp": 1795000000.25,
        "local_received": 1795000000.26, "type": kind, "name": "thinking.plan",
        "args": "('rollout',)", "kwargs": "{}", "retries": 0, "result": "'ok'", "runtime": 0.42
    })
}

fn benches(c: &mut Criterion) {
    let ch = Channels::new("chavion:agents:*", "chavion:activity", 0, "", true);
    let mut g = c.benchmark_group("decode");

    let batch: Vec<_> = (0..10)
        .map(|i| {
            task_event(
                i,
                ["task-received", "task-started", "task-succeeded"][i as usize % 3],
            )
        })
        .collect();
    let multi = wire::kombu_event_envelope(&json!(batch), "thinking@vm", "task.multi", "t1");
    g.throughput(Throughput::Elements(10));
    g.bench_function("celery task.multi (10 events)", |b| {
        let mut out = Vec::with_capacity(16);
        b.iter(|| {
            out.clear();
            route(&ch, "/0.celeryev/task.multi", black_box(&multi), &mut out);
            assert_eq!(out.len(), 10);
        })
    });

    let single = wire::kombu_event_envelope(
        &task_event(1, "task-started"),
        "thinking@vm",
        "task.started",
        "t2",
    );
    g.throughput(Throughput::Elements(1));
    g.bench_function("celery single event", |b| {
        let mut out = Vec::with_capacity(2);
        b.iter(|| {
            out.clear();
            route(
                &ch,
                "/0.celeryev/task.started",
                black_box(&single),
                &mut out,
            );
        })
    });

    let agent = wire::agent_json(
        "thinking",
        "busy",
        Some("9f2c41d0"),
        "planning rollout",
        "claude",
        1795000000.5,
    );
    g.bench_function("chavion agent report", |b| {
        let mut out = Vec::with_capacity(2);
        b.iter(|| {
            out.clear();
            route(&ch, "chavion:agents:thinking", black_box(&agent), &mut out);
        })
    });

    let activity = wire::activity_json(
        "warn",
        "JUDGING",
        "risk score 0.62 above soft threshold",
        Some("5d1e0c7a"),
        1795000000.5,
    );
    g.bench_function("chavion activity line", |b| {
        let mut out = Vec::with_capacity(2);
        b.iter(|| {
            out.clear();
            route(&ch, "chavion:activity", black_box(&activity), &mut out);
        })
    });

    let frame = r#"42/dash,["agent_state",{"agent":"thinking","state":"busy","task_id":"9f2c41d0","detail":"planning"}]"#;
    g.bench_function("socket.io event frame", |b| {
        b.iter(|| {
            let eio = codec::parse_eio(black_box(frame)).unwrap();
            black_box(eio);
            black_box(codec::parse_sio(&frame[1..]).unwrap());
        })
    });
    g.finish();
}

criterion_group!(decode, benches);
criterion_main!(decode);
