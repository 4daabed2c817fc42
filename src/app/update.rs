//! The one place state changes. Pure: no I/O, no clock (time arrives inside events), no
//! awaiting. Returns whether anything visible changed, and the effects to perform.

use crate::app::common::{confirm_quit_key, flash, log, quit, short_id};
use crate::app::ui_state::{Mode, Ui, View};
use crate::app::{Outcome, State};
use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyEvent, KeyEventKind};

use crate::app::effect::Effect;
use crate::app::model::fleet::*;
use crate::app::model::infrastructure::*;
use crate::config::keymap::{Action, Section};
use crate::event::Event;
use crate::platform::model::*;

pub fn update(state: &mut State, event: Event) -> Outcome {
    let mut out = apply_event(state, event);
    // In the Tasks view something is always selected once there is a task, so Enter and `x`
    // act on the highlighted row; from then on the selection follows that task's id.
    if state.ui.view == View::Tasks && state.ui.task_pick.is_none() && !state.tasks.by_id.is_empty()
    {
        crate::app::model::tasks::pick_row(state, 0);
    }
    crate::app::views::workers::keep_pick(state);
    crate::app::views::containers::looking(state);
    out.effects.append(&mut state.effects_due);
    out
}

// Long, on purpose: one arm per event kind, each a call.
fn apply_event(state: &mut State, event: Event) -> Outcome {
    match event {
        Event::Tick(now) => tick(state, now),
        Event::Key(key) => {
            let was_held = matches!(state.ui.mode, Mode::ConfirmContext(_));
            let out = key_event(state, key);
            // What the name released goes; anything else that acts is held first.
            if was_held {
                out
            } else {
                crate::app::dialogs::protect::hold(state, out)
            }
        }
        Event::Resize { width, height } => {
            state.ui.width = width;
            state.ui.height = height;
            Outcome::redraw()
        }
        Event::Feed { at, item } => Outcome {
            redraw: apply(state, at, *item),
            effects: Vec::new(),
        },
        Event::FeedBatch { at, items } | Event::WireBatch { at, items, .. } => {
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
        Event::Master { at, news } => master(state, at, news),
        Event::Contexts(rows) => crate::app::views::contexts::rows(state, rows),
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
        Event::Inspected { worker, outcome } => {
            crate::app::views::workers::inspected(state, &worker, outcome)
        }
        Event::Ordered { what, outcome } => {
            crate::app::dialogs::orders::ordered(state, &what, outcome)
        }
        Event::Retried { what, lines, links } => {
            for (old, new) in links {
                state.retries.note(old, new);
            }
            crate::app::dialogs::orders::ordered(state, &what, Ok(lines))
        }
        Event::RetryLinks(links) => {
            for (old, new) in links {
                state.retries.note(old, new);
            }
            Outcome::default()
        }
        Event::QueueDepths { queue, depths } => {
            crate::app::dialogs::orders::depths(state, &queue, depths)
        }
        Event::Containers(news) => crate::app::views::containers::news(state, news),
        Event::Panels { at, reads } => {
            for r in reads {
                let Some(panel) = state.panels.get_mut(r.index) else {
                    continue;
                };
                panel.read_at = Some(at);
                match r.outcome {
                    Ok(series) => {
                        panel.series = series;
                        panel.error = None;
                    }
                    Err(why) => panel.error = Some(why.to_string()),
                }
            }
            Outcome {
                redraw: state.ui.view == View::Metrics,
                ..Outcome::default()
            }
        }
        Event::Notified { via, outcome } => {
            let now = state.now;
            let source = format!("notify {via}");
            match outcome {
                Ok(words) => log(state, now, Level::Info, &source, words),
                Err(why) => log(state, now, Level::Warn, &source, why.to_string()),
            }
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
            state.own_dispatches.delivered(&task_id, now);
            let words = format!("delivered [{}] now that Redis is back", short_id(&task_id));
            log(state, now, Level::Info, "outbox", words.clone());
            // The status bar said it was queued locally: it says now that it went.
            flash(state, Level::Info, format!("outbox: {words}"));
            Outcome::redraw()
        }
        Event::Located { task_id, place } => {
            crate::app::model::lost::located(state, &task_id, place)
        }
        Event::WorkerQueues { worker, queues } => worker_queues(state, &worker, queues),
        Event::WorkerPool { worker, processes } => {
            if let Some(w) = state.workers.get_mut(&worker) {
                w.processes = Some(processes.min(100_000));
            }
            Outcome::default()
        }
        Event::Exposure { findings } => exposure(state, findings),
        Event::StoreOpened {
            lines,
            tasks,
            workers,
        } => {
            state.history_store = true;
            history(state, lines);
            let (t, w) = (tasks.len(), workers.len());
            if t + w > 0 {
                let n = crate::app::model::history::restore(state, tasks, workers);
                let now = state.now;
                log(
                    state,
                    now,
                    Level::Info,
                    "history",
                    format!(
                        "{n} task(s) and {w} worker(s) restored from the store, marked ↺ until heard from live"
                    ),
                );
            }
            Outcome::redraw()
        }
        Event::Run { id, update } => crate::app::views::executor::run_event(state, id, update),
        Event::Older { lines } => crate::app::views::activity::older(state, lines),
        Event::HistoryFound { word, tasks } => Outcome {
            redraw: crate::app::model::history::found(state, &word, tasks),
            effects: Vec::new(),
        },
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
    // Nothing is heard while the feed is lost: silence is not a death. The fleet is shown
    // unknown; nothing expires and nothing is forgotten until it is back.
    if state.feed_lost.is_none() {
        expire(state, now);
    }
    crate::app::model::alerts::judge(state, now);
    // The clock and every "n s ago" on screen move with the tick.
    let mut effects = crate::app::model::lost::look(state, now);
    effects.extend(crate::app::views::workers::refresh_due(state, now));
    effects.extend(crate::app::model::history::due(state, now));
    Outcome {
        redraw: true,
        effects,
    }
}

/// Agents and workers silent too long go offline (Celery's rule for workers); workers
/// offline for long are forgotten. Judged only while the feed is live.
fn expire(state: &mut State, now: DateTime<Utc>) {
    // Failing is a rate over a window: once the window holds no such rate, it is over.
    for a in &mut state.agents {
        if a.state == AgentState::Error
            && a.last_failure.is_some()
            && a.task.is_none()
            && !a.failing(now)
        {
            a.state = AgentState::Idle;
            a.since = now;
        }
    }
    let forget = state.policy.forget_workers_after;
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
            // One read back from the history went quiet long ago: not news now.
            if !w.restored {
                lost.push(w.hostname.clone());
            }
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
    crate::app::model::gone::settle_lost(state, now);
    state
        .workers
        .retain(|_, w| w.online || now - w.last_heartbeat < forget);
}

fn key_event(state: &mut State, key: KeyEvent) -> Outcome {
    if key.kind == KeyEventKind::Release {
        return Outcome::default();
    }
    // Modal prompts read raw keys: they are typing, not commands.
    match &mut state.ui.mode {
        Mode::Filter(text) => {
            let text = std::mem::take(text);
            return crate::app::views::tasks::filter_key(text, key, state);
        }
        Mode::Confirm(c) => {
            let c = c.clone();
            return crate::app::views::tasks::confirm_key(state, key, c);
        }
        Mode::ConfirmQuit => return confirm_quit_key(state, key),
        Mode::ConfirmContext(_) => {
            let Mode::ConfirmContext(held) = std::mem::replace(&mut state.ui.mode, Mode::Normal)
            else {
                unreachable!("matched above")
            };
            return crate::app::dialogs::protect::key(state, *held, key);
        }
        Mode::ConfirmOrder(_) => {
            let Mode::ConfirmOrder(p) = std::mem::replace(&mut state.ui.mode, Mode::Normal) else {
                unreachable!("matched above")
            };
            return crate::app::dialogs::orders::confirm_key(state, *p, key);
        }
        Mode::Form(_)
        | Mode::Command(_)
        | Mode::ConfirmDispatch(_)
        | Mode::ConfirmEmit(_)
        | Mode::ConfirmExec(_)
        | Mode::LogFilter(_)
        | Mode::LogSearch(_) => {
            return match std::mem::replace(&mut state.ui.mode, Mode::Normal) {
                Mode::LogFilter(t) => crate::app::views::activity::prompt_key(state, false, t, key),
                Mode::LogSearch(t) => crate::app::views::activity::prompt_key(state, true, t, key),
                Mode::ConfirmExec(p) => crate::app::views::executor::confirm_key(state, p, key),
                Mode::Form(form) => crate::app::dialogs::forms::form_key(state, form, key),
                Mode::Command(text) => crate::app::dialogs::forms::command_key(state, text, key),
                Mode::ConfirmDispatch(p) => {
                    crate::app::dialogs::forms::confirm_dispatch_key(state, p, key)
                }
                Mode::ConfirmEmit(p) => crate::app::dialogs::forms::confirm_emit_key(state, p, key),
                _ => unreachable!("matched above"),
            };
        }
        _ => {}
    }
    let section = match state.ui.mode {
        Mode::Help => Section::Help,
        _ => Section::Normal,
    };
    // The focused pane's keys first, then the view's own, then the main screen's.
    let pane = crate::app::views::activity::active(state)
        .then(|| state.keymap.lookup(Section::Log, &key))
        .flatten();
    let view = (section == Section::Normal)
        .then(|| {
            state
                .keymap
                .lookup(crate::app::views::section(state.ui.view), &key)
        })
        .flatten();
    match pane.or(view).or_else(|| state.keymap.lookup(section, &key)) {
        Some(action) => act(state, action),
        None => Outcome::default(),
    }
}

/// A key's action, routed to the room it belongs to: the help overlay, the Tasks view (and
/// its detail), the Executor view, the activity log when focused, the dashboard; what none
/// of them takes is the main screen's.
fn act(state: &mut State, action: Action) -> Outcome {
    if state.ui.mode == Mode::Help {
        return help_act(state, action);
    }
    let room = crate::app::views::act(state, action);
    if let Some(done) = room {
        return done;
    }
    main_screen_act(state, action)
}

/// The help overlay's keys.
fn help_act(state: &mut State, action: Action) -> Outcome {
    let ui = &mut state.ui;
    match action {
        Action::Back | Action::Help | Action::Quit => ui.mode = Mode::Normal,
        Action::Up => ui.help_scroll = ui.help_scroll.saturating_sub(1),
        Action::Down => ui.help_scroll = ui.help_scroll.saturating_add(1).min(200),
        Action::Top => ui.help_scroll = 0,
        _ => return Outcome::default(),
    }
    Outcome::redraw()
}

/// A view's key: to the view, or back to the dashboard from it.
fn toggle_view(ui: &mut Ui, view: View) {
    ui.view = if ui.view == view {
        View::Dashboard
    } else {
        view
    };
    ui.mode = Mode::Normal;
}

/// Keys that mean the same in every view: quit, help, switching views, the forms.
fn main_screen_act(state: &mut State, action: Action) -> Outcome {
    let ui = &mut state.ui;
    match action {
        Action::Quit => return quit(state),
        Action::Help => {
            ui.mode = Mode::Help;
            ui.help_scroll = 0;
        }
        Action::Tasks => toggle_view(ui, View::Tasks),
        Action::Workers => toggle_view(ui, View::Workers),
        Action::Issues => toggle_view(ui, View::Issues),
        Action::Containers => {
            toggle_view(ui, View::Containers);
            if state.docker.pick.is_none() {
                crate::app::views::containers::move_pick(state, 0);
            }
        }
        Action::Filter => {
            ui.view = View::Tasks;
            ui.mode = Mode::Filter(ui.filter.clone());
        }
        Action::Dispatch => return crate::app::dialogs::forms::open_form(state),
        Action::Executor => return crate::app::views::executor::toggle_view(state),
        Action::Command => ui.mode = Mode::Command(String::new()),
        Action::Sort | Action::Revoke | Action::Terminate | Action::Retry => {
            flash(
                state,
                Level::Info,
                format!(
                    "tasks are sorted, revoked and retried from the Tasks view: press {}",
                    state.keymap.hint(Section::Normal, Action::Tasks)
                ),
            );
        }
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
        _ => return Outcome::default(),
    }
    Outcome::redraw()
}

/// The sentinels named the master: said once at start, and as a warning when it moved.
fn master(state: &mut State, at: DateTime<Utc>, news: crate::event::MasterNews) -> Outcome {
    let (level, msg) = match &news.previous {
        Some(was) => (
            Level::Warn,
            format!(
                "failover: master {} moved from {was} to {}",
                news.name, news.addr
            ),
        ),
        None => (
            Level::Info,
            format!("master {} is at {}", news.name, news.addr),
        ),
    };
    log(state, at, level, crate::event::links::SENTINEL, msg);
    state.master = Some((news, at));
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
            // A purge, ours or another's: what waited there is gone.
            crate::app::model::gone::purged(state, &note, at);
            // Our own actions are already in the log, with more detail.
            if note.instance != state.session.instance {
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
                // Another operator acknowledged an alert: it is acknowledged here too.
                if note.action == "ack" {
                    state.alerts.ack(&note.target, &note.who);
                }
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
