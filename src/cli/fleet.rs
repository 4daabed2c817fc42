//! `chavion-tui worker …`, `task retry …` and `queue …`: the fleet's commands from the shell,
//! through the same actions (gate, audit) as the TUI. Each prints what the workers said,
//! or JSON with `--json`. Exit codes: 0 every addressed worker said ok; 1 some did not
//! answer, refused, or a task was not sent; 2 a usage error or a refusal; 3 Redis could not
//! be reached.

use std::process::ExitCode;

use serde_json::json;

use super::confirm;
use crate::actions::fleet::{self, Aim, RetryOrder};
use crate::actions::{self, Context};
use crate::clients::broker::queues;
use crate::config::Settings;
use crate::gate::{Act, Gate};
use crate::orders::Order;
use crate::platform::pidbox::{Control, Inspect, Roll};
use crate::sanitize::clean;
use crate::store::SharedStore;
use crate::wiring;

/// How a command is confirmed and reported: `--yes` (no question) and `--json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Go {
    pub yes: bool,
    pub json: bool,
}

pub(crate) async fn context(settings: &Settings, gate: Gate) -> Result<Context, ExitCode> {
    let store = wiring::open_store(settings.store_url.as_deref())
        .await
        .map_err(|why| {
            eprintln!("chavion-tui: {why}");
            ExitCode::from(3)
        })?;
    Ok(wiring::action_context(
        settings,
        gate,
        SharedStore::ready(store),
    ))
}

/// Refused by the gate before anything is asked or sent: said, audited, exit 2.
pub(crate) async fn gated(ctx: &Context, act: Act, target: &str) -> Result<(), ExitCode> {
    actions::gate(ctx, act, target, b"").await.map_err(|r| {
        eprintln!("chavion-tui: {r}");
        ExitCode::from(2)
    })
}

