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
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Small rings, so they fill in the first minute and the rest of the run shows whether
/// memory then stays flat (at 500 events/s the defaults take about ten minutes to fill).
const MAX_TASKS: usize = 2_000;
const MAX_LINES: usize = 5_000;
/// kombu gives back a message a worker took but never acked after this long.
const VISIBILITY_SECS: u64 = 30;

fn epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// One `:dispatch` of `thinking.mark TOKEN`: when (epoch seconds), and the task id the
/// control room gave it.
struct Dispatch {
    token: String,
    at: f64,
    id: Option<String>,
}

/// Something the soak does every `every` seconds from second `at`.
struct Due {
    at: u64,
    every: u64,
}

impl Due {
    fn new(at: u64, every: u64) -> Due {
        Due { at, every }
    }

    /// Whether it fell due by second `t`; if so, the next time is set.
    fn now(&mut self, t: u64) -> bool {
        let due = t >= self.at;
        if due {
            self.at += self.every;
        }
        due
    }
}

/// The Redis commands in the append-only files (Redis 7's `appendonlydir`) that carry
/// `needle`, in order: what became of a message, as Redis recorded it.
fn aof_commands_with(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("appendonlydir"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "aof"))
        .collect();
    files.sort();
    let mut found = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        let mut rest = &bytes[..];
        // RESP arrays of bulk strings: *N\r\n then N times $LEN\r\nBYTES\r\n.
        let line = |r: &mut &[u8]| -> Option<usize> {
            let end = r.windows(2).position(|w| w == b"\r\n")?;
            let n = std::str::from_utf8(&r[1..end]).ok()?.parse().ok()?;
            *r = &r[end + 2..];
            Some(n)
        };
        while rest.first() == Some(&b'*') {
            let Some(n) = line(&mut rest) else { break };
            let mut args: Vec<&[u8]> = Vec::new();
            for _ in 0..n {
                let Some(len) = line(&mut rest) else { break };
                if rest.len() < len + 2 {
                    break;
                }
                args.push(&rest[..len]);
                rest = &rest[len + 2..];
            }
            if args
                .iter()
                .any(|a| a.windows(needle.len()).any(|w| w == needle))
            {
                found.push(String::from_utf8_lossy(args[0]).to_uppercase());
            }
        }
    }
    found
}

