//! Actions perform effects in their own tasks and report back as events, so the app loop
//! never waits on the network. Every dangerous action leaves one audit record, in the store
//! and on the `chavion:audit` channel, where every other operator's control room shows it.

pub mod asker;
pub mod containers;
pub mod dispatch;
pub mod exec;
pub mod fleet;
pub mod history;
pub mod notify;

use tokio::sync::mpsc::Sender;

use crate::app::Effect;
use crate::clients::broker::{self, pidbox, reason};
use crate::event::Event;
use crate::platform::wire::TaskRequest;
use crate::store::{AuditRecord, SharedStore, digest, now_ms, operator};
use dispatch::Delivery;

#[derive(Clone)]
pub struct Context {
    pub redis_url: String,
    pub pidbox_channel: String,
    pub audit_channel: String,
    /// Demo and read-only, judged by the one gate (`crate::gate`).
    pub gate: crate::gate::Gate,
    pub target: dispatch::Target,
    /// Opened in the background: actions wait for it, the loop never does.
    pub store: SharedStore,
    /// This control room, so it can tell its own audit broadcasts from other operators'.
    pub instance: String,
    /// Celery's Redis result backend, if configured: dispatched tasks' results are read there.
    pub result_backend: Option<String>,
    /// The running Socket.IO endpoints, for `:emit`.
    pub socketio: crate::feeds::socketio::Links,
    pub executor: std::sync::Arc<crate::config::model::ExecutorConfig>,
    /// Runs in flight, so a cancel can reach them.
    pub runs: exec::Registry,
    /// The result-backend polls in flight, by task id: each ends when its result is read,
    /// when the result is known from the events (`Effect::ResultKnown`), or after
    /// `RESULT_FOLLOW_LIMIT`.
    pub result_polls: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, tokio::sync::oneshot::Sender<()>>>,
    >,
    /// Set once the control room is going: runs cancelled from then on say so.
    pub quitting: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Wakes the outbox task when a dispatch was queued locally.
    pub outbox_wake: std::sync::Arc<tokio::sync::Notify>,
    /// The Docker Engine, when configured.
    pub docker: Option<std::sync::Arc<crate::clients::docker::Settings>>,
    /// Set while the Containers view is open: the Docker feed samples stats only then.
    pub docker_looking: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Containers whose logs are followed now, by id.
    pub docker_logs: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Where alerts are sent (`[[notify]]`).
    pub notifiers: std::sync::Arc<Vec<crate::config::model::Notifier>>,
    /// Asks new workers which queues they consume: one connection, batched, paced.
    pub asker: asker::Asker,
    /// Alerts gathering for their notifiers, and the bound on sends in flight.
    pub outbound: notify::Outbound,
}

