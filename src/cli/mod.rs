//! The shell commands that act: `dispatch` and `audit`. They take the same code paths as the
//! TUI and leave the same audit records.

pub mod containers;
mod exec;
pub mod fleet;
mod status;
pub use exec::exec;
pub use status::{status, status_all};

use futures_util::StreamExt;
use std::process::ExitCode;
use std::time::Duration;

use crate::actions::dispatch::new_task_id;
use crate::actions::{self, Context};
use crate::app::model::draft::{Draft, agent_queues, request};
use crate::config::Settings;
use crate::event::Delivery;
use crate::gate::{Act, Gate};
use crate::platform::model::{CeleryEvent, TaskEventKind};
use crate::platform::route::route;
use crate::store::{SharedStore, Store};
use crate::wiring;

/// Exit codes: 0 done (and, with --wait, succeeded); 1 the task failed or was revoked;
/// 2 refused (bad input, read-only); 3 could not send; 75 queued locally; 124 no result in time.
pub async fn dispatch(
    settings: &Settings,
    draft: &Draft,
    gate: Gate,
    wait: Option<Duration>,
) -> ExitCode {
    let store = match wiring::open_store(settings.store_url.as_deref()).await {
        Ok(s) => s,
        Err(why) => {
            eprintln!("chavion-tui: {why}");
            return ExitCode::from(3);
        }
    };
    let ctx = wiring::action_context(settings, gate, SharedStore::ready(store.clone()));
    let target = format!("{} {}", draft.agent, draft.task);
    if let Err(refusal) = actions::gate(&ctx, Act::Dispatch, &target, b"").await {
        eprintln!("chavion-tui: {refusal}");
        return ExitCode::from(2);
    }
    let origin = format!("chavion-tui@{}", crate::actions::dispatch::hostname());
    let (agent, req) = match request(
        &agent_queues(&settings.config),
        draft,
        chrono::Utc::now(),
        new_task_id(),
        origin,
    ) {
        Ok(r) => r,
        Err(why) => {
            eprintln!("chavion-tui: refused: {why}");
            return ExitCode::from(2);
        }
    };
    if let Some(store) = &store {
        // Anything an earlier run left in the outbox goes first, in order.
        if let Ok(done) = actions::drain_audited(&ctx, store).await {
            for (id, _) in done.delivered {
                eprintln!("delivered {id} from the outbox");
            }
        }
        if let Some(words) = crate::actions::dispatch::waiting_elsewhere(&ctx.target, store).await {
            eprintln!("chavion-tui: {words}");
        }
    }
    let mut events = match wait {
        Some(_) => Some(subscribe(settings).await),
        None => None,
    };
    let outcome = actions::dispatch_audited(&ctx, &agent, &req).await;
    println!("{}", req.id);
    match outcome {
        Ok(Delivery::Sent) | Ok(Delivery::AlreadySent) => {}
        Ok(Delivery::QueuedLocally { why }) => {
            eprintln!(
                "chavion-tui: Redis unreachable ({why}); queued locally, sent by the next control room or dispatch once Redis is back"
            );
            return ExitCode::from(75);
        }
        Err(why) => {
            eprintln!("chavion-tui: not sent: {why}");
            return ExitCode::from(3);
        }
    }
    let Some(limit) = wait else {
        return ExitCode::SUCCESS;
    };
    let Some(Ok(pubsub)) = events.take() else {
        eprintln!("chavion-tui: cannot follow the task: no event connection");
        return ExitCode::from(3);
    };
    follow(settings, &ctx, pubsub, &req.id, limit).await
}

/// Asks on the terminal: `y` (or `yes`), or, when `typed` is given, exactly that word. With
/// no terminal, only --yes will do. `nothing` says what did not happen when declined.
pub(crate) fn ask(question: &str, typed: Option<&str>, nothing: &str) -> Result<(), String> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(
            "refused: not confirmed; pass --yes, or run it from a terminal to confirm".into(),
        );
    }
    eprint!("{question} ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    let answer = answer.trim();
    let ok = match typed {
        Some(word) => answer == word,
        None => answer.eq_ignore_ascii_case("y") || answer.eq_ignore_ascii_case("yes"),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("cancelled: {nothing}"))
    }
}

