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