pub async fn inspect(
    settings: &Settings,
    gate: Gate,
    who: &str,
    method: Inspect,
    as_json: bool,
) -> ExitCode {
    let ctx = match context(settings, gate).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let aim = Aim::of(who, Vec::new());
    let said = match fleet::inspect(&ctx, &aim, method, &[]).await {
        Ok(s) => s,
        Err(why) => {
            eprintln!("chavion-tui: {why}");
            return ExitCode::from(if ctx.gate.demo { 2 } else { 3 });
        }
    };
    if as_json {
        let replies: serde_json::Map<_, _> = said.replies.iter().cloned().collect();
        println!(
            "{}",
            crate::sanitize::json_line(
                &json!({"method": method.method(), "replies": replies, "silent": said.silent})
            )
        );
    } else {
        for (worker, reply) in &said.replies {
            println!("{worker}:");
            let text = crate::sanitize::json_pretty(reply);
            for line in text.lines() {
                println!("  {line}");
            }
        }
        for w in &said.silent {
            println!("{w}: did not answer within {} s", fleet::WINDOW.as_secs());
        }
        if said.replies.is_empty() && said.silent.is_empty() {
            println!("no worker answered within {} s", fleet::WINDOW.as_secs());
        }
    }
    if said.silent.is_empty() && !said.replies.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

pub async fn control(settings: &Settings, gate: Gate, who: &str, cmd: Control, go: Go) -> ExitCode {
    let ctx = match context(settings, gate).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let act = if cmd == Control::Shutdown {
        Act::Shutdown
    } else {
        Act::Control
    };
    let aim = Aim::of(who, Vec::new());
    if let Err(code) = gated(&ctx, act, &format!("{} {}", aim.words(), cmd.method())).await {
        return code;
    }
    if let Err(why) = cmd.check() {
        eprintln!("chavion-tui: refused: {why}");
        return ExitCode::from(2);
    }
    if !go.yes {
        let typed = (cmd == Control::Shutdown).then_some(who);
        let question = format!("{}: {}", aim.words(), cmd.words());
        if let Err(code) = confirm(&question, typed).await {
            return code;
        }
    }
    match fleet::command(&ctx, &cmd, &aim).await {
        Ok(roll) if cmd.expects_reply() => {
            if let Some(note) = cmd
                .note()
                .filter(|_| roll.answers.iter().any(|(_, a)| a.is_ok()))
            {
                eprintln!("chavion-tui: note: {note}");
            }
            report(&roll, go.json)
        }
        Ok(_) => {
            let said = format!(
                "shutdown sent to {}: it finishes its running tasks, then goes offline",
                aim.words()
            );
            if go.json {
                println!(
                    "{}",
                    crate::sanitize::json_line(&json!({"sent": true, "said": said}))
                );
            } else {
                println!("{said}");
            }
            ExitCode::SUCCESS
        }
        Err(why) => failed(&why),
    }
}

fn report(roll: &Roll, as_json: bool) -> ExitCode {
    if as_json {
        let answers: serde_json::Map<_, _> = roll
            .answers
            .iter()
            .map(|(w, a)| {
                let v = match a {
                    crate::platform::pidbox::Answer::Ok(s) => json!({"ok": s}),
                    crate::platform::pidbox::Answer::Refused(s) => json!({"error": s}),
                };
                (w.clone(), v)
            })
            .collect();
        println!(
            "{}",
            crate::sanitize::json_line(&json!({"answers": answers, "silent": roll.silent}))
        );
    } else {
        for (w, a) in &roll.answers {
            println!("{w}: {}", a.words());
        }
        for w in &roll.silent {
            println!("{w}: did not answer within {} s", fleet::WINDOW.as_secs());
        }
        if roll.answers.is_empty() && roll.silent.is_empty() {
            println!("no worker answered within {} s", fleet::WINDOW.as_secs());
        }
    }
    if roll.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `queue purge` and `queue move`: the queue's depth per priority in the question, its
/// name typed to confirm, and the counts per priority after.
pub async fn queue_order(settings: &Settings, gate: Gate, order: Order, go: Go) -> ExitCode {
    let ctx = match context(settings, gate).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (queue, task) = match &order {
        Order::Purge { queue, task } => (queue.clone(), task.clone()),
        Order::Move { from, task, .. } => (from.clone(), task.clone()),
        _ => return ExitCode::from(2),
    };
    if let Err(code) = gated(&ctx, order.act(), &order.words()).await {
        return code;
    }
    match likely_typo(settings, &ctx, &queue).await {
        Ok(false) => {}
        Ok(true) => {
            eprintln!(
                "chavion-tui: {}: no agent consumes it, no binding names it and it holds nothing: a typo? Nothing was done",
                clean(&queue, 120)
            );
            return ExitCode::from(1);
        }
        Err(why) => {
            eprintln!("chavion-tui: {why}");
            return ExitCode::from(3);
        }
    }
    if !go.yes {
        let depth = match fleet::depths(&ctx, &queue).await {
            Ok(d) => d,
            Err(why) => {
                eprintln!("chavion-tui: {why}");
                return ExitCode::from(3);
            }
        };
        let only = task
            .map(|t| format!(", only the messages of {t}"))
            .unwrap_or_default();
        let question = format!(
            "{}{only}: waiting in {queue} now {}",
            order.words(),
            queues::per_step(&depth)
        );
        if let Err(code) = confirm(&question, Some(&queue)).await {
            return code;
        }
    }
    let n = match fleet::queue_op(&ctx, &order).await {
        Ok(n) => n,
        Err(why) => return failed(&why),
    };
    let total = n.iter().sum::<u64>();
    match (&order, go.json) {
        (Order::Purge { queue, .. }, true) => println!(
            "{}",
            crate::sanitize::json_line(
                &json!({"queue": queue, "removed": by_step(&n), "total": total})
            )
        ),
        (Order::Move { from, to, .. }, true) => println!(
            "{}",
            crate::sanitize::json_line(
                &json!({"from": from, "to": to, "moved": by_step(&n), "total": total})
            )
        ),
        (Order::Purge { queue, .. }, false) => {
            println!("{queue}: removed {}", queues::per_step(&n))
        }
        (Order::Move { from, to, .. }, false) => {
            println!("{from} → {to}: moved {}", queues::per_step(&n))
        }
        _ => {}
    }
    ExitCode::SUCCESS
}

/// `{"0": n, "3": n, "6": n, "9": n}`: a count per priority sub-queue.
fn by_step(n: &[u64; 4]) -> serde_json::Value {
    crate::platform::wire::PRIORITY_STEPS
        .iter()
        .zip(n)
        .map(|(s, c)| (s.to_string(), json!(c)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Why an order did not go, said; exit 2 for a refusal, 3 for a failure.
fn failed(why: &crate::event::Failure) -> ExitCode {
    eprintln!("chavion-tui: {why}");
    ExitCode::from(match why {
        crate::event::Failure::Refused(_) => 2,
        crate::event::Failure::Failed(_) => 3,
    })
}

/// Each task's old and new id and how its message was found, or why it was not sent.
fn print_retried(done: &[(String, fleet::Retried)], as_json: bool) {
    if as_json {
        let (mut retried, mut not_sent) = (Vec::new(), Vec::new());
        for (old, r) in done {
            match r {
                Ok((new, source)) => retried
                    .push(json!({"id": clean(old, 64), "new_id": new, "source": source.name()})),
                Err(why) => not_sent.push(json!({"id": clean(old, 64), "why": why})),
            }
        }
        println!(
            "{}",
            crate::sanitize::json_line(&json!({"retried": retried, "not_sent": not_sent}))
        );
    } else {
        for (old, r) in done {
            match r {
                Ok((new, source)) => {
                    println!("{} → {new} ({})", clean(old, 64), source.words())
                }
                Err(why) => println!("{}: not sent: {why}", clean(old, 64)),
            }
        }
    }
}

/// How many of the newest kept dispatches `task retry --filter` looks through.
const FILTER_REACH: i64 = 10_000;

/// Which tasks `task retry` is asked to send again.
pub struct Picked<'a> {
    pub ids: &'a [String],
    pub filter: Option<&'a str>,
    /// Send tasks already retried as well (`--include-retried`).
    pub include_retried: bool,
}

/// `task retry ID…` or `task retry --filter QUERY`: from the shell, a task is sent again
/// only when a copy of its exact message is kept (the audit store's outbox, or kombu's
/// `unacked`); the TUI can also rebuild one from the args its events showed. `--filter`
/// picks among the dispatches kept in the store those the result backend says failed or
/// were revoked, with the Tasks view's filter syntax.
pub async fn retry(settings: &Settings, gate: Gate, picked: Picked<'_>, go: Go) -> ExitCode {
    let Picked {
        ids,
        filter,
        include_retried,
    } = picked;
    let ctx = match context(settings, gate).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(code) = gated(&ctx, Act::Retry, filter.unwrap_or("tasks")).await {
        return code;
    }
    let ids = match ids_to_retry(settings, &ctx, ids, filter, include_retried, &go).await {
        Ok(ids) => ids,
        Err(code) => return code,
    };
    // Each task's exact message is looked up first: the confirmation shows what will be
    // sent, and exactly that is sent (never looked up again after the answer).
    let mut orders = Vec::with_capacity(ids.len());
    for id in &ids {
        orders.push(RetryOrder {
            task_id: id.clone(),
            pinned: fleet::look_up(&ctx, id).await,
            ..RetryOrder::default()
        });
    }
    if !go.yes {
        let question = retry_question(&orders);
        let count = ids.len().to_string();
        let typed = (ids.len() > 1).then_some(count.as_str());
        if let Err(code) = confirm(&question, typed).await {
            return code;
        }
    }
    let done = fleet::retry(&ctx, &orders).await;
    let all = done.iter().all(|(_, r)| r.is_ok());
    print_retried(&done, go.json);
    if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The ids to send again: those named, or those the filter picks among the kept dispatches;
/// without `--include-retried`, the tasks already retried left out (and said). Err: the
/// exit code, once what there was to say is said.
async fn ids_to_retry(
    settings: &Settings,
    ctx: &Context,
    ids: &[String],
    filter: Option<&str>,
    include_retried: bool,
    go: &Go,
) -> Result<Vec<String>, ExitCode> {
    let nothing = |left_out: usize| {
        if go.json {
            println!(
                "{}",
                crate::sanitize::json_line(
                    &json!({"retried": [], "not_sent": [], "left_out": left_out})
                )
            );
        }
    };
    let ids = match filter {
        None => ids.to_vec(),
        Some(query) => match by_filter(settings, ctx, query).await {
            Ok(found) if found.is_empty() => {
                nothing(0);
                if !go.json {
                    println!("no failed or revoked dispatch matches `{query}`");
                }
                return Err(ExitCode::SUCCESS);
            }
            Ok(found) => found,
            Err(why) => {
                eprintln!("chavion-tui: {why}");
                return Err(ExitCode::from(2));
            }
        },
    };
    if include_retried {
        return Ok(ids);
    }
    // Only the newest of a chain is sent, unless asked otherwise.
    let (keep, left_out) = already_retried(ctx, &ids).await;
    for (old, newest) in &left_out {
        eprintln!(
            "left out: {} was already retried as {} (--include-retried sends it too)",
            clean(old, 64),
            clean(newest, 64)
        );
    }
    if keep.is_empty() {
        nothing(left_out.len());
        if !go.json {
            println!("nothing to send: every task picked was already retried");
        }
        return Err(if filter.is_some() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    Ok(keep)
}

/// The ids not yet retried, and those already retried with the newest of their chain,
/// as the store's retries say (every control room sharing the store keeps them there).
async fn already_retried(ctx: &Context, ids: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    let mut chains = crate::app::model::retries::Retries::default();
    if let Some(store) = ctx.store.get().await {
        match store
            .retries_recent(crate::app::model::retries::KEPT as i64)
            .await
        {
            Ok(links) => {
                for (old, new) in links.into_iter().rev() {
                    chains.note(old, new);
                }
            }
            Err(e) => eprintln!("chavion-tui: the retries' links not read: {e}"),
        }
    }
    let (mut keep, mut left_out) = (Vec::new(), Vec::new());
    for id in ids {
        match chains.retried_as(id) {
            Some(_) => left_out.push((id.clone(), chains.newest(id).to_string())),
            None => keep.push(id.clone()),
        }
    }
    (keep, left_out)
}

/// A queue no agent consumes, no binding names and that holds nothing: purging or moving
/// it would do nothing, and the name is most likely mistyped.
async fn likely_typo(settings: &Settings, ctx: &Context, queue: &str) -> Result<bool, String> {
    if settings
        .config
        .agents
        .iter()
        .any(|a| a.queues.iter().any(|q| q == queue))
    {
        return Ok(false);
    }
    if fleet::depths(ctx, queue).await?.iter().sum::<u64>() > 0 {
        return Ok(false);
    }
    let mut conn = crate::clients::broker::connect(&ctx.redis_url)
        .await
        .map_err(|e| crate::clients::broker::reason(&e))?;
    let bound = crate::clients::broker::queues::discover(&mut conn, &ctx.target.keyprefix)
        .await
        .map_err(|e| crate::clients::broker::reason(&e))?;
    Ok(!bound.iter().any(|q| q == queue))
}

/// What a retry will send, as the confirmation asks it: the first five tasks' exact messages.
fn retry_question(orders: &[RetryOrder]) -> String {
    let first: Vec<_> = orders
        .iter()
        .take(5)
        .map(|o| {
            let what = o.pinned.as_ref().map_or_else(
                || "no copy of its message is kept: it will not be sent".to_string(),
                fleet::shown,
            );
            format!("\n  {}: {what}", clean(&o.task_id, 60))
        })
        .collect();
    format!(
        "retry {} task(s) under new ids:{}{}",
        orders.len(),
        first.concat(),
        if orders.len() > 5 { "\n  …" } else { "" }
    )
}

/// The kept dispatches that failed or were revoked (by the result backend) and pass the
/// Tasks view's filter.
async fn by_filter(settings: &Settings, ctx: &Context, query: &str) -> Result<Vec<String>, String> {
    use crate::app::model::tasks::Filter;
    use crate::app::state::State;
    use crate::platform::model::TaskEventKind;
    let now = chrono::Utc::now();
    let filter =
        Filter::parse(query, now, true).map_err(|why| format!("refused: the filter: {why}"))?;
    let store = ctx.store.get().await.ok_or(
        "refused: --filter picks among the dispatches kept in the audit store, and there is none",
    )?;
    let backend = ctx.result_backend.as_deref().ok_or(
        "refused: --filter needs celery.result_backend, to know which tasks failed or were revoked",
    )?;
    let rows = store
        .outbox_recent(FILTER_REACH)
        .await
        .map_err(|e| format!("the store: {e}"))?;
    let mut conn = crate::clients::broker::connect(backend)
        .await
        .map_err(|e| format!("the result backend: {}", crate::clients::broker::reason(&e)))?;
    let keymap =
        crate::config::keymap::build("default", std::path::Path::new("/nonexistent"), vec![])
            .map_err(|_| "the default keymap does not load".to_string())?;
    let mut state = State::new(&settings.config, keymap, now);
    for row in rows {
        let meta: Option<Vec<u8>> = redis::cmd("GET")
            .arg(format!("celery-task-meta-{}", row.task_id))
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("the result backend: {}", crate::clients::broker::reason(&e)))?;
        let ended = meta
            .and_then(|m| {
                crate::platform::decode::backend_meta(&row.task_id, &m, 0.0)
                    .ok()
                    .flatten()
            })
            .map(|ev| ev.kind);
        let Some(kind @ (TaskEventKind::Failed | TaskEventKind::Revoked)) = ended else {
            continue;
        };
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&row.message) else {
            continue;
        };
        let h = &msg["headers"];
        let text = |v: &serde_json::Value| v.as_str().map(|s| clean(s, 1_000));
        let at = chrono::DateTime::from_timestamp_millis(row.created_ms).unwrap_or(now);
        let (task, _) = state.tasks.upsert(&row.task_id, |_| at);
        task.state = kind;
        task.received = Some(at);
        task.fields.name = text(&h["task"]);
        task.fields.args = text(&h["argsrepr"]);
        task.fields.kwargs = text(&h["kwargsrepr"]);
        task.fields.queue = text(&msg["properties"]["delivery_info"]["routing_key"]);
    }
    let mut found: Vec<_> = state
        .tasks
        .by_id
        .values()
        .filter(|t| filter.matches(&state, t))
        .collect();
    found.sort_by_key(|t| t.seq);
    Ok(found.into_iter().map(|t| t.uuid.clone()).collect())
}