/// `ask`, off the runtime's threads, for the fleet's commands; a refusal is said and is
/// exit 2.
pub(crate) async fn confirm(question: &str, typed: Option<&str>) -> Result<(), ExitCode> {
    let question = match typed {
        Some(word) => format!("{question}\nType `{word}` to confirm:"),
        None => format!("{question}\nGo ahead? [y/N]"),
    };
    let typed = typed.map(str::to_string);
    let answer =
        tokio::task::spawn_blocking(move || ask(&question, typed.as_deref(), "nothing was done"))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
    answer.map_err(|why| {
        eprintln!("chavion-tui: {why}");
        ExitCode::from(2)
    })
}

async fn subscribe(settings: &Settings) -> Result<redis::aio::PubSub, String> {
    let client = crate::clients::broker::client(settings.config.redis.url.get_ref())
        .await
        .map_err(|e| crate::clients::broker::reason(&e))?;
    let mut pubsub = client.get_async_pubsub().await.map_err(|e| e.to_string())?;
    pubsub
        .psubscribe(format!("{}*", wiring::channels(settings).celery_prefix))
        .await
        .map_err(|e| e.to_string())?;
    Ok(pubsub)
}

/// Waits for the task's end through Celery's events (and the result backend, if configured).
async fn follow(
    settings: &Settings,
    ctx: &Context,
    mut pubsub: redis::aio::PubSub,
    id: &str,
    limit: Duration,
) -> ExitCode {
    let channels = wiring::channels(settings);
    let backend = settings.config.celery.result_backend.clone();
    let deadline = tokio::time::Instant::now() + limit;
    let mut stream = pubsub.on_message();
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    // A worker started without -E sends no task events until asked; ask until the end.
    let mut ask = tokio::time::interval(Duration::from_secs(2));
    let enable = settings.config.celery.enable_events;
    loop {
        tokio::select! {
            _ = ask.tick(), if enable => {
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    let mut conn = crate::clients::broker::connect(&ctx.redis_url).await.ok()?;
                    crate::clients::broker::pidbox::broadcast(&mut conn, &channels.pidbox, "enable_events", serde_json::json!({})).await.ok()
                })
                .await;
            }
            msg = stream.next() => {
                let Some(msg) = msg else {
                    eprintln!("chavion-tui: lost the event connection while waiting");
                    return ExitCode::from(3);
                };
                let mut items = Vec::new();
                route(&channels, msg.get_channel_name(), msg.get_payload_bytes(), &mut items);
                for c in crate::platform::route::celery_only(&items) {
                    let CeleryEvent::Task(t) = c else { continue };
                    if t.uuid != id {
                        continue;
                    }
                    match t.kind {
                        TaskEventKind::Succeeded => {
                            println!("{}", t.fields.result.clone().unwrap_or_default());
                            return ExitCode::SUCCESS;
                        }
                        TaskEventKind::Failed => {
                            println!("{}", t.fields.exception.clone().unwrap_or_default());
                            return ExitCode::from(1);
                        }
                        TaskEventKind::Revoked | TaskEventKind::Rejected => {
                            println!("{}", t.kind.label());
                            return ExitCode::from(1);
                        }
                        _ => {}
                    }
                }
            }
            _ = poll.tick(), if !backend.is_empty() => {
                if let Some(code) = backend_result(&backend, id).await {
                    return code;
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                eprintln!("chavion-tui: no result after {} s", limit.as_secs());
                return ExitCode::from(124);
            }
        }
    }
}

/// Celery's Redis result backend: `celery-task-meta-<id>` holds {status, result, traceback}.
async fn backend_result(url: &str, id: &str) -> Option<ExitCode> {
    let mut conn = crate::clients::broker::connect(url).await.ok()?;
    let raw: Option<String> = redis::cmd("GET")
        .arg(format!("celery-task-meta-{id}"))
        .query_async(&mut conn)
        .await
        .ok()?;
    let meta: serde_json::Value = serde_json::from_str(&raw?).ok()?;
    let result = crate::sanitize::clean(&meta["result"].to_string(), 2000);
    match meta["status"].as_str()? {
        "SUCCESS" => {
            println!("{result}");
            Some(ExitCode::SUCCESS)
        }
        "FAILURE" | "REVOKED" => {
            println!("{result}");
            Some(ExitCode::from(1))
        }
        _ => None,
    }
}

/// `30s`, `15m`, `2h`, `7d` → milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30m, 2h or 7d"))?;
    let ms = match unit {
        "s" | "" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("`{text}` is not a duration like 30m, 2h or 7d")),
    };
    Ok(n * ms)
}

