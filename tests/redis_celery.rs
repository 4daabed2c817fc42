//! The Redis and Celery feed against a real redis-server and a real Celery 5.7 worker, each
//! started on a free loopback port. Assertions are on the State the screen is drawn from.

mod common;

use crossterm::event::KeyCode;

use chavion_tui::app::state::{Mode, PortStatus, View};
use chavion_tui::event::LinkHealth;
use chavion_tui::platform::model::{AgentState, TaskEventKind};
use chavion_tui::platform::wire;
use common::Sandbox;
use common::room::Room;
use common::servers::{CeleryWorker, RedisServer, alive, send_task};

fn task_state(room: &Room, id: &str) -> Option<TaskEventKind> {
    room.state.tasks.by_id.get(id).map(|t| t.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_tasks_succeed_fail_and_retry_with_their_results() {
    let sb = Sandbox::new("celery-ok");
    let redis = RedisServer::start();
    let mut room = Room::start(&redis.url(), "", false);
    let worker = CeleryWorker::start(&redis.url(), true, &sb.dir);
    room.until("the THINKING worker online", |s| {
        s.workers
            .get("thinking@localhost")
            .is_some_and(|w| w.online)
    })
    .await;
    assert_eq!(
        room.state.agents[1].state,
        AgentState::Idle,
        "the tile follows its worker"
    );

    let ok = send_task(&redis.url(), "thinking.add", "[2, 3]", None, None);
    let bad = send_task(&redis.url(), "thinking.fail", "[]", None, None);
    let flaky = send_task(&redis.url(), "thinking.flaky", "[]", None, None);
    room.until("three finished tasks", |s| {
        [&ok, &bad, &flaky].iter().all(|id| {
            s.tasks.by_id.get(*id).is_some_and(|t| {
                matches!(t.state, TaskEventKind::Succeeded | TaskEventKind::Failed)
            })
        })
    })
    .await;

    let t = &room.state.tasks.by_id[&ok];
    assert_eq!(t.state, TaskEventKind::Succeeded);
    assert_eq!(t.fields.result.as_deref(), Some("5"));
    // send_task passes a list; Celery's argsrepr is the repr of what it was given.
    assert_eq!(t.fields.args.as_deref(), Some("[2, 3]"));
    assert_eq!(t.fields.name.as_deref(), Some("thinking.add"));
    assert_eq!(t.worker, "thinking@localhost");
    assert!(t.fields.runtime.is_some_and(|r| r >= 0.0));
    assert_eq!(t.agent, Some(1), "mapped to THINKING");

    let t = &room.state.tasks.by_id[&bad];
    assert_eq!(t.state, TaskEventKind::Failed);
    assert_eq!(
        t.fields.exception.as_deref(),
        Some("RuntimeError('planned failure')")
    );
    assert!(
        t.fields.traceback.as_deref().unwrap().contains("Traceback"),
        "{:?}",
        t.fields.traceback
    );

    assert_eq!(task_state(&room, &flaky), Some(TaskEventKind::Succeeded));
    assert_eq!(
        room.state.tasks.by_id[&flaky].fields.result.as_deref(),
        Some("'ok on retry'")
    );
    assert!(
        room.state
            .activity
            .lines
            .iter()
            .any(|l| l.message.contains("thinking.flaky") && l.message.contains("retrying")),
        "the retry is logged"
    );
    assert!(room.state.activity.lines.iter().any(|l| {
        l.message
            .contains("failed: RuntimeError('planned failure')")
    }));

    let w = &room.state.workers["thinking@localhost"];
    assert_eq!(w.sw_ver.as_deref(), Some("5.7.0"));
    room.until("the processed count", |s| {
        s.workers["thinking@localhost"].processed >= 4
    })
    .await;
    assert!(room.state.last_task_event.is_some());
    assert_eq!(
        worker
            .runs()
            .iter()
            .filter(|n| *n == "thinking.add")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_from_the_tasks_view_kills_the_running_task() {
    let sb = Sandbox::new("celery-term");
    let redis = RedisServer::start();
    let mut room = Room::start(&redis.url(), "", false);
    let worker = CeleryWorker::start(&redis.url(), true, &sb.dir);
    room.until("the worker", |s| {
        s.workers
            .get("thinking@localhost")
            .is_some_and(|w| w.online)
    })
    .await;
    // A task that sleeps through SIGTERM: only the signal the operator picks ends it.
    let id = send_task(&redis.url(), "thinking.stubborn", "[120]", None, None);
    room.until("the task running", |s| {
        s.tasks
            .by_id
            .get(&id)
            .is_some_and(|t| t.state == TaskEventKind::Started)
    })
    .await;
    let pid: i32 = loop {
        if let Ok(text) = std::fs::read_to_string(&worker.pidfile)
            && let Ok(pid) = text.trim().parse()
        {
            break pid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(alive(pid));

    // As an operator would (issue 27): Tasks view, filter to the task, its detail, x. The
    // task has started, so the confirmation says a revoke alone will not stop it and offers
    // the terminate; X takes it, Tab picks KILL, y sends.
    room.key(KeyCode::Char('t')).await;
    assert_eq!(room.state.ui.view, View::Tasks);
    room.key(KeyCode::Char('/')).await;
    room.keys("name:stubborn").await;
    room.key(KeyCode::Enter).await;
    room.key(KeyCode::Enter).await;
    assert_eq!(room.state.ui.mode, Mode::Detail, "the task's detail");
    room.key(KeyCode::Char('x')).await;
    let Mode::Confirm(c) = &room.state.ui.mode else {
        panic!(
            "no confirmation asked from the detail: {:?}",
            room.state.ui.mode
        )
    };
    assert_eq!(
        (c.task_id.as_str(), c.terminate, c.running),
        (id.as_str(), false, true)
    );
    room.key(KeyCode::Char('X')).await;
    room.key(KeyCode::Tab).await;
    let Mode::Confirm(c) = &room.state.ui.mode else {
        panic!("the confirmation is gone: {:?}", room.state.ui.mode)
    };
    assert_eq!(
        (c.terminate, c.signal),
        (true, chavion_tui::orders::KillSignal::Kill)
    );
    room.key(KeyCode::Char('y')).await;
    let flash = room
        .state
        .flash
        .as_ref()
        .expect("the outcome is shown")
        .text
        .clone();
    assert!(
        flash.contains("terminate (SIGKILL) sent to 1 worker(s)"),
        "{flash}"
    );

    room.until("the task revoked and terminated", |s| {
        s.tasks
            .by_id
            .get(&id)
            .is_some_and(|t| t.state == TaskEventKind::Revoked && t.terminated)
    })
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while alive(pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!alive(pid), "the task's process {pid} must really be dead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_revoke_and_says_why() {
    let redis = RedisServer::start();
    let mut room = Room::start(&redis.url(), "", true);
    let bytes = wire::kombu_event_envelope(
        &serde_json::json!([{"type": "task-received", "uuid": "ro-1", "name": "thinking.add", "hostname": "thinking@x", "timestamp": 1.0}]),
        "thinking@x",
        "task.multi",
        "t",
    );
    room.until("the feed up", |s| {
        s.links
            .iter()
            .any(|l| l.name == "redis" && l.health == LinkHealth::Up)
    })
    .await;
    redis.publish("/0.celeryev/task.multi", &bytes);
    room.until("the task", |s| s.tasks.by_id.contains_key("ro-1"))
        .await;
    room.key(KeyCode::Char('t')).await;
    room.key(KeyCode::Char('x')).await;
    assert_eq!(
        room.state.ui.mode,
        Mode::Normal,
        "no confirmation is even asked"
    );
    let flash = room.state.flash.as_ref().unwrap().text.clone();
    assert_eq!(
        flash,
        "refused: revoking a task is disabled because chavion-tui was started with --read-only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_events_flow_from_a_worker_started_without_e() {
    let sb = Sandbox::new("celery-noE");
    let redis = RedisServer::start();
    let mut room = Room::start(&redis.url(), "", false);
    let _worker = CeleryWorker::start(&redis.url(), false, &sb.dir);
    room.until("the worker", |s| {
        s.workers
            .get("thinking@localhost")
            .is_some_and(|w| w.online)
    })
    .await;
    // A task that runs before the broadcast reaches the worker emits no events at all, so
    // keep sending until one is seen: its events can only come from enable_events.
    let mut seen = None;
    for _ in 0..10 {
        let id = send_task(&redis.url(), "thinking.add", "[20, 22]", None, None);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        room.until("a try", |s| {
            s.tasks
                .by_id
                .get(&id)
                .is_some_and(|t| t.state == TaskEventKind::Succeeded)
                || std::time::Instant::now() > deadline
        })
        .await;
        if room
            .state
            .tasks
            .by_id
            .get(&id)
            .is_some_and(|t| t.state == TaskEventKind::Succeeded)
        {
            seen = Some(id);
            break;
        }
    }
    let id = seen.expect("task events never flowed from a worker started without -E");
    assert_eq!(
        room.state.tasks.by_id[&id].fields.result.as_deref(),
        Some("42")
    );
    assert_eq!(room.state.tasks.by_id[&id].worker, "thinking@localhost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_depth_is_the_sum_over_priority_sub_queues() {
    let redis = RedisServer::start();
    let url = redis.url();
    for (p, n) in [(0u8, 2), (5, 3), (9, 1)] {
        for _ in 0..n {
            send_task(&url, "thinking.add", "[1, 1]", Some(p), None);
        }
    }
    send_task(
        &url,
        "thinking.add",
        "[1, 1]",
        None,
        Some("found_by_discovery"),
    );
    // Where kombu put them: priority 5 lands on step 3, 9 on step 9.
    let llen = |k: &str| redis.cli(&["llen", k]).trim().parse::<u64>().unwrap();
    assert_eq!(
        [
            llen("thinking"),
            llen("thinking\x06\x163"),
            llen("thinking\x06\x166"),
            llen("thinking\x06\x169")
        ],
        [2, 3, 0, 1]
    );

    let mut room = Room::start(&url, "", false);
    room.until("depth 6 on thinking", |s| {
        s.queues
            .iter()
            .any(|q| q.name == "thinking" && q.depth == 6)
    })
    .await;
    room.until("the discovered queue", |s| {
        s.queues
            .iter()
            .any(|q| q.name == "found_by_discovery" && q.depth == 1)
    })
    .await;
    let sum: u64 = [
        "thinking",
        "thinking\x06\x163",
        "thinking\x06\x166",
        "thinking\x06\x169",
    ]
    .iter()
    .map(|k| llen(k))
    .sum();
    assert_eq!(
        room.state
            .queues
            .iter()
            .find(|q| q.name == "thinking")
            .unwrap()
            .depth,
        sum
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redis_is_noticed_and_the_feed_recovers_without_doubling() {
    let mut redis = RedisServer::start();
    let mut room = Room::start(&redis.url(), "", false);
    let up = |s: &chavion_tui::app::State| {
        s.links
            .iter()
            .any(|l| l.name == "redis" && l.health == LinkHealth::Up)
    };
    room.until("the feed up", up).await;
    redis.publish(
        "chavion:agents:THINKING",
        &wire::agent_json("THINKING", "busy", Some("t-1"), "before", "claude", 1.0),
    );
    room.until("the agent busy", |s| s.agents[1].state == AgentState::Busy)
        .await;

    redis.kill();
    room.until("the link down", |s| {
        s.links
            .iter()
            .any(|l| l.name == "redis" && matches!(l.health, LinkHealth::Down { .. }))
    })
    .await;
    let port = room.state.redis_port.expect("the Redis row is known");
    assert!(
        matches!(room.state.ports[port].status, PortStatus::Down { .. }),
        "the ports pane shows it too"
    );

    redis.restart();
    room.until("the link up again", up).await;
    room.until("the sampler back", |s| {
        s.links
            .iter()
            .any(|l| l.name == "queues" && l.health == LinkHealth::Up)
    })
    .await;
    // Redis says how many subscriptions took the message: a doubled one would be two.
    let receivers = redis.publish_to(
        "chavion:activity",
        &wire::activity_json("info", "THINKING", "after the restart", None, 2.0),
    );
    assert_eq!(receivers, 1, "one subscription after the reconnect");
    room.until("the line after the restart", |s| {
        s.activity
            .lines
            .iter()
            .any(|l| l.message == "after the restart")
    })
    .await;
    assert_eq!(
        room.state
            .activity
            .lines
            .iter()
            .filter(|l| l.message == "after the restart")
            .count(),
        1,
        "one subscription, one line"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corpus_of_malformed_payloads_gives_warnings_not_crashes() {
    let redis = RedisServer::start();
    let mut room = Room::start(&redis.url(), "", false);
    room.until("the feed up", |s| {
        s.links
            .iter()
            .any(|l| l.name == "redis" && l.health == LinkHealth::Up)
    })
    .await;
    let mut huge = b"{\"agent\":\"X\",\"state\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'A', 1_048_576));
    let corpus: Vec<(&str, Vec<u8>)> = vec![
        (
            "/0.celeryev/task.multi",
            br#"{"body":"%%%","properties":{"body_encoding":"base64"}}"#.to_vec(),
        ),
        ("/0.celeryev/task.multi", b"{\"body\": 12}".to_vec()),
        (
            "/0.celeryev/worker.heartbeat",
            wire::kombu_event_envelope(
                &serde_json::json!({"type": "worker-heartbeat", "hostname": 7}),
                "h",
                "x",
                "t",
            ),
        ),
        ("chavion:agents:X", huge),
        ("chavion:agents:X", b"\xff\xfe\xfd".to_vec()),
        (
            "chavion:agents:X",
            br#"{"agent":["X"],"state":"idle"}"#.to_vec(),
        ),
        (
            "chavion:activity",
            b"\x1b]52;c;ZXZpbA==\x07\x1b[2J".to_vec(),
        ),
    ];
    let n = corpus.len() as u64;
    for (channel, payload) in &corpus {
        redis.publish(channel, payload);
    }
    room.until("a warning for each", |s| s.counters.malformed == n)
        .await;
    let warnings: Vec<_> = room
        .state
        .activity
        .lines
        .iter()
        .filter(|l| l.message.starts_with("malformed payload"))
        .collect();
    assert_eq!(warnings.len() as u64, n);
    assert!(
        warnings
            .iter()
            .all(|l| !l.message.contains('\u{1b}') && l.message.chars().count() < 600),
        "cleaned and cut"
    );
    // Still alive and reading.
    redis.publish(
        "chavion:agents:JUDGING",
        &wire::agent_json("JUDGING", "idle", None, "fine", "m", 1.0),
    );
    room.until("a good message after the bad ones", |s| {
        s.agents[2].state == AgentState::Idle
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_operator_does_shows_live_in_another_control_room() {
    let redis = RedisServer::start();
    let mut alice = Room::start(&redis.url(), "", false);
    let mut bob = Room::start(&redis.url(), "", false);
    let up = |s: &chavion_tui::app::State| {
        s.links
            .iter()
            .any(|l| l.name == "redis" && l.health == LinkHealth::Up)
    };
    alice.until("alice's feed", up).await;
    bob.until("bob's feed", up).await;

    alice.key(KeyCode::Char(':')).await;
    alice
        .keys("dispatch evolving evolving.retrain [\"model-7\"]")
        .await;
    alice.key(KeyCode::Enter).await;
    assert!(
        matches!(alice.state.ui.mode, Mode::ConfirmDispatch(_)),
        "{:?}",
        alice.state.ui.mode
    );
    alice.key(KeyCode::Char('y')).await;
    assert!(
        alice
            .state
            .flash
            .as_ref()
            .unwrap()
            .text
            .starts_with("dispatched evolving.retrain"),
        "{:?}",
        alice.state.flash
    );
    assert_eq!(
        redis.cli(&["llen", "evolving"]).trim(),
        "1",
        "on the EVOLVING queue"
    );

    bob.until("alice's dispatch in bob's log", |s| {
        s.activity.lines.iter().any(|l| {
            l.source == "audit"
                && l.message
                    .contains("dispatch EVOLVING evolving.retrain → sent")
        })
    })
    .await;
    bob.until("the task in bob's Tasks view too", |s| {
        s.tasks
            .by_id
            .values()
            .any(|t| t.fields.name.as_deref() == Some("evolving.retrain"))
    })
    .await;
    alice
        .until("alice's own task-sent event", |s| {
            s.tasks
                .by_id
                .values()
                .any(|t| t.fields.queue.as_deref() == Some("evolving"))
        })
        .await;
    assert!(
        !alice
            .state
            .activity
            .lines
            .iter()
            .any(|l| l.source == "audit"),
        "her own broadcast is not echoed back to her"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_comes_from_the_result_backend_when_no_event_says_it() {
    let sb = Sandbox::new("backend");
    let redis = RedisServer::start();
    // Events off everywhere: the worker has no -E and nobody broadcasts enable_events.
    let backend = redis.url().replace("/0", "/1");
    let mut room = Room::start(
        &redis.url(),
        &format!("enable_events = false\nresult_backend = \"{backend}\""),
        false,
    );
    let _worker =
        common::servers::CeleryWorker::start_with_backend(&redis.url(), &backend, &sb.dir);
    room.until("the worker", |s| {
        s.workers
            .get("thinking@localhost")
            .is_some_and(|w| w.online)
    })
    .await;
    room.key(KeyCode::Char(':')).await;
    room.keys("dispatch thinking thinking.add [19, 23]").await;
    room.key(KeyCode::Enter).await;
    room.key(KeyCode::Char('y')).await;
    room.until("the result, read from celery-task-meta-<id>", |s| {
        s.tasks.by_id.values().any(|t| {
            t.state == TaskEventKind::Succeeded && t.fields.result.as_deref() == Some("42")
        })
    })
    .await;
    room.key(KeyCode::Char(':')).await;
    room.keys("dispatch thinking thinking.fail").await;
    room.key(KeyCode::Enter).await;
    room.key(KeyCode::Char('y')).await;
    room.until("the failure, with its exception", |s| {
        s.tasks.by_id.values().any(|t| {
            t.state == TaskEventKind::Failed
                && t.fields.exception.as_deref() == Some("RuntimeError('planned failure')")
        })
    })
    .await;
}

/// Issue 14: a worker is linked to its agent by the queues it says it consumes
/// (`active_queues` over the pidbox), not by its hostname or a task it happened to take.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_is_linked_to_its_agent_by_the_queues_it_consumes() {
    let sb = Sandbox::new("celery-queues");
    let redis = RedisServer::start();
    let mut room = Room::start(&redis.url(), "", false);
    let _worker = CeleryWorker::start_named(&redis.url(), &sb.dir, "zeta@localhost");
    room.until("the worker online", |s| {
        s.workers.get("zeta@localhost").is_some_and(|w| w.online)
    })
    .await;
    // No task has run, and no hostname pattern names it: only its own answer can link it.
    room.until("the worker linked to THINKING", |s| {
        s.workers
            .get("zeta@localhost")
            .is_some_and(|w| w.agent.is_some_and(|i| s.agents[i].name == "THINKING"))
    })
    .await;
    assert!(room.state.tasks.by_id.is_empty(), "no task was involved");
    assert!(
        room.state
            .activity
            .lines
            .iter()
            .any(|l| l.message == "worker zeta@localhost consumes thinking: THINKING"),
        "said in the activity log"
    );
    // The reply queue and its binding are gone afterwards.
    let keys = redis.cli(&["keys", "*reply.celery.pidbox*"]);
    let members = redis.cli(&["smembers", "_kombu.binding.reply.celery.pidbox"]);
    assert_eq!(keys.trim(), "", "a reply queue was left behind");
    assert_eq!(members.trim(), "", "a reply binding was left behind");
}
