//! The chaos soak (bench/soak.sh runs it; `#[ignore]`, so not part of CI): a control room
//! with every feed, under load from chavion-loadgen, while Redis is killed and restarted
//! every 30 s, the Flask-SocketIO peer restarted, and the SSH host made unreachable and
//! brought back; tasks are dispatched throughout. At the end: every link came back each
//! time, every dispatch ran exactly once on the real worker, memory stayed flat, and the
//! report goes to target/soak-report.md.

mod common;

use chavion_tui::store::Store;
use common::Sandbox;
use common::room::Room;
use common::servers::{CeleryWorker, RedisServer, SocketIoServer};
use common::sshd::SshServer;
use crossterm::event::KeyCode;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// Counts each link's recoveries from the activity stream's "link up" lines, read as they
/// arrive (the ring is bounded; the soak outlives it). The first one is the initial connect.
#[derive(Default)]
struct Links {
    seen: u64,
    ups: BTreeMap<String, u32>,
}

impl Links {
    fn watch(&mut self, room: &Room) {
        let log = &room.state.activity;
        let new = (log.total - self.seen).min(log.lines.len() as u64) as usize;
        for l in log.lines.iter().skip(log.lines.len() - new) {
            if l.message == "link up" {
                *self.ups.entry(l.source.clone()).or_default() += 1;
            }
        }
        self.seen = log.total;
    }

    fn recoveries(&self, link: &str) -> u32 {
        self.ups.get(link).copied().unwrap_or(0).saturating_sub(1)
    }
}

/// `:LINE`, Enter, then `y` to the confirmation, as an operator would.
async fn command(room: &mut Room, line: &str) {
    room.key(KeyCode::Char(':')).await;
    room.keys(line).await;
    room.key(KeyCode::Enter).await;
    room.key(KeyCode::Char('y')).await;
}

