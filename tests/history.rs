//! Issue 17's task and worker history, end to end: the real binary in tmux against a real
//! redis-server and a real Celery 5.7 worker. Tasks succeed and fail, the operator quits,
//! the worker dies meanwhile, and the restarted control room's Tasks and Workers views show
//! the same tasks and states as before, marked ↺ (restored) until heard from live.

mod common;

use common::servers::{CeleryWorker, RedisServer, send_task};
use common::{Sandbox, run_in_tmux};

/// The Tasks view's rows, each cut to its state, name and short id (the ↺ mark dropped),
/// sorted: what must be the same before and after the restart.
fn task_rows(screen: &str) -> Vec<String> {
    let mut rows: Vec<String> = screen
        .lines()
        .filter(|l| l.contains("thinking."))
        .map(|l| {
            let words: Vec<&str> = l
                .trim_matches(|c| c == '┃' || c == '│' || c == ' ')
                .split_whitespace()
                .filter(|w| *w != "↺")
                .collect();
            words[..4.min(words.len())].join(" ")
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn a_restart_shows_the_same_tasks_and_workers_marked_restored() {
    let sb = Sandbox::new("task-history");
    let redis = RedisServer::start();
    let dir = sb.path("config/chavion-tui");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "socketio = []\nports = []\n[redis]\nurl = \"{}\"\n[docker]\nurl = \"\"\n",
            redis.url()
        ),
    )
    .unwrap();
    let worker = CeleryWorker::start(&redis.url(), true, &sb.dir);
    let (tmux, _) = run_in_tmux("history-before", &sb, 160, 40, "");
    tmux.wait_for("the worker online", |s| {
        s.contains("worker thinking@localhost online")
    });
    for _ in 0..3 {
        send_task(&redis.url(), "thinking.add", "[2, 3]", None, None);
    }
    for _ in 0..2 {
        send_task(&redis.url(), "thinking.fail", "[]", None, None);
    }
    tmux.send(&["t"]);
    let before = tmux.wait_for("five tasks ended", |s| {
        s.lines().filter(|l| l.contains("SUCCESS")).count() == 3
            && s.lines().filter(|l| l.contains("FAILURE")).count() == 2
    });
    let rows = task_rows(&before);
    assert_eq!(rows.len(), 5, "{before}");
    tmux.send(&["q"]);
    tmux.wait_for("exit", common::exited);
    drop(tmux);
    drop(worker);

    let (again, _) = run_in_tmux("history-after", &sb, 160, 40, "");
    again.wait_for("the history restored", |s| {
        s.contains("5 task(s) and 1 worker(s) restored")
    });
    again.send(&["t"]);
    let after = again.wait_for("the same five tasks, restored", |s| {
        s.lines().filter(|l| l.contains("↺")).count() == 5
    });
    assert_eq!(task_rows(&after), rows, "{after}");
    again.send(&["w"]);
    again.wait_for("the worker, restored as it was last seen", |s| {
        s.lines()
            .any(|l| l.contains("thinking@localhost") && l.contains("↺"))
    });
    again.send(&["q"]);
    again.wait_for("exit", common::exited);
}

#[test]
fn the_tasks_filter_reaches_past_memory_into_the_history() {
    let sb = Sandbox::new("history-search");
    let redis = RedisServer::start();
    let dir = sb.path("config/chavion-tui");
    std::fs::create_dir_all(&dir).unwrap();
    let config = |max_tasks: usize| {
        format!(
            "socketio = []\nports = []\n[redis]\nurl = \"{}\"\n[docker]\nurl = \"\"\n[celery]\nmax_tasks = {max_tasks}\n",
            redis.url()
        )
    };
    std::fs::write(dir.join("config.toml"), config(50_000)).unwrap();
    let worker = CeleryWorker::start(&redis.url(), true, &sb.dir);
    let (tmux, _) = run_in_tmux("search-before", &sb, 160, 40, "");
    tmux.wait_for("the worker online", |s| {
        s.contains("worker thinking@localhost online")
    });
    // Two failures first, then a hundred successes after them.
    for _ in 0..2 {
        send_task(&redis.url(), "thinking.fail", "[]", None, None);
    }
    let out = std::process::Command::new(common::servers::python())
        .args(["client.py", "thinking.add", "[1, 1]", "--count", "100"])
        .current_dir(common::servers::peers_dir())
        .env("CHAVION_BROKER", redis.url())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    tmux.send(&["t"]);
    tmux.wait_for("all 102 tasks", |s| s.contains("Tasks 102 of 102"));
    tmux.send(&["q"]);
    tmux.wait_for("exit", common::exited);
    drop(tmux);
    drop(worker);

    // Memory now keeps 100: the newest hundred come back, the two failures do not.
    std::fs::write(dir.join("config.toml"), config(100)).unwrap();
    let (again, _) = run_in_tmux("search-after", &sb, 160, 40, "");
    again.wait_for("a hundred restored", |s| {
        s.contains("100 task(s) and 1 worker(s) restored")
    });
    again.send(&["t"]);
    again.wait_for("the Tasks view", |s| s.contains("Tasks 100 of 100"));
    assert!(!again.capture().contains("FAILURE"));
    again.send(&["/"]);
    again.send(&["-l", "thinking.fail"]);
    again.send(&["Enter"]);
    let found = again.wait_for("the two failures found in the history", |s| {
        s.lines()
            .filter(|l| l.contains("FAILURE ↺") && l.contains("thinking.fail"))
            .count()
            == 2
    });
    assert!(
        found.contains("2 older task(s) matching `thinking.fail`"),
        "{found}"
    );
    again.send(&["q"]);
    again.wait_for("exit", common::exited);
}
