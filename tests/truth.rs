//! Issue 27: the truth when things break, against a real redis-server and a real Celery 5.7
//! worker. A Redis outage is not the death of the fleet: while nothing is heard, the fleet
//! is unknown, not offline; nothing is logged as a state change; figures are marked stale.

mod common;

use common::Sandbox;
use common::room::Room;
use common::servers::{CeleryWorker, RedisServer};
use ratatui::{Terminal, backend::TestBackend};
use std::time::Duration;

fn screen(room: &Room) -> String {
    let theme = chavion_tui::config::theme::load(
        "dark",
        std::path::Path::new("/nonexistent"),
        chavion_tui::config::theme::ColorMode::None,
    )
    .unwrap();
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| chavion_tui::ui::draw(f, &room.state, &theme))
        .unwrap();
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_leaves_the_fleet_unknown_not_offline() {
    let sb = Sandbox::new("truth-outage");
    let mut redis = RedisServer::start();
    let mut room = Room::start(&redis.url(), "", false);
    let _worker = CeleryWorker::start(&redis.url(), true, &sb.dir);
    room.until("the worker online", |s| {
        s.workers.values().any(|w| w.online)
    })
    .await;
    room.run_for(Duration::from_secs(2)).await;
    redis.kill();
    room.until("the feed lost", |s| s.feed_lost.is_some()).await;
    // Three times the heartbeat's expiry, and more.
    room.run_for(Duration::from_secs(15)).await;
    assert!(
        room.state.workers.values().all(|w| w.online),
        "unknown, not offline: {:?}",
        room.state.workers
    );
    let said: Vec<String> = room
        .state
        .activity
        .lines
        .iter()
        .map(|l| l.message.clone())
        .collect();
    assert!(
        !said.iter().any(|m| m.contains("offline")),
        "no death recorded: {said:?}"
    );
    let shown = screen(&room);
    assert!(shown.contains("feed lost since"), "{shown}");
    assert!(shown.contains("stale since"), "{shown}");
    assert!(shown.contains("? unknown"), "{shown}");

    redis.restart();
    room.until("the feed back", |s| s.feed_lost.is_none()).await;
    room.run_for(Duration::from_secs(6)).await;
    assert!(
        room.state.workers.values().all(|w| w.online),
        "the live worker is online on fresh events"
    );
    assert!(
        room.state
            .activity
            .lines
            .iter()
            .any(|l| l.message.contains("feed back after")),
        "said once it is back"
    );
    assert!(!screen(&room).contains("feed lost since"));
}

