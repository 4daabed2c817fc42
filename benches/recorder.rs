//! The flight recorder's numbers (docs/PERFORMANCE.md): a recorded busy hour (1 000 Celery
//! task events a second, as task.multi messages of 10 from five agents' workers, with the
//! clock's ticks) written through the real recorder thread; its bytes on disk per million
//! events; and how fast `replay` plays it back through the real `update` (× real time).
//!
//!     cargo bench --bench recorder            (HOUR_SECS=600 for a shorter run)

use chrono::{DateTime, Utc};
use std::time::Instant;

use chavion_tui::event::{Event, Wire};
use chavion_tui::platform::wire;
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
        .enable_all()
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
    let meta = Meta::of(
        "bench".into(),
        wiring::feed_config(&settings).channels,
        "bench".into(),
        &settings.config,
    );
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
    for (i, (at, messages)) in seconds.into_iter().enumerate() {
        // A live feed arrives a second at a time; here it comes as fast as it can, so
        // wait for the recorder every 50 s of data rather than outrun its budget (which
        // would drop events and write gaps, as it does live when it falls that far behind).
        if i % 50 == 49 {
            recorder.flush();
        }
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
    restore(&rt, &settings);
}

/// 50 000 tasks and 200 workers saved to a SQLite store's history, then read back as a
/// control room does at start (the query, the JSON decoded off the loop) and put into the
/// state (on the loop).
fn restore(rt: &tokio::runtime::Runtime, settings: &config::Settings) {
    use chavion_tui::kept::{Task, Worker};
    use chavion_tui::platform::model::{TaskEventKind, TaskFields};
    use chavion_tui::store::{HistoryRow, Store};
    let n = 50_000usize;
    let path =
        std::env::temp_dir().join(format!("chavion-bench-history-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let store = rt.block_on(Store::open(path.to_str().unwrap())).unwrap();
    let at: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
    let tasks: Vec<HistoryRow> = (0..n)
        .map(|i| {
            let t = Task {
                uuid: format!("{i:08x}-0000-4000-8000-{i:012x}"),
                state: TaskEventKind::Succeeded,
                worker: format!("{}@bench", AGENTS[i % 5]),
                agent: Some(i % 5),
                updated: at + chrono::Duration::milliseconds(i as i64),
                received: Some(at),
                started: Some(at),
                fields: TaskFields {
                    name: Some(format!("{}.work", AGENTS[i % 5])),
                    args: Some(format!("({i},)")),
                    kwargs: Some("{}".into()),
                    result: Some("'ok'".into()),
                    runtime: Some(0.01),
                    retries: Some(0),
                    ..TaskFields::default()
                },
                terminated: false,
                queued_locally: false,
                seq: i as u64,
                lost: false,
                times: [0.0; 8],
                client: None,
                restored: false,
                gone: None,
            };
            HistoryRow {
                key: t.uuid.clone(),
                at_ms: t.updated.timestamp_millis(),
                name: t.fields.name.clone().unwrap_or_default(),
                body: serde_json::to_string(&t).unwrap(),
            }
        })
        .collect();
    let now = Utc::now();
    let workers: Vec<HistoryRow> = (0..200)
        .map(|i| {
            let w = Worker {
                processed: 10,
                loadavg: [0.1; 3],
                sw_ver: Some("5.7.0".into()),
                ..Worker::new(format!("w{i}@bench"), None, true, now, 2.0)
            };
            HistoryRow {
                key: w.hostname.clone(),
                at_ms: now.timestamp_millis(),
                name: String::new(),
                body: serde_json::to_string(&w).unwrap(),
            }
        })
        .collect();
    let t = Instant::now();
    rt.block_on(store.history_put(&tasks, &workers, 200_000, 0, "default"))
        .unwrap();
    let wrote = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (back, seen) = rt.block_on(wiring::restore_history(&store, n, "default"));
    let read = t.elapsed().as_secs_f64();
    let mut state = replay::fresh_state(settings);
    let t = Instant::now();
    let restored = chavion_tui::app::model::history::restore(&mut state, back, seen);
    let applied = t.elapsed().as_secs_f64();
    assert_eq!(restored, n);
    println!(
        "history: {n} tasks and 200 workers written in {:.0} ms; read back and decoded (off the loop) in {:.0} ms; put into the state (on the loop) in {:.0} ms; restore total {:.0} ms",
        wrote * 1e3,
        read * 1e3,
        applied * 1e3,
        (read + applied) * 1e3
    );
    let _ = std::fs::remove_file(&path);
}
