//! Commanding the Celery fleet: asking workers (inspect), changing them (pool, autoscale,
//! consumers, limits, shutdown), and changing what waits in the queues (purge, move) or
//! sending tasks again (retry). The TUI and the shell CLI both come here, so each command
//! passes the one gate and leaves one audit record, whoever asked.

use std::time::Duration;

pub use super::retry::{
    RETRY_PACE, Retried, Source, as_confirmed, look_up, retry, retry_lines, retry_links, shown,
};
use super::{Context, audit, gate};
use crate::clients::broker::{self, pidbox, queues, reason};
use crate::event::Failure;
use crate::gate::Act;
use crate::orders::Order;
pub use crate::orders::{Aim, RetryOrder};
use crate::platform::pidbox::{Control, Inspect, Roll, WorkerDetail};

/// How long workers are given to answer.
pub const WINDOW: Duration = Duration::from_secs(3);

/// What workers said to one inspect method, each reply cleaned, and who stayed silent.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    pub method: Inspect,
    pub replies: Vec<(String, serde_json::Value)>,
    pub silent: Vec<String>,
}

/// Asks `method` of the aimed workers. Only reads: no gate, but never in the demo, whose
/// configured Redis may be the real platform.
pub async fn inspect(
    ctx: &Context,
    aim: &Aim,
    method: Inspect,
    task_ids: &[String],
) -> Result<Said, crate::event::Failure> {
    if ctx.gate.demo {
        return Err("the demo's fleet is simulated: there is no worker to ask".into());
    }
    let replies = pidbox::call(
        &ctx.redis_url,
        &ctx.target.keyprefix,
        &ctx.pidbox_channel,
        method.method(),
        method.arguments(task_ids),
        &aim.destination(),
        WINDOW,
    )
    .await
    .map_err(|e| Failure::Failed(e.to_string()))?;
    let replies: Vec<_> = replies
        .into_iter()
        .map(|(w, v)| (w, crate::platform::pidbox::clean_value(&v)))
        .collect();
    let silent = aim
        .addressed()
        .into_iter()
        .filter(|w| !replies.iter().any(|(r, _)| r == w))
        .collect();
    Ok(Said {
        method,
        replies,
        silent,
    })
}

/// Everything a worker's detail shows, asked on one connection, one method after another (a
/// named worker answers each in a few milliseconds). Silence to every question is an error.
pub async fn detail(ctx: &Context, worker: &str) -> Result<WorkerDetail, crate::event::Failure> {
    if ctx.gate.demo {
        return Err("the demo's fleet is simulated: there is no worker to ask".into());
    }
    let mut conn = broker::connect(&ctx.redis_url)
        .await
        .map_err(|e| reason(&e))?;
    let mut detail = WorkerDetail::default();
    let to = [worker.to_string()];
    for m in Inspect::DETAIL {
        let replies = pidbox::ask(
            &mut conn,
            &ctx.target.keyprefix,
            &ctx.pidbox_channel,
            m.method(),
            m.arguments(&[]),
            &to,
            WINDOW,
        )
        .await
        .map_err(|e| reason(&e))?;
        match replies.iter().find(|(w, _)| w == worker) {
            Some((_, said)) => detail.apply(m, said),
            // A worker silent to the first question is gone: do not wait out the others.
            None if detail.answered.is_empty() => {
                return Err(format!("did not answer within {} s", WINDOW.as_secs()).into());
            }
            None => {}
        }
    }
    Ok(detail)
}

/// Carries out one confirmed order; one line per worker or task, each ok or not.
pub async fn carry_out(ctx: &Context, order: Order) -> Result<Vec<(bool, String)>, Failure> {
    match order {
        Order::Control { cmd, aim } => {
            let roll = command(ctx, &cmd, &aim).await?;
            if !cmd.expects_reply() {
                return Ok(vec![(
                    true,
                    format!(
                        "shutdown sent to {}: it finishes its running tasks, then goes offline",
                        aim.words()
                    ),
                )]);
            }
            let mut lines: Vec<_> = roll
                .answers
                .iter()
                .map(|(w, a)| (a.is_ok(), format!("{w}: {}", a.words())))
                .collect();
            silence(&mut lines, &roll.silent);
            if let Some(note) = cmd
                .note()
                .filter(|_| roll.answers.iter().any(|(_, a)| a.is_ok()))
            {
                lines.push((true, format!("note: {note}")));
            }
            Ok(lines)
        }
        Order::Container { op, host, aims } => {
            super::containers::carry_out(ctx, &op, &host, &aims).await
        }
        Order::Retry { tasks } => Ok(retry_lines(retry(ctx, &tasks).await)),
        Order::Purge { .. } | Order::Move { .. } => {
            let n = queue_op(ctx, &order).await?;
            let what = match &order {
                Order::Purge { queue, .. } => format!("{queue}: removed"),
                Order::Move { from, to, .. } => format!("{from} → {to}: moved"),
                _ => unreachable!("matched above"),
            };
            Ok(vec![(true, format!("{what} {}", queues::per_step(&n)))])
        }
    }
}

