//! Commanding the Celery fleet from the shell, against real Celery 5.7 workers (prefork; one
//! autoscaling, one without -E) and a real redis-server: every inspect reply is parsed, and
//! every control command changes what the worker really does.

mod common;

use common::Sandbox;
use common::servers::{CeleryWorker, RedisServer, send_task, wait_until};
use std::process::Output;

use chavion_tui::platform::pidbox::{Inspect, WorkerDetail};

fn cli(sb: &Sandbox, redis: &str, args: &[&str]) -> Output {
    let mut all = vec!["--redis", redis];
    all.extend_from_slice(args);
    sb.cmd(&all)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

fn dir(sb: &Sandbox, name: &str) -> std::path::PathBuf {
    let d = sb.path(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Workers answer once their control consumer is up.
fn wait_for_pong(sb: &Sandbox, url: &str, worker: &str) {
    wait_until(&format!("{worker} answers ping"), 30, || {
        cli(sb, url, &["worker", "inspect", worker, "ping"])
            .status
            .success()
    });
}

/// The two kinds of worker, both answering: `auto@localhost` (prefork, -E,
/// `--autoscale 3,1`) and `plain@localhost` (prefork, two processes, without -E).
fn two_workers(sb: &Sandbox, url: &str) -> (CeleryWorker, CeleryWorker) {
    let auto = CeleryWorker::start_with(
        url,
        &dir(sb, "auto"),
        "auto@localhost",
        true,
        &["--autoscale", "3,1"],
    );
    let plain = CeleryWorker::start_with(
        url,
        &dir(sb, "plain"),
        "plain@localhost",
        false,
        &["-c", "2"],
    );
    wait_for_pong(sb, url, "auto@localhost");
    wait_for_pong(sb, url, "plain@localhost");
    (auto, plain)
}

/// The pool processes of a worker: the children of its main process.
fn pool_size(pid: i32) -> usize {
    let out = std::process::Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .unwrap();
    text(&out.stdout).lines().count()
}

#[test]
fn every_inspect_reply_from_real_workers_is_parsed_and_a_dead_worker_is_named() {
    let sb = Sandbox::new("fleet-inspect");
    let redis = RedisServer::start();
    let url = redis.url();
    let (_auto, _plain) = two_workers(&sb, &url);
    // Something for active, scheduled and revoked to show.
    send_task(&url, "thinking.sleep", "[20]", None, None);
    let out = cli(
        &sb,
        &url,
        &[
            "dispatch",
            "thinking",
            "thinking.add",
            "--args",
            "[1, 2]",
            "--countdown",
            "600",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let held = |m: &str| {
        let out = cli(&sb, &url, &["worker", "inspect", "all", m, "--json"]);
        json_of(&out)
    };
    wait_until("a task is active and one scheduled", 20, || {
        let a = held("active");
        let s = held("scheduled");
        let busy = |v: &serde_json::Value| {
            v["replies"].as_object().is_some_and(|r| {
                r.values()
                    .any(|l| l.as_array().is_some_and(|l| !l.is_empty()))
            })
        };
        busy(&a) && busy(&s)
    });
    let mut details: std::collections::HashMap<String, WorkerDetail> = Default::default();
    for m in Inspect::NAMED {
        let out = cli(
            &sb,
            &url,
            &["worker", "inspect", "all", m.method(), "--json"],
        );
        assert!(
            out.status.success() || m == Inspect::Ping,
            "{m:?}: {}",
            text(&out.stderr)
        );
        let v = json_of(&out);
        assert_eq!(v["method"], m.method());
        let replies = v["replies"].as_object().unwrap();
        assert!(
            replies.contains_key("auto@localhost") && replies.contains_key("plain@localhost"),
            "{m:?}: {v}"
        );
        for (w, said) in replies {
            details.entry(w.clone()).or_default().apply(m, said);
        }
    }
    let auto = &details["auto@localhost"];
    let plain = &details["plain@localhost"];
    assert_eq!(auto.autoscale.map(|(max, min, _)| (max, min)), Some((3, 1)));
    assert_eq!(plain.concurrency, Some(2));
    assert_eq!(plain.processes.len(), 2);
    assert!(auto.pool.contains("prefork"), "{}", auto.pool);
    assert!(
        auto.queues
            .iter()
            .any(|q| q.name == "thinking" && q.routing_key == "thinking")
    );
    assert!(plain.registered.iter().any(|(n, _)| n == "thinking.sleep"));
    assert!(
        auto.conf
            .iter()
            .any(|(k, v)| k == "task_default_queue" && v == "thinking")
    );
    assert!(
        auto.broker.starts_with("redis://127.0.0.1:"),
        "{}",
        auto.broker
    );
    assert!(auto.uptime_s.is_some() && auto.rusage.is_some() && auto.prefetch.is_some());
    let active: Vec<_> = details.values().flat_map(|d| d.active.iter()).collect();
    let scheduled: Vec<_> = details.values().flat_map(|d| d.scheduled.iter()).collect();
    assert!(
        active
            .iter()
            .any(|t| t.name == "thinking.sleep" && t.started.is_some())
    );
    assert!(
        scheduled
            .iter()
            .any(|t| t.name == "thinking.add" && t.eta.is_some())
    );
    // The human form names each worker; a named worker that does not exist is named as silent.
    let out = cli(&sb, &url, &["worker", "inspect", "gone@nowhere", "ping"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("gone@nowhere: did not answer within 3 s"),
        "{}",
        text(&out.stdout)
    );
    let out = cli(&sb, &url, &["worker", "inspect", "all", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("one of active"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn pool_autoscale_and_consumers_change_what_the_real_workers_do() {
    let sb = Sandbox::new("fleet-pool");
    let redis = RedisServer::start();
    let url = redis.url();
    let (auto, plain) = two_workers(&sb, &url);

    // Grow and shrink: the worker's child processes are counted, not its word.
    wait_until("plain starts 2 pool processes", 20, || {
        pool_size(plain.pid()) == 2
    });
    let out = cli(
        &sb,
        &url,
        &["worker", "pool", "plain@localhost", "grow", "2", "--yes"],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("plain@localhost: ok: pool will grow"));
    wait_until("the pool grows to 4", 20, || pool_size(plain.pid()) == 4);
    let out = cli(
        &sb,
        &url,
        &["worker", "pool", "plain@localhost", "shrink", "3", "--yes"],
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    wait_until("the pool shrinks to 1", 20, || pool_size(plain.pid()) == 1);
    // The autoscaling worker refuses a grow, and says why; exit 1.
    let out = cli(
        &sb,
        &url,
        &["worker", "pool", "auto@localhost", "grow", "1", "--yes"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("refused: pool_grow is not supported with autoscale"));

    // Autoscale: the new range is what `stats` reports.
    let out = cli(
        &sb,
        &url,
        &[
            "worker",
            "autoscale",
            "auto@localhost",
            "5",
            "2",
            "--yes",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert_eq!(
        json_of(&out)["answers"]["auto@localhost"]["ok"],
        "autoscale now max=5 min=2"
    );
    let stats = json_of(&cli(
        &sb,
        &url,
        &["worker", "inspect", "auto@localhost", "stats", "--json"],
    ));
    assert_eq!(stats["replies"]["auto@localhost"]["autoscaler"]["max"], 5);
    assert_eq!(stats["replies"]["auto@localhost"]["autoscaler"]["min"], 2);

    // Consumers: a message on `spare` waits until a worker is told to consume it.
    drop(auto);
    send_task(&url, "thinking.add", "[1, 1]", None, Some("spare"));
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        redis.cli(&["llen", "spare"]).trim(),
        "1",
        "nobody consumes spare yet"
    );
    let out = cli(
        &sb,
        &url,
        &[
            "worker",
            "consumer",
            "plain@localhost",
            "add",
            "spare",
            "--yes",
        ],
    );
    assert!(
        text(&out.stdout).contains("ok: add consumer spare"),
        "{}",
        text(&out.stdout)
    );
    wait_until("plain takes the spare message", 20, || {
        plain.runs().iter().filter(|r| *r == "thinking.add").count() == 1
    });
    let out = cli(
        &sb,
        &url,
        &[
            "worker",
            "consumer",
            "plain@localhost",
            "cancel",
            "spare",
            "--yes",
        ],
    );
    assert!(text(&out.stdout).contains("no longer consuming from spare"));
    send_task(&url, "thinking.add", "[2, 2]", None, Some("spare"));
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        redis.cli(&["llen", "spare"]).trim(),
        "1",
        "cancelled: the message waits"
    );
    assert_eq!(
        plain.runs().iter().filter(|r| *r == "thinking.add").count(),
        1
    );
}

#[test]
fn rate_and_time_limits_shape_the_real_runs_and_shutdown_ends_the_worker() {
    let sb = Sandbox::new("fleet-limits");
    let redis = RedisServer::start();
    let url = redis.url();
    let mut w = CeleryWorker::start_restartable(&url, &dir(&sb, "w"), "w@localhost");
    wait_for_pong(&sb, &url, "w@localhost");

    // 20 a minute: one every 3 s. Three marks sent at once run 3 s apart.
    let out = cli(
        &sb,
        &url,
        &[
            "worker",
            "rate-limit",
            "all",
            "thinking.mark",
            "20/m",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("w@localhost: ok: new rate limit set successfully"));
    for token in ["a", "b", "c"] {
        send_task(&url, "thinking.mark", &format!("[\"{token}\"]"), None, None);
    }
    wait_until("three marks ran", 30, || {
        w.runs()
            .iter()
            .filter(|r| r.starts_with("thinking.mark "))
            .count()
            == 3
    });
    let mut at: Vec<f64> = w
        .runs()
        .iter()
        .filter(|r| r.starts_with("thinking.mark "))
        .map(|r| r.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    at.sort_by(f64::total_cmp);
    assert!(
        at[1] - at[0] >= 2.0 && at[2] - at[1] >= 2.0,
        "runs at {at:?}"
    );

    // Limits of 1 s (soft) and 2 s (hard) stop a task that sleeps for 30. Celery 5.7 reads a task type's
    // limits when the worker builds its request class, so the new ones apply once the pool
    // restarts; the command says so.
    let out = cli(
        &sb,
        &url,
        &[
            "worker",
            "time-limit",
            "w@localhost",
            "thinking.sleep",
            "1",
            "2",
            "--yes",
        ],
    );
    assert!(
        text(&out.stdout).contains("ok: time limits set successfully"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("pool-restart"),
        "{}",
        text(&out.stderr)
    );
    let out = cli(
        &sb,
        &url,
        &["worker", "pool-restart", "w@localhost", "--yes"],
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("ok: reload started"),
        "{}",
        text(&out.stdout)
    );
    send_task(&url, "thinking.sleep", "[30]", None, None);
    // The soft limit raises SoftTimeLimitExceeded in the task after 1 s: it ends, 29 s early.
    let err = || std::fs::read_to_string(sb.path("w/worker.err")).unwrap_or_default();
    // Two processes log it (the main one, the pool's): wait for both lines.
    wait_until("the task is stopped by its time limit", 20, || {
        let e = err();
        e.contains("Soft time limit (1.0s) exceeded for thinking.sleep")
            && e.contains("raised unexpected: SoftTimeLimitExceeded")
    });

    // Shutdown wants the worker's name typed; --yes for scripts. The process ends.
    let out = cli(&sb, &url, &["worker", "shutdown", "all", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "shutdown never goes to all");
    let out = cli(&sb, &url, &["worker", "shutdown", "w@localhost", "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until("the worker process ends", 20, || w.ended());
    let out = cli(&sb, &url, &["worker", "inspect", "w@localhost", "ping"]);
    assert!(text(&out.stdout).contains("did not answer"));
    let trail = text(&cli(&sb, &url, &["audit", "--json"]).stdout);
    for said in [
        "all workers rate_limit",
        "w@localhost time_limit",
        "\"action\": \"shutdown\"",
        "w@localhost: ok: reload started",
    ] {
        assert!(trail.contains(said), "{said} audited: {trail}");
    }
}

/// The messages waiting in each of a queue's four sub-queues, oldest last.
fn lists(redis: &RedisServer, queue: &str) -> Vec<Vec<String>> {
    ["", "\x06\x163", "\x06\x166", "\x06\x169"]
        .iter()
        .map(|s| {
            redis
                .cli(&["lrange", &format!("{queue}{s}"), "0", "-1"])
                .lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        })
        .collect()
}

#[test]
fn purge_removes_exactly_the_queue_across_its_priorities_and_nothing_else() {
    let sb = Sandbox::new("fleet-purge");
    let redis = RedisServer::start();
    let url = redis.url();
    for p in [0u8, 3, 6, 9] {
        for name in ["thinking.add", "thinking.fail"] {
            send_task(&url, name, "[1, 2]", Some(p), Some("thinking"));
        }
    }
    send_task(&url, "thinking.add", "[1, 2]", None, Some("judging"));
    let before = lists(&redis, "thinking");
    assert!(before.iter().all(|l| l.len() == 2), "{before:?}");
    // Only one task's messages: the others stay, in their order.
    let out = cli(
        &sb,
        &url,
        &[
            "queue",
            "purge",
            "thinking",
            "--task",
            "thinking.fail",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("removed 4 (priority 0: 1, 3: 1, 6: 1, 9: 1)"),
        "{}",
        text(&out.stdout)
    );
    let kept = lists(&redis, "thinking");
    for (b, k) in before.iter().zip(&kept) {
        let expect: Vec<_> = b
            .iter()
            .filter(|m| m.contains("thinking.add"))
            .cloned()
            .collect();
        assert_eq!(k, &expect);
    }
    // Without a terminal and without --yes, nothing is done.
    let out = cli(&sb, &url, &["queue", "purge", "thinking"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("pass --yes"));
    let out = cli(&sb, &url, &["queue", "purge", "thinking", "--yes"]);
    assert!(
        text(&out.stdout).contains("removed 4"),
        "{}",
        text(&out.stdout)
    );
    assert!(lists(&redis, "thinking").iter().all(Vec::is_empty));
    assert_eq!(
        redis.cli(&["llen", "judging"]).trim(),
        "1",
        "other queues untouched"
    );
    let trail = text(&cli(&sb, &url, &["audit"]).stdout);
    assert!(
        trail.contains("purge") && trail.contains("removed 4"),
        "{trail}"
    );
}

#[test]
fn a_move_killed_half_way_loses_nothing_and_doubles_nothing() {
    let sb = Sandbox::new("fleet-move");
    let redis = RedisServer::start();
    let url = redis.url();
    // 30 000 messages in `from`, in two priorities.
    let fill = "for i=1,20000 do redis.call('LPUSH', KEYS[1], '{\"headers\":{\"task\":\"t.a\"},\"n\":' .. i .. '}') end \
                for i=1,10000 do redis.call('LPUSH', KEYS[2], '{\"headers\":{\"task\":\"t.b\"},\"n\":' .. i .. '}') end";
    redis.cli(&["eval", fill, "2", "from", "from\x06\x166"]);
    let all_before: std::collections::BTreeSet<String> =
        lists(&redis, "from").concat().into_iter().collect();
    assert_eq!(all_before.len(), 30_000);
    let mut mover = std::process::Command::new(common::BIN)
        .args(["--redis", &url, "queue", "move", "from", "to", "--yes"])
        .env("XDG_CONFIG_HOME", sb.path("config"))
        .env("XDG_DATA_HOME", sb.path("data"))
        .env("XDG_STATE_HOME", sb.path("state"))
        .spawn()
        .unwrap();
    wait_until("the move has begun", 20, || {
        redis.cli(&["llen", "to"]).trim() != "0"
    });
    mover.kill().unwrap(); // SIGKILL, mid-way
    mover.wait().unwrap();
    let (from, to) = (lists(&redis, "from").concat(), lists(&redis, "to").concat());
    assert!(!from.is_empty() || !to.is_empty());
    let mut after: Vec<String> = from.into_iter().chain(to).collect();
    assert_eq!(after.len(), 30_000, "nothing lost, nothing doubled");
    after.sort();
    assert_eq!(
        after.into_iter().collect::<std::collections::BTreeSet<_>>(),
        all_before
    );
    // Finished by a second run; each priority lands in its own sub-queue, in order.
    let out = cli(&sb, &url, &["queue", "move", "from", "to", "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let to = lists(&redis, "to");
    assert_eq!((to[0].len(), to[2].len()), (20_000, 10_000));
    assert!(lists(&redis, "from").iter().all(Vec::is_empty));
    // Only one task's messages move back.
    let out = cli(
        &sb,
        &url,
        &[
            "queue", "move", "to", "from", "--task", "t.b", "--yes", "--json",
        ],
    );
    let v = json_of(&out);
    assert_eq!(v["total"].as_u64(), Some(10_000), "{v}");
    assert_eq!(v["moved"]["6"].as_u64(), Some(10_000), "{v}");
    assert_eq!(lists(&redis, "to")[0].len(), 20_000);
}

#[test]
fn retry_of_a_failed_task_runs_it_again_once_under_a_new_id() {
    let sb = Sandbox::new("fleet-retry");
    let redis = RedisServer::start();
    let url = redis.url();
    let w = CeleryWorker::start(&url, true, &dir(&sb, "w"));
    let out = cli(&sb, &url, &["dispatch", "thinking", "thinking.fail"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    wait_until("the task failed once", 30, || w.runs() == ["thinking.fail"]);
    let out = cli(&sb, &url, &["task", "retry", &id, "--yes"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let said = text(&out.stdout);
    assert!(
        said.contains(&id) && said.contains("its exact message, from the store"),
        "{said}"
    );
    let new_id = said
        .split(" → ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(new_id, id);
    wait_until("it ran again", 30, || w.runs().len() == 2);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(w.runs(), ["thinking.fail", "thinking.fail"], "again, once");
    let trail = text(&cli(&sb, &url, &["audit", "--json"]).stdout);
    assert!(
        trail.contains(&format!("{id}→{new_id}")),
        "old and new linked: {trail}"
    );
    // A task no control room kept is refused from the shell, in words.
    let out = cli(
        &sb,
        &url,
        &[
            "task",
            "retry",
            "00000000-0000-0000-0000-000000000000",
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("not sent: its name is unknown"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn read_only_and_the_demo_refuse_every_fleet_command_in_words() {
    let sb = Sandbox::new("fleet-refuse");
    let redis = RedisServer::start();
    let url = redis.url();
    let commands: [&[&str]; 10] = [
        &["worker", "pool", "w@h", "grow", "1", "--yes"],
        &["worker", "autoscale", "w@h", "3", "1", "--yes"],
        &["worker", "consumer", "w@h", "add", "q", "--yes"],
        &["worker", "rate-limit", "all", "t", "1/s", "--yes"],
        &["worker", "time-limit", "all", "t", "1", "2", "--yes"],
        &["worker", "pool-restart", "w@h", "--yes"],
        &["worker", "shutdown", "w@h", "--yes"],
        &["task", "retry", "some-id", "--yes"],
        &["queue", "purge", "thinking", "--yes"],
        &["queue", "move", "a", "b", "--yes"],
    ];
    redis.cli(&["lpush", "thinking", "kept"]);
    for mode in ["--read-only", "--demo"] {
        for c in commands {
            let mut args = vec![mode];
            args.extend_from_slice(c);
            let out = cli(&sb, &url, &args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains("refused:"), "{args:?}: {err}");
            let why = if mode == "--demo" {
                "demo"
            } else {
                "--read-only"
            };
            assert!(err.contains(why), "{args:?}: {err}");
        }
    }
    assert_eq!(redis.cli(&["lrange", "thinking", "0", "-1"]).trim(), "kept");
    assert_eq!(
        redis.cli(&["dbsize"]).trim(),
        "1",
        "nothing else reached Redis"
    );
    let trail = text(&cli(&sb, &url, &["audit"]).stdout);
    assert!(trail.contains("refused: --read-only") && trail.contains("refused: --demo"));
}

/// The TUI: the worker detail asks the selected worker, and an order reaches that worker and
/// no other; shutdown wants the worker's own name typed, and a wrong name sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tui_asks_and_commands_only_the_selected_worker() {
    use chavion_tui::app::state::{Mode, View};
    use crossterm::event::KeyCode;
    let sb = Sandbox::new("fleet-tui");
    let redis = RedisServer::start();
    let url = redis.url();
    let a = CeleryWorker::start_with(&url, &dir(&sb, "a"), "a@localhost", false, &["-c", "2"]);
    let mut b = CeleryWorker::start_with(&url, &dir(&sb, "b"), "b@localhost", false, &["-c", "2"]);
    let mut room = common::room::Room::start(&url, "", false);
    room.until("both workers", |s| {
        s.workers.contains_key("a@localhost") && s.workers.contains_key("b@localhost")
    })
    .await;
    wait_until("both pools up", 20, || {
        pool_size(a.pid()) == 2 && pool_size(b.pid()) == 2
    });
    room.key(KeyCode::Char('w')).await;
    assert_eq!(room.state.ui.view, View::Workers);
    assert_eq!(room.state.ui.worker_pick.as_deref(), Some("a@localhost"));
    room.key(KeyCode::Down).await;
    assert_eq!(room.state.ui.worker_pick.as_deref(), Some("b@localhost"));
    room.key(KeyCode::Enter).await;
    assert_eq!(room.state.ui.mode, Mode::WorkerDetail);
    room.until("b's detail", |s| {
        s.inspected
            .get("b@localhost")
            .is_some_and(|i| i.at.is_some())
    })
    .await;
    let d = &room.state.inspected["b@localhost"].detail;
    assert_eq!((d.concurrency, d.processes.len()), (Some(2), 2));
    assert!(d.queues.iter().any(|q| q.name == "thinking"));
    assert!(
        !room.state.inspected.contains_key("a@localhost"),
        "a was not asked"
    );

    room.command("pool grow 1").await;
    room.until("b's answer", |s| {
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("b@localhost: ok: pool will grow"))
    })
    .await;
    wait_until("b's pool grows", 20, || pool_size(b.pid()) == 3);
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(pool_size(a.pid()), 2, "a was not aimed at");

    // Shutdown: a wrong name sends nothing; b's own name does.
    room.key(KeyCode::Char(':')).await;
    room.keys("shutdown").await;
    room.key(KeyCode::Enter).await;
    assert!(matches!(room.state.ui.mode, Mode::ConfirmOrder(_)));
    room.keys("a@localhost").await;
    room.key(KeyCode::Enter).await;
    let Mode::ConfirmOrder(p) = &room.state.ui.mode else {
        panic!("the dialog stays open on a wrong name")
    };
    assert!(
        p.wrong
            .as_deref()
            .is_some_and(|w| w.contains("is not `b@localhost`"))
    );
    room.key(KeyCode::Esc).await;
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(!b.ended(), "nothing was sent");
    room.key(KeyCode::Char(':')).await;
    room.keys("shutdown").await;
    room.key(KeyCode::Enter).await;
    room.keys("b@localhost").await;
    room.key(KeyCode::Enter).await;
    wait_until("b ends", 20, || b.ended());
    assert!(pool_size(a.pid()) == 2, "a still runs");
}

/// Bulk retry from the TUI: fifty failed tasks, picked by a filter, run once more each,
/// rebuilt from the args their events showed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_retry_of_fifty_failed_tasks_runs_fifty() {
    use crossterm::event::KeyCode;
    let sb = Sandbox::new("fleet-bulk");
    let redis = RedisServer::start();
    let url = redis.url();
    let w = CeleryWorker::start(&url, true, &dir(&sb, "w"));
    let mut room = common::room::Room::start(&url, "", false);
    room.until("the worker", |s| !s.workers.is_empty()).await;
    let out = std::process::Command::new(common::servers::python())
        .args(["client.py", "thinking.fail", "[]", "--count", "50"])
        .current_dir(common::servers::peers_dir())
        .env("CHAVION_BROKER", &url)
        .output()
        .unwrap();
    assert!(out.status.success());
    room.until("fifty failures", |s| {
        s.tasks
            .by_id
            .values()
            .filter(|t| t.state == chavion_tui::platform::model::TaskEventKind::Failed)
            .count()
            == 50
    })
    .await;
    // The Issues view's group: what is failing, since when, and where.
    let groups = chavion_tui::app::model::failures::groups(&room.state);
    assert_eq!(groups.len(), 1, "{groups:?}");
    let g = &groups[0];
    assert_eq!(
        (g.name.as_str(), g.exception.as_str()),
        ("thinking.fail", "RuntimeError")
    );
    assert_eq!((g.total, g.in_window), (50, 50));
    assert_eq!(g.workers, vec![("thinking@localhost".to_string(), 50)]);
    assert!(g.sample.contains("planned failure"), "{}", g.sample);
    assert!(!g.recovered);
    room.key(KeyCode::Char(':')).await;
    room.keys("retry state:fail name:thinking.fail").await;
    room.key(KeyCode::Enter).await;
    let chavion_tui::app::state::Mode::ConfirmOrder(p) = &room.state.ui.mode else {
        panic!("a bulk retry asks first")
    };
    assert_eq!(p.typed_word.as_deref(), Some("50"), "the count is typed");
    assert!(
        p.lines.iter().any(|l| l.contains("and 45 more")),
        "{:?}",
        p.lines
    );
    room.keys("50").await;
    room.key(KeyCode::Enter).await;
    room.until("the retries' report", |s| {
        s.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("retry 50 tasks: 50 ok"))
    })
    .await;
    wait_until("a hundred runs", 60, || w.runs().len() == 100);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(w.runs().len(), 100, "fifty again, once each");
    assert!(
        room.state
            .activity
            .lines
            .iter()
            .any(|l| l.message.contains("rebuilt from its name, args and kwargs")),
        "said how each was found"
    );
}

/// `task retry --filter` from the shell: among the dispatches kept in the store, those the
/// result backend says failed, picked by the Tasks view's syntax.
#[test]
fn the_shell_retries_the_failed_dispatches_a_filter_picks() {
    let sb = Sandbox::new("fleet-retry-filter");
    let redis = RedisServer::start();
    let url = redis.url();
    let backend = url.replace("/0", "/1");
    let w = CeleryWorker::start_with_backend(&url, &backend, &dir(&sb, "w"));
    let config = sb.path("config/chavion-tui/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!("[celery]\nresult_backend = \"{backend}\"\n"),
    )
    .unwrap();
    for task in ["thinking.fail", "thinking.fail", "thinking.add"] {
        let args = if task == "thinking.add" { "[1, 2]" } else { "" };
        let out = cli(&sb, &url, &["dispatch", "thinking", task, "--args", args]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    wait_until("three ran", 30, || w.runs().len() == 3);
    // The result backend (db 1) holds a result for each task that ended.
    let results_kept = |n: usize| {
        wait_until("their results are kept", 10, || {
            redis
                .cli(&["-n", "1", "keys", "celery-task-meta-*"])
                .lines()
                .count()
                == n
        })
    };
    results_kept(3);
    let out = cli(
        &sb,
        &url,
        &["task", "retry", "--filter", "name:nosuch", "--yes"],
    );
    assert!(text(&out.stdout).contains("no failed or revoked dispatch matches"));
    let out = cli(
        &sb,
        &url,
        &["task", "retry", "--filter", "colour:red", "--yes"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not a field"),
        "{}",
        text(&out.stderr)
    );
    let out = cli(
        &sb,
        &url,
        &[
            "task",
            "retry",
            "--filter",
            "name:thinking",
            "--yes",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let v = json_of(&out);
    let retried = v["retried"].as_array().unwrap();
    assert_eq!(retried.len(), 2, "{v}");
    assert!(
        retried
            .iter()
            .all(|r| r["source"] == "store" && r["new_id"] != r["id"]),
        "{v}"
    );
    wait_until("the two failed ones ran again", 30, || w.runs().len() == 5);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let runs = w.runs();
    assert_eq!(
        runs.iter().filter(|r| *r == "thinking.fail").count(),
        4,
        "{runs:?}"
    );
    assert_eq!(
        runs.iter().filter(|r| *r == "thinking.add").count(),
        1,
        "{runs:?}"
    );

    // Issue 27: the same filter again picks only the newest of each chain, the two retries,
    // not their originals too (one failure would run three times); the originals are said
    // to be left out.
    let first: Vec<String> = retried
        .iter()
        .map(|r| r["new_id"].as_str().unwrap().to_string())
        .collect();
    results_kept(5);
    let retry = |extra: &[&str]| {
        let mut args = vec![
            "task",
            "retry",
            "--filter",
            "name:thinking",
            "--yes",
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = cli(&sb, &url, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        (json_of(&out), text(&out.stderr))
    };
    let (v, said) = retry(&[]);
    let mut again: Vec<String> = v["retried"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    again.sort();
    let mut newest = first.clone();
    newest.sort();
    assert_eq!(again, newest, "only the newest of each chain: {v}");
    assert_eq!(said.matches("already retried as").count(), 2, "{said}");
    wait_until("the newest ran again", 30, || w.runs().len() == 7);
    results_kept(7);
    // Asked otherwise, every failure of every chain is sent.
    let (v, _) = retry(&["--include-retried"]);
    assert_eq!(v["retried"].as_array().unwrap().len(), 6, "{v}");
}

/// Retry from kombu's `unacked`: a task waiting on its ETA is held there by the worker that
/// took it; a worker killed then leaves it there (a task no control room dispatched). The
/// shell sends that exact message again under a new id, to run now.
#[test]
fn a_message_left_in_unacked_is_retried_exactly_under_a_new_id() {
    let sb = Sandbox::new("fleet-unacked");
    let redis = RedisServer::start();
    let url = redis.url();
    let mut w = CeleryWorker::start(&url, true, &dir(&sb, "w1"));
    let out = std::process::Command::new(common::servers::python())
        .args([
            "-c",
            "from peerapp import app; print(app.send_task('thinking.add', args=[2, 3], queue='thinking', countdown=600).id)",
        ])
        .current_dir(common::servers::peers_dir())
        .env("CHAVION_BROKER", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    wait_until("the worker holds it, waiting on its ETA", 30, || {
        redis.cli(&["hgetall", "unacked"]).contains(&id)
    });
    // SIGKILL the worker and its pool: nothing acks, nothing gives the message back.
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", w.pid())])
        .status();
    wait_until("the worker is gone", 10, || w.ended());
    let out = cli(&sb, &url, &["task", "retry", &id, "--yes", "--json"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let v = json_of(&out);
    let r = &v["retried"][0];
    assert_eq!(
        (r["id"].as_str(), r["source"].as_str()),
        (Some(id.as_str()), Some("unacked")),
        "{v}"
    );
    let new_id = r["new_id"].as_str().unwrap().to_string();
    // The exact message, its ids changed and its ETA dropped, waits in the queue.
    let queued = redis.cli(&["lrange", "thinking", "0", "-1"]);
    let msg: serde_json::Value = serde_json::from_str(queued.trim()).unwrap();
    assert_eq!(msg["headers"]["id"], new_id.as_str());
    assert_eq!(msg["headers"]["task"], "thinking.add");
    assert_eq!(msg["headers"]["eta"], serde_json::Value::Null);
    assert_eq!(msg["headers"]["argsrepr"], "[2, 3]", "{msg}");
    // A new worker runs it now, not in ten minutes.
    let w2 = CeleryWorker::start(&url, true, &dir(&sb, "w2"));
    wait_until("the retry runs", 30, || {
        w2.runs().contains(&"thinking.add".to_string())
    });
}
