//! The flight recorder's numbers (docs/PERFORMANCE.md): a recorded busy hour (1 000 Celery
//! task events a second, as task.multi messages of 10 from five agents' workers, with the
//! clock's ticks) written through the real recorder thread; its bytes on disk per million
//! events; and how fast `replay` plays it back through the real `update` (× real time).
//!
//!     cargo bench --bench recorder            (HOUR_SECS=600 for a shorter run)

use chrono::{DateTime, Utc};
use std::time::Instant;

use chavion_tui::event::{Event, Wire};
use chavion_tui::feeds::wire;
use chavion_tui::recorder::{Recorder, format::Meta, writer::Keep};
use chavion_tui::{config, replay, wiring};

const AGENTS: [&str; 5] = ["cognitive", "thinking", "judging", "executing", "evolving"];
const KINDS: [&str; 3] = ["task-received", "task-started", "task-succeeded"];

fn task_event(n: u64, ts: f64) -> serde_json::Value {
    let agent = AGENTS[(n / 3) as usize % AGENTS.len()];
    let kind = KINDS[(n % 3) as usize];
    let mut ev = serde_json::json!({
        "hostname": format!("{agent}@bench"), "utcoffset": 0, "pid": 4000 + (n % 7), "clock": n,
        "uuid": format!("{:08x}-0000-4000-8000-{:012x}", n / 3, n / 3),
        "timestamp": ts, "local_received": ts, "type": kind,
    });
    match kind {
        "task-received" => {
            ev["name"] = serde_json::json!(format!("{agent}.work"));
            ev["args"] = serde_json::json!(format!("({},)", n / 3));
            ev["kwargs"] = serde_json::json!("{}");
            ev["retries"] = serde_json::json!(0);
        }
        "task-succeeded" => {
            ev["result"] = serde_json::json!("'ok'");
            ev["runtime"] = serde_json::json!(0.01);
        }
        _ => {}
    }
    ev
}

// Long, on purpose: a bench binary's whole script, read top to bottom.
fn main() {
    let secs: i64 = std::env::var("HOUR_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3600);
    let per_sec = 1000u64;
    let dir = std::env::temp_dir().join(format!("chavion-bench-recorder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = config::settings_from_str(
        "socketio = []\nports = []\n[redis]\nurl = \"redis://127.0.0.1:6379/0\"\n",
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    // The recorder's own link news: read and dropped.
    rt.spawn(async move { while rx.recv().await.is_some() {} });
    let keep = Keep {
        dir: dir.clone(),
        age: chrono::Duration::days(7),
        bytes: 1 << 40,
        segment_bytes: 64 << 20,
        segment_age: chrono::Duration::hours(1),
    };
    let meta = Meta {
        platform: "bench".into(),
        channels: wiring::feed_config(&settings).channels,
        version: "bench".into(),
    };
    let _guard = rt.enter();
    let mut recorder = Recorder::start(keep, meta, tx).unwrap();
    let start: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
    let channel = "/0.celeryev/task.multi".to_string();
    // The messages first, so the timing below is the recorder's, not the JSON encoder's.
    let mut seconds = Vec::with_capacity(secs as usize);
    let mut n = 0u64;
    for s in 0..secs {
        let at = start + chrono::Duration::seconds(s);
        let ts = at.timestamp_micros() as f64 / 1e6;
        let mut messages = Vec::with_capacity((per_sec / 10) as usize);
        for _ in 0..per_sec / 10 {
            let events: Vec<_> = (0..10).map(|i| task_event(n + i, ts)).collect();
            n += 10;
            let body = wire::kombu_event_envelope(
                &serde_json::Value::Array(events),
                "thinking@bench",
                "task.multi",
                "bench",
            );
            messages.push((channel.clone(), body));
        }
        seconds.push((at, messages));
    }
    let events = n;
    let t = Instant::now();
    let mut raw_bytes = 0usize;
    for (at, messages) in seconds {
        let bytes = messages.iter().map(|(_, p)| p.len()).sum();
        raw_bytes += bytes;
        let mut ev = Event::WireBatch {
            at,
            items: Vec::new(),
            wire: Wire { messages, bytes },
        };
        recorder.note(&mut ev);
        let mut tick = Event::Tick(at);
        recorder.note(&mut tick);
    }
    recorder.flush();
    let wrote = t.elapsed().as_secs_f64();
    recorder.stop();
    let on_disk: u64 = chavion_tui::recorder::segments::list(&dir)
        .iter()
        .map(|s| s.bytes)
        .sum();
    println!(
        "recorded {events} events ({secs} s at {per_sec}/s): {:.1} MB raw → {:.2} MB on disk; {:.2} MB per million events; written at {:.0} events/s",
        raw_bytes as f64 / 1e6,
        on_disk as f64 / 1e6,
        on_disk as f64 / 1e6 / (events as f64 / 1e6),
        events as f64 / wrote
    );

    let end = (start + chrono::Duration::seconds(secs)).timestamp_millis();
    let t = Instant::now();
    let mut r = replay::Replayer::new(&settings, dir.clone(), i64::MIN, 0, end);
    r.seek(end);
    let took = t.elapsed().as_secs_f64();
    assert_eq!(r.state.counters.events, events, "every event replayed");
    println!(
        "replayed the {secs} s in {took:.2} s: ×{:.0} real time, {:.0} events/s through update",
        secs as f64 / took,
        events as f64 / took
    );
    let _ = std::fs::remove_dir_all(&dir);
}
