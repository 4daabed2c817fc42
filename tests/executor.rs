//! The emergency executor against a real OpenSSH sshd: streaming, exit status, a cancel
//! and a timeout that really kill the remote process, and every way a login is refused.

mod common;

use chavion_tui::config::parse_config;
use chavion_tui::executor::run::Status;
use chavion_tui::executor::ssh::{SshError, SshOptions};
use chavion_tui::executor::{RunEnd, RunUpdate, Stream, execute, plan_runbook};
use common::sshd::SshServer;
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

fn executor(toml: &str) -> chavion_tui::config::model::ExecutorConfig {
    let (cfg, diags) = parse_config(toml, Path::new("test.toml"));
    assert!(diags.is_empty(), "{diags:?}");
    cfg.unwrap().0.executor
}

fn runbook(name: &str, command: &str, timeout: u64) -> String {
    format!(
        "[[executor.runbooks]]\nname = \"{name}\"\nhosts = [\"test\"]\ncommand = '''{command}'''\ntimeout_secs = {timeout}\n\n"
    )
}

struct Running {
    updates: mpsc::Receiver<RunUpdate>,
    cancel: watch::Sender<bool>,
    done: tokio::task::JoinHandle<RunEnd>,
}

fn start(toml: &str, book: &str) -> Running {
    let x = executor(toml);
    let plan = plan_runbook(&x, book, None).unwrap();
    let opts = SshOptions::from_config(&x);
    let (tx, updates) = mpsc::channel(64);
    let (cancel, cancelled) = watch::channel(false);
    let done = tokio::spawn(async move { execute(&plan, &opts, 500, cancelled, tx).await });
    Running {
        updates,
        cancel,
        done,
    }
}

/// Output lines until one contains `want` (or the run ends, which fails the test).
async fn until_line(r: &mut Running, want: &str) -> Vec<(Stream, String)> {
    let mut seen = Vec::new();
    while let Some(u) = r.updates.recv().await {
        if let RunUpdate::Output(lines) = u {
            let hit = lines.iter().any(|(_, l)| l.contains(want));
            seen.extend(lines);
            if hit {
                return seen;
            }
        }
    }
    panic!("the run ended before `{want}`; saw {seen:?}");
}

