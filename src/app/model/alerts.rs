//! Alert rules judged on the state at each tick: pure, with the clock taken from the tick,
//! never read. An alert is pending while its condition holds, fires once it has held for
//! the rule's `for`, and is resolved when the condition stops; a condition that comes and
//! goes within `for` never fires (flapping is damped). Each rule may hold for several
//! subjects at once (one per worker, queue, port or task name).

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

use crate::app::common::log;
use crate::app::effect::Effect;
pub use crate::app::model::alert_book::*;
use crate::app::state::{PortStatus, State};
use crate::config::model::{AlertKind, AlertSeverity, Expect};
use crate::platform::model::{Level, TaskEventKind};

/// Alert events kept for the Alerts view, newest last.
const HISTORY: usize = 500;
/// Subjects one rule holds for at most, the fold included.
pub const MAX_SUBJECTS: usize = 20;
/// The subject that stands for the rest of a rule's subjects past `MAX_SUBJECTS`.
pub const FOLDED: &str = "… and more";
/// How often the failure ratio is counted: it scans the kept tasks.
const RATIO_EVERY: Duration = Duration::seconds(5);

/// Judges every rule at `now`; logs each alert that fires or resolves. Returns whether
/// anything on screen changed.
pub fn judge(state: &mut State, now: DateTime<Utc>) -> bool {
    if state.alerts.rules.is_empty() {
        return false;
    }
    state.alerts.started.get_or_insert(now);
    refresh_ratios(state, now);
    let mut holding: HashMap<(usize, String), String> = HashMap::new();
    for (i, rule) in state.alerts.rules.iter().enumerate() {
        for (subject, detail) in capped(state, i, conditions(state, i, rule, now)) {
            holding.insert((i, subject), detail);
        }
    }
    let mut changes = Vec::new();
    let book = &mut state.alerts;
    book.active.retain(|key, alert| {
        if holding.contains_key(key) {
            return true;
        }
        if alert.fired.is_some() {
            changes.push((Change::Resolved, alert.clone()));
        }
        // A pending alert whose condition stopped within `for` never fired: gone quietly.
        false
    });
    for (key, detail) in holding {
        let wait = book.rules[key.0].wait;
        let alert = book.active.entry(key.clone()).or_insert_with(|| Alert {
            rule: key.0,
            subject: key.1.clone(),
            detail: String::new(),
            since: now,
            fired: None,
            acked: None,
        });
        alert.detail = detail;
        if alert.fired.is_none() && now - alert.since >= wait {
            alert.fired = Some(now);
            changes.push((Change::Fired, alert.clone()));
        }
    }
    let changed = !changes.is_empty();
    if state.alerts.bell && changes.iter().any(|(c, _)| *c == Change::Fired) {
        state.effects_due.push(Effect::Bell);
    }
    for (change, alert) in changes {
        record(state, now, change, &alert);
    }
    changed
}

/// A one-shot judgement (`status`): there is no history to wait out a rule's `for` on, but
/// a worker's silence is known from its last heartbeat, so its alert counts from then.
pub fn judge_once(state: &mut State, now: DateTime<Utc>) {
    judge(state, now);
    let book = &mut state.alerts;
    for ((rule, subject), alert) in book.active.iter_mut() {
        if book.rules[*rule].kind == AlertKind::WorkerOffline
            && let Some(w) = state.workers.get(subject)
        {
            alert.since = alert.since.min(w.last_heartbeat);
        }
    }
    judge(state, now);
}

/// One rule's subjects, at most `MAX_SUBJECTS`: past that, the rest are folded into one
/// alert, `FOLDED`, whose detail counts them. A storm (failures over a thousand task names)
/// is then a few alerts and a few pages, not a thousand. Subjects already in force are kept
/// first, then by name, so the set named stays steady from tick to tick.
fn capped(
    state: &State,
    rule: usize,
    mut subjects: Vec<(String, String)>,
) -> Vec<(String, String)> {
    if subjects.len() <= MAX_SUBJECTS {
        return subjects;
    }
    let in_force = |s: &String| state.alerts.active.contains_key(&(rule, s.clone()));
    subjects.sort_by_cached_key(|(s, _)| (!in_force(s), s.clone()));
    let rest = subjects.split_off(MAX_SUBJECTS - 1);
    let first: Vec<&str> = rest.iter().take(5).map(|(s, _)| s.as_str()).collect();
    subjects.push((
        FOLDED.into(),
        format!("{} more: {}, …", rest.len(), first.join(", ")),
    ));
    subjects
}

