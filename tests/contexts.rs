//! Issue 19's contexts, end to end: the real binary in tmux watching two platforms at once,
//! each a real redis-server with a real Celery worker. The fleet overview shows both; a
//! dispatch made in one context runs there and never reaches the other (the other worker
//! runs nothing, its queue stays empty); one context's Redis going down leaves the other
//! live; `status --all-contexts` reports each, with the worst exit code.

mod common;

use common::servers::{CeleryWorker, RedisServer};
use common::{Sandbox, run_in_tmux};

fn config(sb: &Sandbox, a: &RedisServer, b: &RedisServer) {
    let dir = sb.path("config/chavion-tui");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "socketio = []\nports = []\n[redis]\nurl = \"{}\"\n[docker]\nurl = \"\"\n\
             [celery]\nenable_events_secs = 1\n\
             [[agents]]\nname = \"THINKING\"\nqueues = [\"thinking\"]\n\
             [[contexts]]\nname = \"staging\"\ncolor = \"yellow\"\nredis.url = \"{}\"\n",
            a.url(),
            b.url()
        ),
    )
    .unwrap();
}

/// The fleet overview's row for a context, as drawn.
fn row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.contains(&format!(" {name} ")) && (l.contains("live") || l.contains("DOWN")))
}

#[test]
fn two_contexts_watched_at_once_and_an_action_stays_in_its_own() {
    let sb = Sandbox::new("contexts");
    let (a, mut b) = (RedisServer::start(), RedisServer::start());
    config(&sb, &a, &b);
    std::fs::create_dir_all(sb.path("wa")).unwrap();
    std::fs::create_dir_all(sb.path("wb")).unwrap();
    let worker_a = CeleryWorker::start_named(&a.url(), &sb.path("wa"), "thinking@alpha");
    let worker_b = CeleryWorker::start_named(&b.url(), &sb.path("wb"), "thinking@beta");

    let (tmux, _) = run_in_tmux("contexts", &sb, 170, 40, "");
    tmux.wait_for("the default context, named in the title bar", |s| {
        s.contains("⎈ default") && s.contains("worker thinking@alpha online")
    });
    tmux.send(&[":", "fleet", "Enter"]);
    let fleet = tmux.wait_for("both contexts live, each with its worker", |s| {
        [("default", "1"), ("staging", "1")]
            .iter()
            .all(|(name, workers)| {
                row(s, name).is_some_and(|r| {
                    r.contains("live") && r.split_whitespace().any(|w| w == *workers)
                })
            })
    });
    assert!(row(&fleet, "default").unwrap().contains('▶'), "{fleet}");

    // A dispatch in `default`: confirmed with the context named, run by alpha only.
    tmux.send(&["Escape"]);
    tmux.send(&[
        ":",
        "dispatch thinking thinking.mark [\"for-default\"]",
        "Enter",
    ]);
    tmux.wait_for("the confirmation naming the context", |s| {
        s.contains("in context default")
    });
    tmux.send(&["y"]);
    common::servers::wait_until("alpha ran it", 30, || {
        worker_a
            .runs()
            .iter()
            .any(|r| r.starts_with("thinking.mark for-default"))
    });

    // Into `staging` by its name: the title bar says so, and a dispatch there runs on beta.
    tmux.send(&[":", "ctx staging", "Enter"]);
    tmux.wait_for("the staging context on screen", |s| {
        s.contains("⎈ staging") && s.contains("worker thinking@beta online")
    });
    tmux.send(&[
        ":",
        "dispatch thinking thinking.mark [\"for-staging\"]",
        "Enter",
    ]);
    tmux.wait_for("the confirmation naming staging", |s| {
        s.contains("in context staging")
    });
    tmux.send(&["y"]);
    common::servers::wait_until("beta ran it", 30, || {
        worker_b
            .runs()
            .iter()
            .any(|r| r.starts_with("thinking.mark for-staging"))
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    let marks = |w: &CeleryWorker| -> Vec<String> {
        w.runs()
            .into_iter()
            .filter(|r| r.starts_with("thinking.mark"))
            .map(|r| r.split_whitespace().nth(1).unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        marks(&worker_a),
        ["for-default"],
        "nothing crossed to alpha"
    );
    assert_eq!(marks(&worker_b), ["for-staging"], "nothing crossed to beta");
    assert_eq!(a.cli(&["llen", "thinking"]).trim(), "0");
    assert_eq!(b.cli(&["llen", "thinking"]).trim(), "0");

    // Staging's Redis goes down: the overview says so, and default stays live.
    b.kill();
    tmux.send(&[":", "fleet", "Enter"]);
    tmux.wait_for("staging down, default live", |s| {
        row(s, "staging").is_some_and(|r| r.contains("DOWN"))
            && row(s, "default").is_some_and(|r| r.contains("live"))
    });
    // Enter on the first row goes back into default, which still takes events.
    tmux.send(&["Home", "Enter"]);
    tmux.wait_for("default on screen again", |s| s.contains("⎈ default"));
    tmux.send(&[":", "dispatch thinking thinking.mark [\"after\"]", "Enter"]);
    tmux.wait_for("the confirmation", |s| s.contains("in context default"));
    tmux.send(&["y"]);
    common::servers::wait_until("alpha ran it with staging down", 30, || {
        marks(&worker_a).len() == 2
    });
    tmux.send(&["q"]);
    tmux.wait_for("exit", common::exited);

    // The audit trail names the context each dispatch was confirmed in. Without a store of
    // its own in the config, each context keeps its trail in a file of its own.
    let trail = |args: &[&str]| -> Vec<String> {
        let out = sb.cmd(args);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        v.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "dispatch")
            .map(|r| r["context"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(trail(&["audit", "--json"]), ["default", "default"]);
    assert_eq!(
        trail(&["--context", "staging", "audit", "--json"]),
        ["staging"]
    );

    // The shell: every context at once, the worst exit code (staging's Redis is down).
    let out = sb.cmd(&["status", "--all-contexts", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let names: Vec<&str> = v["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["context"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "staging"]);
    let codes: Vec<i64> = v["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["exit_code"].as_i64().unwrap())
        .collect();
    let worst = *codes.iter().max().unwrap();
    assert!(codes[1] > codes[0], "staging is worse: {codes:?}");
    assert_eq!(v["exit_code"].as_i64(), Some(worst));
    assert_eq!(out.status.code(), Some(worst as i32));
    // One context alone, by name.
    let out = sb.cmd(&["--context", "default", "status", "--json"]);
    let one: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(one["exit_code"].as_i64(), Some(codes[0]));
    let out = sb.cmd(&["--context", "nosuch", "status"]);
    assert_eq!(out.status.code(), Some(3), "could not judge");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--context: no context named `nosuch`; the config has default, staging"),
        "{said}"
    );
}