/// How long an operator's emit waits for the server's ack.
pub const EMIT_ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub fn spawn(effect: Effect, ctx: Context, tx: Sender<Event>) {
    let passes = effect_passes(&ctx, &effect);
    match effect {
        Effect::ResultKnown { task_id } => return result_known(&ctx, &task_id),
        // A refused run goes on to `perform`, which audits the refusal and says why.
        Effect::Exec { id, plan } if passes => return exec::spawn_run(id, *plan, ctx, tx),
        Effect::CancelRun { id } => return exec::cancel(&ctx, id),
        Effect::Notify(notice) => return notify::spawn(*notice, &ctx, tx),
        Effect::DockerLooking(on) => {
            ctx.docker_looking
                .store(on, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        Effect::FollowLogs { id, source } => return containers::follow(&ctx, id, source, tx),
        Effect::AskQueues { worker } => {
            let aim = asker::Aim {
                redis_url: ctx.redis_url.clone(),
                keyprefix: ctx.target.keyprefix.clone(),
                pidbox_channel: ctx.pidbox_channel.clone(),
            };
            return ctx.asker.ask(&aim, worker, &tx);
        }
        _ => {}
    }
    tokio::spawn(async move {
        if let Some(done) = perform(effect, &ctx).await {
            follow_result(&ctx, &done, &tx);
            let _ = tx.send(done).await;
        }
    });
}

/// After a dispatch went out, watch the result backend for its record (when there is one),
/// so its result shows even if the worker sends no events.
pub fn follow_result(ctx: &Context, done: &Event, tx: &Sender<Event>) {
    let (
        Some(url),
        Event::Dispatched {
            request,
            outcome: Ok(Delivery::Sent | Delivery::AlreadySent),
            ..
        },
    ) = (&ctx.result_backend, done)
    else {
        return;
    };
    let (url, id, tx) = (url.clone(), request.id.clone(), tx.clone());
    let (stop_tx, stop) = tokio::sync::oneshot::channel();
    if let Ok(mut polls) = ctx.result_polls.lock() {
        polls.insert(id.clone(), stop_tx);
    }
    let polls = ctx.result_polls.clone();
    tokio::spawn(async move {
        // Bounded in time, and ended as soon as the result is known by any path.
        tokio::select! {
            _ = tokio::time::timeout(RESULT_FOLLOW_LIMIT, poll_result(&url, &id, &tx)) => {}
            _ = stop => {}
        }
        if let Ok(mut polls) = polls.lock() {
            polls.remove(&id);
        }
    });
}

/// How long a dispatched task's result is polled for at most.
pub const RESULT_FOLLOW_LIMIT: std::time::Duration = std::time::Duration::from_secs(3600);

/// Polls the backend once a second until the task's record is there, then reports it.
async fn poll_result(url: &str, id: &str, tx: &Sender<Event>) {
    let key = format!("celery-task-meta-{id}");
    {
        loop {
            if let Ok(mut conn) = broker::connect(url).await {
                loop {
                    let raw: redis::RedisResult<Option<Vec<u8>>> =
                        redis::cmd("GET").arg(&key).query_async(&mut conn).await;
                    match raw {
                        Ok(Some(bytes)) => {
                            let now = now_ms() as f64 / 1000.0;
                            let item = match crate::platform::decode::backend_meta(id, &bytes, now)
                            {
                                Ok(Some(ev)) => crate::platform::model::FeedItem::Celery(
                                    crate::platform::model::CeleryEvent::Task(ev),
                                ),
                                Ok(None) => {
                                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                                    continue;
                                }
                                Err(e) => crate::platform::model::FeedItem::Malformed {
                                    source: "result backend".into(),
                                    reason: e.0,
                                    raw: crate::sanitize::clean_bytes(&bytes, 200),
                                },
                            };
                            let _ = tx
                                .send(Event::Feed {
                                    at: chrono::Utc::now(),
                                    item: Box::new(item),
                                })
                                .await;
                            return;
                        }
                        Ok(None) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
                        Err(_) => break,
                    }
                }
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

/// The result is known from the events: its poll, if any, stops now.
pub fn result_known(ctx: &Context, task_id: &str) {
    if let Some(stop) = ctx
        .result_polls
        .lock()
        .ok()
        .and_then(|mut p| p.remove(task_id))
    {
        let _ = stop.send(());
    }
}

fn effect_passes(ctx: &Context, effect: &Effect) -> bool {
    effect.act().is_none_or(|act| ctx.gate.check(act).is_ok())
}

/// Asks the one gate for `act`; a refusal is audited (outcome "refused: --read-only" or
/// "refused: --demo") and returned in words. The shell CLI and `perform` both come here.
pub async fn gate(
    ctx: &Context,
    act: crate::gate::Act,
    target: &str,
    payload: &[u8],
) -> Result<(), crate::gate::Refusal> {
    let Err(refusal) = ctx.gate.check(act) else {
        return Ok(());
    };
    let outcome = if ctx.gate.read_only {
        "refused: --read-only"
    } else {
        "refused: --demo"
    };
    audit(ctx, act.audit_name(), target, payload, outcome, "").await;
    Err(refusal)
}

/// Revoke (or terminate) on every worker, audited.
async fn revoke(
    ctx: &Context,
    task_id: String,
    terminate: bool,
    signal: crate::orders::KillSignal,
) -> Event {
    let what = format!(
        "{} {}",
        if terminate { "terminate" } else { "revoke" },
        crate::app::common::short_id(&task_id)
    );
    let outcome = pidbox::revoke(
        &ctx.redis_url,
        &ctx.pidbox_channel,
        &task_id,
        terminate,
        signal,
    )
    .await;
    let payload = if terminate {
        format!("{task_id} terminate={terminate} signal={}", signal.name())
    } else {
        format!("{task_id} terminate={terminate}")
    };
    audit(
        ctx,
        if terminate { "terminate" } else { "revoke" },
        &task_id,
        payload.as_bytes(),
        &words(&outcome),
        "",
    )
    .await;
    Event::ActionDone { what, outcome }
}

/// A lost dispatch pushed again, same id and bytes, audited.
async fn redeliver(ctx: &Context, agent: String, request: TaskRequest) -> Event {
    let entry = dispatch::entry(&ctx.target, &request);
    let outcome = dispatch::redeliver(&ctx.target, &entry, &request.queue)
        .await
        .map(|()| "pushed again, same id".to_string())
        .map_err(|e| reason(&e));
    audit(
        ctx,
        "redeliver",
        &format!("{agent} {}", request.name),
        entry.message.as_bytes(),
        &words(&outcome),
        &format!("id={} lost in the broker", request.id),
    )
    .await;
    Event::ActionDone {
        what: format!(
            "redeliver {} [{}]",
            request.name,
            crate::app::common::short_id(&request.id)
        ),
        outcome,
    }
}

/// A Socket.IO emit, waiting for the server's ack, audited.
async fn emit(
    ctx: &Context,
    endpoint: String,
    namespace: String,
    event: String,
    payload: serde_json::Value,
) -> Event {
    let outcome = ctx
        .socketio
        .emit_with_ack(
            &endpoint,
            &namespace,
            &event,
            payload.clone(),
            EMIT_ACK_TIMEOUT,
        )
        .await
        .map(|ack| format!("ack: {}", crate::sanitize::clean(&ack.to_string(), 300)));
    let ns = if namespace == "/" {
        String::new()
    } else {
        namespace.clone()
    };
    let target = format!("{endpoint}{ns} {event}");
    audit(
        ctx,
        "emit",
        &target,
        payload.to_string().as_bytes(),
        &words(&outcome),
        &payload.to_string(),
    )
    .await;
    Event::ActionDone {
        what: format!("emit {event} to {endpoint}"),
        outcome,
    }
}

// Long, on purpose: one arm per effect, each a call.
pub async fn perform(effect: Effect, ctx: &Context) -> Option<Event> {
    // `update` already refused these at its gate; this is the second lock on the door.
    if let Some(act) = effect.act()
        && let Err(refusal) = gate(ctx, act, "", b"").await
    {
        return Some(Event::ActionDone {
            what: effect_name(&effect).into(),
            outcome: Err(refusal.0),
        });
    }
    match effect {
        // Handled in `spawn`, never performed as a task of their own.
        Effect::ResultKnown { task_id } => {
            result_known(ctx, &task_id);
            None
        }
        // Handled in `spawn`: one task per notifier.
        Effect::Quit
        | Effect::SwitchContext { .. }
        | Effect::CancelRun { .. }
        | Effect::Notify(_)
        | Effect::DockerLooking(_)
        | Effect::FollowLogs { .. } => None,
        Effect::Exec { id, plan } => {
            // Reached only under --read-only, refused above; a run never starts from here.
            let _ = (id, plan);
            None
        }
        // Written by the loop itself, between frames.
        Effect::Copy { .. } | Effect::Bell => None,
        Effect::Ack { target } => {
            audit(ctx, "ack", &target, target.as_bytes(), "acknowledged", "").await;
            None
        }
        Effect::LoadOlder { before_ms, limit } => {
            let lines = match ctx.store.get().await {
                Some(store) => store
                    .activity_before(before_ms, limit, &ctx.target.context)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!("older activity not read: {e}");
                        Vec::new()
                    }),
                None => Vec::new(),
            };
            Some(Event::Older { lines })
        }
        Effect::SaveHistory(changed) => history::save(ctx, *changed).await,
        Effect::SearchHistory { word, before_ms } => Some(Event::HistoryFound {
            tasks: history::search(ctx, &word, before_ms).await,
            word,
        }),
        Effect::SaveTimeline { from_ms, to_ms } => Some(Event::ActionDone {
            what: "timeline".into(),
            outcome: save_timeline(ctx, from_ms, to_ms).await,
        }),
        Effect::SaveLog { path, lines, utc } => {
            let n = lines.len();
            let outcome = tokio::task::spawn_blocking(move || save_lines(&path, &lines, utc))
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
                .map(|p| format!("{n} lines saved to {p}"));
            Some(Event::ActionDone {
                what: "save".into(),
                outcome,
            })
        }
        Effect::Revoke {
            task_id,
            terminate,
            signal,
        } => Some(revoke(ctx, task_id, terminate, signal).await),
        // Handled in `spawn`, by the asker.
        Effect::AskQueues { .. } => None,
        Effect::Inspect { worker } => {
            let outcome = fleet::detail(ctx, &worker).await.map(Box::new);
            Some(Event::Inspected { worker, outcome })
        }
        Effect::InspectAll { method, known } => Some(Event::Ordered {
            what: format!("inspect {}", method.method()),
            outcome: fleet::inspect_all(ctx, method, known).await,
        }),
        Effect::Order(order) => {
            let what = order.words();
            // A retry's links go back with its lines: the state keeps each chain.
            if let crate::orders::Order::Retry { tasks } = order.as_ref() {
                let done = fleet::retry(ctx, tasks).await;
                return Some(Event::Retried {
                    what,
                    links: fleet::retry_links(&done),
                    lines: fleet::retry_lines(done),
                });
            }
            Some(Event::Ordered {
                what,
                outcome: fleet::carry_out(ctx, *order).await,
            })
        }
        Effect::QueueDepths { queue } => {
            let depths = fleet::depths(ctx, &queue).await;
            Some(Event::QueueDepths { queue, depths })
        }
        Effect::Locate { request } => {
            let place = dispatch::locate(&ctx.target, &request).await;
            Some(Event::Located {
                task_id: request.id,
                place,
            })
        }
        Effect::Redeliver { agent, request } => Some(redeliver(ctx, agent, request).await),
        Effect::Dispatch { agent, request } => {
            let outcome = dispatch_audited(ctx, &agent, &request).await;
            Some(Event::Dispatched {
                agent,
                request: Box::new(request),
                outcome,
            })
        }
        Effect::Emit {
            endpoint,
            namespace,
            event,
            payload,
        } => Some(emit(ctx, endpoint, namespace, event, payload).await),
    }
}

fn effect_name(e: &Effect) -> &'static str {
    match e {
        Effect::Quit => "quit",
        Effect::SwitchContext { .. } => "context",
        Effect::Notify(_) => "notify",
        Effect::SaveTimeline { .. } => "timeline",
        Effect::SaveHistory(_) => "history",
        Effect::SearchHistory { .. } => "history search",
        Effect::DockerLooking(_) => "docker stats",
        Effect::FollowLogs { .. } => "logs",
        Effect::Revoke {
            terminate: true, ..
        } => "terminate",
        Effect::Revoke { .. } => "revoke",
        Effect::Dispatch { .. } => "dispatch",
        Effect::Emit { .. } => "emit",
        Effect::Exec { .. } => "exec",
        Effect::CancelRun { .. } => "cancel run",
        Effect::LoadOlder { .. } => "load history",
        Effect::SaveLog { .. } => "save",
        Effect::Copy { .. } => "copy",
        Effect::Bell => "bell",
        Effect::Ack { .. } => "ack",
        Effect::Locate { .. } => "locate",
        Effect::Redeliver { .. } => "redeliver",
        Effect::ResultKnown { .. } => "result known",
        Effect::AskQueues { .. } => "ask queues",
        Effect::Inspect { .. } | Effect::InspectAll { .. } => "inspect",
        Effect::Order(order) => order.act().audit_name(),
        Effect::QueueDepths { .. } => "queue depths",
    }
}

/// The filtered activity, one line each, to a file only the operator can read.
fn save_lines(
    path: &std::path::Path,
    lines: &[crate::app::activity::LogLine],
    utc: bool,
) -> Result<String, String> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let (file, path) = create_numbered(path)?;
    let path = path.as_path();
    let mut out = std::io::BufWriter::new(file);
    for l in lines {
        writeln!(out, "{}", crate::app::activity::format_line(l, utc))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    out.flush()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

/// Creates `path`, or `name-2.ext`, `name-3.ext`… when it exists: a second save in the same
/// second (or another operator's) never fails and never overwrites. `create_new` makes
/// each try atomic.
fn create_numbered(path: &std::path::Path) -> Result<(std::fs::File, std::path::PathBuf), String> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    for n in 1..=1000 {
        let candidate = if n == 1 {
            path.to_path_buf()
        } else {
            path.with_file_name(format!("{stem}-{n}{ext}"))
        };
        match std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode_private()
            .open(&candidate)
        {
            Ok(f) => return Ok((f, candidate)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", candidate.display())),
        }
    }
    Err(format!(
        "{}: 1000 files of that name already",
        path.display()
    ))
}

trait PrivateMode {
    fn mode_private(&mut self) -> &mut Self;
}

impl PrivateMode for std::fs::OpenOptions {
    fn mode_private(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

fn words(outcome: &Result<String, String>) -> String {
    match outcome {
        Ok(m) => m.clone(),
        Err(e) => format!("failed: {e}"),
    }
}

/// The one dispatch path, for the TUI and the `dispatch` command alike.
pub async fn dispatch_audited(
    ctx: &Context,
    agent: &str,
    req: &TaskRequest,
) -> Result<Delivery, String> {
    // Built once: the bytes pushed are the bytes whose digest is audited.
    let entry = dispatch::entry(&ctx.target, req);
    let store = ctx.store.get().await;
    let outcome = dispatch::dispatch(&ctx.target, store.as_ref(), &entry, &req.queue).await;
    if let Ok(Delivery::QueuedLocally { .. }) = &outcome {
        ctx.outbox_wake.notify_one();
    }
    let said = match &outcome {
        Ok(Delivery::Sent) => "sent".to_string(),
        Ok(Delivery::AlreadySent) => "already sent".to_string(),
        Ok(Delivery::QueuedLocally { why }) => format!("queued locally ({why})"),
        Err(e) => format!("failed: {e}"),
    };
    let detail = format!(
        "id={} queue={} priority={} args={} kwargs={}",
        req.id,
        entry.queue_key.replace('\x06', "").replace('\x16', "/"),
        req.priority,
        req.args,
        req.kwargs
    );
    audit(
        ctx,
        "dispatch",
        &format!("{agent} {}", req.name),
        entry.message.as_bytes(),
        &said,
        &detail,
    )
    .await;
    outcome.map_err(|e| e.to_string())
}

/// One pass over the outbox, audited: each delivery is its own record, linked to its
/// dispatch by the task id and the message's digest (the same bytes), and an entry's first
/// failure is recorded too.
pub async fn drain_audited(
    ctx: &Context,
    store: &crate::store::Store,
) -> Result<dispatch::Drained, dispatch::DispatchError> {
    let drained = dispatch::drain_outbox(&ctx.target, store).await?;
    for (e, (_, fresh)) in drained.entries.iter().zip(&drained.delivered) {
        let outcome = if *fresh {
            format!(
                "delivered from the outbox after {} failed attempt(s)",
                e.attempts
            )
        } else {
            "delivered: found already in the queue".to_string()
        };
        audit(
            ctx,
            "deliver",
            &outbox_target(e),
            e.message.as_bytes(),
            &outcome,
            &outbox_detail(e),
        )
        .await;
    }
    if let Some((e, why)) = &drained.first_failure {
        audit(
            ctx,
            "deliver",
            &outbox_target(e),
            e.message.as_bytes(),
            &format!("failed: {why} (kept in the outbox, tried again)"),
            &outbox_detail(e),
        )
        .await;
    }
    Ok(drained)
}

/// An outbox entry's task name, as its message's headers carry it.
fn outbox_target(e: &crate::store::OutboxEntry) -> String {
    let name = serde_json::from_str::<serde_json::Value>(&e.message)
        .ok()
        .and_then(|m| m["headers"]["task"].as_str().map(String::from))
        .unwrap_or_else(|| "task".into());
    crate::sanitize::clean(&name, 200)
}

fn outbox_detail(e: &crate::store::OutboxEntry) -> String {
    let queued = chrono::DateTime::from_timestamp_millis(e.created_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    format!(
        "id={} queue={} queued locally at {queued}",
        e.task_id,
        e.queue_key.replace('\x06', "").replace('\x16', "/"),
    )
}

/// Records one action: in the store (if any) and on the audit channel (best effort: an
/// unreachable Redis must not stop the record being kept).
pub async fn audit(
    ctx: &Context,
    action: &str,
    target: &str,
    payload: &[u8],
    outcome: &str,
    detail: &str,
) {
    let (who, ssh_client) = operator();
    let record = AuditRecord {
        at_ms: now_ms(),
        who,
        ssh_client,
        action: action.into(),
        target: target.into(),
        digest: digest(payload),
        outcome: outcome.into(),
        detail: detail.into(),
        context: ctx.target.context.clone(),
    };
    if let Some(store) = ctx.store.get().await
        && let Err(e) = store.record(&record).await
    {
        tracing::error!("audit record not stored: {e}");
    }
    if ctx.gate.demo {
        // The configured Redis may be the real platform: the demo never publishes there.
        return;
    }
    let note = serde_json::json!({"instance": ctx.instance, "record": record});
    let publish = async {
        let mut conn = broker::connect(&ctx.redis_url).await.ok()?;
        redis::cmd("PUBLISH")
            .arg(&ctx.audit_channel)
            .arg(note.to_string())
            .query_async::<i64>(&mut conn)
            .await
            .ok()
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), publish).await;
}

/// Lines read for a timeline at most: a busy hour's worth of state changes and failures.
const TIMELINE_LINES: i64 = 200_000;

/// The timeline between two times from the store: what `timeline` prints and `:timeline`
/// saves.
/// Only `context`'s lines and actions: contexts may share one store.
pub async fn timeline_of(
    store: &crate::store::Store,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    context: &str,
) -> Result<Vec<crate::app::timeline::Entry>, String> {
    let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
    let lines = store
        .activity_between(from_ms, to_ms, TIMELINE_LINES, context)
        .await
        .map_err(|e| e.to_string())?;
    let mut audit = store
        .audit_since(from_ms)
        .await
        .map_err(|e| e.to_string())?;
    audit.retain(|r| r.context == context);
    let runs = store.runs_since(from_ms).await.map_err(|e| e.to_string())?;
    Ok(crate::app::timeline::build(
        &lines, &audit, &runs, from_ms, to_ms,
    ))
}

/// `:timeline -30m`: the timeline from the store, as Markdown, into the data dir.
async fn save_timeline(ctx: &Context, from_ms: i64, to_ms: i64) -> Result<String, String> {
    use chrono::TimeZone;
    let store = ctx
        .store
        .get()
        .await
        .ok_or("no store: the timeline is read from the audit store")?;
    let at = |ms: i64| {
        chrono::Utc
            .timestamp_millis_opt(ms)
            .single()
            .unwrap_or_default()
    };
    let (from, to) = (at(from_ms), at(to_ms));
    let entries = timeline_of(&store, from, to, &ctx.target.context).await?;
    let dir = crate::config::paths::Paths::resolve(None)
        .data_dir
        .join("timelines");
    let path = dir.join(format!("timeline-{}.md", to.format("%Y%m%dT%H%M%SZ")));
    let text = crate::app::timeline::markdown(&entries, from, to);
    let n = entries.len();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(&path, text)?;
        Ok::<_, std::io::Error>(path)
    })
    .await
    .map_err(|e| e.to_string())?
    .map(|p| format!("{n} entries saved to {}", p.display()))
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn saving_twice_in_one_second_makes_two_files() {
        let dir = std::env::temp_dir().join(format!("chavion-save-{}", std::process::id()));
        let path = dir.join("activity-20261130-120000.log");
        let a = super::save_lines(&path, &[], true).unwrap();
        let b = super::save_lines(&path, &[], true).unwrap();
        assert_ne!(a, b);
        assert!(b.ends_with("activity-20261130-120000-2.log"), "{b}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
