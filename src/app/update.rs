//! The one place state changes. Pure: no I/O, no clock (time arrives inside events), no
//! awaiting. Returns whether anything visible changed, and the effects to perform.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::common::*;
use super::effect::Effect;
use super::state::*;
use crate::config::keymap::{Action, Section};
use crate::event::{Event, LinkHealth, ProbeOutcome};
use crate::feeds::decode::epoch;
use crate::feeds::model::*;
use crate::gate::Act;

/// This control room's own dispatches whose result is still awaited, at most.
const RESULTS_AWAITED_MAX: usize = 1_000;

pub fn update(state: &mut State, event: Event) -> Outcome {
    let fed = matches!(event, Event::Feed { .. } | Event::FeedBatch { .. });
    let mut out = apply_event(state, event);
    out.effects.extend(
        state
            .ask_queues
            .drain(..)
            .map(|worker| Effect::AskQueues { worker }),
    );
    if fed && !state.results_awaited.is_empty() {
        // A result that arrived by any path ends the backend poll for it.
        let known: Vec<String> = state
            .results_awaited
            .iter()
            .filter(|id| {
                state
                    .tasks
                    .by_id
                    .get(*id)
                    .is_some_and(|t| t.state.is_final())
            })
            .cloned()
            .collect();
        for task_id in known {
            state.results_awaited.remove(&task_id);
            out.effects.push(Effect::ResultKnown { task_id });
        }
    }
    // In the Tasks view something is always selected once there is a task, so Enter and `x`
    // act on the highlighted row; from then on the selection follows that task's id.
    if state.ui.view == View::Tasks && state.ui.task_pick.is_none() && !state.tasks.by_id.is_empty()
    {
        super::tasks::pick_row(state, 0);
    }
    out
}

fn apply_event(state: &mut State, event: Event) -> Outcome {
    match event {
        Event::Tick(now) => tick(state, now),
        Event::Key(key) => key_event(state, key),
        Event::Resize { width, height } => {
            state.ui.width = width;
            state.ui.height = height;
            Outcome::redraw()
        }
        Event::Feed { at, item } => Outcome {
            redraw: apply(state, at, *item),
            effects: Vec::new(),
        },
        Event::FeedBatch { at, items } => {
            let mut redraw = false;
            for item in items {
                redraw |= apply(state, at, item);
            }
            Outcome {
                redraw,
                effects: Vec::new(),
            }
        }
        Event::Link { name, health } => link(state, name, health),
        Event::Probe { at, index, outcome } => probe(state, at, index, outcome),
        Event::Shed { feed, count } => {
            state.counters.shed += count;
            let now = state.now;
            log(
                state,
                now,
                Level::Warn,
                &feed,
                format!("shed {count} messages to keep up (Redis would cut a slow subscriber)"),
            );
            Outcome::redraw()
        }
        Event::ActionDone { what, outcome } => {
            match outcome {
                Ok(msg) => flash(state, Level::Info, format!("{what}: {msg}")),
                Err(why) => flash(state, Level::Error, format!("{what} failed: {why}")),
            }
            Outcome::redraw()
        }
        Event::Dispatched {
            agent,
            request,
            outcome,
        } => {
            dispatched(state, &agent, &request, outcome);
            Outcome::redraw()
        }
        Event::OutboxDelivered { task_id } => {
            if let Some(t) = state.tasks.by_id.get_mut(&task_id) {
                t.queued_locally = false;
            }
            let now = state.now;
            state.watch.delivered(&task_id, now);
            log(
                state,
                now,
                Level::Info,
                "outbox",
                format!("delivered {} now that Redis is back", short_id(&task_id)),
            );
            Outcome::redraw()
        }
        Event::Located { task_id, place } => super::lost::located(state, &task_id, place),
        Event::WorkerQueues { worker, queues } => worker_queues(state, &worker, queues),
        Event::Exposure { findings } => exposure(state, findings),
        Event::StoreOpened { lines } => {
            state.history_store = true;
            history(state, lines);
            Outcome::redraw()
        }
        Event::Run { id, update } => super::exec::run_event(state, id, update),
        Event::Older { lines } => super::logview::older(state, lines),
        Event::Work => {
            state.activity.work();
            Outcome::redraw()
        }
        Event::Shutdown { why } => {
            log(
                state,
                state.now,
                Level::Warn,
                "control",
                format!("shutting down: {why}"),
            );
            Outcome {
                redraw: false,
                effects: vec![Effect::Quit],
            }
        }
    }
}

