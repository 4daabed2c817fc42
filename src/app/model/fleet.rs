//! What the fleet reports, applied to the state: agents' own reports, Celery's worker and
//! task events, the answers of `active_queues`, and this control room's dispatches. Pure.

use crate::app::common::{flash, log, short_id};
use crate::app::state::{AgentTile, MAX_AGENTS, MAX_WORKERS, QueueRow};
use crate::app::{Outcome, State};
use crate::kept::{Task, Worker};
use chrono::{DateTime, Duration, Utc};

use crate::app::effect::Effect;
use crate::app::model::infrastructure::queue_row;
use crate::platform::decode::epoch;
use crate::platform::model::*;

/// This control room's own dispatches whose result is still awaited, at most.
const RESULTS_AWAITED_MAX: usize = 1_000;

pub fn dispatched(
    state: &mut State,
    agent: &str,
    req: &crate::platform::wire::TaskRequest,
    outcome: Result<crate::event::Delivery, crate::event::Failure>,
) {
    use crate::event::Delivery;
    let label = format!("{} [{}] to {agent}", req.name, short_id(&req.id));
    let queued = match &outcome {
        Err(why) => {
            flash(
                state,
                Level::Error,
                format!("dispatch of {label} failed: {why}"),
            );
            return;
        }
        Ok(Delivery::QueuedLocally { why }) => {
            flash(
                state,
                Level::Warn,
                format!(
                    "Redis unreachable ({why}): {label} queued locally, sent when Redis is back"
                ),
            );
            true
        }
        Ok(_) => {
            flash(state, Level::Info, format!("dispatched {label}"));
            // Its result may be polled from the backend until it is known here; a worker
            // as fast as the dispatch may already have ended it.
            let ended = state
                .tasks
                .by_id
                .get(&req.id)
                .is_some_and(|t| t.state.is_final());
            if ended {
                state.effects_due.push(Effect::ResultKnown {
                    task_id: req.id.clone(),
                });
            } else if state.results_awaited.len() < RESULTS_AWAITED_MAX {
                state.results_awaited.insert(req.id.clone());
            }
            false
        }
    };
    // Shown at once as PENDING; the Celery events take it from there.
    let agent_idx = state
        .agent_index(agent)
        .or_else(|| state.agent_for_queue(&req.queue));
    let now = state.now;
    state.own_dispatches.follow(agent, req, now, !queued);
    let (task, _) = state.tasks.upsert(&req.id, |u| u.max(now));
    task.queued_locally = queued;
    task.agent = task.agent.or(agent_idx);
    task.fields.name.get_or_insert_with(|| req.name.clone());
    task.fields.args.get_or_insert_with(|| req.args.to_string());
    task.fields
        .kwargs
        .get_or_insert_with(|| req.kwargs.to_string());
    task.fields.queue.get_or_insert_with(|| req.queue.clone());
}

pub fn set_state(tile: &mut AgentTile, at: DateTime<Utc>, new: AgentState) -> bool {
    if tile.state == new {
        return false;
    }
    tile.state = new;
    tile.since = at;
    true
}

/// An agent's report applied in order: its tile found (or made), state, task, heartbeat,
/// the log line.
pub fn agent_report(state: &mut State, at: DateTime<Utc>, r: AgentReport) {
    let Some(idx) = tile_for(state, at, &r.agent) else {
        return;
    };
    let tile = &mut state.agents[idx];
    tile.last_heartbeat = Some(at);
    let before = tile.state;
    let changed = set_state(tile, at, r.state);
    // Keep a Celery-derived "name [id]" label for the same task; it says more than an id.
    tile.task = match (&r.task_id, &r.detail) {
        (Some(id), _)
            if tile
                .task
                .as_deref()
                .is_some_and(|t| t.contains(short_id(id))) =>
        {
            tile.task.take()
        }
        (Some(id), Some(d)) => Some(format!("{d} [{}]", short_id(id))),
        (Some(id), None) => Some(short_id(id).to_string()),
        (None, _) => None,
    };
    tile.detail = r.detail;
    if let Some(m) = r.model {
        tile.model = m;
    }
    if changed {
        let name = tile.name.clone();
        let level = if r.state == AgentState::Error {
            Level::Error
        } else {
            Level::Info
        };
        let detail = state.agents[idx]
            .detail
            .clone()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        log(
            state,
            at,
            level,
            &name,
            format!("{} → {}{detail}", before.label(), r.state.label()),
        );
    }
}