fn record(state: &mut State, now: DateTime<Utc>, change: Change, alert: &Alert) {
    let rule = &state.alerts.rules[alert.rule];
    let (name, severity) = (rule.name.clone(), rule.severity);
    let level = match (change, severity) {
        (Change::Resolved, _) => Level::Info,
        (_, AlertSeverity::Critical) => Level::Error,
        (_, AlertSeverity::Warning) => Level::Warn,
        (_, AlertSeverity::Info) => Level::Info,
    };
    let words = match change {
        Change::Fired => format!(
            "FIRING {} [{}]: {} — {}",
            name,
            severity.label(),
            alert.subject,
            alert.detail
        ),
        Change::Resolved => format!("resolved {name}: {}", alert.subject),
    };
    if !rule.notify.is_empty() {
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let notice = Notice {
            status: match change {
                Change::Fired => "firing",
                Change::Resolved => "resolved",
            },
            rule: name.clone(),
            severity: severity.label(),
            subject: alert.subject.clone(),
            detail: alert.detail.clone(),
            since: at(alert.since),
            at: at(now),
            source: state.session.origin.clone(),
            text: words.clone(),
            to: rule.notify.clone(),
        };
        state.effects_due.push(Effect::Notify(Box::new(notice)));
    }
    log(state, now, level, "alert", words);
    let history = &mut state.alerts.history;
    history.push_back(Record {
        at: now,
        change,
        rule: name,
        severity,
        subject: alert.subject.clone(),
        detail: alert.detail.clone(),
    });
    while history.len() > HISTORY {
        history.pop_front();
    }
}

/// The subjects a rule holds for now, each with a word on why.
fn conditions(
    state: &State,
    index: usize,
    rule: &Rule,
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    match rule.kind {
        AlertKind::WorkerOffline => state
            .workers
            .values()
            .filter(|w| !w.online)
            .map(|w| {
                let ago = (now - w.last_heartbeat).num_seconds();
                (w.hostname.clone(), format!("no heartbeat for {ago} s"))
            })
            .collect(),
        AlertKind::FailureRatio => failure_ratio(state, index, rule),
        AlertKind::QueueDepth => state
            .queues
            .iter()
            .filter(|q| q.depth as f64 > rule.threshold)
            .map(|q| (q.name.clone(), format!("depth {}", q.depth)))
            .collect(),
        AlertKind::QueueUnconsumed => state
            .queues
            .iter()
            .filter(|q| q.depth as f64 > rule.threshold && state.consumed(&q.name) == Some(false))
            .map(|q| {
                (
                    q.name.clone(),
                    format!("{} waiting, no live worker consumes it", q.depth),
                )
            })
            .collect(),
        AlertKind::PortDown => state
            .ports
            .iter()
            .filter(|p| p.expect == Expect::Required && matches!(p.status, PortStatus::Down { .. }))
            .map(|p| (p.name.clone(), format!("{}:{} down", p.host, p.port)))
            .collect(),
        AlertKind::CertExpiring => state
            .ports
            .iter()
            .filter_map(|p| p.cert_days.map(|d| (p, d)))
            .filter(|(_, d)| *d < state.policy.cert_alarm_days)
            .map(|(p, d)| (p.name.clone(), format!("certificate has {d} days left")))
            .collect(),
        // An internal service on a public address; a listener the port map does not name
        // is only listed by the audit.
        AlertKind::Exposure => state
            .exposure
            .iter()
            .filter_map(|f| match f {
                crate::platform::exposure::Finding::Exposed {
                    service,
                    listener,
                    remedy,
                } => Some((
                    format!("{service} on {}:{}", listener.addr, listener.port),
                    remedy.clone(),
                )),
                crate::platform::exposure::Finding::Unmapped { .. } => None,
            })
            .collect(),
        AlertKind::EventsStalled => events_stalled(state, rule, now),
    }
}