fn tick(state: &mut State, now: DateTime<Utc>) -> Outcome {
    state.now = now;
    let forget = state.forget_workers_after;
    let mut went_offline = Vec::new();
    for a in &mut state.agents {
        if let Some(hb) = a.last_heartbeat
            && a.state != AgentState::Offline
            && now - hb > a.stale_after
        {
            a.state = AgentState::Offline;
            a.since = now;
            a.task = None;
            went_offline.push((a.name.clone(), (now - hb).num_seconds()));
        }
    }
    for (name, secs) in went_offline {
        log(
            state,
            now,
            Level::Warn,
            &name,
            format!("offline: no heartbeat for {secs}s"),
        );
    }
    let mut lost = Vec::new();
    for w in state.workers.values_mut() {
        // Celery's own rule (events/state.py): offline once 2 × freq passes without a heartbeat.
        let expiry = Duration::milliseconds((w.freq * 2000.0) as i64);
        if w.online && now - w.last_heartbeat > expiry {
            w.online = false;
            lost.push(w.hostname.clone());
        }
    }
    for h in lost {
        log(
            state,
            now,
            Level::Warn,
            "celery",
            format!("worker {h} offline: heartbeat expired"),
        );

        if let Some(i) = state.workers[&h].agent {
            worker_lost(state, now, i);
        }
    }
    state
        .workers
        .retain(|_, w| w.online || now - w.last_heartbeat < forget);
    // The clock and every "n s ago" on screen move with the tick.
    Outcome {
        redraw: true,
        effects: super::lost::look(state, now),
    }
}

fn key_event(state: &mut State, key: KeyEvent) -> Outcome {
    if key.kind == KeyEventKind::Release {
        return Outcome::default();
    }
    // Modal prompts read raw keys: they are typing, not commands.
    match &mut state.ui.mode {
        Mode::Filter(text) => {
            let text = std::mem::take(text);
            return filter_key(text, key, state);
        }
        Mode::Confirm(c) => {
            let c = c.clone();
            return confirm_key(state, key, c);
        }
        Mode::ConfirmQuit => return confirm_quit_key(state, key),
        Mode::Form(_)
        | Mode::Command(_)
        | Mode::ConfirmDispatch(_)
        | Mode::ConfirmEmit(_)
        | Mode::ConfirmExec(_)
        | Mode::LogFilter(_)
        | Mode::LogSearch(_) => {
            return match std::mem::replace(&mut state.ui.mode, Mode::Normal) {
                Mode::LogFilter(t) => super::logview::prompt_key(state, false, t, key),
                Mode::LogSearch(t) => super::logview::prompt_key(state, true, t, key),
                Mode::ConfirmExec(p) => super::exec::confirm_key(state, p, key),
                Mode::Form(form) => super::forms::form_key(state, form, key),
                Mode::Command(text) => super::forms::command_key(state, text, key),
                Mode::ConfirmDispatch(p) => super::forms::confirm_dispatch_key(state, p, key),
                Mode::ConfirmEmit(p) => super::forms::confirm_emit_key(state, p, key),
                _ => unreachable!("matched above"),
            };
        }
        _ => {}
    }
    let section = match state.ui.mode {
        Mode::Help => Section::Help,
        _ => Section::Normal,
    };
    let context = if state.ui.view == View::Executor && state.ui.mode == Mode::Normal {
        state.keymap.lookup(Section::Executor, &key)
    } else if super::logview::active(state) {
        state.keymap.lookup(Section::Log, &key)
    } else {
        None
    };
    match context.or_else(|| state.keymap.lookup(section, &key)) {
        Some(action) => act(state, action),
        None => Outcome::default(),
    }
}

