//! End-to-end lag of the live Redis feed: publish → PSUBSCRIBE reader → decoder → `update`,
//! against a real redis-server on a free loopback port. Bounded: a few seconds per rate.
//! Also, if the Python peers are built (./scripts/test), the lag of a real Celery worker's
//! task events, from the worker's own event timestamp to the moment `update` applied it.
//!
//!     cargo bench --bench feed_lag            (numbers go to docs/PERFORMANCE.md)

use chrono::Utc;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use chavion_tui::app::update;
use chavion_tui::event::Event;
use chavion_tui::platform::model::{CeleryEvent, FeedItem};
use chavion_tui::{config, feeds, wiring};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn now_f() -> f64 {
    Utc::now().timestamp_micros() as f64 / 1e6
}

async fn measure(url: &str, rate: u32, secs: u64) -> (usize, usize, Vec<f64>) {
    let settings = config::settings_from_str(&format!(
        "[redis]\nurl = \"{url}\"\n[celery]\nenable_events = false\n"
    ))
    .unwrap();
    let opts = wiring::Options {
        demo: false,
        read_only: true,
        crash_after: None,
        ..Default::default()
    };
    let mut state = wiring::initial_state(&settings, &opts);
    let (tx, mut rx) = mpsc::channel(8192);
    let tasks = feeds::redis::spawn(wiring::feed_config(&settings), tx);
    // Wait for the subscription before publishing.
    loop {
        let ev = rx.recv().await.unwrap();
        let up = matches!(&ev, Event::Link { name, health: chavion_tui::event::LinkHealth::Up } if name == "redis");
        update(&mut state, ev);
        if up {
            break;
        }
    }
    let total = (rate as u64 * secs) as usize;
    let url2 = url.to_string();
    let publisher = std::thread::spawn(move || {
        let mut conn = redis::Client::open(url2).unwrap().get_connection().unwrap();
        let start = Instant::now();
        let per_tick = (rate / 100).max(1) as usize;
        let mut sent = 0usize;
        while sent < total {
            let due = start + Duration::from_millis((sent / per_tick) as u64 * 10);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let mut pipe = redis::pipe();
            for _ in 0..per_tick.min(total - sent) {
                let msg = format!(
                    r#"{{"ts":{},"level":"info","source":"bench","message":"m{sent}"}}"#,
                    now_f()
                );
                pipe.cmd("PUBLISH")
                    .arg("chavion:activity")
                    .arg(msg)
                    .ignore();
                sent += 1;
            }
            let _: () = pipe.query(&mut conn).unwrap();
        }
    });
    let mut lags = Vec::with_capacity(total);
    let deadline = Instant::now() + Duration::from_secs(secs + 10);
    while lags.len() < total && Instant::now() < deadline {
        let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await else {
            continue;
        };
        if let Event::FeedBatch { items, .. } = &ev {
            let applied = now_f();
            for i in items {
                if let FeedItem::Activity(a) = i
                    && let Some(ts) = a.ts
                {
                    lags.push((applied - ts.timestamp_micros() as f64 / 1e6) * 1000.0);
                }
            }
        }
        update(&mut state, ev);
    }
    publisher.join().unwrap();
    for t in tasks {
        t.abort();
    }
    lags.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (total, state.counters.shed as usize, lags)
}

