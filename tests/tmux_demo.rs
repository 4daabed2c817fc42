//! The real binary in tmux, as an operator would meet it: `--demo`, keys sent with
//! send-keys, the screen read with capture-pane. Then every way out restores the terminal.

mod common;

use common::{Sandbox, cooked, pid, run_in_tmux};

const AGENTS: [&str; 5] = ["COGNITIVE", "THINKING", "JUDGING", "EXECUTING", "EVOLVING"];

fn alive(screen: &str) -> bool {
    let has = |s: &str| screen.contains(s);
    AGENTS.iter().all(|a| has(a))
        && has("DEMO")
        && has("Queues")
        && has("Ports")
        && has("Activity")
        // Data, not just frames: a heartbeat age, a live port, a queue figure, a log line.
        && has("hb ")
        && screen.lines().any(|l| l.contains("127.0.0.1:6379") && l.contains(" up "))
        && screen.lines().any(|l| l.contains("thinking") && l.chars().any(|c| "▁▂▃▄▅▆▇█".contains(c)))
        && has("online")
        && has("● demo")
}

#[test]
fn demo_comes_alive_help_opens_and_closes_and_q_restores_the_terminal() {
    let sb = Sandbox::new("demo");
    let (tmux, _) = run_in_tmux("demo", &sb, 100, 30, "--demo");
    tmux.wait_for("every pane alive", alive);

    tmux.send(&["?"]);
    tmux.wait_for("the help overlay, listing the keymap", |s| {
        s.contains("Help — keys") && s.contains("Quit") && s.contains("Focus the next pane")
    });
    tmux.send(&["Escape"]);
    tmux.wait_for("the help overlay gone", |s| {
        !s.contains("Help — keys") && s.contains("NORMAL")
    });

    tmux.send(&["Tab"]);
    tmux.send(&["Enter"]);
    tmux.wait_for("the queues pane zoomed", |s| {
        s.contains("ZOOM") && !s.contains("Ports")
    });
    tmux.send(&["Escape"]);
    tmux.wait_for("zoom left", |s| !s.contains("ZOOM") && s.contains("Ports"));

    tmux.send(&["q"]);
    let after = tmux.wait_for("the program to exit", common::exited);
    assert!(after.contains("EXIT=0"), "{after}");
    assert!(cooked(&after), "terminal not back in cooked mode:\n{after}");
    assert!(
        sb.path("state/chavion-tui/chavion-tui.log").exists(),
        "logs go to the file named by `info`"
    );
}

