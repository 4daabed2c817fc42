//! Dispatch against a real redis-server and a real Celery 5.7 worker, from the shell, the
//! way an operator or a script would: the same code path and audit record as the TUI.

mod common;

use std::process::Output;

use chavion_tui::actions::dispatch::{self, Target, drain_outbox, push_once};
use chavion_tui::platform::wire::TaskRequest;
use chavion_tui::store::Store;
use common::Sandbox;
use common::room::Room;
use common::servers::{CeleryWorker, RedisServer};

fn cli(sb: &Sandbox, redis: &str, args: &[&str]) -> Output {
    let store = sb.path("audit.db");
    let mut all = vec!["--redis", redis, "--store", store.to_str().unwrap()];
    all.extend_from_slice(args);
    sb.cmd(&all)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ok() {
        assert!(std::time::Instant::now() < deadline, "never saw {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn dispatch_wait_returns_the_workers_real_result_and_is_audited() {
    let sb = Sandbox::new("dispatch-wait");
    let redis = RedisServer::start();
    let worker = CeleryWorker::start(&redis.url(), true, &sb.dir);
    let out = cli(
        &sb,
        &redis.url(),
        &[
            "dispatch",
            "thinking",
            "thinking.add",
            "--args",
            "[2, 40]",
            "--wait",
            "--timeout",
            "60",
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout {stdout} stderr {}",
        text(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0].len(), 36, "the task id first: {stdout}");
    assert_eq!(lines[1], "42", "then the worker's real result");

    let out = cli(
        &sb,
        &redis.url(),
        &[
            "dispatch",
            "THINKING",
            "thinking.fail",
            "--wait",
            "--timeout",
            "60",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "a failed task exits non-zero");
    assert!(
        text(&out.stdout).contains("RuntimeError('planned failure')"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(worker.runs(), ["thinking.add", "thinking.fail"]);

    let out = cli(&sb, &redis.url(), &["audit", "--json"]);
    let records: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["action"], "dispatch");
    assert_eq!(records[0]["target"], "THINKING thinking.add");
    assert_eq!(records[0]["outcome"], "sent");
    assert_eq!(records[0]["digest"].as_str().unwrap().len(), 64);
    assert!(
        records[0]["detail"].as_str().unwrap().contains(lines[0]),
        "the record names the task id"
    );
    let table = text(&cli(&sb, &redis.url(), &["audit", "--since", "1h"]).stdout);
    assert!(
        table.contains("dispatch") && table.contains("THINKING thinking.fail"),
        "{table}"
    );
}

#[test]
fn a_timeout_exits_124() {
    let sb = Sandbox::new("dispatch-timeout");
    let redis = RedisServer::start();
    let out = cli(
        &sb,
        &redis.url(),
        &[
            "dispatch",
            "judging",
            "judging.risk_score",
            "--wait",
            "--timeout",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no result after 1 s"));
}

#[test]
fn priorities_land_in_the_right_sub_queue_and_an_unmodified_worker_runs_them() {
    let sb = Sandbox::new("dispatch-prio");
    let redis = RedisServer::start();
    for p in ["0", "4", "7", "9"] {
        let out = cli(
            &sb,
            &redis.url(),
            &[
                "dispatch",
                "thinking",
                "thinking.add",
                "--args",
                "[1, 1]",
                "--priority",
                p,
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let llen = |k: &str| redis.cli(&["llen", k]).trim().parse::<u64>().unwrap();
    assert_eq!(
        [
            llen("thinking"),
            llen("thinking\x06\x163"),
            llen("thinking\x06\x166"),
            llen("thinking\x06\x169")
        ],
        [1, 1, 1, 1]
    );
    let worker = CeleryWorker::start(&redis.url(), false, &sb.dir);
    wait_for("the worker to run all four", || worker.runs().len() == 4);
    assert!(worker.runs().iter().all(|r| r == "thinking.add"));
}

#[test]
fn invalid_json_is_refused_with_its_position() {
    let sb = Sandbox::new("dispatch-json");
    let out = cli(
        &sb,
        "redis://127.0.0.1:1/0",
        &["dispatch", "thinking", "thinking.plan", "--args", "[1, 2,]"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim(),
        "chavion-tui: refused: args: invalid JSON at line 1, column 7: trailing comma"
    );
    let out = cli(&sb, "redis://127.0.0.1:1/0", &["dispatch", "nobody", "x.y"]);
    assert!(
        text(&out.stderr).contains(
            "no agent `nobody`; agents: COGNITIVE, THINKING, JUDGING, EXECUTING, EVOLVING"
        )
    );
}

#[test]
fn read_only_refuses_and_the_refusal_is_audited() {
    let sb = Sandbox::new("dispatch-ro");
    let redis = RedisServer::start();
    let out = cli(
        &sb,
        &redis.url(),
        &["--read-only", "dispatch", "thinking", "thinking.plan"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(
        "refused: dispatching a task is disabled because chavion-tui was started with --read-only"
    ));
    assert_eq!(redis.cli(&["llen", "thinking"]).trim(), "0");
    let records: serde_json::Value =
        serde_json::from_slice(&cli(&sb, &redis.url(), &["audit", "--json"]).stdout).unwrap();
    assert_eq!(records[0]["outcome"], "refused: --read-only");
}

#[test]
fn with_redis_down_it_waits_in_the_outbox_and_runs_exactly_once_after_the_restart() {
    let sb = Sandbox::new("dispatch-outbox");
    let mut redis = RedisServer::start();
    let url = redis.url();
    redis.kill();
    let out = cli(
        &sb,
        &url,
        &["dispatch", "thinking", "thinking.add", "--args", "[20, 22]"],
    );
    assert_eq!(out.status.code(), Some(75), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    assert!(
        text(&out.stderr).contains("queued locally"),
        "{}",
        text(&out.stderr)
    );

    redis.restart();
    let worker = CeleryWorker::start(&url, false, &sb.dir);
    // The next dispatch delivers what the outbox holds first, under the same id.
    let out = cli(&sb, &url, &["dispatch", "thinking", "thinking.flaky"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("delivered {id} from the outbox")),
        "{}",
        text(&out.stderr)
    );
    wait_for("both tasks run", || worker.runs().len() >= 3);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        worker
            .runs()
            .iter()
            .filter(|r| *r == "thinking.add")
            .count(),
        1,
        "exactly one execution: {:?}",
        worker.runs()
    );
    // A third dispatch finds nothing left to deliver again.
    let out = cli(
        &sb,
        &url,
        &["dispatch", "thinking", "thinking.plan", "--expires", "1"],
    );
    assert!(
        !text(&out.stderr).contains("from the outbox"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_publishing_and_marking_sent_makes_no_second_copy() {
    let sb = Sandbox::new("dispatch-crash");
    let redis = RedisServer::start();
    let store = Store::open(sb.path("audit.db").to_str().unwrap())
        .await
        .unwrap();
    let target = Target {
        redis_url: redis.url(),
        keyprefix: String::new(),
        celery_prefix: "/0.celeryev/".into(),
        context: "default".into(),
    };
    let req = TaskRequest {
        id: dispatch::new_task_id(),
        name: "thinking.add".into(),
        queue: "thinking".into(),
        args: serde_json::json!([1, 2]),
        kwargs: serde_json::json!({}),
        priority: 0,
        eta: None,
        expires: None,
        origin: "test".into(),
    };
    // What dispatch does, cut short: outbox written, pushed, then "crash" before marking.
    let entry = dispatch::entry(&target, &req);
    store.outbox_put(&entry).await.unwrap();
    let mut conn = chavion_tui::clients::broker::connect(&redis.url())
        .await
        .unwrap();
    assert!(
        push_once(&mut conn, &target, &entry, "thinking")
            .await
            .unwrap(),
        "first push goes through"
    );
    // After the restart the outbox delivers the entry again...
    let again = drain_outbox(&target, &store).await.unwrap();
    assert_eq!(
        again.delivered,
        vec![(req.id.clone(), false)],
        "found already pushed"
    );
    // ...and the queue holds one copy, not two.
    assert_eq!(redis.cli(&["llen", "thinking"]).trim(), "1");
    assert!(
        store
            .outbox_pending(&target.broker_id())
            .await
            .unwrap()
            .is_empty()
    );
    let worker = CeleryWorker::start(&redis.url(), false, &sb.dir);
    wait_for("the run", || worker.runs().len() == 1);
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(worker.runs(), ["thinking.add"]);
}

/// A dispatch a worker popped and lost as Redis died (kombu's BRPOP has taken it, its
/// `unacked` record never landed): popped here by hand, with the worker stopped. The control
/// room finds it neither queued nor held unacked; `redeliver` says whether it may push it
/// again. Returns the room's activity and the second worker's runs.
async fn lost_in_the_broker(tag: &str, redeliver: bool) -> (Vec<String>, Vec<String>, Store) {
    let sb = Sandbox::new(tag);
    let redis = RedisServer::start();
    let store = Store::open(sb.path("audit.db").to_str().unwrap())
        .await
        .unwrap();
    let config = format!(
        "ports = []\nsocketio = []\n[redis]\nurl = \"{}\"\n[celery]\nsample_ms = 200\n\
         enable_events_secs = 1\nlost_after_secs = 5\nredeliver_lost = {redeliver}\n",
        redis.url()
    );
    let mut room = Room::start_full(&config, store.clone());
    std::fs::create_dir_all(sb.path("w1")).unwrap();
    std::fs::create_dir_all(sb.path("w2")).unwrap();
    // Task events flowing: a first dispatch runs on a real worker, which says so.
    let first = CeleryWorker::start(&redis.url(), true, &sb.path("w1"));
    room.command("dispatch thinking thinking.mark [\"first\"]")
        .await;
    // Run to the end, not only received: a worker stopped with the task still in hand would
    // give its message back to the queue as it shuts down.
    room.until("the first dispatch run by the worker", |s| {
        s.own_dispatches.by_id.is_empty()
            && s.tasks.by_id.values().any(|t| {
                t.fields.name.as_deref() == Some("thinking.mark")
                    && t.state == chavion_tui::platform::model::TaskEventKind::Succeeded
            })
    })
    .await;
    drop(first);
    room.command("dispatch thinking thinking.mark [\"second\"]")
        .await;
    assert_eq!(redis.cli(&["llen", "thinking"]).trim(), "1");
    assert!(redis.cli(&["rpop", "thinking"]).contains("second"));
    let said = if redeliver {
        "lost in the broker; pushing it again"
    } else {
        "Dispatch it again if it did not run"
    };
    room.until("the dispatch found lost", |s| {
        s.activity.lines.iter().any(|l| l.message.contains(said))
    })
    .await;
    let second = CeleryWorker::start(&redis.url(), true, &sb.path("w2"));
    if redeliver {
        room.until("the second dispatch reported by the worker", |s| {
            s.own_dispatches.by_id.is_empty()
        })
        .await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while second.runs().is_empty() && std::time::Instant::now() < deadline {
            room.run_for(std::time::Duration::from_millis(200)).await;
        }
        assert!(
            !second.runs().is_empty(),
            "never ran; worker said {}; activity {:#?}",
            std::fs::read_to_string(sb.path("w2/worker.err")).unwrap_or_default(),
            room.state
                .activity
                .lines
                .iter()
                .map(|l| l.message.clone())
                .collect::<Vec<_>>()
        );
    }
    // Past another lost_after_secs: nothing more is pushed.
    room.run_for(std::time::Duration::from_secs(7)).await;
    assert_eq!(redis.cli(&["llen", "thinking"]).trim(), "0");
    let lines = room
        .state
        .activity
        .lines
        .iter()
        .map(|l| l.message.clone())
        .collect();
    let runs = second
        .runs()
        .iter()
        .map(|r| r.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    (lines, runs, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_lost_in_the_broker_is_pushed_again_and_runs_once_when_tasks_are_idempotent() {
    let (lines, runs, store) = lost_in_the_broker("dispatch-lost-again", true).await;
    assert_eq!(runs, ["thinking.mark second"], "{lines:#?}");
    let pushed_again = lines
        .iter()
        .filter(|l| l.contains("pushing it again"))
        .count();
    assert_eq!(pushed_again, 1, "{lines:#?}");
    let audit = store.audit_since(0).await.unwrap();
    let redelivered: Vec<_> = audit.iter().filter(|r| r.action == "redeliver").collect();
    assert_eq!(redelivered.len(), 1, "{audit:#?}");
    assert_eq!(redelivered[0].target, "THINKING thinking.mark");
    assert_eq!(redelivered[0].outcome, "pushed again, same id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_lost_in_the_broker_is_only_reported_by_default() {
    let (lines, runs, store) = lost_in_the_broker("dispatch-lost-said", false).await;
    assert!(runs.is_empty(), "nothing pushed, nothing ran: {runs:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("thinking.mark") && l.contains("neither queued nor held unacked")),
        "{lines:#?}"
    );
    let audit = store.audit_since(0).await.unwrap();
    assert!(audit.iter().all(|r| r.action != "redeliver"), "{audit:#?}");
}

/// Issue 14: a dispatch queued locally for broker A is never delivered to broker B. The
/// shell's dispatch and the TUI's outbox task (`wiring::outbox`) both leave it for A, say so,
/// and `audit --outbox` names A; a control room on A then delivers it, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_row_is_delivered_only_to_the_broker_it_was_confirmed_for() {
    let sb = Sandbox::new("dispatch-aim");
    let mut a = RedisServer::start();
    let url_a = a.url();
    a.kill();
    let out = cli(
        &sb,
        &url_a,
        &["dispatch", "thinking", "tasks.add", "--args", "[4,4]"],
    );
    assert_eq!(out.status.code(), Some(75), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();

    // Broker B: another Redis. The shell's next dispatch there leaves A's row alone.
    let b = RedisServer::start();
    let out = cli(&sb, &b.url(), &["dispatch", "thinking", "thinking.plan"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(!said.contains(&format!("delivered {id}")), "{said}");
    assert!(said.contains("wait for another broker"), "{said}");
    assert!(said.contains(&format!("127.0.0.1:{}/0", a.port)), "{said}");
    assert_eq!(
        b.cli(&["llen", "thinking"]).trim(),
        "1",
        "only B's own dispatch"
    );
    assert!(!b.cli(&["lrange", "thinking", "0", "-1"]).contains(&id));

    // The TUI's outbox task on B: the same, over several of its rounds.
    let store = Store::open(sb.path("audit.db").to_str().unwrap())
        .await
        .unwrap();
    let settings =
        chavion_tui::config::settings_from_str(&format!("[redis]\nurl = \"{}\"\n", b.url()))
            .unwrap();
    let ctx = chavion_tui::wiring::action_context(
        &settings,
        chavion_tui::gate::Gate::default(),
        chavion_tui::store::SharedStore::ready(Some(store.clone())),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let outbox = tokio::spawn(chavion_tui::wiring::outbox(ctx, tx));
    let told = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .expect("the outbox task says what waits")
        .unwrap();
    let chavion_tui::event::Event::ActionDone {
        outcome: Ok(words), ..
    } = &told
    else {
        panic!("{told:?}")
    };
    assert!(words.contains("wait for another broker"), "{words}");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    outbox.abort();
    assert_eq!(
        b.cli(&["llen", "thinking"]).trim(),
        "1",
        "nothing pushed to B"
    );
    assert!(
        !rx.try_recv()
            .is_ok_and(|e| matches!(e, chavion_tui::event::Event::OutboxDelivered { .. })),
        "nothing delivered"
    );

    // The trail names where it waits.
    let listed = cli(&sb, &b.url(), &["audit", "--outbox", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows[0]["task_id"], id.as_str());
    assert_eq!(
        rows[0]["broker"],
        format!("redis://127.0.0.1:{}/0 prefix=", a.port)
    );

    // Broker A back: a control room on A delivers it there, once.
    a.restart();
    let out = cli(&sb, &url_a, &["dispatch", "thinking", "thinking.plan"]);
    assert!(
        text(&out.stderr).contains(&format!("delivered {id} from the outbox")),
        "{}",
        text(&out.stderr)
    );
    assert!(a.cli(&["lrange", "thinking", "0", "-1"]).contains(&id));
    assert!(!b.cli(&["lrange", "thinking", "0", "-1"]).contains(&id));
    let listed = cli(&sb, &b.url(), &["audit", "--outbox", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows, serde_json::json!([]));
}

/// Issue 14: `--demo` with a command that acts goes through the same gate as the TUI.
#[test]
fn the_demo_refuses_dispatch_from_the_shell_and_nothing_reaches_redis() {
    let sb = Sandbox::new("dispatch-demo");
    let redis = RedisServer::start();
    let out = cli(
        &sb,
        &redis.url(),
        &["--demo", "dispatch", "thinking", "thinking.plan"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("refused: dispatching a task is not sent anywhere in the demo"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(redis.cli(&["llen", "thinking"]).trim(), "0");
    assert_eq!(redis.cli(&["dbsize"]).trim(), "0", "nothing written at all");
}

/// Issue 14: a cron job or a unit has no USER; the trail names the uid's owner instead of
/// "unknown".
#[test]
fn without_user_in_the_environment_the_trail_names_the_processes_owner() {
    let sb = Sandbox::new("dispatch-who");
    let redis = RedisServer::start();
    let store = sb.path("audit.db");
    let out = std::process::Command::new(common::BIN)
        .args(["--redis", &redis.url(), "--store", store.to_str().unwrap()])
        .args(["--read-only", "dispatch", "thinking", "thinking.plan"])
        .env("HOME", &sb.dir)
        .env("XDG_CONFIG_HOME", sb.path("config"))
        .env("XDG_DATA_HOME", sb.path("data"))
        .env("XDG_STATE_HOME", sb.path("state"))
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env_remove("CHAVION_TUI_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = text(&me.stdout).trim().to_string();
    let records: serde_json::Value =
        serde_json::from_slice(&cli(&sb, &redis.url(), &["audit", "--json"]).stdout).unwrap();
    assert_eq!(records[0]["who"], me.as_str());
}

/// Issue 14: the result-backend poll of a task that never finishes does not live for ever:
/// it ends when the result is known by another path (the events), and is bounded in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_poll_ends_when_the_result_is_known_from_the_events() {
    let redis = RedisServer::start();
    let settings = chavion_tui::config::settings_from_str(&format!(
        "[redis]\nurl = \"{0}\"\n[celery]\nresult_backend = \"{0}\"\n",
        redis.url()
    ))
    .unwrap();
    let ctx = chavion_tui::wiring::action_context(
        &settings,
        chavion_tui::gate::Gate::default(),
        chavion_tui::store::SharedStore::ready(None),
    );
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let request = TaskRequest {
        id: dispatch::new_task_id(),
        name: "thinking.plan".into(),
        queue: "thinking".into(),
        args: serde_json::json!([]),
        kwargs: serde_json::json!({}),
        priority: 0,
        eta: None,
        expires: None,
        origin: "test".into(),
    };
    let done = chavion_tui::event::Event::Dispatched {
        agent: "THINKING".into(),
        request: Box::new(request.clone()),
        outcome: Ok(dispatch::Delivery::Sent),
    };
    chavion_tui::actions::follow_result(&ctx, &done, &tx);
    let polls = || ctx.result_polls.lock().unwrap().len();
    assert_eq!(polls(), 1, "polling the backend for it");
    // Redis answers, but the record never comes: the poll goes on...
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(polls(), 1);
    // ...until the result is known from the events.
    chavion_tui::actions::spawn(
        chavion_tui::app::Effect::ResultKnown {
            task_id: request.id.clone(),
        },
        ctx.clone(),
        tx.clone(),
    );
    wait_for("the poll to stop", || polls() == 0);
    assert!(chavion_tui::actions::RESULT_FOLLOW_LIMIT <= std::time::Duration::from_secs(3600));
}
