//! Actions perform effects in their own tasks and report back as events, so the app loop
//! never waits on the network. Every dangerous action leaves one audit record, in the store
//! and on the `chavion:audit` channel, where every other operator's control room shows it.

pub mod asker;
mod audit;
pub mod containers;
pub mod dispatch;
pub mod exec;
mod files;
pub mod fleet;
pub mod history;
pub mod notify;
mod retry;

use tokio::sync::mpsc::Sender;

use crate::app::Effect;
use crate::clients::broker::{self, pidbox, reason};
use crate::event::Event;
use crate::platform::wire::TaskRequest;
use crate::store::{SharedStore, now_ms};
pub use audit::{audit, dispatch_audited, drain_audited};
use dispatch::Delivery;
pub use files::timeline_of;
use files::*;

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
    pub socketio: crate::clients::socketio::Links,
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
    Event::ActionDone {
        what,
        outcome: outcome.map_err(|e| crate::event::Failure::Failed(e.to_string())),
    }
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
        outcome: outcome.map_err(crate::event::Failure::from),
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
        .map(|ack| format!("ack: {}", crate::sanitize::clean(&ack.to_string(), 300)))
        .map_err(|e| e.to_string());
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
        outcome: outcome.map_err(crate::event::Failure::from),
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
            outcome: Err(crate::event::Failure::from(refusal)),
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
                .unwrap_or_else(|e| Err(e.to_string().into()))
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
            Some(Event::QueueDepths {
                queue,
                depths: depths.map_err(crate::event::Failure::from),
            })
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

fn words(outcome: &Result<String, impl std::fmt::Display>) -> String {
    match outcome {
        Ok(m) => m.clone(),
        Err(e) => format!("failed: {e}"),
    }
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