/// Which part of the trail `audit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trail {
    Actions,
    Runs,
    Outbox,
}

/// The store the trail is read from: exit 2 when none is configured, 1 when it will not open.
async fn open_trail(settings: &Settings) -> Result<Store, ExitCode> {
    let Some(url) = &settings.store_url else {
        eprintln!("chavion-tui: no audit store configured");
        return Err(ExitCode::from(2));
    };
    Store::open(url).await.map_err(|why| {
        eprintln!("chavion-tui: {why}");
        ExitCode::from(1)
    })
}

pub async fn audit(settings: &Settings, since: Option<&str>, json: bool, what: Trail) -> ExitCode {
    let since_ms = match since.map(parse_duration).transpose() {
        Ok(d) => d.map_or(0, |d| crate::store::now_ms() - d),
        Err(why) => {
            eprintln!("chavion-tui: {why}");
            return ExitCode::from(2);
        }
    };
    let store = match open_trail(settings).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match what {
        Trail::Runs => return print_runs(&store, since_ms, json).await,
        Trail::Outbox => return print_outbox(&store, json).await,
        Trail::Actions => {}
    }
    let records = match read(store.audit_since(since_ms).await) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if json {
        return print_json(&records);
    }
    println!(
        "{:<20} {:<10} {:<16} {:<12} {:<10} {:<28} OUTCOME",
        "WHEN (UTC)", "WHO", "FROM", "CONTEXT", "ACTION", "TARGET"
    );
    for r in records {
        let when = utc_time(r.at_ms);
        let from = r.ssh_client.split_whitespace().next().unwrap_or("local");
        println!(
            "{when:<20} {:<10} {from:<16} {:<12} {:<10} {:<28} {}",
            clean(&r.who),
            clean(&r.context),
            clean(&r.action),
            clean(&r.target),
            clean(&r.outcome)
        );
    }
    // Dispatches that never left are part of the trail too: say where each one waits.
    if let Ok(waiting) = store.outbox_waiting().await
        && !waiting.is_empty()
    {
        println!();
        println!(
            "{} dispatch(es) still waiting in the outbox:",
            waiting.len()
        );
        print_waiting(&waiting);
    }
    ExitCode::SUCCESS
}

/// `audit --outbox --drop ID`: a dispatch that will never be delivered (its broker gone, a
/// URL since refused) removed from the outbox, after the operator saw it and said yes;
/// audited, refused under `--read-only` and in the demo.
pub async fn drop_outbox(
    settings: &Settings,
    gate: crate::gate::Gate,
    id: &str,
    yes: bool,
) -> ExitCode {
    let store = match open_trail(settings).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let ctx = wiring::action_context(settings, gate, SharedStore::ready(Some(store.clone())));
    if let Err(refusal) = actions::gate(&ctx, Act::DropOutbox, id, b"").await {
        eprintln!("chavion-tui: {refusal}");
        return ExitCode::from(2);
    }
    let waiting = match read(store.outbox_waiting().await) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let Some(row) = waiting.iter().find(|w| w.task_id == id) else {
        eprintln!(
            "chavion-tui: no dispatch {} waits in the outbox (`audit --outbox` lists those that do; a delivered one stays in the trail)",
            clean(id)
        );
        return ExitCode::from(1);
    };
    if !yes {
        let question = format!(
            "drop dispatch {} for {} (queued {} UTC, {} tries, last error: {}) from the outbox? It will never be delivered.",
            clean(&row.task_id),
            clean(&row.queue_key.replace(['\x06', '\x16'], "/")),
            utc_time(row.created_ms),
            row.attempts,
            if row.last_error.is_empty() {
                "none".to_string()
            } else {
                clean(&row.last_error)
            }
        );
        if let Err(code) = confirm(&question, None).await {
            return code;
        }
    }
    let outcome = match store.outbox_drop(id).await {
        Ok(true) => Ok("dropped from the outbox: it will never be delivered".to_string()),
        Ok(false) => Err("it was delivered or dropped meanwhile".to_string()),
        Err(e) => Err(e.to_string()),
    };
    let words = match &outcome {
        Ok(w) => w.clone(),
        Err(why) => format!("failed: {why}"),
    };
    let detail = format!("broker={} attempts={}", row.broker, row.attempts);
    actions::audit(
        &ctx,
        Act::DropOutbox.audit_name(),
        id,
        id.as_bytes(),
        &words,
        &detail,
    )
    .await;
    match outcome {
        Ok(w) => {
            println!("{}: {w}", clean(id));
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("chavion-tui: {}: not dropped: {why}", clean(id));
            ExitCode::from(1)
        }
    }
}