/// A worker that has not said which queues it consumes is asked at most this often, and
/// this many times.
const ASK_AGAIN_SECS: i64 = 5;

const ASK_MAX: u8 = 4;

/// What a worker consumes decides its agent: the agent whose queues it takes, whatever its
/// hostname says.
pub fn worker_queues(
    state: &mut State,
    worker: &str,
    queues: Result<Vec<String>, crate::event::Failure>,
) -> Outcome {
    let now = state.now;
    let queues = match queues {
        Ok(q) => q,
        Err(why) => {
            // Hostname patterns and the first task it takes still map it.
            log(
                state,
                now,
                Level::Debug,
                "celery",
                format!("worker {worker} did not say which queues it consumes: {why}"),
            );
            return Outcome::redraw();
        }
    };
    let agent = queues.iter().find_map(|q| state.agent_for_queue(q));
    let Some(w) = state.workers.get_mut(worker) else {
        return Outcome::default();
    };
    w.queues = Some(queues.clone());
    let before = w.agent;
    if agent.is_some() {
        w.agent = agent;
    }
    let named = agent.map_or("no agent".to_string(), |i| state.agents[i].name.clone());
    log(
        state,
        now,
        Level::Info,
        "celery",
        format!("worker {worker} consumes {}: {named}", queues.join(", ")),
    );
    if let Some(i) = agent
        && before != agent
        && state.workers.get(worker).is_some_and(|w| w.online)
    {
        let tile = &mut state.agents[i];
        tile.last_heartbeat = Some(now);
        if matches!(tile.state, AgentState::Unknown | AgentState::Offline) {
            set_state(tile, now, AgentState::Idle);
        }
    }
    Outcome::redraw()
}

/// Whether a new worker may be kept: below `MAX_WORKERS`, or after forgetting the one
/// offline longest. A full map of online workers turns the newcomer away.
fn room_for_a_worker(state: &mut State) -> bool {
    if state.workers.len() < MAX_WORKERS {
        return true;
    }
    let oldest = state
        .workers
        .values()
        .filter(|w| !w.online)
        .min_by_key(|w| w.last_heartbeat)
        .map(|w| w.hostname.clone());
    match oldest {
        Some(h) => {
            state.workers.remove(&h);
            true
        }
        None => false,
    }
}

