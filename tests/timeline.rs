//! Issue 17's incident timeline, end to end: a live session recorded by the real
//! `chavion-tui watch` (its activity lines in its store) against a real redis-server and a
//! real Celery worker: tasks that fail, a dispatch by a named operator, a required port
//! that closes, a worker that dies. `chavion-tui timeline` then lists them in order, with
//! who, as text, JSON and Markdown.

mod common;

use common::Sandbox;
use common::servers::{CeleryWorker, RedisServer, peers_dir, python, wait_until};

fn timeline(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut all = vec!["timeline", "--from", "-10m", "--to", "-0m"];
    all.extend_from_slice(args);
    sb.cmd(&all)
}

fn entries(sb: &Sandbox) -> Vec<serde_json::Value> {
    let out = timeline(sb, &["--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["timeline"].as_array().cloned().unwrap_or_default()
}

fn has(list: &[serde_json::Value], kind: &str, words: &str) -> bool {
    list.iter()
        .any(|e| e["kind"] == kind && e["what"].as_str().is_some_and(|w| w.contains(words)))
}

#[test]
fn a_recorded_session_becomes_a_timeline_with_who_did_what() {
    let sb = Sandbox::new("timeline");
    let redis = RedisServer::start();
    let url = redis.url();
    let port_open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = port_open.local_addr().unwrap().port();
    let config = sb.path("config/chavion-tui/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "socketio = []\n[redis]\nurl = \"{url}\"\n[celery]\nenable_events_secs = 1\n\
             [probes]\ninterval_secs = 1\nfail_after = 1\n[docker]\nurl = \"\"\n\
             [[ports]]\nname = \"Executor\"\nhost = \"127.0.0.1\"\nport = {port}\nexpect = \"required\"\n"
        ),
    )
    .unwrap();
    let worker = CeleryWorker::start(&url, true, &sb.dir);
    let watch = common::Reaped(
        sb.command(&["watch"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the worker seen and recorded", 40, || {
        has(&entries(&sb), "state", "worker thinking@localhost online")
    });

    // Failures, a dispatch by a named operator, a port that closes, a worker that dies.
    let out = std::process::Command::new(python())
        .args(["client.py", "thinking.fail", "[]", "--count", "3"])
        .current_dir(peers_dir())
        .env("CHAVION_BROKER", &url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = sb
        .command(&["dispatch", "THINKING", "thinking.add", "--args", "[2, 3]"])
        .env("USER", "ana-oncall")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    drop(port_open);
    wait_until("the port outage recorded", 40, || {
        has(
            &entries(&sb),
            "state",
            &format!("Executor 127.0.0.1:{port} down"),
        )
    });
    drop(worker);
    wait_until("the worker's death recorded", 40, || {
        has(&entries(&sb), "state", "worker thinking@localhost offline")
    });
    drop(watch);

    let list = entries(&sb);
    assert!(
        has(&list, "failures", "3 × thinking.fail failed: RuntimeError("),
        "{list:#?}"
    );
    let dispatch = list
        .iter()
        .find(|e| e["kind"] == "action" && e["what"].as_str().unwrap().starts_with("dispatch"))
        .unwrap_or_else(|| panic!("no dispatch in {list:#?}"));
    assert_eq!(dispatch["who"], "ana-oncall");
    // In order: the port closed before the worker died.
    let at = |words: &str| {
        list.iter()
            .position(|e| e["what"].as_str().is_some_and(|w| w.contains(words)))
            .unwrap()
    };
    assert!(at(&format!("127.0.0.1:{port} down")) < at("worker thinking@localhost offline"));
    let md = String::from_utf8_lossy(&timeline(&sb, &["--markdown"]).stdout).to_string();
    assert!(md.starts_with("## Timeline, "), "{md}");
    assert!(
        md.contains("| action | audit | dispatch") && md.contains("ana-oncall"),
        "{md}"
    );
    let text = String::from_utf8_lossy(&timeline(&sb, &[]).stdout).to_string();
    assert!(text.contains("worker thinking@localhost offline"), "{text}");
    let bad = sb.cmd(&["timeline", "--from", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
}
