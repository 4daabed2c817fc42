//! `chavion-tui exec RUNBOOK`: the executor from the shell. Output streams to stdout and
//! stderr as it comes; the exit code is the remote one (255, as ssh says it, when the run
//! never started); Ctrl-C cancels the remote command the way the TUI does.

use std::io::Write;
use std::process::ExitCode;
use tokio::sync::{mpsc, watch};

use crate::actions::{self, exec::run_audited};
use crate::config::Settings;
use crate::executor::{RunPlan, RunUpdate, Stream, plan_runbook};
use crate::store::SharedStore;
use crate::wiring;

pub async fn exec(
    settings: &Settings,
    runbook: &str,
    host: Option<&str>,
    yes: bool,
    gate: crate::gate::Gate,
) -> ExitCode {
    let plan = match plan_runbook(&settings.config.executor, runbook, host) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("chavion-tui: {why}");
            return ExitCode::from(2);
        }
    };
    let store = match wiring::open_store(settings.store_url.as_deref()).await {
        Ok(s) => s,
        Err(why) => {
            eprintln!("chavion-tui: {why}");
            return ExitCode::from(3);
        }
    };
    let ctx = wiring::action_context(settings, gate, SharedStore::ready(store));
    let target = format!("{}@{}", plan.runbook, plan.host.name);
    let act = crate::gate::Act::Exec;
    if let Err(refusal) = actions::gate(&ctx, act, &target, plan.remote.as_bytes()).await {
        eprintln!("chavion-tui: {refusal}");
        return ExitCode::from(2);
    }
    describe(&plan);
    if !yes {
        match tokio::task::spawn_blocking({
            let plan = plan.clone();
            move || confirmed(&plan)
        })
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                eprintln!("chavion-tui: {why}");
                return ExitCode::from(2);
            }
            Err(_) => return ExitCode::from(2),
        }
    }
    let (cancel_tx, cancel) = watch::channel(false);
    tokio::spawn(async move {
        interrupted().await;
        eprintln!("chavion-tui: cancelling: TERM sent, KILL follows after the grace period");
        let _ = cancel_tx.send(true);
    });
    let (out, mut updates) = mpsc::channel(256);
    let print = async {
        let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
        while let Some(update) = updates.recv().await {
            if let RunUpdate::Output(lines) = update {
                for (stream, line) in lines {
                    // A closed pipe must not end the run unaudited: write errors are ignored.
                    let _ = match stream {
                        Stream::Out => writeln!(stdout, "{line}"),
                        Stream::Err => writeln!(stderr, "{line}"),
                    };
                }
            }
        }
    };
    let (end, ()) = tokio::join!(run_audited(&ctx, &plan, cancel, out), print);
    eprintln!("chavion-tui: {target}: {}", end.summary());
    ExitCode::from(end.exit_code().clamp(0, 255) as u8)
}

fn describe(plan: &RunPlan) {
    eprintln!(
        "run {} on {} ({})",
        plan.runbook,
        plan.host.name,
        plan.host.login()
    );
    eprintln!("  command: {}", plan.command);
    eprintln!("  remote:  {}", plan.remote);
}

fn confirmed(plan: &RunPlan) -> Result<(), String> {
    let question = if plan.destructive {
        format!(
            "DESTRUCTIVE. Type the host's name `{}` to run it:",
            plan.host.name
        )
    } else {
        "Run it? [y/N]".into()
    };
    let typed = plan.destructive.then_some(plan.host.name.as_str());
    super::ask(&question, typed, "nothing was run")
}

async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}