/// A broker URL that could never carry a dispatch is refused before anything starts, from
/// the command line and from the config, in words: nothing piles up in the outbox.
#[test]
fn a_broker_url_that_could_never_deliver_is_refused_before_start() {
    let sb = Sandbox::new("truth-broker");
    for (url, words) in [
        ("rediss://127.0.0.1:6379/0#insecure", "#insecure"),
        ("redis://127.0.0.1:6379/99", "db 99"),
        ("redis://127.0.0.1:6379/zero", "not a number"),
    ] {
        let out = sb.cmd(&["--redis", url, "audit"]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {said}");
        assert!(
            said.contains(words) && said.contains("not starting"),
            "{url}: {said}"
        );
        assert!(out.stdout.is_empty(), "nothing checked: {out:?}");
        let config = sb.path("config/chavion-tui/config.toml");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(&config, format!("[redis]\nurl = \"{url}\"\n")).unwrap();
        let check = sb.cmd(&["config", "check"]);
        assert!(!check.status.success(), "{url}");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        assert!(said.contains(words), "{url}: {said}");
        std::fs::remove_file(&config).unwrap();
    }
}

/// `status` that cannot judge (a missing config file, an unknown theme, `--demo`) exits 3,
/// "unknown", as Nagios reads it, and under `--json` prints an error object, so a cron line
/// `status --json > status.json || notify-ops` never pages with an empty file.
#[test]
fn status_that_cannot_judge_says_unknown_with_exit_3_and_json() {
    let sb = Sandbox::new("truth-status");
    let cases: [&[&str]; 3] = [
        &["--config", "/nonexistent/config.toml", "status", "--json"],
        &["--theme", "nosuch", "status", "--json"],
        &["--demo", "status", "--json"],
    ];
    for args in cases {
        let out = sb.cmd(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {out:?}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out:?}"));
        assert_eq!(doc["status"], "unknown", "{doc}");
        assert_eq!(doc["exit_code"], 3);
        assert!(
            doc["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{doc}"
        );
    }
    let out = sb.cmd(&["--theme", "nosuch", "status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not judge"));
}

/// `queue purge` of a queue no agent consumes, no binding names and that holds nothing is a
/// likely typo: said, nothing done, exit 1. A configured queue that is empty is purged (0).
#[test]
fn purging_a_queue_nobody_knows_is_called_a_typo() {
    let sb = Sandbox::new("truth-purge");
    let redis = RedisServer::start();
    let url = redis.url();
    let out = sb.cmd(&["--redis", &url, "queue", "purge", "thinkng", "--yes"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("thinkng") && said.contains("a typo"),
        "{said}"
    );
    let out = sb.cmd(&["--redis", &url, "queue", "purge", "thinking", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Something waiting makes it a queue, whoever names it.
    redis.cli(&["rpush", "adhoc", "x"]);
    let out = sb.cmd(&["--redis", &url, "queue", "purge", "adhoc", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(redis.cli(&["llen", "adhoc"]).trim(), "0");
}

/// The help says what the program does today: `--read-only` lists every action the gate
/// refuses (from the gate's own table), and each container command says what it does.
#[test]
fn the_help_texts_come_from_what_the_program_does() {
    let sb = Sandbox::new("truth-help");
    let help = String::from_utf8_lossy(&sb.cmd(&["--help"]).stdout).into_owned();
    for act in chavion_tui::gate::EVERY_ACT {
        assert!(
            help.contains(act.words()),
            "--read-only's help misses {act:?}: {help}"
        );
    }
    for (cmd, says) in [("stop", "Stop it"), ("start", "Start it again")] {
        let out = sb.cmd(&["containers", cmd, "--help"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with(says), "{cmd}: {text}");
        assert!(!text.contains("How a fleet command"), "{cmd}: {text}");
    }
}

fn status_json(sb: &Sandbox) -> (i32, serde_json::Value) {
    let out = sb.cmd(&["status", "--json"]);
    let doc =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out:?}"));
    (out.status.code().unwrap_or(-1), doc)
}

fn signal_group(pid: i32, signal: &str) {
    let group = format!("-{pid}");
    let ok = std::process::Command::new("kill")
        .args([signal, "--", &group])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {signal} {group}");
}

/// `status` samples the fleet: the workers that answer the pidbox are online, a worker the
/// store's history knows of (kept by `watch`) that stays silent is named offline, and an
/// agent whose queues have no live consumer is down. A stopped fleet is never OK.
#[test]
fn status_sees_a_stopped_fleet() {
    let sb = Sandbox::new("truth-fleet");
    let redis = RedisServer::start();
    let url = redis.url();
    let config = sb.path("config/chavion-tui/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "socketio = []\nports = []\n[redis]\nurl = \"{url}\"\n\
             [[agents]]\nname = \"THINKING\"\nqueues = [\"thinking\"]\n\
             [[alerts]]\nname = \"worker offline\"\nrule = \"worker_offline\"\nfor_secs = 4\nseverity = \"critical\"\n"
        ),
    )
    .unwrap();
    let worker = CeleryWorker::start(&url, true, &sb.dir);
    common::servers::wait_until("the worker answers", 30, || {
        status_json(&sb).1["workers"]
            .as_array()
            .is_some_and(|w| !w.is_empty())
    });
    let (code, doc) = status_json(&sb);
    assert_eq!((code, doc["status"].as_str()), (0, Some("ok")), "{doc:#}");
    assert_eq!(doc["workers"][0]["hostname"], "thinking@localhost");
    assert_eq!(doc["workers"][0]["state"], "online");
    assert_eq!(doc["workers"][0]["agent"], "THINKING");
    assert_eq!(doc["agents"][0]["state"], "idle", "{doc:#}");
    assert_eq!(doc["agents"][0]["workers_online"], 1);

    // `watch` keeps the worker history that `status` reads.
    let mut watch = common::Reaped(
        sb.command(&["watch"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(8));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &watch.0.id().to_string()])
        .status();
    let _ = watch.0.wait();

    signal_group(worker.pid(), "-STOP");
    let (code, doc) = status_json(&sb);
    let line = &doc["workers"][0];
    assert_eq!(
        (line["hostname"].as_str(), line["state"].as_str()),
        (Some("thinking@localhost"), Some("offline")),
        "the silent worker is named: {doc:#}"
    );
    assert_eq!(doc["agents"][0]["state"], "down", "{doc:#}");
    assert!(
        doc["agents"][0]["why"]
            .as_str()
            .is_some_and(|w| w.contains("no live consumer")),
        "{doc:#}"
    );
    assert_eq!((code, doc["status"].as_str()), (2, Some("critical")));
    // Past the rule's `for`, counted from its last heartbeat, its alert fires.
    std::thread::sleep(Duration::from_secs(5));
    let (_, doc) = status_json(&sb);
    assert_eq!(doc["workers"][0]["severity"], "alarm", "{doc:#}");
    assert!(
        doc["alerts"].as_array().unwrap().iter().any(|a| {
            a["rule"] == "worker offline"
                && a["subject"] == "thinking@localhost"
                && a["firing"] == true
        }),
        "{doc:#}"
    );
    let text = String::from_utf8_lossy(&sb.cmd(&["status"]).stdout).into_owned();
    assert!(
        text.contains("worker thinking@localhost") && text.contains("offline"),
        "{text}"
    );
    signal_group(worker.pid(), "-CONT");
}

/// A dispatch queued locally while Redis was down: its delivery is audited as its own
/// record, linked to the dispatch by its id and the message's digest; one that will never
/// go can be dropped (`audit --outbox --drop`), asked, audited, refused under --read-only.
#[test]
fn outbox_delivery_is_audited_and_a_stuck_row_can_be_dropped() {
    let sb = Sandbox::new("truth-outbox");
    let mut redis = RedisServer::start();
    let url = redis.url();
    let cmd = |args: &[&str]| {
        let mut all = vec!["--redis", url.as_str()];
        all.extend_from_slice(args);
        sb.cmd(&all)
    };
    let trail = |action: &str| -> Vec<serde_json::Value> {
        let out = cmd(&["audit", "--json"]);
        let all: Vec<serde_json::Value> =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        all.into_iter().filter(|r| r["action"] == action).collect()
    };
    redis.kill();
    let out = cmd(&["dispatch", "thinking", "thinking.add", "--args", "[1, 2]"]);
    assert_eq!(out.status.code(), Some(75), "queued locally: {out:?}");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();

    // Redis back: the next dispatch delivers what waited first, and the trail says so.
    redis.restart();
    let out = cmd(&["dispatch", "thinking", "thinking.add", "--args", "[3, 4]"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("delivered {id}")));
    let dispatch = trail("dispatch")
        .into_iter()
        .find(|r| r["detail"].as_str().unwrap().contains(&id))
        .expect("the dispatch's record");
    let delivered = trail("deliver");
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let d = &delivered[0];
    assert!(
        d["outcome"]
            .as_str()
            .unwrap()
            .starts_with("delivered from the outbox"),
        "{d}"
    );
    assert!(d["detail"].as_str().unwrap().contains(&id), "{d}");
    assert_eq!(
        d["digest"], dispatch["digest"],
        "the same bytes: {d} {dispatch}"
    );
    assert_eq!(d["target"], "thinking.add");

    // A row that will not go: dropped, after the checks.
    redis.kill();
    let out = cmd(&["dispatch", "thinking", "thinking.add", "--args", "[5, 6]"]);
    let stuck = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = cmd(&[
        "--read-only",
        "audit",
        "--outbox",
        "--drop",
        &stuck,
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--read-only"));
    let out = cmd(&["audit", "--outbox", "--drop", "no-such-id", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = cmd(&["audit", "--outbox", "--drop", &stuck]);
    assert_eq!(out.status.code(), Some(2), "no terminal to ask: {out:?}");
    let listed = String::from_utf8_lossy(&cmd(&["audit", "--outbox"]).stdout).into_owned();
    assert!(listed.contains(&stuck), "{listed}");
    let out = cmd(&["audit", "--outbox", "--drop", &stuck, "--yes"]);
    assert!(out.status.success(), "{out:?}");
    let listed = String::from_utf8_lossy(&cmd(&["audit", "--outbox"]).stdout).into_owned();
    assert!(!listed.contains(&stuck), "{listed}");
    let dropped = trail("outbox-drop");
    assert!(
        dropped.iter().any(|r| r["target"] == stuck.as_str()
            && r["outcome"].as_str().unwrap().starts_with("dropped")),
        "{dropped:?}"
    );
    // Redis back: nothing of it is delivered.
    redis.restart();
    let out = cmd(&["dispatch", "thinking", "thinking.add", "--args", "[7, 8]"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&stuck));
    let queued = redis.cli(&["lrange", "thinking", "0", "-1"]);
    assert!(!queued.contains(&stuck), "{queued}");
}

/// Tasks known to be gone: a purge (here another control room's, from the shell, announced
/// on the audit channel) marks what this room saw waiting in that queue purged; a worker
/// killed with a task in hand, away past the visibility timeout, leaves it lost with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purged_and_lost_tasks_are_marked_gone() {
    use chavion_tui::kept::Gone;
    let sb = Sandbox::new("truth-gone");
    let redis = RedisServer::start();
    let url = redis.url();
    let mut room = Room::start(&url, "visibility_timeout_secs = 2", false);
    room.run_for(Duration::from_secs(1)).await;
    let out = sb.cmd(&["--redis", &url, "dispatch", "cognitive", "cognitive.plan"]);
    assert!(out.status.success(), "{out:?}");
    let waiting = String::from_utf8_lossy(&out.stdout).trim().to_string();
    room.until("the dispatch seen waiting", |s| {
        s.tasks.by_id.contains_key(&waiting)
    })
    .await;
    let out = sb.cmd(&["--redis", &url, "queue", "purge", "cognitive", "--yes"]);
    assert!(out.status.success(), "{out:?}");
    room.until("the waiting task marked purged", |s| {
        matches!(s.tasks.by_id[&waiting].gone, Some(Gone::Purged { .. }))
    })
    .await;
    assert_eq!(
        chavion_tui::app::model::tasks::shown_state(&room.state.tasks.by_id[&waiting]),
        "PURGED"
    );

    let worker = CeleryWorker::start(&url, true, &sb.dir);
    let held = common::servers::send_task(&url, "thinking.sleep", "[60]", None, None);
    room.until("the task running", |s| {
        s.tasks
            .by_id
            .get(&held)
            .is_some_and(|t| t.state == chavion_tui::platform::model::TaskEventKind::Started)
    })
    .await;
    signal_group(worker.pid(), "-KILL");
    room.until("the task lost with its worker", |s| {
        s.tasks.by_id[&held].gone
            == Some(Gone::LostWithWorker {
                worker: "thinking@localhost".into(),
            })
    })
    .await;
    assert_eq!(
        chavion_tui::app::model::tasks::shown_state(&room.state.tasks.by_id[&held]),
        "LOST"
    );
    assert!(
        room.state
            .activity
            .lines
            .iter()
            .any(|l| l.message.contains("lost with worker(s) thinking@localhost")),
        "said in the log"
    );
}

/// Queue rates without task-sent events (raw LPUSHes, as producers with Celery's default
/// `task_send_sent_event=False` look from here): the arrival rate follows the depth's
/// change instead of reading zero; the queue no worker consumes is marked and its alert
/// (`queue_unconsumed`) fires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_rates_follow_the_depth_and_an_unconsumed_queue_is_called_out() {
    let redis = RedisServer::start();
    let url = redis.url();
    let mut room = Room::start(
        &url,
        "[[alerts]]\nname = \"queue unconsumed\"\nrule = \"queue_unconsumed\"\nfor_secs = 1\nseverity = \"critical\"",
        false,
    );
    room.run_for(Duration::from_secs(1)).await;
    // 40 messages every 200 ms: 200 a second, for 3 s.
    let pusher = {
        let port = redis.port;
        std::thread::spawn(move || {
            let script = "for i=1,40 do redis.call('LPUSH', KEYS[1], 'raw') end";
            for _ in 0..15 {
                let _ = std::process::Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "eval", script, "1", "cognitive"])
                    .output();
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let start = std::time::Instant::now();
    let mut rates = Vec::new();
    while start.elapsed() < Duration::from_secs(3) {
        room.run_for(Duration::from_millis(200)).await;
        if let Some(r) = room
            .state
            .queues
            .iter()
            .find(|q| q.name == "cognitive")
            .and_then(|q| q.in_rate)
        {
            rates.push(r);
        }
    }
    pusher.join().unwrap();
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    assert!(
        (100.0..=300.0).contains(&mean),
        "the arrival rate follows the depth (200/s pushed): {rates:?}"
    );
    assert!(
        room.state
            .queues
            .iter()
            .all(|q| q.out_rate.unwrap_or(0.0) < 1.0 || q.name != "cognitive"),
        "nothing drains it"
    );
    assert_eq!(room.state.consumed("cognitive"), Some(false));
    room.until("the queue_unconsumed alert firing", |s| {
        s.alerts.firing().iter().any(|a| a.subject == "cognitive")
    })
    .await;
}

/// A recording carries the port map and agents it was made under: replayed under another
/// config, it shows the old ones (probe results matched to the right rows). `replay` with
/// nothing recorded for the platform asked lists those that have recordings and how to
/// choose each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_shows_the_port_map_and_agents_it_was_recorded_under() {
    let sb = Sandbox::new("truth-replay");
    let redis = RedisServer::start();
    let url = redis.url();
    let closed = common::servers::free_port();
    let platform = format!("127.0.0.1-{}-0", redis.port);
    let dir = sb.path(&format!("data/chavion-tui/recordings/{platform}"));
    let extra = format!(
        "[probes]\ninterval_secs = 1\n[[agents]]\nname = \"ALPHA\"\nqueues = [\"thinking\"]\n\
         [[ports]]\nname = \"Legacy\"\nhost = \"127.0.0.1\"\nport = {closed}\nexpect = \"required\"\n"
    );
    let (_, mut room) = Room::start_recording(&url, &extra, &dir);
    room.until("both ports probed", |s| {
        s.ports
            .iter()
            .all(|p| !matches!(p.status, chavion_tui::app::state::PortStatus::Unknown))
    })
    .await;
    room.run_for(Duration::from_millis(500)).await;
    room.recorder.flush();
    let end_ms = chrono::Utc::now().timestamp_millis();
    drop(room);

    // Today's config: another port map, the five default agents.
    let today = chavion_tui::config::settings_from_str(&format!(
        "[redis]\nurl = \"{url}\"\n[[ports]]\nname = \"Grafana\"\nhost = \"127.0.0.1\"\nport = {}\n",
        redis.port
    ))
    .unwrap();
    let mut replay = chavion_tui::replay::Replayer::new(&today, dir.clone(), i64::MIN, 0, end_ms);
    replay.seek(end_ms);
    let rows: Vec<(String, bool)> = replay
        .state
        .ports
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                matches!(p.status, chavion_tui::app::state::PortStatus::Up { .. }),
            )
        })
        .collect();
    assert!(
        rows.contains(&("Legacy".to_string(), false))
            && rows.contains(&("Redis".to_string(), true)),
        "the recorded map, each row with its own probe: {rows:?}"
    );
    assert!(!rows.iter().any(|(n, _)| n == "Grafana"), "{rows:?}");
    let agents: Vec<&str> = replay
        .state
        .agents
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(agents, ["ALPHA"]);

    // The shell, asked for a platform with nothing recorded, lists the one that has.
    let out = sb.cmd(&["--redis", "redis://127.0.0.1:1/0", "replay", "--snapshot"]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("nothing recorded for 127.0.0.1-1-0"),
        "{said}"
    );
    assert!(
        said.contains(&platform)
            && said.contains(&format!("--redis redis://127.0.0.1:{}/0", redis.port)),
        "{said}"
    );
}