fn filter_key(mut text: String, key: KeyEvent, state: &mut State) -> Outcome {
    match key.code {
        KeyCode::Enter => {
            state.ui.filter = text.trim().to_string();
            // A new filter shows other rows: the selection starts again at its top,
            // unless the selected task still passes it.
            if super::tasks::selected(state).is_none() {
                super::tasks::pick_row(state, 0);
            }
            state.ui.mode = Mode::Normal;
            return Outcome::redraw();
        }
        KeyCode::Esc => {
            state.ui.mode = Mode::Normal;
            return Outcome::redraw();
        }
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
        KeyCode::Char(c)
            if !key.modifiers.contains(KeyModifiers::CONTROL) && text.chars().count() < 200 =>
        {
            text.push(c)
        }
        _ => {}
    }
    state.ui.mode = Mode::Filter(text);
    Outcome::redraw()
}

fn confirm_key(state: &mut State, key: KeyEvent, c: Confirm) -> Outcome {
    match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') => {
            state.ui.mode = Mode::Normal;
            let effect = Effect::Revoke {
                task_id: c.task_id,
                terminate: c.terminate,
            };
            guarded(state, effect)
        }
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
            state.ui.mode = Mode::Normal;
            flash(state, Level::Info, "cancelled: nothing was sent".into());
            Outcome::redraw()
        }
        _ => Outcome::default(),
    }
}

/// `y` quits and cancels the runs still going (each is recorded as it ends); anything else
/// stays.
fn confirm_quit_key(state: &mut State, key: KeyEvent) -> Outcome {
    state.ui.mode = Mode::Normal;
    if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
        let now = state.now;
        log(
            state,
            now,
            Level::Warn,
            "control",
            "quitting with runs going: each is cancelled (TERM, then KILL) and recorded".into(),
        );
        return Outcome {
            redraw: false,
            effects: vec![Effect::Quit],
        };
    }
    flash(
        state,
        Level::Info,
        "not quitting: the runs go on (e for the Executor view)".into(),
    );
    Outcome::redraw()
}