/// A worker event applied in order: the worker, its queues' question, the log line, its
/// agent.
pub fn worker_event(state: &mut State, at: DateTime<Utc>, w: WorkerEvent) {
    let agent = state.agent_for_worker(&w.hostname);
    let was_online = state.workers.get(&w.hostname).is_some_and(|x| x.online);
    let online = w.kind != WorkerEventKind::Offline;
    if !state.workers.contains_key(&w.hostname) && !room_for_a_worker(state) {
        state.counters.workers_turned_away += 1;
        return;
    }
    let entry = state
        .workers
        .entry(w.hostname.clone())
        .or_insert_with(|| Worker::new(w.hostname.clone(), agent, online, at, w.freq));
    entry.online = online;
    entry.restored = false;
    entry.last_heartbeat = at;
    entry.freq = w.freq;
    entry.active = w.active;
    // A worker that started again counts from zero (its heartbeat's `processed`): so do the
    // counts kept here, so every column of its row counts the same run of it.
    if online && w.processed < entry.processed {
        entry.succeeded = 0;
        entry.failed = 0;
        entry.retried = 0;
    }
    entry.processed = w.processed;
    entry.loadavg = w.loadavg;
    if w.sw_ver.is_some() {
        entry.sw_ver = w.sw_ver.clone();
    }
    if !was_online && online {
        // Back (or new): what it consumes may have changed with its restart.
        entry.queues = None;
        entry.asked = 0;
        entry.asked_at = None;
        entry.settled = false;
    }
    ask_queues_if_due(state, &w.hostname, online, at);
    if was_online != online {
        let (level, what) = if online {
            (Level::Info, "online")
        } else {
            (Level::Warn, "offline")
        };
        log(
            state,
            at,
            level,
            "celery",
            format!("worker {} {what}", w.hostname),
        );
    }
    let Some(i) = agent else { return };
    let tile = &mut state.agents[i];
    if online {
        tile.last_heartbeat = Some(at);
        // A live worker with nothing running is idle; busy/error come from task events.
        if matches!(tile.state, AgentState::Unknown | AgentState::Offline) {
            let s = if w.active > 0 {
                AgentState::Busy
            } else {
                AgentState::Idle
            };
            set_state(tile, at, s);
        }
    } else {
        worker_lost(state, at, i);
    }
}

/// How long a task that just started waited in its queue: from its sent event, or from its
/// ETA when it had one (a countdown is not a wait). None without a sent event.
fn queue_wait(task: &crate::kept::Task) -> Option<f64> {
    let sent = task.times[TaskEventKind::Sent as usize];
    let started = task.times[TaskEventKind::Started as usize];
    if sent <= 0.0 || started <= 0.0 {
        return None;
    }
    let eta = task
        .fields
        .sending
        .as_ref()
        .and_then(|s| s.eta.as_deref())
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
        .map(|e| e.timestamp_micros() as f64 / 1e6);
    let from = eta.map_or(sent, |e| e.max(sent));
    Some((started - from).max(0.0))
}

/// A task received: one more drained from its queue, known from its own sent event or as
/// the one queue its worker consumes. Only a queue already shown is counted (no row is made
/// for it, and nothing is allocated on the feed path).
fn count_drained(
    queues: &mut [QueueRow],
    workers: &std::collections::BTreeMap<String, Worker>,
    task: &Task,
    hostname: &str,
) {
    let queue = task.fields.queue.as_deref().or_else(|| {
        workers
            .get(hostname)
            .and_then(|w| w.queues.as_deref())
            .filter(|qs| qs.len() == 1)
            .map(|qs| qs[0].as_str())
    });
    if let Some(q) = queue
        && let Some(row) = queues.iter_mut().find(|r| r.name == q)
    {
        row.received_total += 1;
    }
}

/// An agent whose last Celery worker is gone is offline, whatever it last said.
pub fn worker_lost(state: &mut State, at: DateTime<Utc>, agent: usize) {
    if state
        .workers
        .values()
        .any(|x| x.agent == Some(agent) && x.online)
    {
        return;
    }
    let tile = &mut state.agents[agent];
    if set_state(tile, at, AgentState::Offline) {
        tile.task = None;
        let name = tile.name.clone();
        log(
            state,
            at,
            Level::Warn,
            &name,
            "offline: no Celery worker left".into(),
        );
    }
}

