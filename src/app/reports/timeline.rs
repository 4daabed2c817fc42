//! The incident timeline: what happened between two times, in order, ready for a
//! post-mortem. Built from what the store keeps: the activity lines the control room wrote
//! (state changes of agents, workers, ports, links, containers, alerts; failures, grouped
//! into bursts), the audit trail (operator actions, with who) and the executor's runs. Not
//! the raw events. Pure.

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::store::{AuditRecord, RunRecord, StoredLine};

/// Failures of the same task and exception this close together are one burst.
const BURST_GAP_MS: i64 = 120_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub at: String,
    #[serde(skip)]
    pub at_ms: i64,
    /// state, failures, action or run.
    pub kind: &'static str,
    pub source: String,
    pub what: String,
    /// The operator, for actions and runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
}

fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Whether an activity line says a state changed: a port, a link, a worker, an agent, a
/// container, an alert, the exposure audit.
fn is_state_change(l: &StoredLine) -> bool {
    let m = l.message.as_str();
    l.source == "ports"
        || l.source == "alert"
        || l.source == "exposure"
        || m.starts_with("link up")
        || m.starts_with("link down")
        || m.starts_with("offline:")
        || (m.starts_with("worker ") && (m.ends_with(" online") || m.contains(" offline")))
        || m.starts_with("container ")
        || (m.contains(" → ") && !m.contains('[') && l.source.chars().all(|c| !c.is_lowercase()))
}

/// `thinking.fail [a1b2c3d4] failed: RuntimeError('x')` → (`thinking.fail`, `RuntimeError('x')`).
fn failure(m: &str) -> Option<(&str, &str)> {
    let (label, exc) = m.split_once(" failed: ")?;
    let name = label.split(" [").next().unwrap_or(label);
    Some((name, exc))
}

/// The timeline between `from_ms` and `to_ms`, oldest first: state changes and failure
/// bursts from the lines, then actions and runs.
pub fn build(
    lines: &[StoredLine],
    audit: &[AuditRecord],
    runs: &[RunRecord],
    from_ms: i64,
    to_ms: i64,
) -> Vec<Entry> {
    let within = |ms: i64| ms >= from_ms && ms <= to_ms;
    let mut out = Vec::new();
    // Bursts: (source, name, exception) → (first, last, count), closed when a gap opens.
    let mut open: Vec<(String, String, String, i64, i64, u64)> = Vec::new();
    let close = |b: (String, String, String, i64, i64, u64), out: &mut Vec<Entry>| {
        let (source, name, exc, first, last, n) = b;
        let span = if n > 1 {
            format!(", until {}", &rfc3339(last)[11..19])
        } else {
            String::new()
        };
        out.push(Entry {
            at: rfc3339(first),
            at_ms: first,
            kind: "failures",
            source,
            what: format!("{n} × {name} failed: {exc}{span}"),
            who: None,
        });
    };
    for l in lines.iter().filter(|l| within(l.at_ms)) {
        // As the store writes levels (`Level::label`).
        if l.level.eq_ignore_ascii_case("error")
            && let Some((name, exc)) = failure(&l.message)
        {
            let at = l.at_ms;
            if let Some(i) = open
                .iter()
                .position(|b| b.0 == l.source && b.1 == name && b.2 == exc)
            {
                if at - open[i].4 <= BURST_GAP_MS {
                    open[i].4 = at;
                    open[i].5 += 1;
                    continue;
                }
                let done = open.remove(i);
                close(done, &mut out);
            }
            open.push((l.source.clone(), name.into(), exc.into(), at, at, 1));
            continue;
        }
        if is_state_change(l) {
            out.push(Entry {
                at: rfc3339(l.at_ms),
                at_ms: l.at_ms,
                kind: "state",
                source: l.source.clone(),
                what: l.message.clone(),
                who: None,
            });
        }
    }
    for b in open {
        close(b, &mut out);
    }
    out.extend(actions_and_runs(audit, runs, within));
    out.sort_by_key(|e| e.at_ms);
    out
}