fn act(state: &mut State, action: Action) -> Outcome {
    let ui = &mut state.ui;
    match ui.mode {
        Mode::Help => {
            match action {
                Action::Back | Action::Help | Action::Quit => ui.mode = Mode::Normal,
                Action::Up => ui.help_scroll = ui.help_scroll.saturating_sub(1),
                Action::Down => ui.help_scroll = ui.help_scroll.saturating_add(1).min(200),
                Action::Top => ui.help_scroll = 0,
                _ => return Outcome::default(),
            }
            return Outcome::redraw();
        }
        Mode::Detail => match action {
            Action::Back | Action::Zoom => {
                ui.mode = Mode::Normal;
                return Outcome::redraw();
            }
            Action::Up => {
                ui.detail_scroll = ui.detail_scroll.saturating_sub(1);
                return Outcome::redraw();
            }
            Action::Down => {
                ui.detail_scroll = ui.detail_scroll.saturating_add(1).min(500);
                return Outcome::redraw();
            }
            Action::Revoke | Action::Terminate | Action::Quit | Action::Help => {}
            _ => return Outcome::default(),
        },
        _ => {}
    }
    if ui.view == View::Executor
        && ui.mode == Mode::Normal
        && let Some(done) = super::exec::act(state, action)
    {
        return done;
    }
    if super::logview::active(state)
        && let Some(done) = super::logview::act(state, action)
    {
        return done;
    }
    let ui = &mut state.ui;
    let cycle = |focus: Pane, step: isize| {
        let i = Pane::ORDER.iter().position(|p| *p == focus).unwrap_or(0) as isize;
        Pane::ORDER[(i + step).rem_euclid(Pane::ORDER.len() as isize) as usize]
    };
    let in_tasks = ui.view == View::Tasks;
    match action {
        Action::Quit => return quit(state),
        Action::Help => {
            ui.mode = Mode::Help;
            ui.help_scroll = 0;
        }
        Action::Tasks => {
            ui.view = if in_tasks {
                View::Dashboard
            } else {
                View::Tasks
            };
            ui.mode = Mode::Normal;
        }
        Action::Workers => {
            ui.view = if ui.view == View::Workers {
                View::Dashboard
            } else {
                View::Workers
            };
            ui.mode = Mode::Normal;
        }
        Action::Filter => {
            ui.view = View::Tasks;
            ui.mode = Mode::Filter(ui.filter.clone());
        }
        Action::Sort if in_tasks => {
            // The selection stays on its task, wherever the new order puts it.
            ui.task_sort = ui.task_sort.next();
        }
        Action::Revoke | Action::Terminate if in_tasks => {
            return ask_revoke(state, action == Action::Terminate);
        }
        Action::Dispatch => return super::forms::open_form(state),
        Action::Executor => return super::exec::toggle_view(state),
        Action::Run
        | Action::Cancel
        | Action::CloseTab
        | Action::Search
        | Action::SearchNext
        | Action::SearchPrev
        | Action::Wrap
        | Action::Timestamps
        | Action::Utc
        | Action::Fullscreen
        | Action::Clear
        | Action::Mark
        | Action::Copy
        | Action::Save
        | Action::GoTo => return Outcome::default(),
        Action::Command => ui.mode = Mode::Command(String::new()),
        Action::Sort | Action::Revoke | Action::Terminate => {
            flash(
                state,
                Level::Info,
                format!(
                    "tasks are sorted and revoked from the Tasks view: press {}",
                    state.keymap.hint(Section::Normal, Action::Tasks)
                ),
            );
        }
        Action::Zoom if in_tasks => {
            if super::tasks::selected(state).is_none() {
                return Outcome::default();
            }
            state.ui.mode = Mode::Detail;
            state.ui.detail_scroll = 0;
        }
        Action::FocusNext if ui.view == View::Dashboard => ui.focus = cycle(ui.focus, 1),
        Action::FocusPrev if ui.view == View::Dashboard => ui.focus = cycle(ui.focus, -1),
        Action::Zoom if ui.view == View::Dashboard => ui.zoomed = !ui.zoomed,
        Action::Back => {
            if ui.view != View::Dashboard {
                ui.view = View::Dashboard;
            } else if ui.zoomed {
                ui.zoomed = false;
            } else {
                return Outcome::default();
            }
        }
        Action::ToggleFollow => {
            let log = &mut state.activity;
            if log.follow {
                log.follow = false;
            } else {
                log.resume_follow();
            }
        }
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => {
            let step = step_of(action, page(state));
            if in_tasks {
                super::tasks::move_pick(state, step);
            } else {
                return move_in_pane(state, step);
            }
        }
        Action::FocusNext | Action::FocusPrev | Action::Zoom | Action::Nothing => {
            return Outcome::default();
        }
    }
    Outcome::redraw()
}

fn ask_revoke(state: &mut State, terminate: bool) -> Outcome {
    let Some(t) = super::tasks::selected(state) else {
        let why = match super::tasks::pick_gone(state) {
            Some(id) => format!(
                "refused: the selected task [{}] is no longer kept (evicted, oldest first); select another",
                short_id(id)
            ),
            None => "no task selected".into(),
        };
        flash(state, Level::Info, why);
        return Outcome::redraw();
    };
    if t.state.is_final() {
        // Revoking an ended task changes nothing: say so instead of asking.
        let why = format!(
            "refused: {} [{}] already ended ({}); revoking it changes nothing",
            t.fields.name.as_deref().unwrap_or("task"),
            short_id(&t.uuid),
            t.state.label()
        );
        flash(state, Level::Info, why);
        return Outcome::redraw();
    }
    let confirm = Confirm {
        task_id: t.uuid.clone(),
        label: format!(
            "{} [{}]",
            t.fields.name.as_deref().unwrap_or("task"),
            short_id(&t.uuid)
        ),
        terminate,
    };
    let act = if terminate {
        Act::Terminate
    } else {
        Act::Revoke
    };
    if let Some(no) = refused_early(state, act, false) {
        return no;
    }
    state.ui.mode = Mode::Confirm(confirm);
    Outcome::redraw()
}