// Long, on purpose: one arm per Celery task event kind.
pub fn task_event(state: &mut State, at: DateTime<Utc>, t: TaskEvent) {
    let worker_agent = (!t.hostname.is_empty())
        .then(|| state.agent_for_worker(&t.hostname))
        .flatten();
    let queue_agent = t
        .fields
        .queue
        .as_deref()
        .and_then(|q| state.agent_for_queue(q));
    let when = epoch(t.timestamp).unwrap_or(at);
    state.last_task_event = Some(at);
    if t.kind != TaskEventKind::Sent {
        state.own_dispatches.forget(&t.uuid);
    }
    if t.kind == TaskEventKind::Sent
        && let Some(q) = &t.fields.queue
    {
        queue_row(state, q).sent_total += 1;
    }
    let (task, _fresh) = state.tasks.upsert(&t.uuid, |_| when);
    task.restored = false;
    // Heard of again (redelivered, or it ran after all): not gone.
    task.gone = None;
    match t.kind {
        TaskEventKind::Received => task.received = Some(when),
        TaskEventKind::Started => task.started = Some(when),
        TaskEventKind::Revoked => task.terminated = t.fields.terminated.unwrap_or(false),
        _ => {}
    }
    // Events can arrive out of order across batches; never step a finished task backwards.
    if !(task.state.is_final() && !t.kind.is_final() && t.kind != TaskEventKind::Retried) {
        task.state = t.kind;
    }
    // A result known by any path (events, the backend) ends the backend poll for it.
    if task.state.is_final() && state.results_awaited.remove(&t.uuid) {
        state.effects_due.push(Effect::ResultKnown {
            task_id: t.uuid.clone(),
        });
    }
    if !t.hostname.is_empty() && t.kind != TaskEventKind::Sent {
        task.worker = t.hostname.clone();
    }
    task.times[t.kind as usize] = t.timestamp;
    if t.kind == TaskEventKind::Sent && !t.hostname.is_empty() {
        task.client = Some(match t.fields.sending.as_ref().and_then(|s| s.pid) {
            Some(pid) => format!("{} (pid {pid})", t.hostname),
            None => t.hostname.clone(),
        });
    }

    task.agent = worker_agent.or(queue_agent).or(task.agent);
    if t.kind == TaskEventKind::Received {
        count_drained(&mut state.queues, &state.workers, task, &t.hostname);
    }

    let f = t.fields;
    macro_rules! keep {
        // Moved out of the event, which is not used again: no copy per field.
        ($($field:ident),*) => { $( if f.$field.is_some() { task.fields.$field = f.$field; } )* };
    }
    keep!(
        name, args, kwargs, result, exception, traceback, runtime, queue, retries
    );
    // Moved, not cloned: one event's box becomes the task's.
    match (&mut task.fields.sending, f.sending) {
        (Some(kept), Some(new)) => kept.merge(&new),
        (slot @ None, new @ Some(_)) => *slot = new,
        _ => {}
    }
    if state.task_counts.on {
        state.task_counts.count(
            t.kind,
            crate::app::model::task_counts::Labels {
                name: task.fields.name.as_deref(),
                hostname: &t.hostname,
                queue: task.fields.queue.as_deref(),
                exception: task.fields.exception.as_deref(),
                runtime: task.fields.runtime,
                wait: (t.kind == TaskEventKind::Started)
                    .then(|| queue_wait(task))
                    .flatten(),
            },
        );
    }
    let name = task.fields.name.clone().unwrap_or_else(|| "task".into());
    let agent = task.agent;

    let label = format!("{name} [{}]", short_id(&t.uuid));
    let exception = task.fields.exception.clone();
    // Flower's per-worker counts: one lookup, only for the events that end a run.
    if matches!(
        t.kind,
        TaskEventKind::Succeeded | TaskEventKind::Failed | TaskEventKind::Retried
    ) && let Some(w) = state.workers.get_mut(&t.hostname)
    {
        match t.kind {
            TaskEventKind::Succeeded => w.succeeded += 1,
            TaskEventKind::Failed => w.failed += 1,
            _ => w.retried += 1,
        }
    }
    // Heartbeats do not say which queues a worker consumes; the first task it takes from an
    // agent's queue does, for workers no hostname pattern matched.
    if let Some(i) = agent
        && matches!(t.kind, TaskEventKind::Received | TaskEventKind::Started)
        && let Some(w) = state.workers.get_mut(&t.hostname)
        && w.agent.is_none()
    {
        w.agent = Some(i);
    }
    if let Some(i) = agent {
        let tile = &mut state.agents[i];
        if matches!(t.kind, TaskEventKind::Succeeded | TaskEventKind::Failed) {
            tile.ended(at, t.kind == TaskEventKind::Failed);
        }
        match t.kind {
            TaskEventKind::Started => {
                set_state(tile, at, AgentState::Busy);
                tile.task = Some(label.clone());
            }
            TaskEventKind::Succeeded | TaskEventKind::Revoked | TaskEventKind::Rejected
                if tile.task.as_deref() == Some(&label) =>
            {
                set_state(tile, at, AgentState::Idle);
                tile.task = None;
            }
            // One failure is a fact ("last task failed 3m ago"), not a state: the agent is
            // failing only when most of its recent tasks fail.
            TaskEventKind::Failed if tile.task.as_deref() == Some(&label) => {
                let now = if tile.failing(at) {
                    AgentState::Error
                } else {
                    AgentState::Idle
                };
                set_state(tile, at, now);
                tile.task = None;
                tile.detail = exception.clone();
            }
            _ => {}
        }
    }
    let source = agent.map_or_else(|| "celery".to_string(), |i| state.agents[i].name.clone());
    match t.kind {
        TaskEventKind::Failed => log(
            state,
            at,
            Level::Error,
            &source,
            format!("{label} failed: {}", exception.unwrap_or_default()),
        ),
        TaskEventKind::Retried => log(
            state,
            at,
            Level::Warn,
            &source,
            format!("{label} retrying: {}", exception.unwrap_or_default()),
        ),
        TaskEventKind::Revoked if state.tasks.by_id.get(&t.uuid).is_some_and(|x| x.terminated) => {
            log(
                state,
                at,
                Level::Warn,
                &source,
                format!("{label} revoked and terminated"),
            )
        }
        TaskEventKind::Revoked => log(state, at, Level::Warn, &source, format!("{label} revoked")),
        TaskEventKind::Rejected => {
            log(state, at, Level::Warn, &source, format!("{label} rejected"))
        }
        _ => {}
    }
}