/// The audit trail's actions (with who, and from where) and the runs, within the window.
fn actions_and_runs(
    audit: &[AuditRecord],
    runs: &[RunRecord],
    within: impl Fn(i64) -> bool,
) -> Vec<Entry> {
    let mut out = Vec::new();
    for a in audit.iter().filter(|a| within(a.at_ms)) {
        let from = a.ssh_client.split_whitespace().next().unwrap_or("");
        out.push(Entry {
            at: rfc3339(a.at_ms),
            at_ms: a.at_ms,
            kind: "action",
            source: "audit".into(),
            what: format!("{} {}: {}", a.action, a.target, a.outcome),
            who: Some(if from.is_empty() {
                a.who.clone()
            } else {
                format!("{} from {from}", a.who)
            }),
        });
    }
    for r in runs.iter().filter(|r| within(r.started_ms)) {
        out.push(Entry {
            at: rfc3339(r.started_ms),
            at_ms: r.started_ms,
            kind: "run",
            source: "executor".into(),
            what: format!("{} on {} ({}): {}", r.runbook, r.host, r.login, r.outcome),
            who: Some(r.who.clone()),
        });
    }
    out
}

/// One line per entry, for a terminal.
pub fn text(entries: &[Entry]) -> String {
    let mut s = String::new();
    for e in entries {
        let who = e
            .who
            .as_ref()
            .map(|w| format!(" (by {w})"))
            .unwrap_or_default();
        s.push_str(&format!(
            "{}  {:<8} {:<12} {}{who}\n",
            e.at, e.kind, e.source, e.what
        ));
    }
    s
}

/// A Markdown section, ready to paste into a post-mortem.
pub fn markdown(entries: &[Entry], from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let t = |d: DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut s = format!(
        "## Timeline, {} to {}\n\n| time (UTC) | what | source | detail | by |\n|---|---|---|---|---|\n",
        t(from),
        t(to)
    );
    let cell = |x: &str| crate::sanitize::markdown_cell(x, 2000);
    for e in entries {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            &e.at[..19.min(e.at.len())].replace('T', " "),
            e.kind,
            cell(&e.source),
            cell(&e.what),
            cell(e.who.as_deref().unwrap_or(""))
        ));
    }
    if entries.is_empty() {
        s.push_str("| | nothing recorded | | | |\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(at_ms: i64, level: &str, source: &str, message: &str) -> StoredLine {
        StoredLine {
            at_ms,
            level: level.into(),
            source: source.into(),
            message: message.into(),
        }
    }

    #[test]
    fn state_changes_bursts_and_actions_in_order() {
        let lines = vec![
            line(1_000, "warn", "celery", "worker thinking@vm offline"),
            line(
                2_000,
                "error",
                "THINKING",
                "thinking.fail [aaaa] failed: RuntimeError('x')",
            ),
            line(
                3_000,
                "error",
                "THINKING",
                "thinking.fail [bbbb] failed: RuntimeError('x')",
            ),
            line(4_000, "info", "THINKING", "plan ready"),
            line(
                5_000,
                "error",
                "ports",
                "Executor (127.0.0.1:5051) down: connection refused",
            ),
            line(
                400_000,
                "error",
                "THINKING",
                "thinking.fail [cccc] failed: RuntimeError('x')",
            ),
            line(900_000, "warn", "celery", "worker late@vm offline"),
        ];
        let audit = vec![AuditRecord {
            at_ms: 4_500,
            who: "ana".into(),
            ssh_client: "10.0.0.7 51000 22".into(),
            action: "dispatch".into(),
            target: "thinking.plan → THINKING".into(),
            digest: String::new(),
            outcome: "sent".into(),
            detail: String::new(),
            context: "default".into(),
        }];
        let t = build(&lines, &audit, &[], 0, 500_000);
        let said: Vec<(&str, &str)> = t.iter().map(|e| (e.kind, e.what.as_str())).collect();
        assert_eq!(
            said,
            [
                ("state", "worker thinking@vm offline"),
                (
                    "failures",
                    "2 × thinking.fail failed: RuntimeError('x'), until 00:00:03"
                ),
                ("action", "dispatch thinking.plan → THINKING: sent"),
                (
                    "state",
                    "Executor (127.0.0.1:5051) down: connection refused"
                ),
                ("failures", "1 × thinking.fail failed: RuntimeError('x')"),
            ]
        );
        assert_eq!(t[2].who.as_deref(), Some("ana from 10.0.0.7"));
        assert!(!text(&t).is_empty());
        let md = markdown(
            &t,
            Utc.timestamp_millis_opt(0).unwrap(),
            Utc.timestamp_millis_opt(500_000).unwrap(),
        );
        assert!(md.contains("| 1970-01-01 00:00:04 | action | audit | dispatch thinking.plan → THINKING: sent | ana from 10.0.0.7 |"), "{md}");
    }
}
