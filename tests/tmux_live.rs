//! The real binary in tmux against a real redis-server and a real Celery 5.7 worker: what an
//! operator sees when the platform is live, when Redis dies, and when it comes back.

mod common;

use common::servers::{CeleryWorker, RedisServer, send_task};
use common::{Sandbox, run_in_tmux};

/// The operator's config.toml in the sandbox: Redis at `redis`, its row in the port map, and
/// `celery` settings.
fn write_config(sb: &Sandbox, redis: &RedisServer, celery: &str) {
    let dir = sb.path("config/chavion-tui");
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "[redis]\nurl = \"{}\"\n[celery]\n{celery}\n[[ports]]\nname = \"Redis\"\nport = {}\n",
        redis.url(),
        redis.port
    );
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

#[test]
fn a_live_worker_shows_in_the_tui_and_a_dead_redis_is_shown_then_recovered() {
    let sb = Sandbox::new("live");
    let mut redis = RedisServer::start();
    write_config(&sb, &redis, "enable_events_secs = 1\nsample_ms = 250\n");
    let (tmux, _) = run_in_tmux("live", &sb, 120, 32, "");
    tmux.wait_for("the Redis feed up", |s| {
        s.contains("● redis") && s.contains("● queues")
    });

    let worker = CeleryWorker::start(&redis.url(), true, &sb.dir);
    tmux.wait_for("the worker online in the log", |s| {
        s.contains("worker thinking@localhost online")
    });
    let id = send_task(&redis.url(), "thinking.sleep", "[4]", None, None);
    // Every expectation inside the wait: a capture can land mid-frame.
    tmux.wait_for("the THINKING tile busy with the task", |s| {
        s.contains("▶ busy") && s.lines().any(|l| l.contains("thinking.sleep ["))
    });

    tmux.send(&["t"]);
    tmux.wait_for("the task in the Tasks view", |s| {
        s.contains("Tasks 1 of 1")
            && s.contains(&id[..8])
            && s.contains("thinking.sleep")
            && s.contains("THINKING")
    });
    tmux.wait_for("the task done", |s| s.contains("SUCCESS"));
    tmux.send(&["t"]);

    redis.kill();
    tmux.wait_for("Redis shown down, and the loss in the log", |s| {
        s.contains("○ redis")
            && s.contains("link down")
            && s.lines()
                .any(|l| l.contains(&format!("127.0.0.1:{}", redis.port)) && l.contains("DOWN"))
    });
    redis.restart();
    tmux.wait_for("the feed back", |s| {
        s.contains("● redis") && s.contains("● queues")
    });
    drop(worker);

    tmux.send(&["q"]);
    let after = tmux.wait_for("exit", common::exited);
    assert!(
        after.contains("EXIT=0") && common::cooked(&after),
        "{after}"
    );
}

#[test]
fn a_dispatch_from_the_tui_shows_its_result_in_the_tasks_view() {
    let sb = Sandbox::new("tui-dispatch");
    let redis = RedisServer::start();
    write_config(&sb, &redis, "");
    let worker = CeleryWorker::start(&redis.url(), true, &sb.dir);
    let (tmux, _) = run_in_tmux("tui-dispatch", &sb, 120, 36, "");
    tmux.wait_for("the worker online", |s| {
        s.contains("worker thinking@localhost online")
    });

    tmux.send(&[":"]);
    tmux.send(&["-l", "dispatch thinking thinking.add [2, 40]"]);
    tmux.send(&["Enter"]);
    // Wait for the whole dialog, not its first line: a capture can land mid-frame.
    tmux.wait_for("the confirmation with the exact message", |s| {
        s.contains("Confirm dispatch")
            && s.contains("LPUSH thinking")
            && s.contains("\"task\": \"thinking.add\"")
    });
    tmux.send(&["y"]);
    tmux.wait_for("the dispatch flashed", |s| {
        s.contains("dispatched thinking.add")
    });
    tmux.send(&["t"]);
    tmux.wait_for("the task succeeded in the Tasks view", |s| {
        s.lines()
            .any(|l| l.contains("SUCCESS") && l.contains("thinking.add"))
    });
    tmux.send(&["Enter"]);
    tmux.wait_for("the worker's real result in the task's detail", |s| {
        s.lines().any(|l| l.contains("result") && l.contains("42"))
    });
    assert_eq!(worker.runs(), ["thinking.add"]);
    // Esc and q sent together would read as Alt-q: wait for the overlay to close first.
    tmux.send(&["Escape"]);
    tmux.wait_for("the detail closed", |s| !s.contains("exception"));
    tmux.send(&["q"]);
    tmux.wait_for("exit", common::exited);

    // The same action is in the audit trail, with who did it.
    let out = sb.cmd(&["audit", "--json"]);
    let records: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(records[0]["action"], "dispatch", "{records}");
    assert_eq!(records[0]["target"], "THINKING thinking.add");
    assert_eq!(records[0]["outcome"], "sent");
}