/// No task event while workers are online and there is work. Silence is stalled only when
/// there is work: something waits in a queue, or a dispatch of ours was sent and no worker
/// has said it received it. An idle platform is quiet, not stalled.
fn events_stalled(state: &State, rule: &Rule, now: DateTime<Utc>) -> Vec<(String, String)> {
    let online = state.workers.values().filter(|w| w.online).count();
    let waiting: u64 = state.queues.iter().map(|q| q.depth).sum();
    if waiting == 0 && state.own_dispatches.by_id.is_empty() {
        return Vec::new();
    }
    let since = state.last_task_event.or(state.alerts.started);
    match since {
        Some(at) if state.feed_lost.is_none() && online > 0 && now - at > rule.window => {
            vec![(
                "celery".into(),
                format!(
                    "no task event for {} s while {online} worker(s) are online",
                    (now - at).num_seconds()
                ),
            )]
        }
        _ => Vec::new(),
    }
}

/// A failure ratio resolves below `RESOLVE_AT` of its threshold, not at it: a ratio
/// hovering at the threshold does not flap.
pub const RESOLVE_AT: f64 = 0.8;

/// The task names whose failure ratio holds. An alert in force holds until the ratio falls
/// below `RESOLVE_AT` × threshold (hysteresis), and while fewer than `min_tasks` ended in the
/// window it stays as it is: too small a sample judges nothing, neither way.
fn failure_ratio(state: &State, index: usize, rule: &Rule) -> Vec<(String, String)> {
    let in_force = |name: &str| {
        state
            .alerts
            .active
            .keys()
            .any(|(r, s)| *r == index && s == name)
    };
    let enough = rule.min_tasks.max(1);
    let mut holding: Vec<(String, String)> = state
        .alerts
        .ratios
        .iter()
        .filter(|(name, failed, ended)| {
            let ratio = *failed as f64 / (*ended).max(1) as f64;
            match (in_force(name), *ended >= enough) {
                (false, judged) => judged && ratio > rule.threshold,
                (true, false) => true,
                (true, true) => ratio > rule.threshold * RESOLVE_AT,
            }
        })
        .map(|(name, failed, ended)| {
            let words = if *ended >= enough {
                format!(
                    "{failed} of {ended} failed in {} min ({:.0} %)",
                    rule.window.num_minutes(),
                    *failed as f64 * 100.0 / *ended as f64
                )
            } else {
                format!("{ended} ended in the window: too few to judge, kept as it was")
            };
            (name.clone(), words)
        })
        .collect();
    // In force, and nothing of it ended in the window at all: not judged either.
    for ((r, subject), alert) in &state.alerts.active {
        if *r == index
            && subject != FOLDED
            && !state.alerts.ratios.iter().any(|(n, _, _)| n == subject)
        {
            holding.push((subject.clone(), alert.detail.clone()));
        }
    }
    holding
}

/// Counts, per task name, the tasks that ended in the failure-ratio rules' widest window:
/// (name, failed, ended). A scan of the kept tasks, every `RATIO_EVERY` at most.
fn refresh_ratios(state: &mut State, now: DateTime<Utc>) {
    let window = state
        .alerts
        .rules
        .iter()
        .filter(|r| r.kind == AlertKind::FailureRatio)
        .map(|r| r.window)
        .max();
    let Some(window) = window else { return };
    if state
        .alerts
        .ratios_at
        .is_some_and(|at| now - at < RATIO_EVERY)
    {
        return;
    }
    let mut counts: HashMap<&str, (u64, u64)> = HashMap::new();
    for t in state.tasks.by_id.values() {
        let failed = match t.state {
            TaskEventKind::Failed => true,
            TaskEventKind::Succeeded => false,
            _ => continue,
        };
        if now - t.updated > window {
            continue;
        }
        let c = counts
            .entry(t.fields.name.as_deref().unwrap_or("?"))
            .or_default();
        c.0 += failed as u64;
        c.1 += 1;
    }
    let mut ratios: Vec<(String, u64, u64)> = counts
        .into_iter()
        .map(|(n, (f, e))| (n.to_string(), f, e))
        .collect();
    ratios.sort();
    state.alerts.ratios = ratios;
    state.alerts.ratios_at = Some(now);
}
