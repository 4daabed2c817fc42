//! Performing runs: one task per run, its cancel switch kept in a registry the app's
//! `CancelRun` reaches, and one record per run in the trail when it ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

use super::{Context, audit};
use crate::event::Event;
use crate::executor::run::{Status, Transcript};
use crate::executor::ssh::SshOptions;
use crate::executor::{Cancel, RunEnd, RunPlan, RunUpdate, execute};
use crate::store::{RunRecord, now_ms, operator};

/// The cancel switch of every run in flight, by id.
pub type Registry = Arc<Mutex<HashMap<u64, watch::Sender<bool>>>>;

/// Output lines are cut to this many characters on the way in.
pub const MAX_LINE_CHARS: usize = 2_000;

pub fn spawn_run(id: u64, plan: RunPlan, ctx: Context, tx: mpsc::Sender<Event>) {
    let (cancel_tx, cancel) = watch::channel(false);
    if let Ok(mut runs) = ctx.runs.lock() {
        runs.insert(id, cancel_tx);
    }
    tokio::spawn(async move {
        let (out, mut updates) = mpsc::channel(256);
        let forward = async {
            while let Some(update) = updates.recv().await {
                let _ = tx.send(Event::Run { id, update }).await;
            }
        };
        let (end, ()) = tokio::join!(run_audited(&ctx, &plan, cancel, out), forward);
        if let Ok(mut runs) = ctx.runs.lock() {
            runs.remove(&id);
        }
        let _ = tx
            .send(Event::Run {
                id,
                update: RunUpdate::Ended(end),
            })
            .await;
    });
}

pub fn cancel(ctx: &Context, id: u64) {
    if let Ok(runs) = ctx.runs.lock()
        && let Some(switch) = runs.get(&id)
    {
        let _ = switch.send(true);
    }
}

/// The one way a run happens, for the TUI and `chavion-tui exec` alike: it runs, its
/// updates go to `out` as they come, and the trail records it when it ends.
pub async fn run_audited(
    ctx: &Context,
    plan: &RunPlan,
    cancel: Cancel,
    out: mpsc::Sender<RunUpdate>,
) -> RunEnd {
    let started_ms = now_ms();
    let opts = SshOptions::from_config(&ctx.executor);
    let (tx, mut rx) = mpsc::channel(256);
    let mut transcript = Transcript::default();
    let tee = async {
        while let Some(update) = rx.recv().await {
            if let RunUpdate::Output(lines) = &update {
                for (stream, line) in lines {
                    transcript.add(*stream, line);
                }
            }
            let _ = out.send(update).await;
        }
    };
    let (end, ()) = tokio::join!(execute(plan, &opts, MAX_LINE_CHARS, cancel, tx), tee);
    record(ctx, plan, &end, started_ms, &transcript).await;
    end
}

async fn record(ctx: &Context, plan: &RunPlan, end: &RunEnd, started_ms: i64, t: &Transcript) {
    let (who, ssh_client) = operator();
    let exit_status = match end.status {
        Status::Exit(c) => Some(c as i64),
        _ => None,
    };
    let run = RunRecord {
        started_ms,
        ended_ms: now_ms(),
        who,
        ssh_client,
        runbook: plan.runbook.clone(),
        host: plan.host.name.clone(),
        login: plan.host.login(),
        command: plan.remote.clone(),
        exit_status,
        outcome: end.summary(),
        output: t.text(),
    };
    if let Some(store) = ctx.store.get().await
        && let Err(e) = store.record_run(&run).await
    {
        tracing::error!("run record not stored: {e}");
    }
    let detail = format!(
        "login={} command={} started_ms={} ended_ms={} exit={} lines={}",
        run.login,
        run.command,
        run.started_ms,
        run.ended_ms,
        exit_status.map_or("none".into(), |c| c.to_string()),
        t.lines
    );
    audit(
        ctx,
        "exec",
        &format!("{}@{}", plan.runbook, plan.host.name),
        plan.remote.as_bytes(),
        &end.summary(),
        &detail,
    )
    .await;
}