async fn celery_lag(url: &str) -> Option<Vec<f64>> {
    let peers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
    let python = peers.join(".venv/bin/python");
    if !python.exists() {
        return None;
    }
    let settings = config::settings_from_str(&format!("[redis]\nurl = \"{url}\"\n")).unwrap();
    let opts = wiring::Options {
        demo: false,
        read_only: true,
        crash_after: None,
        ..Default::default()
    };
    let mut state = wiring::initial_state(&settings, &opts);
    let (tx, mut rx) = mpsc::channel(8192);
    let tasks = feeds::redis::spawn(wiring::feed_config(&settings), tx);
    let _worker = Killed(
        Command::new(&python)
            .args([
                "-m",
                "celery",
                "-A",
                "peerapp",
                "worker",
                "-Q",
                "thinking",
                "-c",
                "1",
                "-n",
                "thinking@localhost",
                "--without-mingle",
                "--without-gossip",
                "-l",
                "warning",
                "-E",
            ])
            .current_dir(&peers)
            .env("CHAVION_BROKER", url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?,
    );
    let mut lags = Vec::new();
    let mut sent = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while lags.len() < 300 && Instant::now() < deadline {
        let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await else {
            continue;
        };
        if let Event::FeedBatch { items, .. } = &ev {
            let applied = now_f();
            for i in items {
                if let FeedItem::Celery(CeleryEvent::Task(t)) = i
                    && t.kind != chavion_tui::platform::model::TaskEventKind::Sent
                {
                    lags.push((applied - t.timestamp) * 1000.0);
                }
            }
        }
        update(&mut state, ev);
        if !sent && state.workers.values().any(|w| w.online) {
            sent = true;
            Command::new(&python)
                .args(["client.py", "thinking.add", "[1, 2]", "--count", "100"])
                .current_dir(&peers)
                .env("CHAVION_BROKER", url)
                .stdout(Stdio::null())
                .spawn()
                .ok()?;
        }
    }
    for t in tasks {
        t.abort();
    }
    lags.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Some(lags)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _redis = Killed(
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (./scripts/test installs it)"),
    );
    std::thread::sleep(Duration::from_millis(300));
    let url = format!("redis://127.0.0.1:{port}/0");
    println!("| rate (msg/s) | messages | shed | p50 lag (ms) | p99 lag (ms) | max (ms) |");
    println!("|---|---|---|---|---|---|");
    for rate in [1_000u32, 10_000, 50_000] {
        let (total, shed, lags) = measure(&url, rate, 5).await;
        println!(
            "| {rate} | {total} (got {}) | {shed} | {:.2} | {:.2} | {:.2} |",
            lags.len(),
            percentile(&lags, 0.5),
            percentile(&lags, 0.99),
            lags.last().copied().unwrap_or(f64::NAN)
        );
    }
    match celery_lag(&url).await {
        Some(lags) => println!(
            "\nreal Celery 5.7 worker (-E, prefork, 100 tasks): {} task events, lag from the worker's event timestamp to applied: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            lags.len(),
            percentile(&lags, 0.5),
            percentile(&lags, 0.99),
            lags.last().copied().unwrap_or(f64::NAN)
        ),
        None => {
            println!("\n(no Python peers: run ./scripts/test once to measure a real Celery worker)")
        }
    }
    match socketio_lag(200).await {
        Some(lags) => println!(
            "real Flask-SocketIO 5.7 server (threading), 200 events one at a time, HTTP request to applied: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(&lags, 0.5),
            percentile(&lags, 0.99),
            lags.last().copied().unwrap_or(f64::NAN)
        ),
        None => println!(
            "(no Python peers: run ./scripts/test once to measure a real Flask-SocketIO server)"
        ),
    }
}

/// Socket.IO: asks the real Flask-SocketIO peer (over HTTP) to emit an activity event, one at a
/// time, and measures from the request to the moment `update` has the event. This includes
/// the peer's own HTTP handling, so it is an upper bound on the client's share.
async fn socketio_lag(n: usize) -> Option<Vec<f64>> {
    use std::io::{BufRead, Read, Write};
    let peers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
    let python = peers.join(".venv/bin/python");
    if !python.exists() {
        return None;
    }
    let mut child = Command::new(&python)
        .arg("sio_server.py")
        .current_dir(&peers)
        .env("PEER_PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let _server = Killed(child);
    let port: u16 = line.trim().parse().ok()?;
    let text = format!(
        "[redis]\nurl = \"redis://127.0.0.1:1/0\"\n[[socketio]]\nname = \"bench\"\nurl = \"ws://127.0.0.1:{port}\"\n"
    );
    let settings = config::settings_from_str(&text).ok()?;
    let opts = wiring::Options {
        demo: false,
        read_only: true,
        crash_after: None,
        ..Default::default()
    };
    let mut state = wiring::initial_state(&settings, &opts);
    let (tx, mut rx) = mpsc::channel(8192);
    let (tasks, _links) = wiring::spawn_socketio(&settings, &tx);
    while !state
        .links
        .iter()
        .any(|l| l.health == chavion_tui::event::LinkHealth::Up)
    {
        let ev = rx.recv().await?;
        update(&mut state, ev);
    }
    let mut lags = Vec::new();
    for i in 0..n {
        let sent = now_f();
        let data = format!("%7B%22message%22%3A%22m{i}%22%2C%22ts%22%3A{sent}%7D");
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        write!(
            s,
            "GET /emit?event=activity&ns=/&data={data} HTTP/1.0\r\n\r\n"
        )
        .ok()?;
        let mut sink = String::new();
        let _ = s.read_to_string(&mut sink);
        let want = format!("m{i}");
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .ok()??;
            let hit = matches!(&ev, Event::FeedBatch { items, .. } if items.iter().any(|it| matches!(it, FeedItem::Activity(a) if a.message == want)));
            update(&mut state, ev);
            if hit {
                lags.push((now_f() - sent) * 1000.0);
                break;
            }
        }
    }
    for t in tasks {
        t.abort();
    }
    lags.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Some(lags)
}