fn move_in_pane(state: &mut State, step: isize) -> Outcome {
    match state.ui.focus {
        Pane::Agents => state.ui.agent_sel = moved(state.ui.agent_sel, step, state.agents.len()),
        Pane::Queues => state.ui.queue_sel = moved(state.ui.queue_sel, step, state.queues.len()),
        Pane::Ports => state.ui.port_sel = moved(state.ui.port_sel, step, state.ports.len()),
        Pane::Activity => return super::logview::scroll(state, step),
    }
    Outcome::redraw()
}

/// Applies one decoded item; whether anything on screen changed. Everything does, except a
/// queue sample that found what the last one found: on a quiet platform that is once a
/// second, and skipping its frame is most of what the control room costs at rest.
fn apply(state: &mut State, at: DateTime<Utc>, item: FeedItem) -> bool {
    state.counters.events += 1;
    if let FeedItem::Queues(samples) = item {
        return queue_samples(state, at, samples);
    }
    match item {
        FeedItem::Agent(r) => agent_report(state, at, r),
        FeedItem::Activity(r) => {
            let at = r.ts.unwrap_or(at);
            let msg = match r.task_id {
                Some(t) => format!("{} [{}]", r.message, short_id(&t)),
                None => r.message,
            };
            log(state, at, r.level, &r.source, msg);
        }
        FeedItem::Celery(CeleryEvent::Worker(w)) => worker_event(state, at, w),
        FeedItem::Celery(CeleryEvent::Task(t)) => task_event(state, at, t),
        FeedItem::Queues(_) => unreachable!("handled above"),
        FeedItem::Audit(note) => {
            // Our own actions are already in the log, with more detail.
            if note.instance != state.instance {
                let from = if note.from.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", note.from)
                };
                let level =
                    if note.outcome.starts_with("failed") || note.outcome.starts_with("refused") {
                        Level::Warn
                    } else {
                        Level::Info
                    };
                log(
                    state,
                    at,
                    level,
                    "audit",
                    format!(
                        "{}{from}: {} {} → {}",
                        note.who, note.action, note.target, note.outcome
                    ),
                );
            }
        }
        FeedItem::Malformed {
            source,
            reason,
            raw,
        } => {
            state.counters.malformed += 1;
            log(
                state,
                at,
                Level::Warn,
                &source,
                format!("malformed payload ({reason}): {raw}"),
            );
        }
    }
    true
}

fn dispatched(
    state: &mut State,
    agent: &str,
    req: &crate::feeds::wire::TaskRequest,
    outcome: Result<crate::event::Delivery, String>,
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
            // Its result may be polled from the backend until it is known here.
            if state.results_awaited.len() < RESULTS_AWAITED_MAX {
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
    state.watch.follow(agent, req, now, !queued);
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

/// Older lines from the store go in front of whatever this run has already logged.
fn history(state: &mut State, lines: Vec<crate::store::StoredLine>) {
    let now = state.now;
    let lines = lines.into_iter().map(|l| stored_line(l, now)).collect();
    state.activity.seed(lines);
}

/// Keeps the newest audit; says what became exposed (or stopped being), once.
fn exposure(state: &mut State, findings: Vec<crate::feeds::exposure::Finding>) -> Outcome {
    use crate::feeds::exposure::Finding;
    let key = |f: &Finding| match f {
        Finding::Exposed {
            service, listener, ..
        } => format!("{service} {}:{}", listener.addr, listener.port),
        Finding::Unmapped { listener } => format!("{}:{}", listener.addr, listener.port),
    };
    let before: std::collections::BTreeSet<String> = state.exposure.iter().map(key).collect();
    let now = state.now;
    for f in &findings {
        if before.contains(&key(f)) {
            continue;
        }
        let owner = |l: &crate::feeds::exposure::Listener| {
            l.owner
                .as_deref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default()
        };
        match f {
            Finding::Exposed {
                service,
                listener,
                remedy,
            } => {
                log(
                    state,
                    now,
                    Level::Error,
                    "exposure",
                    format!(
                        "{service} listens on {}:{}{}: reachable from outside; {remedy}",
                        listener.addr,
                        listener.port,
                        owner(listener)
                    ),
                );
            }
            Finding::Unmapped { listener } => {
                log(
                    state,
                    now,
                    Level::Info,
                    "exposure",
                    format!(
                        "listening on {}:{}{}, not in the port map",
                        listener.addr,
                        listener.port,
                        owner(listener)
                    ),
                );
            }
        }
    }
    let changed = before != findings.iter().map(key).collect();
    state.exposure = findings;
    Outcome {
        redraw: changed,
        effects: Vec::new(),
    }
}

fn queue_row<'a>(state: &'a mut State, name: &str) -> &'a mut QueueRow {
    match state.queues.iter().position(|q| q.name == name) {
        Some(i) => &mut state.queues[i],
        None => {
            state.queues.push(QueueRow::new(name));
            state.queues.last_mut().expect("pushed")
        }
    }
}