/// The tile of `agent`: its own, or a new one for an agent not in the config (up to
/// `MAX_AGENTS`, said in the log); None past the limit (said too).
fn tile_for(state: &mut State, at: DateTime<Utc>, agent: &str) -> Option<usize> {
    match state.agent_index(agent) {
        Some(i) => Some(i),
        None if state.agents.len() < MAX_AGENTS => {
            state.agents.push(AgentTile {
                name: agent.to_string(),
                model: String::new(),
                role: "not in config".into(),
                queues: Vec::new(),
                hostnames: Vec::new(),
                stale_after: Duration::seconds(15),
                tasks: Vec::new(),
                state: AgentState::Unknown,
                since: at,
                task: None,
                detail: None,
                last_heartbeat: None,
                ended: Default::default(),
                last_failure: None,
            });
            log(
                state,
                at,
                Level::Warn,
                agent,
                "unconfigured agent announced itself; showing it".into(),
            );
            Some(state.agents.len() - 1)
        }
        None => {
            log(
                state,
                at,
                Level::Warn,
                "agents",
                format!(
                    "report from unknown agent {} ignored: tile limit {MAX_AGENTS} reached",
                    agent
                ),
            );
            None
        }
    }
}

/// Which queues a worker takes maps it to its agent: asked when it appears, and again on a
/// later heartbeat if it did not answer (its control consumer may not be up yet).
fn ask_queues_if_due(state: &mut State, hostname: &str, online: bool, at: DateTime<Utc>) {
    let demo = state.session.demo;
    let room = state.effects_due.len() < 64;
    let Some(entry) = state.workers.get_mut(hostname) else {
        return;
    };
    let due = entry
        .asked_at
        .is_none_or(|t| at - t >= Duration::seconds(ASK_AGAIN_SECS));
    if online && entry.queues.is_none() && entry.asked < ASK_MAX && due && !demo && room {
        entry.asked += 1;
        entry.asked_at = Some(at);
        state.effects_due.push(Effect::AskQueues {
            worker: hostname.to_string(),
        });
    }
}
