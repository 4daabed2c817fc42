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

/// A run in flight: its cancel switch, and what it is, so one the control room stops
/// following is still recorded.
pub struct InFlight {
    pub cancel: watch::Sender<bool>,
    pub plan: RunPlan,
    pub started_ms: i64,
}

/// Every run in flight, by id.
pub type Registry = Arc<Mutex<HashMap<u64, InFlight>>>;

/// Output lines are cut to this many characters on the way in.
pub const MAX_LINE_CHARS: usize = 2_000;

pub fn spawn_run(id: u64, plan: RunPlan, ctx: Context, tx: mpsc::Sender<Event>) {
    let (cancel_tx, cancel) = watch::channel(false);
    if let Ok(mut runs) = ctx.runs.lock() {
        let run = InFlight {
            cancel: cancel_tx,
            plan: plan.clone(),
            started_ms: now_ms(),
        };
        runs.insert(id, run);
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
        && let Some(run) = runs.get(&id)
    {
        let _ = run.cancel.send(true);
    }
}

/// The control room is going: every run still going is cancelled (TERM, then KILL, then the
/// sweep) and waited for, each recorded as it ends. `drain` keeps the runs' news flowing
/// meanwhile. One not ended by `limit` is recorded as left behind, with what was done.
pub async fn stop_all(ctx: &Context, limit: std::time::Duration, drain: impl AsyncFnMut()) {
    ctx.quitting
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let live = |ctx: &Context| ctx.runs.lock().map(|r| r.len()).unwrap_or(0);
    if live(ctx) == 0 {
        return;
    }
    if let Ok(runs) = ctx.runs.lock() {
        for run in runs.values() {
            let _ = run.cancel.send(true);
        }
    }
    let deadline = tokio::time::Instant::now() + limit;
    let mut drain = drain;
    while live(ctx) > 0 && tokio::time::Instant::now() < deadline {
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), drain()).await;
    }
    let left: Vec<(RunPlan, i64)> = match ctx.runs.lock() {
        Ok(mut runs) => runs.drain().map(|(_, r)| (r.plan, r.started_ms)).collect(),
        Err(_) => Vec::new(),
    };
    for (plan, started_ms) in left {
        let end = RunEnd {
            status: Status::Unknown(format!(
                "not followed to its end: the control room quit; TERM and KILL were sent, and the remote timeout ({} s) and its sweep end it at the latest",
                plan.timeout.as_secs()
            )),
            duration: std::time::Duration::from_millis((now_ms() - started_ms).max(0) as u64),
            cancelled: true,
            timed_out: false,
        };
        record(ctx, &plan, &end, started_ms, &Transcript::default()).await;
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
    let quit = ctx.quitting.load(std::sync::atomic::Ordering::SeqCst) && end.cancelled;
    let summary = if quit {
        format!("stopped because the control room quit: {}", end.summary())
    } else {
        end.summary()
    };
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
        outcome: summary.clone(),
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
        &summary,
        &detail,
    )
    .await;
}