/// In and out per second between two samples. Inflow is known only from task-sent events;
/// without them, outflow is at least what the depth lost.
fn queue_samples(state: &mut State, at: DateTime<Utc>, samples: Vec<QueueSample>) -> bool {
    let mut changed = false;
    for s in samples {
        changed |= !state.queues.iter().any(|q| q.name == s.queue);
        let row = queue_row(state, &s.queue);
        let before = (row.depth, row.reserved, row.in_rate, row.out_rate);
        // A sparkline of one value does not move when that value is pushed again; while it
        // fills it grows by one flat column, which the next clock tick's frame shows.
        let flat = row.history.iter().all(|d| *d == s.depth);
        sample_rates(row, at, s.depth);
        row.depth = s.depth;
        row.reserved = s.reserved;
        if row.history.len() >= HISTORY {
            row.history.pop_front();
        }
        row.history.push_back(s.depth);
        let after = (row.depth, row.reserved, row.in_rate, row.out_rate);
        changed |= before != after || !flat;
    }
    changed
}

fn sample_rates(row: &mut QueueRow, at: DateTime<Utc>, depth: u64) {
    if let Some((then, last_depth, last_sent)) = row.last {
        let dt = (at - then).num_milliseconds() as f64 / 1000.0;
        if dt < 0.2 {
            return;
        }
        let net = (depth as f64 - last_depth as f64) / dt;
        if row.sent_total > 0 {
            let inflow = (row.sent_total - last_sent) as f64 / dt;
            row.in_rate = Some(inflow);
            row.out_rate = Some((inflow - net).max(0.0));
        } else {
            row.in_rate = None;
            row.out_rate = Some((-net).max(0.0));
        }
    }
    row.last = Some((at, depth, row.sent_total));
}

fn set_state(tile: &mut AgentTile, at: DateTime<Utc>, new: AgentState) -> bool {
    if tile.state == new {
        return false;
    }
    tile.state = new;
    tile.since = at;
    true
}