/// One inspect method asked of every worker: a line per worker, its answer compacted.
pub async fn inspect_all(
    ctx: &Context,
    method: Inspect,
    known: Vec<String>,
) -> Result<Vec<(bool, String)>, Failure> {
    let said = inspect(ctx, &Aim::All { known }, method, &[]).await?;
    let mut lines: Vec<_> = said
        .replies
        .iter()
        .map(|(w, v)| {
            (
                true,
                format!("{w}: {}", crate::sanitize::clean(&v.to_string(), 300)),
            )
        })
        .collect();
    silence(&mut lines, &said.silent);
    Ok(lines)
}

/// A line for each worker that said nothing in time, and one for nobody at all.
fn silence(lines: &mut Vec<(bool, String)>, silent: &[String]) {
    let window = WINDOW.as_secs();
    lines.extend(
        silent
            .iter()
            .map(|w| (false, format!("{w}: did not answer within {window} s"))),
    );
    if lines.is_empty() {
        lines.push((false, format!("no worker answered within {window} s")));
    }
}

/// Sends a control command to the aimed workers and collects each answer, audited.
pub async fn command(ctx: &Context, cmd: &Control, aim: &Aim) -> Result<Roll, Failure> {
    let act = if *cmd == Control::Shutdown {
        Act::Shutdown
    } else {
        Act::Control
    };
    let target = format!("{} {}", aim.words(), cmd.method());
    let payload = cmd.arguments().to_string();
    gate(ctx, act, &target, payload.as_bytes()).await?;
    cmd.check()
        .map_err(|why| Failure::Refused(format!("refused: {why}")))?;
    let window = if cmd.expects_reply() {
        WINDOW
    } else {
        // A worker told to shut down does not answer: do not wait out the window.
        Duration::from_millis(200)
    };
    let sent = pidbox::call(
        &ctx.redis_url,
        &ctx.target.keyprefix,
        &ctx.pidbox_channel,
        cmd.method(),
        cmd.arguments(),
        &aim.destination(),
        window,
    )
    .await;
    let outcome = sent.map(|replies| {
        if cmd.expects_reply() {
            Roll::of(&replies, &aim.addressed())
        } else {
            Roll::default()
        }
    });
    let said = match &outcome {
        Ok(roll) if cmd.expects_reply() => roll.words(WINDOW.as_secs()),
        Ok(_) => format!(
            "shutdown sent to {}; a worker finishes its running tasks, then goes offline",
            aim.words()
        ),
        Err(e) => format!("failed: {e}"),
    };
    audit(
        ctx,
        act.audit_name(),
        &target,
        payload.as_bytes(),
        &said,
        &format!("{} {payload}", cmd.words()),
    )
    .await;
    outcome.map_err(|e| Failure::Failed(e.to_string()))
}

/// Depth of each of the queue's four priority sub-queues, for a confirmation.
pub async fn depths(ctx: &Context, queue: &str) -> Result<[u64; 4], String> {
    let mut conn = broker::connect(&ctx.redis_url)
        .await
        .map_err(|e| reason(&e))?;
    queues::depths(&mut conn, &ctx.target.keyprefix, queue)
        .await
        .map_err(|e| reason(&e))
}

/// Purges a queue (all four sub-queues; with a task name, only that task's messages) in
/// one atomic step, or moves what waits in one queue to another, message by message
/// atomically and each priority to its own; audited with the counts per priority.
pub async fn queue_op(ctx: &Context, order: &Order) -> Result<[u64; 4], Failure> {
    let (act, queue, verb) = match order {
        Order::Purge { queue, .. } => (Act::Purge, queue, "removed"),
        Order::Move { from, .. } => (Act::Move, from, "moved"),
        _ => return Err(Failure::Refused("refused: not an order on a queue".into())),
    };
    let target = order.words();
    gate(ctx, act, &target, queue.as_bytes()).await?;
    if let Order::Move { from, to, .. } = order
        && from == to
    {
        return Err(Failure::Refused(
            "refused: a queue cannot be moved into itself".into(),
        ));
    }
    let outcome = async {
        let mut conn = broker::connect(&ctx.redis_url)
            .await
            .map_err(|e| reason(&e))?;
        let prefix = &ctx.target.keyprefix;
        match order {
            Order::Move { from, to, task } => {
                queues::move_all(&mut conn, prefix, from, to, task.as_deref()).await
            }
            Order::Purge { queue, task } => {
                queues::purge(&mut conn, prefix, queue, task.as_deref()).await
            }
            _ => unreachable!("matched above"),
        }
        .map_err(|e| reason(&e))
    }
    .await;
    let said = match &outcome {
        Ok(n) => format!("{verb} {}", queues::per_step(n)),
        Err(e) => format!("failed: {e}"),
    };
    audit(ctx, act.audit_name(), &target, queue.as_bytes(), &said, "").await;
    Ok(outcome?)
}