/// Text from the store may have come from outside (task names, hosts): cleaned before it
/// reaches a terminal.
fn clean(text: &str) -> String {
    crate::sanitize::clean(text, 2_000)
}

fn print_waiting(waiting: &[crate::store::Waiting]) {
    println!(
        "{:<20} {:<38} {:<16} {:<8} BROKER",
        "QUEUED (UTC)", "TASK ID", "QUEUE", "TRIES"
    );
    for w in waiting {
        let when = utc_time(w.created_ms);
        let broker = if w.broker.is_empty() {
            "(not recorded: queued by an older version; delivered by no one)".to_string()
        } else {
            clean(&w.broker)
        };
        println!(
            "{when:<20} {:<38} {:<16} {:<8} {broker}",
            clean(&w.task_id),
            clean(&w.queue_key.replace(['\x06', '\x16'], "/")),
            w.attempts
        );
    }
}

/// Epoch milliseconds as the trail prints them (UTC).
fn utc_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// What the store gave, or exit 1 having said why.
fn read<T>(rows: Result<T, sqlx::Error>) -> Result<T, ExitCode> {
    rows.map_err(|e| {
        eprintln!("chavion-tui: {e}");
        ExitCode::from(1)
    })
}

/// Rows as pretty JSON on stdout.
fn print_json(rows: &impl serde::Serialize) -> ExitCode {
    println!("{}", crate::sanitize::json_pretty(rows));
    ExitCode::SUCCESS
}

async fn print_outbox(store: &Store, json: bool) -> ExitCode {
    let waiting = match read(store.outbox_waiting().await) {
        Ok(w) => w,
        Err(code) => return code,
    };
    if json {
        return print_json(&waiting);
    } else if waiting.is_empty() {
        println!("the outbox is empty: every dispatch has been delivered");
    } else {
        print_waiting(&waiting);
    }
    ExitCode::SUCCESS
}

async fn print_runs(store: &Store, since_ms: i64, json: bool) -> ExitCode {
    let runs = match read(store.runs_since(since_ms).await) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if json {
        return print_json(&runs);
    }
    for r in runs {
        let when = utc_time(r.started_ms);
        println!(
            "{when} UTC  {} ran {} on {} ({}): {}",
            r.who, r.runbook, r.host, r.login, r.outcome
        );
        println!("  {}", r.command);
        for line in r.output.lines() {
            println!("  | {line}");
        }
    }
    ExitCode::SUCCESS
}

/// `chavion-tui timeline --from T --to T [--json | --markdown]`.
pub async fn timeline(
    settings: &Settings,
    from: &str,
    to: &str,
    json: bool,
    markdown: bool,
) -> ExitCode {
    let now = chrono::Utc::now();
    let parse = |t: &str| crate::app::model::times::parse_time(t, now, true);
    let (from, to) = match (parse(from), parse(to)) {
        (Ok(f), Ok(t)) if f <= t => (f, t),
        (Ok(_), Ok(_)) => {
            eprintln!("chavion-tui: --from comes after --to");
            return ExitCode::from(2);
        }
        (Err(why), _) | (_, Err(why)) => {
            eprintln!("chavion-tui: {why}");
            return ExitCode::from(2);
        }
    };
    let store = match open_trail(settings).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let entries = match crate::actions::timeline_of(&store, from, to, &settings.context.name).await
    {
        Ok(e) => e,
        Err(why) => {
            eprintln!("chavion-tui: {why}");
            return ExitCode::from(1);
        }
    };
    if json {
        println!(
            "{}",
            crate::sanitize::json_line(
                &serde_json::json!({"from": from, "to": to, "timeline": entries})
            )
        );
    } else if markdown {
        print!(
            "{}",
            crate::app::reports::timeline::markdown(&entries, from, to)
        );
    } else {
        print!("{}", crate::app::reports::timeline::text(&entries));
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::parse_duration("90s"), Ok(90_000));
        assert_eq!(super::parse_duration("2h"), Ok(7_200_000));
        assert_eq!(super::parse_duration("7d"), Ok(604_800_000));
        assert!(super::parse_duration("soon").is_err());
    }
}