async fn gone(server: &SshServer, pattern: &str) -> bool {
    for _ in 0..100 {
        if !server.process_alive(pattern) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn output_streams_before_the_end_and_cancel_kills_the_remote_process() {
    let server = SshServer::start("cancel");
    let toml = server.executor_toml(
        &server.client_key(),
        &runbook("wait", "echo started; sleep 31337; echo never", 120),
    );
    let mut run = start(&toml, "wait");
    until_line(&mut run, "started").await;
    // The line arrived while the command is still running on the host.
    assert!(
        server.process_alive("sleep 31337"),
        "the remote command should still run"
    );
    assert!(!run.done.is_finished());
    run.cancel.send(true).unwrap();
    let end = run.done.await.unwrap();
    assert!(end.cancelled, "{end:?}");
    assert!(
        matches!(end.status, Status::Signal(_) | Status::Exit(_)),
        "{end:?}"
    );
    assert!(
        gone(&server, "sleep 31337").await,
        "the remote sleep survived the cancel"
    );
}

#[tokio::test]
async fn a_process_that_ignores_term_is_killed_after_the_grace_period() {
    let server = SshServer::start("stubborn");
    let toml = server.executor_toml(
        &server.client_key(),
        &runbook("stubborn", "trap '' TERM; echo started; sleep 31338", 120),
    );
    let mut run = start(&toml, "stubborn");
    until_line(&mut run, "started").await;
    run.cancel.send(true).unwrap();
    let end = run.done.await.unwrap();
    assert!(end.cancelled);
    assert!(
        gone(&server, "sleep 31338").await,
        "TERM was ignored and KILL never came"
    );
}

/// Issue 14: the control room dies mid-run (its task and SSH link dropped, no signal sent).
/// The remote `timeout` ends the command, and the wrapper sweeps what it left: a child
/// that ignores TERM and HUP does not outlive the run.
#[tokio::test]
async fn a_child_ignoring_term_does_not_outlive_a_control_room_that_is_gone() {
    let server = SshServer::start("orphan");
    let toml = server.executor_toml(
        &server.client_key(),
        &runbook(
            "orphan",
            "sh -c 'trap \"\" TERM HUP; exec sleep 31341' & echo started; sleep 31342",
            3,
        ),
    );
    let mut run = start(&toml, "orphan");
    until_line(&mut run, "started").await;
    assert!(server.process_alive("sleep 31341"));
    // The control room is gone: no TERM, no KILL, no sweep from this side.
    run.done.abort();
    drop(run);
    assert!(
        gone(&server, "sleep 31342").await,
        "the remote timeout did not end the command"
    );
    assert!(
        gone(&server, "sleep 31341").await,
        "a child that ignores TERM outlived the run"
    );
}

/// Issue 14: OpenSSH delivers no signal to a root session. The cancel still ends the run
/// (the process group is killed over a second channel) and says so; it is not reported as
/// "never started" (255).
#[tokio::test]
async fn a_cancelled_root_run_is_killed_and_reported_as_such() {
    let server = SshServer::start("root");
    let toml = server.executor_toml_as(
        "root",
        &server.client_key(),
        &runbook("wait", "echo started; sleep 31343", 120),
    );
    let mut run = start(&toml, "wait");
    until_line(&mut run, "started").await;
    run.cancel.send(true).unwrap();
    let end = run.done.await.unwrap();
    assert!(end.cancelled, "{end:?}");
    assert_eq!(end.status, Status::Swept, "{end:?}");
    assert_eq!(
        end.exit_code(),
        137,
        "not 255, which means it never started"
    );
    assert!(end.summary().contains("root login"), "{}", end.summary());
    let root_alive = || {
        std::process::Command::new("pgrep")
            .args(["-u", "root", "-f", "sleep 31343"])
            .status()
            .is_ok_and(|s| s.success())
    };
    for _ in 0..50 {
        if !root_alive() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!root_alive(), "the root run's sleep survived the cancel");
}

#[tokio::test]
async fn exit_status_and_both_streams_come_back() {
    let server = SshServer::start("status");
    let toml = server.executor_toml(
        &server.client_key(),
        &runbook(
            "status",
            "echo to-out; echo to-err >&2; printf '\\033[31mred\\033[0m\\n'; exit 7",
            60,
        ),
    );
    let mut run = start(&toml, "status");
    let mut lines = Vec::new();
    while let Some(u) = run.updates.recv().await {
        if let RunUpdate::Output(l) = u {
            lines.extend(l);
        }
    }
    let end = run.done.await.unwrap();
    assert_eq!(end.status, Status::Exit(7), "{end:?}");
    assert_eq!(end.exit_code(), 7);
    assert!(!end.cancelled && !end.timed_out);
    assert!(lines.contains(&(Stream::Out, "to-out".into())), "{lines:?}");
    assert!(lines.contains(&(Stream::Err, "to-err".into())), "{lines:?}");
    // Colour codes from the host never reach the screen.
    assert!(lines.contains(&(Stream::Out, "red".into())), "{lines:?}");
}

#[tokio::test]
async fn the_runbook_timeout_kills_the_run() {
    let server = SshServer::start("timeout");
    let toml = server.executor_toml(
        &server.client_key(),
        &runbook("slow", "echo started; sleep 31339", 1),
    );
    let mut run = start(&toml, "slow");
    until_line(&mut run, "started").await;
    let end = run.done.await.unwrap();
    assert!(end.timed_out, "{end:?}");
    assert!(!end.succeeded());
    assert!(
        gone(&server, "sleep 31339").await,
        "the timed-out sleep survived"
    );
}

async fn refused(toml: &str) -> SshError {
    let mut run = start(toml, "hello");
    let end = run.done.await.unwrap();
    assert!(
        run.updates.recv().await.is_none(),
        "nothing should have run"
    );
    assert_eq!(end.exit_code(), 255);
    match end.status {
        Status::NotStarted(e) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_host_key_is_refused_with_its_fingerprint_and_line() {
    let server = SshServer::start("unknown");
    std::fs::write(server.known_hosts(), "").unwrap();
    let toml = server.executor_toml(&server.client_key(), &runbook("hello", "echo hi", 10));
    let SshError::HostKey(why) = refused(&toml).await else {
        panic!("expected a host-key refusal");
    };
    assert!(why.contains("SHA256:"), "{why}");
    let line = server.known_line();
    assert!(why.contains(line.trim()), "{why}\nshould offer: {line}");
}

#[tokio::test]
async fn a_changed_host_key_is_refused_loudly() {
    let mut server = SshServer::start("changed");
    server.new_host_key();
    let toml = server.executor_toml(&server.client_key(), &runbook("hello", "echo hi", 10));
    let SshError::HostKey(why) = refused(&toml).await else {
        panic!("expected a host-key refusal");
    };
    assert!(why.starts_with("HOST KEY CHANGED"), "{why}");
    assert!(why.contains("known_hosts:1"), "{why}");
}

/// Issue 14: the line named is the file's own line, comments counted.
#[tokio::test]
async fn a_changed_host_key_names_the_right_line_past_comments() {
    let mut server = SshServer::start("changed-line");
    let old = server.known_line();
    server.new_host_key();
    std::fs::write(
        server.known_hosts(),
        format!(
            "# fleet hosts\n# kept by hand\n\nother.example {}\n{old}",
            old.split_once(' ').unwrap().1.trim_end()
        ),
    )
    .unwrap();
    let toml = server.executor_toml(&server.client_key(), &runbook("hello", "echo hi", 10));
    let SshError::HostKey(why) = refused(&toml).await else {
        panic!("expected a host-key refusal");
    };
    assert!(
        why.contains("known_hosts:5."),
        "line 5 holds the old key: {why}"
    );
}

/// Issue 14: a host listed only by its ECDSA key is asked for that key, as OpenSSH does,
/// though it offers ed25519 too.
#[tokio::test]
async fn a_host_known_only_by_its_ecdsa_key_is_reached() {
    let mut server = SshServer::start("ecdsa");
    let ecdsa = server.add_ecdsa_host_key();
    std::fs::write(server.known_hosts(), format!("# only ECDSA\n{ecdsa}")).unwrap();
    let toml = server.executor_toml(
        &server.client_key(),
        &runbook("hello", "echo via-ecdsa", 10),
    );
    let mut run = start(&toml, "hello");
    until_line(&mut run, "via-ecdsa").await;
    let end = run.done.await.unwrap();
    assert_eq!(end.exit_code(), 0, "{:?}", end.status);
}

#[tokio::test]
async fn a_wrong_client_key_is_refused() {
    let server = SshServer::start("wrongkey");
    let toml = server.executor_toml(&server.stranger_key(), &runbook("hello", "echo hi", 10));
    let SshError::Auth(why) = refused(&toml).await else {
        panic!("expected a login refusal");
    };
    assert!(why.contains("accepted none of"), "{why}");
    assert!(why.contains("stranger"), "{why}");
}

// ---- The control room: the Executor view, the confirmation, tabs and Ctrl-C ----

use chavion_tui::app::state::{Mode, RunPhase, View};
use common::room::Room;
use crossterm::event::{KeyCode, KeyModifiers};

/// A room with no feeds and the executor pointed at `server`.
fn room_config(server: &SshServer, runbooks: &str) -> String {
    format!(
        "socketio = []\nports = []\n{}",
        server.executor_toml(&server.client_key(), runbooks)
    )
}

fn lines_of(room: &Room) -> Vec<String> {
    room.state
        .executor
        .current()
        .map(|r| r.lines.iter().map(|(_, l)| l.clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_tui_confirms_streams_into_a_tab_and_ctrl_c_kills_the_remote_process() {
    let server = SshServer::start("room");
    let mut room = Room::bare(
        &room_config(&server, &runbook("wait", "echo started; sleep 31340", 120)),
        false,
    );
    room.key(KeyCode::Char('e')).await;
    assert_eq!(room.state.ui.view, View::Executor);
    room.key(KeyCode::Enter).await;
    let Mode::ConfirmExec(p) = &room.state.ui.mode else {
        panic!("enter should ask first, not run");
    };
    // The confirmation shows the exact line the host will run.
    assert!(p.plan.remote.contains("sleep 31340"), "{}", p.plan.remote);
    room.key(KeyCode::Char('y')).await;
    room.until("the first line in the run's tab", |s| {
        s.executor
            .current()
            .is_some_and(|r| r.lines.iter().any(|(_, l)| l == "started"))
    })
    .await;
    assert!(server.process_alive("sleep 31340"));
    // The run's output joins the one activity stream, under the runbook's name.
    assert!(
        room.state
            .activity
            .lines
            .iter()
            .any(|l| l.source == "exec:wait" && l.message == "started")
    );
    room.key_with(KeyCode::Char('c'), KeyModifiers::CONTROL)
        .await;
    room.until("the run to end", |s| {
        s.executor
            .current()
            .is_some_and(|r| matches!(r.phase, RunPhase::Ended(_)))
    })
    .await;
    let RunPhase::Ended(end) = &room.state.executor.current().unwrap().phase else {
        unreachable!()
    };
    assert!(end.cancelled, "{end:?}");
    assert!(
        gone(&server, "sleep 31340").await,
        "ctrl-c left the remote process running"
    );
    // Ctrl-C in the Executor cancels the run; it did not quit the control room.
    assert!(lines_of(&room).contains(&"started".to_string()));
}

#[tokio::test]
async fn a_destructive_runbook_runs_only_once_the_host_name_is_typed() {
    let server = SshServer::start("destructive");
    let book = format!(
        "{}destructive = true\n",
        runbook("purge", "echo purged", 30)
    );
    let mut room = Room::bare(&room_config(&server, &book), false);
    room.key(KeyCode::Char(':')).await;
    room.keys("exec purge").await;
    room.key(KeyCode::Enter).await;
    assert!(matches!(room.state.ui.mode, Mode::ConfirmExec(_)));
    // `y` is not enough, and neither is a wrong name.
    room.keys("y").await;
    room.key(KeyCode::Enter).await;
    assert!(matches!(room.state.ui.mode, Mode::ConfirmExec(_)));
    assert!(room.state.executor.runs.is_empty());
    let flash = room.state.flash.as_ref().unwrap().text.clone();
    assert!(flash.contains("type the host's name `test`"), "{flash}");
    // Said in the dialog itself, which stays open (issue 14).
    let Mode::ConfirmExec(p) = &room.state.ui.mode else {
        unreachable!()
    };
    assert_eq!(
        p.wrong.as_deref(),
        Some("not run: `y` is not `test`; type the host's name `test` exactly, then Enter")
    );
    room.key(KeyCode::Backspace).await;
    room.keys("test").await;
    room.key(KeyCode::Enter).await;
    room.until("the run to end", |s| {
        s.executor
            .runs
            .first()
            .is_some_and(|r| matches!(r.phase, RunPhase::Ended(_)))
    })
    .await;
    assert_eq!(lines_of(&room), vec!["purged".to_string()]);
}

#[tokio::test]
async fn read_only_refuses_to_run_in_the_tui_in_words() {
    let server = SshServer::start("ro-room");
    let mut room = Room::bare(
        &room_config(&server, &runbook("hello", "echo hi", 10)),
        true,
    );
    room.key(KeyCode::Char('e')).await;
    room.key(KeyCode::Enter).await;
    assert_eq!(
        room.state.ui.mode,
        Mode::Normal,
        "read-only must not even ask"
    );
    assert!(room.state.executor.runs.is_empty());
    let flash = room.state.flash.as_ref().unwrap().text.clone();
    assert!(flash.contains("--read-only"), "{flash}");
}

// ---- The shell: `chavion-tui exec` ----

use common::Sandbox;

fn sandbox_with(tag: &str, config: &str) -> Sandbox {
    let sb = Sandbox::new(tag);
    let dir = sb.path("config/chavion-tui");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), config).unwrap();
    sb
}

#[test]
fn exec_streams_output_exits_with_the_remote_code_and_is_audited() {
    let server = SshServer::start("cli");
    let sb = sandbox_with(
        "exec-cli",
        &room_config(
            &server,
            &runbook("hello", "echo out-line; echo err-line >&2; exit 7", 30),
        ),
    );
    let out = sb.cmd(&["exec", "hello", "--yes"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.code(),
        Some(7),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert_eq!(stdout.trim(), "out-line");
    assert!(stderr.contains("err-line"), "{stderr}");
    assert!(stderr.contains("exit status 7"), "{stderr}");

    let runs = sb.cmd(&["audit", "--runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    let run = &runs[0];
    assert_eq!(run["runbook"], "hello");
    assert_eq!(run["host"], "test");
    assert_eq!(run["exit_status"], 7);
    assert!(run["command"].as_str().unwrap().contains("echo out-line"));
    assert!(run["output"].as_str().unwrap().contains("out-line"));
    assert!(
        run["output"]
            .as_str()
            .unwrap()
            .contains("[stderr] err-line")
    );
    assert!(run["ended_ms"].as_i64() >= run["started_ms"].as_i64());
    let audit = sb.cmd(&["audit", "--json"]);
    let audit: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(audit[0]["action"], "exec");
    assert_eq!(audit[0]["target"], "hello@test");
}

#[test]
fn exec_refuses_under_read_only_in_the_demo_and_without_confirmation() {
    let server = SshServer::start("cli-ro");
    let marker = format!("/tmp/chavion-exec-ran-{}", std::process::id());
    let _ = std::fs::remove_file(&marker);
    let sb = sandbox_with(
        "exec-ro",
        &room_config(&server, &runbook("touch", &format!("touch {marker}"), 30)),
    );
    let out = sb.cmd(&["--read-only", "exec", "touch", "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--read-only"), "{stderr}");
    // The demo never reaches a real host, from the shell either (issue 14).
    let out = sb.cmd(&["--demo", "exec", "touch", "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refused: running a runbook over SSH is not sent anywhere in the demo"),
        "{stderr}"
    );
    // No terminal and no --yes: nobody confirmed it.
    let out = sb.cmd(&["exec", "touch"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pass --yes"), "{stderr}");
    assert!(!Path::new(&marker).exists(), "a refused run ran");
}

#[test]
fn exec_fails_clearly_on_a_host_key_it_does_not_know() {
    let server = SshServer::start("cli-hostkey");
    std::fs::write(server.known_hosts(), "").unwrap();
    let sb = sandbox_with(
        "exec-hostkey",
        &room_config(&server, &runbook("hello", "echo hi", 10)),
    );
    let out = sb.cmd(&["exec", "hello", "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(stderr.contains("host key refused"), "{stderr}");
    assert!(stderr.contains(server.known_line().trim()), "{stderr}");
    assert!(out.stdout.is_empty());
}

// ---- The real binary in tmux ----

#[test]
fn in_the_real_tui_redis_down_leads_to_a_runbook_that_streams_and_ctrl_c_kills_it() {
    let server = SshServer::start("tmux");
    let dead_redis = common::servers::free_port();
    let book = format!(
        "{}agents = [\"THINKING\"]\n",
        runbook("unstick", "echo started; sleep 31341", 120)
    );
    let sb = sandbox_with(
        "exec-tmux",
        &format!(
            "{}\n[redis]\nurl = \"redis://127.0.0.1:{dead_redis}/0\"\n",
            room_config(&server, &book)
        ),
    );
    let (tmux, _) = common::run_in_tmux("exec-tmux", &sb, 120, 30, "");
    tmux.wait_for("the queue path shown down", |s| {
        s.contains("queue path down: e for runbooks")
    });
    tmux.send(&["Down"]);
    tmux.send(&["e"]);
    tmux.wait_for("THINKING's runbooks", |s| {
        s.contains("Runbooks for THINKING") && s.contains("unstick")
    });
    tmux.send(&["Enter"]);
    tmux.wait_for("the confirmation", |s| {
        s.contains("Confirm run over SSH") && s.contains("sleep 31341")
    });
    tmux.send(&["y"]);
    tmux.wait_for("the first line, live", |s| {
        s.contains("started") && s.contains("ctrl-c cancel")
    });
    assert!(server.process_alive("sleep 31341"));
    tmux.send(&["C-c"]);
    tmux.wait_for("the run cancelled", |s| s.contains("cancelled;"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert!(
        rt.block_on(gone(&server, "sleep 31341")),
        "ctrl-c in the TUI left the remote process running"
    );
    tmux.send(&["q"]);
    tmux.wait_for("the program to exit cleanly", |s| {
        common::exited(s) && s.contains("EXIT=0")
    });
}

#[test]
fn the_ssh_agent_is_tried_before_key_files() {
    let server = SshServer::start("agent");
    let sock = server.dir.join("agent.sock");
    let agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent (openssh-client)");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _agent = Kill(agent);
    common::servers::wait_until("ssh-agent", 10, || sock.exists());
    let added = std::process::Command::new("ssh-add")
        .arg(server.client_key())
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    // The key file is the wrong one: only the agent's key can get in.
    let toml = room_config(&server, &runbook("hello", "echo via-agent", 10)).replace(
        &format!(
            "identity = \"{}\"\nagent = false",
            server.client_key().display()
        ),
        &format!(
            "identity = \"{}\"\nagent = true",
            server.stranger_key().display()
        ),
    );
    assert!(toml.contains("agent = true"));
    let sb = sandbox_with("exec-agent", &toml);
    let out = std::process::Command::new(common::BIN)
        .args(["exec", "hello", "--yes"])
        .env("HOME", &sb.dir)
        .env("XDG_CONFIG_HOME", sb.path("config"))
        .env("XDG_DATA_HOME", sb.path("data"))
        .env("XDG_STATE_HOME", sb.path("state"))
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "via-agent");
}

/// Issue 14: `q` with a run going asks first; `y` quits, the remote command is ended, and
/// the trail records the run with how it was stopped.
#[test]
fn quitting_with_a_run_going_asks_first_then_ends_and_records_it() {
    let server = SshServer::start("quit");
    let sb = sandbox_with(
        "exec-quit",
        &room_config(&server, &runbook("wait", "echo started; sleep 31344", 120)),
    );
    let (tmux, _) = common::run_in_tmux("exec-quit", &sb, 120, 30, "");
    tmux.send(&["e"]);
    tmux.wait_for("the runbook list", |s| s.contains("wait"));
    tmux.send(&["Enter"]);
    tmux.wait_for("the confirmation", |s| s.contains("Confirm run over SSH"));
    tmux.send(&["y"]);
    tmux.wait_for("the run going", |s| {
        s.contains("started") && s.contains("ctrl-c cancel")
    });
    assert!(server.process_alive("sleep 31344"));
    tmux.send(&["q"]);
    tmux.wait_for("the question", |s| {
        s.contains("Quit?") && s.contains("1 run(s) still going") && s.contains("wait on test")
    });
    tmux.send(&["n"]);
    tmux.wait_for("still running", |s| s.contains("not quitting"));
    assert!(server.process_alive("sleep 31344"), "`n` stopped nothing");
    tmux.send(&["q"]);
    tmux.wait_for("the question again", |s| s.contains("Quit?"));
    tmux.send(&["y"]);
    tmux.wait_for("the program to exit cleanly", |s| {
        common::exited(s) && s.contains("EXIT=0")
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert!(
        rt.block_on(gone(&server, "sleep 31344")),
        "quitting left the remote process running"
    );
    let runs = sb.cmd(&["audit", "--runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    let outcome = runs[0]["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("stopped because the control room quit: cancelled;"),
        "{outcome}"
    );
}