#[test]
fn the_activity_pane_is_refilled_from_the_store_after_a_restart() {
    let sb = Sandbox::new("history");
    let redis = RedisServer::start();
    write_config(&sb, &redis, "");
    let (tmux, _) = run_in_tmux("history-1", &sb, 120, 30, "");
    tmux.wait_for("the feed up", |s| s.contains("● redis"));
    redis.publish(
        "chavion:activity",
        br#"{"level":"warn","source":"JUDGING","message":"remember me across restarts"}"#,
    );
    tmux.wait_for("the line", |s| s.contains("remember me across restarts"));
    // No pause before quitting: the last batch is written on the way out.
    tmux.send(&["q"]);
    tmux.wait_for("exit", common::exited);
    drop(tmux);

    let (again, _) = run_in_tmux("history-2", &sb, 120, 30, "");
    again.wait_for("the old line, read back from the store", |s| {
        s.lines()
            .any(|l| l.contains("remember me across restarts") && l.contains("JUDGING"))
    });
    again.send(&["q"]);
    again.wait_for("exit", common::exited);
}

#[test]
fn the_first_frame_does_not_wait_for_an_audit_store_that_hangs() {
    let sb = Sandbox::new("store-hangs");
    let redis = RedisServer::start();
    write_config(&sb, &redis, "");
    // A PostgreSQL port that accepts the connection and then never says a word: the store's
    // open can only end at its connect timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "postgres://chavion:hunter2@127.0.0.1:{}/audit",
        silent.local_addr().unwrap().port()
    );
    let (tmux, _) = run_in_tmux("store-hangs", &sb, 200, 40, &format!("--store {url}"));
    let first = tmux.wait_for("the dashboard, its feeds already up", |s| {
        s.contains("THINKING") && s.contains("● redis")
    });
    assert!(
        !first.contains("audit store"),
        "drawn and live while the store was still opening:\n{first}"
    );
    let later = tmux.wait_for("why there is no store, once it gave up", |s| {
        s.contains("cannot open the audit store")
    });
    assert!(
        !later.contains("hunter2"),
        "the password is redacted:\n{later}"
    );
    tmux.send(&["q"]);
    tmux.wait_for("exit", common::exited);
    drop(silent);
}

/// Issue 16 through the real binary: a worker's detail from the pidbox, an order to it with
/// its answer on screen, and a failed task retried with `R`.
#[test]
fn the_workers_detail_an_order_and_a_retry_from_the_keyboard() {
    let sb = Sandbox::new("tui-fleet");
    let redis = RedisServer::start();
    write_config(&sb, &redis, "enable_events_secs = 1\n");
    let worker = CeleryWorker::start_with(
        &redis.url(),
        &sb.dir,
        "thinking@localhost",
        true,
        &["-c", "2"],
    );
    let (tmux, _) = run_in_tmux("tui-fleet", &sb, 120, 40, "");
    tmux.wait_for("the worker online", |s| {
        s.contains("worker thinking@localhost online")
    });
    tmux.send(&["w"]);
    tmux.send(&["Enter"]);
    tmux.wait_for("its detail, as the worker said it", |s| {
        s.contains("Worker thinking@localhost")
            && s.contains("celery.concurrency.prefork:TaskPool")
            && s.contains("queues consumed (1)")
            && s.contains("thinking.sleep")
    });
    tmux.send(&[":", "pool grow 1", "Enter"]);
    tmux.wait_for("the confirmation", |s| {
        s.contains("thinking@localhost: grow the pool by 1")
    });
    tmux.send(&["y"]);
    tmux.wait_for("the worker's answer", |s| {
        s.contains("thinking@localhost: ok: pool will grow")
    });
    tmux.send(&["Escape"]);
    send_task(&redis.url(), "thinking.fail", "[]", None, None);
    tmux.send(&["t"]);
    tmux.wait_for("the failure", |s| s.contains("FAILURE"));
    tmux.send(&["R"]);
    tmux.wait_for("the retry's confirmation", |s| {
        s.contains("retry ") && s.contains("under a new id")
    });
    tmux.send(&["y"]);
    // The retry is a new task (a new id) in the list; the status bar may be too full of
    // link states to show the flash, so the rows say it.
    tmux.wait_for("the retry in the Tasks view", |s| {
        s.lines()
            .filter(|l| l.contains("thinking.fail") && l.contains("THINKING"))
            .count()
            == 2
    });
    common::servers::wait_until("it ran again", 20, || {
        worker
            .runs()
            .iter()
            .filter(|r| *r == "thinking.fail")
            .count()
            == 2
    });
    tmux.send(&["q"]);
    let after = tmux.wait_for("exit", common::exited);
    assert!(
        after.contains("EXIT=0") && common::cooked(&after),
        "{after}"
    );
}
