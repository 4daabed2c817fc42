//! The platform's plumbing, applied to the state: feed links, port probes, the exposure
//! audit, queue depth samples, and the activity history read back from the store. Pure.

use crate::app::common::{log, stored_line};
use crate::app::state::{HISTORY, Link, PortStatus, QueueRow};
use crate::app::{Outcome, State};
use chrono::{DateTime, Utc};

use crate::event::{LinkHealth, ProbeOutcome};
use crate::platform::model::*;

/// Older lines from the store go in front of whatever this run has already logged.
pub fn history(state: &mut State, lines: Vec<crate::store::StoredLine>) {
    let now = state.now;
    let lines = lines.into_iter().map(|l| stored_line(l, now)).collect();
    state.activity.seed(lines);
}

/// Keeps the newest audit; says what became exposed (or stopped being), once.
pub fn exposure(state: &mut State, findings: Vec<crate::platform::exposure::Finding>) -> Outcome {
    use crate::platform::exposure::Finding;
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
        let owner = |l: &crate::platform::exposure::Listener| {
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

pub fn queue_row<'a>(state: &'a mut State, name: &str) -> &'a mut QueueRow {
    match state.queues.iter().position(|q| q.name == name) {
        Some(i) => &mut state.queues[i],
        None => {
            state.queues.push(QueueRow::new(name));
            state.queues.last_mut().expect("pushed")
        }
    }
}

/// In and out per second between two samples, from what is known: task-sent events give the
/// inflow, task-received events the drain, and the depth's change the rest (in = change +
/// drain). Without any event, the depth's change alone: climbing is at least that inflow,
/// falling at least that drain.
pub fn queue_samples(state: &mut State, at: DateTime<Utc>, samples: Vec<QueueSample>) -> bool {
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

pub fn sample_rates(row: &mut QueueRow, at: DateTime<Utc>, depth: u64) {
    if let Some((then, last_depth, last_sent, last_received)) = row.last {
        let dt = (at - then).num_milliseconds() as f64 / 1000.0;
        if dt < 0.2 {
            return;
        }
        let net = (depth as f64 - last_depth as f64) / dt;
        let sent = (row.sent_total > 0).then(|| (row.sent_total - last_sent) as f64 / dt);
        let drained =
            (row.received_total > 0).then(|| (row.received_total - last_received) as f64 / dt);
        let (inflow, outflow) = match (sent, drained) {
            (Some(i), Some(o)) => (i, o),
            (Some(i), None) => (i, (i - net).max(0.0)),
            (None, Some(o)) => ((net + o).max(0.0), o),
            (None, None) => (net.max(0.0), (-net).max(0.0)),
        };
        row.in_rate = Some(inflow);
        row.out_rate = Some(outflow);
    }
    row.last = Some((at, depth, row.sent_total, row.received_total));
}

/// The Redis feed lost (after it was up) or back. While it is lost nothing is heard from the
/// fleet, so silence means nothing: heartbeats are judged on the time the feed was live, so
/// when it returns every worker's and agent's last heartbeat moves on by the outage, and a
/// worker that really died meanwhile expires on fresh time, like any other.
fn feed_lost_or_back(state: &mut State, was: &LinkHealth, now_is: &LinkHealth, now: DateTime<Utc>) {
    let up = |h: &LinkHealth| matches!(h, LinkHealth::Up | LinkHealth::Degraded { .. });
    match (up(was), up(now_is), state.feed_lost) {
        (true, false, None) => state.feed_lost = Some(now),
        (_, true, Some(since)) => {
            state.feed_lost = None;
            let gap = now - since;
            for w in state.workers.values_mut() {
                w.last_heartbeat += gap;
            }
            for a in &mut state.agents {
                if let Some(hb) = a.last_heartbeat.as_mut() {
                    *hb += gap;
                }
            }
            log(
                state,
                now,
                Level::Info,
                "celery",
                format!(
                    "feed back after {} s: the fleet's state is judged on fresh events again",
                    gap.num_seconds()
                ),
            );
        }
        _ => {}
    }
}

/// A link's spell, for its `since`: up, degraded, or not up (connecting and down alike).
fn spell(h: &LinkHealth) -> u8 {
    match h {
        LinkHealth::Up => 0,
        LinkHealth::Degraded { .. } => 1,
        LinkHealth::Connecting | LinkHealth::Down { .. } => 2,
    }
}

/// A link's health changed (or was said again): its spell, its last error, the log line
/// once per reason, and the Redis port row.
pub fn link(state: &mut State, name: String, health: LinkHealth) -> Outcome {
    let now = state.now;
    let i = match state.links.iter().position(|l| l.name == name) {
        Some(i) => i,
        None => {
            state.links.push(Link {
                name: name.clone(),
                health: LinkHealth::Connecting,
                last_down: None,
                since: now,
                last_error: None,
            });
            state.links.len() - 1
        }
    };
    if state.links[i].health == health {
        return Outcome::default();
    }
    if name == crate::event::links::REDIS {
        feed_lost_or_back(state, &state.links[i].health.clone(), &health, now);
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
    if spell(&state.links[i].health) != spell(&health) {
        state.links[i].since = now;
    }
    if let LinkHealth::Down { why, .. } | LinkHealth::Degraded { why } = &health {
        state.links[i].last_error = Some((now, why.clone()));
    }
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
    if name == crate::event::links::REDIS {
        redis_port_follows(state, &health);
    }
    Outcome {
        redraw: !quiet,
        effects: Vec::new(),
    }
}

pub fn probe(state: &mut State, at: DateTime<Utc>, index: usize, outcome: ProbeOutcome) -> Outcome {
    let (warn_days, alarm_days) = (state.policy.cert_warn_days, state.policy.cert_alarm_days);
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

/// The Redis the feeds use is in the port map too: a lost feed shows there at once, without
/// waiting for the next probe.
fn redis_port_follows(state: &mut State, health: &LinkHealth) {
    if let Some(p) = state.redis_port.and_then(|p| state.ports.get_mut(p)) {
        match health {
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
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    fn row_after(sent: u64, received: u64, depths: [u64; 2]) -> QueueRow {
        let t0 = chrono::Utc::now();
        let mut row = QueueRow::new("q");
        sample_rates(&mut row, t0, depths[0]);
        row.sent_total += sent;
        row.received_total += received;
        sample_rates(&mut row, t0 + chrono::Duration::seconds(1), depths[1]);
        row
    }

    #[test]
    fn rates_come_from_what_is_known() {
        // Only the depth: climbing 600 in a second is 600 in, nothing known out.
        let r = row_after(0, 0, [0, 600]);
        assert_eq!((r.in_rate, r.out_rate), (Some(600.0), Some(0.0)));
        // Received events drain 100 while the depth climbs 500: 600 came in.
        let r = row_after(0, 100, [0, 500]);
        assert_eq!((r.in_rate, r.out_rate), (Some(600.0), Some(100.0)));
        // Sent events alone: the drain is what the depth did not keep.
        let r = row_after(300, 0, [100, 300]);
        assert_eq!((r.in_rate, r.out_rate), (Some(300.0), Some(100.0)));
        // Both known: both said as counted.
        let r = row_after(300, 250, [100, 150]);
        assert_eq!((r.in_rate, r.out_rate), (Some(300.0), Some(250.0)));
    }
}