fn agent_report(state: &mut State, at: DateTime<Utc>, r: AgentReport) {
    let idx = match state.agent_index(&r.agent) {
        Some(i) => i,
        None if state.agents.len() < MAX_AGENTS => {
            state.agents.push(AgentTile {
                name: r.agent.clone(),
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
            });
            log(
                state,
                at,
                Level::Warn,
                &r.agent,
                "unconfigured agent announced itself; showing it".into(),
            );
            state.agents.len() - 1
        }
        None => {
            log(
                state,
                at,
                Level::Warn,
                "agents",
                format!(
                    "report from unknown agent {} ignored: tile limit {MAX_AGENTS} reached",
                    r.agent
                ),
            );
            return;
        }
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
fn worker_queues(state: &mut State, worker: &str, queues: Result<Vec<String>, String>) -> Outcome {
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

fn worker_event(state: &mut State, at: DateTime<Utc>, w: WorkerEvent) {
    let agent = state.agent_for_worker(&w.hostname);
    let was_online = state.workers.get(&w.hostname).is_some_and(|x| x.online);
    let online = w.kind != WorkerEventKind::Offline;
    let entry = state
        .workers
        .entry(w.hostname.clone())
        .or_insert_with(|| Worker {
            hostname: w.hostname.clone(),
            agent,
            online,
            last_heartbeat: at,
            freq: w.freq,
            active: 0,
            processed: 0,
            loadavg: [0.0; 3],
            sw_ver: None,
            queues: None,
            asked: 0,
            asked_at: None,
        });
    entry.online = online;
    entry.last_heartbeat = at;
    entry.freq = w.freq;
    entry.active = w.active;
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
    }
    // Which queues it takes maps it to its agent: asked when it appears, and again on a
    // later heartbeat if it did not answer (its control consumer may not be up yet).
    let due = entry
        .asked_at
        .is_none_or(|t| at - t >= Duration::seconds(ASK_AGAIN_SECS));
    if online
        && entry.queues.is_none()
        && entry.asked < ASK_MAX
        && due
        && !state.demo
        && state.ask_queues.len() < 64
    {
        entry.asked += 1;
        entry.asked_at = Some(at);
        state.ask_queues.push(w.hostname.clone());
    }
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

/// An agent whose last Celery worker is gone is offline, whatever it last said.
fn worker_lost(state: &mut State, at: DateTime<Utc>, agent: usize) {
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

fn task_event(state: &mut State, at: DateTime<Utc>, t: TaskEvent) {
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
        state.watch.forget(&t.uuid);
    }
    if t.kind == TaskEventKind::Sent
        && let Some(q) = &t.fields.queue
    {
        queue_row(state, q).sent_total += 1;
    }
    let (task, _fresh) = state.tasks.upsert(&t.uuid, |_| when);
    match t.kind {
        TaskEventKind::Received => task.received = Some(when),
        TaskEventKind::Started => task.started = Some(when),
        TaskEventKind::Revoked => task.terminated = t.fields.terminated.unwrap_or(false),
        _ => {}
    }
    // Events can arrive out of order across batches; never step a finished task backwards.
    let terminal = |k: TaskEventKind| {
        matches!(
            k,
            TaskEventKind::Succeeded
                | TaskEventKind::Failed
                | TaskEventKind::Revoked
                | TaskEventKind::Rejected
        )
    };
    if !(terminal(task.state) && !terminal(t.kind) && t.kind != TaskEventKind::Retried) {
        task.state = t.kind;
    }
    if !t.hostname.is_empty() && t.kind != TaskEventKind::Sent {
        task.worker = t.hostname.clone();
    }
    task.agent = worker_agent.or(queue_agent).or(task.agent);
    let f = t.fields;
    macro_rules! keep {
        ($($field:ident),*) => { $( if f.$field.is_some() { task.fields.$field = f.$field.clone(); } )* };
    }
    keep!(
        name, args, kwargs, result, exception, traceback, runtime, queue, retries
    );
    let name = task.fields.name.clone().unwrap_or_else(|| "task".into());
    let agent = task.agent;
    let label = format!("{name} [{}]", short_id(&t.uuid));
    let exception = task.fields.exception.clone();
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
            TaskEventKind::Failed if tile.task.as_deref() == Some(&label) => {
                set_state(tile, at, AgentState::Error);
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

fn link(state: &mut State, name: String, health: LinkHealth) -> Outcome {
    let now = state.now;
    let i = match state.links.iter().position(|l| l.name == name) {
        Some(i) => i,
        None => {
            state.links.push(Link {
                name: name.clone(),
                health: LinkHealth::Connecting,
                last_down: None,
            });
            state.links.len() - 1
        }
    };
    if state.links[i].health == health {
        return Outcome::default();
    }
    // A link that is down and retrying cycles through Connecting and Down every few seconds;
    // only a link coming up, going down from up, or failing for a new reason is drawn at
    // once. The rest shows in the clock's frame, at most a second away.
    let retrying = matches!(
        (&state.links[i].health, &health),
        (LinkHealth::Down { .. }, LinkHealth::Connecting)
            | (LinkHealth::Connecting, LinkHealth::Down { .. })
            | (LinkHealth::Down { .. }, LinkHealth::Down { .. })
    );
    let repeated = |why: &str| state.links[i].last_down.as_deref() == Some(why);
    let quiet = retrying
        && match &health {
            LinkHealth::Down { why, .. } => repeated(why),
            _ => true,
        };
    state.links[i].health = health.clone();
    match &health {
        LinkHealth::Up => {
            state.links[i].last_down = None;
            log(state, now, Level::Info, &name, "link up".into());
        }
        LinkHealth::Down { why, retry_in } => {
            // A link retrying every few seconds says the same thing once, not every time.
            if state.links[i].last_down.as_deref() != Some(why.as_str()) {
                state.links[i].last_down = Some(why.clone());
                let retry = retry_in
                    .map(|d| format!("; retrying in {:.1}s", d.as_secs_f64()))
                    .unwrap_or_default();
                log(
                    state,
                    now,
                    Level::Warn,
                    &name,
                    format!("link down: {why}{retry}"),
                );
            }
        }
        LinkHealth::Degraded { why } => log(state, now, Level::Warn, &name, why.clone()),
        LinkHealth::Connecting => {}
    }
    // The Redis the feeds use is in the port map too: a lost feed shows there at once,
    // without waiting for the next probe.
    if name == crate::event::links::REDIS
        && let Some(p) = state.redis_port.and_then(|p| state.ports.get_mut(p))
    {
        match &health {
            LinkHealth::Down { why, .. } => {
                p.status = PortStatus::Down {
                    why: format!("feed: {why}"),
                }
            }
            LinkHealth::Up if matches!(p.status, PortStatus::Down { .. } | PortStatus::Unknown) => {
                let ms = p
                    .latency_history
                    .back()
                    .map_or(0.0, |us| *us as f64 / 1000.0);
                p.status = PortStatus::Up { latency_ms: ms };
            }
            _ => {}
        }
    }
    Outcome {
        redraw: !quiet,
        effects: Vec::new(),
    }
}

fn probe(state: &mut State, at: DateTime<Utc>, index: usize, outcome: ProbeOutcome) -> Outcome {
    let (warn_days, alarm_days) = (state.cert_warn_days, state.cert_alarm_days);
    let Some(row) = state.ports.get_mut(index) else {
        return Outcome::default();
    };
    let before = row.status.clone();
    let mut notes = Vec::new();
    match outcome {
        ProbeOutcome::Up { latency, cert_days } => {
            row.fails = 0;
            if row.latency_history.len() >= HISTORY {
                row.latency_history.pop_front();
            }
            row.latency_history.push_back(latency.as_micros() as u64);
            row.status = PortStatus::Up {
                latency_ms: latency.as_secs_f64() * 1000.0,
            };
            let grade = |d: Option<i64>| {
                d.map(|d| {
                    if d < alarm_days {
                        2
                    } else if d < warn_days {
                        1
                    } else {
                        0
                    }
                })
            };
            if let Some(days) = cert_days
                && grade(Some(days)) > grade(row.cert_days).or(Some(0))
            {
                let level = if days < alarm_days {
                    Level::Error
                } else {
                    Level::Warn
                };
                notes.push((
                    level,
                    format!("{} certificate expires in {days} days", row.name),
                ));
            }
            row.cert_days = cert_days;
        }
        ProbeOutcome::Down { why } => {
            row.fails += 1;
            // One lost probe is not an outage: down only after `fail_after` in a row.
            if row.fails >= row.fail_after || row.status == PortStatus::Unknown {
                row.status = PortStatus::Down { why };
            }
        }
    }
    let flipped = std::mem::discriminant(&before) != std::mem::discriminant(&row.status);
    if flipped && before != PortStatus::Unknown {
        let (name, target) = (row.name.clone(), format!("{}:{}", row.host, row.port));
        notes.push(match &row.status {
            PortStatus::Down { why } => (Level::Warn, format!("{name} {target} down: {why}")),
            _ => (Level::Info, format!("{name} {target} up")),
        });
    }
    // A new latency (and its sparkline) waits for the clock's frame, at most a second away;
    // a port going down or up, a new reason or a note is drawn at once.
    let only_latency = matches!(
        (&before, &row.status),
        (PortStatus::Up { .. }, PortStatus::Up { .. })
    );
    let urgent = !notes.is_empty() || (!only_latency && before != row.status);
    for (level, msg) in notes {
        log(state, at, level, "ports", msg);
    }
    Outcome {
        redraw: urgent,
        effects: Vec::new(),
    }
}