fn restored_after(tag: &str, signal: &str) {
    let sb = Sandbox::new(tag);
    let (tmux, pidfile) = run_in_tmux(tag, &sb, 100, 30, "--demo");
    tmux.wait_for("the demo", |s| s.contains("DEMO") && s.contains("hb "));
    let status = std::process::Command::new("kill")
        .args([signal, &pid(&pidfile).to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let after = tmux.wait_for("the program to exit", common::exited);
    assert!(after.contains("EXIT=0"), "{after}");
    assert!(
        cooked(&after),
        "terminal not restored after {signal}:\n{after}"
    );
    assert!(
        !after.contains("DEMO"),
        "the alternate screen must be gone:\n{after}"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    restored_after("term", "-TERM");
}

#[test]
fn sighup_restores_the_terminal() {
    restored_after("hup", "-HUP");
}

#[test]
fn a_panic_restores_the_terminal_and_says_what_happened() {
    let sb = Sandbox::new("panic");
    let (tmux, _) = run_in_tmux("panic", &sb, 120, 30, "--demo --crash-after-ms 1500");
    let after = tmux.wait_for("the program to exit", common::exited);
    assert!(after.contains("EXIT=101"), "{after}");
    assert!(
        after.contains("crash requested"),
        "the panic message is readable:\n{after}"
    );
    assert!(
        cooked(&after),
        "terminal not restored after a panic:\n{after}"
    );
}

#[test]
fn read_only_is_marked_and_small_terminals_still_work() {
    let sb = Sandbox::new("small");
    let (tmux, _) = run_in_tmux("small", &sb, 80, 24, "--demo --read-only --theme mono");
    let screen = tmux.wait_for("the demo at 80x24", |s| {
        s.contains("READ-ONLY") && s.contains("EVOLVING") && s.contains("Activity")
    });
    assert!(screen.lines().all(|l| l.chars().count() <= 80));
    tmux.send(&["q"]);
    assert!(tmux.wait_for("exit", common::exited).contains("EXIT=0"));
}

/// The id the open task detail shows.
fn detail_id(screen: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let rest = l.split("id ").nth(1)?;
        let id: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
            .collect();
        (id.len() >= 30).then_some(id)
    })
}

/// Issue 14: under a live feed the Tasks view's selection stays on the same task while new
/// tasks arrive above it; Enter opens that task, not whatever now fills the row.
#[test]
fn the_tasks_selection_stays_on_its_task_under_a_live_feed() {
    let sb = Sandbox::new("demo-select");
    let (tmux, _) = run_in_tmux("demo-select", &sb, 120, 30, "--demo");
    tmux.wait_for("every pane alive", alive);
    tmux.send(&["t"]);
    tmux.wait_for("the Tasks view with tasks", |s| {
        s.contains("Tasks") && s.contains("sort: newest")
    });
    tmux.send(&["Down"]);
    tmux.send(&["Down"]);
    tmux.send(&["Enter"]);
    let first = tmux.wait_for("the detail", |s| detail_id(s).is_some());
    let id = detail_id(&first).unwrap();
    tmux.send(&["Escape"]);
    // The demo dispatches all the while: newer tasks arrive above the selected one.
    let before = tmux.capture();
    let events = |s: &str| {
        s.split("events ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let seen = events(&before);
    tmux.wait_for("the feed to move on", |s| events(s) > seen + 20);
    tmux.send(&["Enter"]);
    let again = tmux.wait_for("the detail again", |s| detail_id(s).is_some());
    assert_eq!(detail_id(&again).as_deref(), Some(id.as_str()), "{again}");
    tmux.send(&["Escape"]);
    tmux.send(&["q"]);
    tmux.wait_for("the program to exit", common::exited);
}

/// The TUI serves /metrics too (`--metrics`): its loop answers scrapes between frames, and
/// nothing of it reaches the screen.
#[test]
fn the_tui_serves_metrics_while_it_draws() {
    let sb = Sandbox::new("demo-metrics");
    let port = common::servers::free_port();
    let (tmux, _) = run_in_tmux(
        "demo-metrics",
        &sb,
        100,
        30,
        &format!("--demo --metrics {port}"),
    );
    tmux.wait_for("every pane alive", alive);
    let scrape = || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        Some(text)
    };
    let mut text = String::new();
    common::servers::wait_until("a scrape naming the demo's workers", 20, || {
        text = scrape().unwrap_or_default();
        text.contains("celery_worker_up{hostname=") && text.contains("celery_task_succeeded_total{")
    });
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("application/openmetrics-text"), "{text}");
    assert!(
        text.contains("chavion_agent_state{agent=\"THINKING\""),
        "{text}"
    );
    tmux.send(&["q"]);
    let after = tmux.wait_for("the program to exit", common::exited);
    assert!(after.contains("EXIT=0"), "{after}");
}

/// The demo's containers (the Engine's own JSON through the live decoders): `C` opens the
/// Containers view, the web app restarting in a loop and the retraining job OOM-killed are
/// there, and a restart is confirmed, then refused: the demo reaches nothing.
#[test]
fn the_demo_has_containers_and_refuses_to_restart_them() {
    let sb = Sandbox::new("demo-containers");
    let (tmux, _) = run_in_tmux("demo-containers", &sb, 160, 40, "--demo");
    tmux.wait_for("every pane alive", alive);
    tmux.send(&["C"]);
    tmux.wait_for("the Containers view", |s| {
        s.contains("Containers")
            && s.contains("chavion-retrainer-1")
            && s.contains("OOM-killed")
            && s.contains("chavion-thinking-1")
            && s.contains("restarts")
    });
    tmux.send(&["Down"]);
    tmux.send(&["R"]);
    tmux.wait_for("the confirmation naming the host and the state", |s| {
        s.contains("Confirm an order to a container") && s.contains("on the Docker Engine at")
    });
    tmux.send(&["y"]);
    tmux.wait_for("the refusal", |s| {
        s.contains("not sent anywhere in the demo")
    });
    tmux.send(&["q"]);
    let after = tmux.wait_for("the program to exit", common::exited);
    assert!(after.contains("EXIT=0"), "{after}");
}

/// `:fleet` with no contexts configured lists the one there is, `default`, instead of
/// waiting for ever (issue 27).
#[test]
fn the_fleet_overview_lists_default_when_there_are_no_contexts() {
    let sb = Sandbox::new("demo-fleet");
    let (tmux, _) = run_in_tmux("demo-fleet", &sb, 120, 30, "--demo");
    tmux.wait_for("every pane alive", alive);
    tmux.send(&[":"]);
    tmux.send(&["fleet"]);
    tmux.send(&["Enter"]);
    let shown = tmux.wait_for("the default context listed", |s| {
        s.lines().any(|l| l.contains("default")) && !s.contains("summing up the contexts")
    });
    assert!(!shown.contains("summing up"), "{shown}");
}

/// `:links` opens the Links view on the real binary: every link with its state, since when
/// and its last error; Esc goes back.
#[test]
fn the_links_view_lists_every_link() {
    let sb = Sandbox::new("demo-links");
    let (tmux, _) = run_in_tmux("demo-links", &sb, 120, 30, "--demo");
    tmux.wait_for("every pane alive", alive);
    tmux.send(&[":"]);
    tmux.send(&["links"]);
    tmux.send(&["Enter"]);
    let shown = tmux.wait_for("the Links view", |s| {
        s.contains("Links") && s.contains("last error") && s.contains(" up ")
    });
    assert!(shown.contains("troubled first"), "{shown}");
    tmux.send(&["q"]);
    let after = tmux.wait_for("the program to exit", common::exited);
    assert!(after.contains("EXIT=0"), "{after}");
}