fn or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

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
    // A worker as the platform should run them under a broker that can die: see peerapp.py.
    let worker = CeleryWorker::start_redelivering(&redis.url(), &sb.dir, VISIBILITY_SECS);
    let mut sio = SocketIoServer::start();
    let mut ssh = SshServer::start("soak");
    let store = Store::open(sb.path("audit.db").to_str().unwrap())
        .await
        .unwrap();
    let config = format!(
        "ports = []\n[redis]\nurl = \"{}\"\n[celery]\nsample_ms = 500\nmax_tasks = {MAX_TASKS}\n\
         lost_after_secs = 15\nredeliver_lost = true\n\
         [activity]\nmax_lines = {MAX_LINES}\n\
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
    let mut dispatched: Vec<Dispatch> = Vec::new();
    let mut rss: Vec<(u64, f64)> = Vec::new();
    let mut t = 0u64;
    // What happens when: each is due at a second of the run and then every so often, and
    // is done at the first look after it fell due (a look can come late: commands take time).
    let mut dispatch_due = Due::new(3, 3);
    let mut redis_due = Due::new(15, 30);
    let mut sio_due = Due::new(45, 90);
    let mut ssh_due = Due::new(60, 120);
    let mut ssh_back_at: Option<u64> = None;
    while t < secs {
        room.run_for(Duration::from_secs(1)).await;
        links.watch(&room);
        t = start.elapsed().as_secs();
        if dispatch_due.now(t) {
            let token = format!("soak-{}", dispatched.len());
            let at = epoch();
            room.command(&format!("dispatch thinking thinking.mark [\"{token}\"]"))
                .await;
            let args = format!("[\"{token}\"]");
            let id = room
                .state
                .tasks
                .by_id
                .values()
                .find(|t| t.fields.args.as_deref() == Some(args.as_str()))
                .map(|t| t.uuid.clone());
            dispatched.push(Dispatch { token, at, id });
        }
        if redis_due.now(t) {
            redis.kill();
            redis_kills += 1;
            room.run_for(Duration::from_secs(2)).await;
            links.watch(&room);
            redis.restart();
        }
        if sio_due.now(t) {
            sio.restart();
            sio_restarts += 1;
        }
        // The SSH host is unreachable for 30 s: a run fired then must be refused, one fired
        // when it is back must run. Dispatches and Redis kills go on meanwhile.
        if ssh_due.now(t) {
            ssh.kill();
            ssh_outages += 1;
            room.command("exec hello").await;
            ssh_back_at = Some(t + 30);
        }
        if ssh_back_at.is_some_and(|at| t >= at) {
            ssh.restart();
            room.command("exec hello").await;
            ssh_back_at = None;
        }
        if t.is_multiple_of(10) {
            rss.push((t, rss_mb()));
        }
    }
    // An outage still open at the end is closed like the others: back, and a run fired.
    if ssh_back_at.is_some() {
        ssh.restart();
        room.command("exec hello").await;
        room.run_for(Duration::from_secs(5)).await;
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
        // Also gives a message parked in `unacked` time to come back.
        if ran >= dispatched.len() {
            break;
        }
    }
    // A dispatch a worker popped as Redis died was found lost and pushed again.
    let redelivered: Vec<String> = store
        .audit_since(0)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.action == "redeliver")
        .map(|r| {
            let id = r
                .detail
                .split(' ')
                .next()
                .and_then(|d| d.strip_prefix("id="));
            let token = dispatched
                .iter()
                .find(|d| d.id.is_some() && d.id.as_deref() == id)
                .map_or("?", |d| d.token.as_str());
            format!("{token} ({})", r.outcome)
        })
        .collect();
    // Every run is in the audit trail, in order: down, back, down, back…
    let runs = store.runs_since(0).await.unwrap();
    let refused_while_down = runs
        .iter()
        .step_by(2)
        .filter(|r| r.exit_status.is_none())
        .count() as u32;
    let ran_when_back = runs
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|r| r.exit_status == Some(0))
        .count() as u32;
    // Each worker-side line is `thinking.mark TOKEN EPOCH`, or `thinking.mark.again …` for a
    // second delivery of a task that had run (see peerapp.py).
    let mut counts: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut again: Vec<String> = Vec::new();
    for r in worker.runs() {
        if let Some(rest) = r.strip_prefix("thinking.mark.again ") {
            again.push(rest.split(' ').next().unwrap_or("").to_string());
        } else if let Some(rest) = r.strip_prefix("thinking.mark ")
            && let Some((token, at)) = rest.split_once(' ')
        {
            counts
                .entry(token.to_string())
                .or_default()
                .push(at.parse().unwrap_or(0.0));
        }
    }
    let missing: Vec<&String> = dispatched
        .iter()
        .map(|d| &d.token)
        .filter(|t| !counts.contains_key(t.as_str()))
        .collect();
    let twice: Vec<(&String, &Vec<f64>)> = counts.iter().filter(|(_, n)| n.len() > 1).collect();
    // Dispatch to run, in seconds; a run that came back from `unacked` waited out the
    // visibility timeout.
    let mut delays: Vec<f64> = dispatched
        .iter()
        .filter_map(|d| counts.get(&d.token).map(|runs| runs[0] - d.at))
        .collect();
    delays.sort_by(f64::total_cmp);
    let late: Vec<String> = dispatched
        .iter()
        .filter_map(|d| {
            let after = counts.get(&d.token)?[0] - d.at;
            (after > 10.0).then(|| format!("{} after {after:.0} s", d.token))
        })
        .collect();
    // Where a missing dispatch is, if anywhere: still in our outbox, in the queue, or held in
    // kombu's `unacked` hash.
    let queue = redis.cli(&["LRANGE", "thinking", "0", "-1"]);
    let unacked = redis.cli(&["HVALS", "unacked"]);
    let whereabouts: Vec<String> = missing
        .iter()
        .map(|t| {
            // In argsrepr the token is followed by an escaped quote, so `soak-3` is not
            // found inside `soak-30`.
            let exact = format!("{t}\\");
            let local = room.state.tasks.by_id.values().any(|k| {
                k.queued_locally
                    && k.fields
                        .args
                        .as_deref()
                        .is_some_and(|a| a.contains(&format!("\"{t}\"")))
            });
            let place = if local {
                "local outbox"
            } else if queue.contains(&exact) {
                "queue `thinking`"
            } else if unacked.contains(&exact) {
                "kombu `unacked`"
            } else {
                "nowhere"
            };
            let history = aof_commands_with(&sb.path("redis"), exact.as_bytes());
            format!("{t}: {place} (in the AOF: {})", history.join(" "))
        })
        .collect();
    let pct = |q: f64| {
        delays
            .get(((delays.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let quarter = rss.get(rss.len() / 4).map(|r| r.1).unwrap_or(0.0);
    let last = rss.last().map(|r| r.1).unwrap_or(0.0);
    let filled = rss.iter().filter(|r| r.0 >= 60).map(|r| r.1);
    let (low, high) = filled.fold((f64::MAX, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
    let report = format!(
        "Soak of {secs} s under 500 events/s from chavion-loadgen (debug build of the test harness; \
         rings of {MAX_TASKS} tasks and {MAX_LINES} activity lines; worker visibility timeout {VISIBILITY_SECS} s):\n\n\
         | what | result |\n|---|---|\n\
         | Redis killed (kill -9) and restarted | {redis_kills} times; the pub/sub link came back {} times, the queue sampler {} times |\n\
         | Flask-SocketIO peer restarted | {sio_restarts} times; the link came back {} times |\n\
         | SSH host unreachable | {ssh_outages} times; a run fired while down was refused {refused_while_down} times, one fired once it was back ran {ran_when_back} times |\n\
         | tasks dispatched throughout (`:dispatch`) | {} |\n\
         | ran on the real worker (worker-side count) | {} distinct, {} missing, {} twice |\n\
         | dispatch to run on the worker | p50 {:.2} s, p99 {:.2} s, max {:.1} s; more than 10 s: {} |\n\
         | missing, and where they are | {} |\n\
         | delivered again after a Redis crash lost the ack (kombu's at-least-once), not run again | {} |\n\
         | found lost in the broker by the control room and pushed again (audit trail) | {} |\n\
         | events applied / shed / malformed | {} / {} / {} |\n\
         | RSS at a quarter / at the end; lowest and highest after the first minute | {quarter:.0} MB / {last:.0} MB; {low:.0} MB, {high:.0} MB |\n",
        links.recoveries("redis"),
        links.recoveries("queues"),
        links.recoveries("sio:peer"),
        dispatched.len(),
        counts.len(),
        missing.len(),
        twice.len(),
        pct(0.5),
        pct(0.99),
        delays.last().copied().unwrap_or(0.0),
        or_none(&late),
        or_none(&whereabouts),
        or_none(&again),
        or_none(&redelivered),
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
    assert_eq!(runs.len() as u32, 2 * ssh_outages, "every run audited");
    assert_eq!(refused_while_down, ssh_outages);
    assert_eq!(ran_when_back, ssh_outages);
    assert!(last <= quarter * 1.25 + 5.0, "memory grew: {rss:?}");
}