/// How run `id` ended, if it has.
fn ended(room: &Room, id: u64) -> Option<chavion_tui::executor::RunEnd> {
    room.state
        .executor
        .runs
        .iter()
        .find(|r| r.id == id)
        .and_then(|r| match &r.phase {
            chavion_tui::app::state::RunPhase::Ended(e) => Some(e.clone()),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a long soak: run it with bench/soak.sh"]
async fn soak() {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let sb = Sandbox::new("soak");
    std::fs::create_dir_all(sb.path("redis")).unwrap();
    let mut redis = RedisServer::start_persistent(&sb.path("redis"));
    let worker = CeleryWorker::start(&redis.url(), true, &sb.dir);
    let mut sio = SocketIoServer::start();
    let mut ssh = SshServer::start("soak");
    let store = Store::open(sb.path("audit.db").to_str().unwrap())
        .await
        .unwrap();
    let config = format!(
        "ports = []\n[redis]\nurl = \"{}\"\n[celery]\nsample_ms = 500\n\
         [[socketio]]\nname = \"peer\"\nurl = \"{}\"\nnamespaces = [\"/\"]\n{}",
        redis.url(),
        sio.url(),
        ssh.executor_toml(
            &ssh.client_key(),
            "[[executor.runbooks]]\nname = \"hello\"\nhosts = [\"test\"]\ncommand = \"echo ok\"\ntimeout_secs = 10\n"
        )
    );
    let mut room = Room::start_full(&config, store.clone());
    let mut loadgen = std::process::Command::new(env!("CARGO_BIN_EXE_chavion-loadgen"))
        .args([
            "--redis",
            &redis.url(),
            "--rate",
            "500",
            "--seconds",
            &secs.to_string(),
            "--reconnect",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let start = Instant::now();
    let mut links = Links::default();
    let (mut redis_kills, mut sio_restarts, mut ssh_outages) = (0u32, 0u32, 0u32);
    let mut dispatched: Vec<String> = Vec::new();
    let mut runs_ok = 0u32;
    let mut runs_refused_while_down = 0u32;
    let mut rss: Vec<(u64, f64)> = Vec::new();
    let mut t = 0u64;
    while t < secs {
        room.run_for(Duration::from_secs(1)).await;
        links.watch(&room);
        t = start.elapsed().as_secs();
        if t.is_multiple_of(3) {
            let token = format!("soak-{}", dispatched.len());
            command(
                &mut room,
                &format!("dispatch thinking thinking.mark [\"{token}\"]"),
            )
            .await;
            dispatched.push(token);
        }
        if t % 30 == 15 {
            redis.kill();
            redis_kills += 1;
            room.run_for(Duration::from_secs(2)).await;
            links.watch(&room);
            redis.restart();
        }
        if t % 90 == 45 {
            sio.restart();
            sio_restarts += 1;
        }
        if t % 120 == 60 {
            ssh.kill();
            ssh_outages += 1;
            let down = room.state.executor.next_id;
            command(&mut room, "exec hello").await;
            room.run_for(Duration::from_secs(12)).await;
            if ended(&room, down).is_some_and(|e| e.exit_code() == 255) {
                runs_refused_while_down += 1;
            }
            ssh.restart();
            let up = room.state.executor.next_id;
            command(&mut room, "exec hello").await;
            room.run_for(Duration::from_secs(5)).await;
            if ended(&room, up).is_some_and(|e| e.succeeded()) {
                runs_ok += 1;
            }
        }
        if t.is_multiple_of(10) {
            rss.push((t, rss_mb()));
        }
    }
    let _ = loadgen.kill();
    let _ = loadgen.wait();
    // Let the outbox and the worker finish what is in flight.
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        room.run_for(Duration::from_secs(1)).await;
        links.watch(&room);
        let ran = worker
            .runs()
            .iter()
            .filter(|r| r.starts_with("thinking.mark "))
            .count();
        if ran >= dispatched.len() {
            break;
        }
    }
    runs_ok += room
        .state
        .executor
        .runs
        .iter()
        .filter(
            |r| matches!(&r.phase, chavion_tui::app::state::RunPhase::Ended(e) if e.succeeded()),
        )
        .count() as u32;
    let ran = worker.runs();
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for r in ran.iter().filter_map(|r| r.strip_prefix("thinking.mark ")) {
        *counts.entry(r).or_default() += 1;
    }
    let missing: Vec<&String> = dispatched
        .iter()
        .filter(|d| !counts.contains_key(d.as_str()))
        .collect();
    let twice: Vec<(&&str, &u32)> = counts.iter().filter(|(_, n)| **n > 1).collect();
    let quarter = rss.get(rss.len() / 4).map(|r| r.1).unwrap_or(0.0);
    let last = rss.last().map(|r| r.1).unwrap_or(0.0);
    let report = format!(
        "Soak of {secs} s under 500 events/s from chavion-loadgen (2026-11-24, debug build of the test harness):\n\n\
         | what | result |\n|---|---|\n\
         | Redis killed (kill -9) and restarted | {redis_kills} times; the pub/sub link came back {} times, the queue sampler {} times |\n\
         | Flask-SocketIO peer restarted | {sio_restarts} times; the link came back {} times |\n\
         | SSH host unreachable | {ssh_outages} times; runs refused while down {runs_refused_while_down}, runs that succeeded after {runs_ok} |\n\
         | tasks dispatched throughout (`:dispatch`) | {} |\n\
         | ran on the real worker (worker-side count) | {} distinct, {} missing, {} twice |\n\
         | events applied / shed / malformed | {} / {} / {} |\n\
         | RSS at a quarter / at the end | {quarter:.0} MB / {last:.0} MB |\n",
        links.recoveries("redis"),
        links.recoveries("queues"),
        links.recoveries("sio:peer"),
        dispatched.len(),
        counts.len(),
        missing.len(),
        twice.len(),
        room.state.counters.events,
        room.state.counters.shed,
        room.state.counters.malformed,
    );
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/soak-report.md");
    std::fs::write(&out, &report).unwrap();
    println!("{report}");
    assert!(missing.is_empty(), "dispatches that never ran: {missing:?}");
    assert!(twice.is_empty(), "dispatches that ran twice: {twice:?}");
    assert!(links.recoveries("redis") >= redis_kills, "{:?}", links.ups);
    assert!(links.recoveries("queues") >= redis_kills, "{:?}", links.ups);
    assert!(
        links.recoveries("sio:peer") >= sio_restarts,
        "{:?}",
        links.ups
    );
    assert_eq!(runs_refused_while_down, ssh_outages);
    assert!(runs_ok >= ssh_outages);
    assert!(last <= quarter * 1.25 + 5.0, "memory grew: {rss:?}");
}
