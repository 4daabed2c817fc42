//! The activity log as an operator's tool, in the real binary in tmux: a service's log file
//! tailed into the stream (through rotation), filtered, searched, copied to the clipboard
//! over OSC 52 (tmux keeps what it receives as a paste buffer), saved, full screen.

mod common;

use common::{Sandbox, append, run_in_tmux};

#[test]
fn a_tailed_log_is_filtered_searched_copied_and_saved() {
    let sb = Sandbox::new("logview");
    let logs = sb.path("svc");
    std::fs::create_dir_all(&logs).unwrap();
    let web = logs.join("web.log");
    append(&web, "");
    let dead_redis = common::servers::free_port();
    let dir = sb.path("config/chavion-tui");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "socketio = []\nports = []\n[redis]\nurl = \"redis://127.0.0.1:{dead_redis}/0\"\n\
             [ui]\nutc = true\n[logs]\npoll_ms = 100\n[[logs.files]]\npath = \"{}/*.log\"\n",
            logs.display()
        ),
    )
    .unwrap();
    let (tmux, _) = run_in_tmux("logview", &sb, 220, 40, "");
    // tmux keeps what an application sends with OSC 52 as a paste buffer.
    tmux.run(&["set-option", "-s", "set-clipboard", "on"]);
    tmux.wait_for("the dashboard", |s| s.contains("Activity"));
    append(
        &web,
        "GET /health 200\n[2026-11-24 10:00:01,000: ERROR/MainProcess] \x1b[31mupstream exploded\x1b[0m\n",
    );
    tmux.wait_for("the tailed lines, with the file as their source", |s| {
        s.contains("web") && s.contains("GET /health 200") && s.contains("upstream exploded")
    });

    // Focus the log: Agents → Queues → Ports → Activity.
    tmux.send(&["Tab"]);
    tmux.send(&["Tab"]);
    tmux.send(&["Tab"]);
    tmux.send(&["/"]);
    tmux.send(&["-l", "source:web level:error"]);
    tmux.send(&["Enter"]);
    tmux.wait_for("only the error line", |s| {
        s.contains("/source:web level:error (1 of")
            && s.contains("upstream exploded")
            && !s.contains("GET /health")
    });

    // Copy the bottom line to the clipboard.
    tmux.send(&["c"]);
    tmux.wait_for("the copy said", |s| s.contains("copied 1 line(s)"));
    let buffer = tmux.run(&["show-buffer"]);
    assert!(
        buffer.contains("ERROR web [2026-11-24 10:00:01,000: ERROR/MainProcess] upstream exploded"),
        "{buffer:?}"
    );
    assert!(
        !buffer.contains('\x1b'),
        "control sequences must not reach the clipboard"
    );

    // Save the filtered view.
    tmux.send(&["C-s"]);
    let screen = tmux.wait_for("the save said", |s| s.contains("lines saved to"));
    let saved_dir = sb.path("data/chavion-tui/saved");
    let files: Vec<_> = std::fs::read_dir(&saved_dir)
        .unwrap_or_else(|e| panic!("{}: {e}\n{screen}", saved_dir.display()))
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(
        text.contains("upstream exploded") && !text.contains("GET /health"),
        "{text}"
    );

    // Clear the filter; search; rotation keeps the stream going.
    tmux.send(&["/"]);
    tmux.send(&["C-u"]);
    tmux.send(&["Enter"]);
    tmux.wait_for("everything again", |s| {
        s.contains("GET /health") && s.contains("following")
    });
    std::fs::rename(&web, logs.join("web.log.1")).unwrap();
    append(&web, "after rotation\n");
    tmux.wait_for("the rotated file followed", |s| {
        s.contains("after rotation") && s.contains("was rotated")
    });
    tmux.send(&["C-f"]);
    tmux.send(&["-l", "health"]);
    tmux.send(&["Enter"]);
    tmux.wait_for("the search, paused on its match", |s| {
        s.contains("search: health") && s.contains("paused · ") && s.contains(" below")
    });

    // Full screen: the bars go, the log stays.
    tmux.send(&["f"]);
    tmux.wait_for("the log alone", |s| {
        !s.contains("? help") && s.contains("GET /health 200")
    });
    tmux.send(&["f"]);
    tmux.wait_for("the bars back", |s| s.contains("? help"));
    tmux.send(&["q"]);
    tmux.wait_for("a clean exit", |s| {
        common::exited(s) && s.contains("EXIT=0")
    });
}
