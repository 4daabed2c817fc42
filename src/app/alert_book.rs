//! The alerts' data: the rules as the app uses them, the alerts in force and their history.
//! Kept apart from the judging (`alerts`), so `State` can hold it without a cycle.

use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, VecDeque};

use crate::config::model::{AlertKind, AlertRule, AlertSeverity};

/// One rule as the app uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub kind: AlertKind,
    pub wait: Duration,
    pub severity: AlertSeverity,
    pub threshold: f64,
    pub window: Duration,
    pub min_tasks: u64,
}

impl Rule {
    pub fn from_config(r: &AlertRule) -> Rule {
        Rule {
            name: r.name.clone(),
            kind: *r.rule.get_ref(),
            wait: Duration::seconds(*r.for_secs.get_ref() as i64),
            severity: r.severity,
            threshold: r.threshold.as_ref().map_or(0.0, |t| *t.get_ref()),
            window: Duration::seconds(r.window_secs.as_ref().map_or(0, |w| *w.get_ref()) as i64),
            min_tasks: r.min_tasks.as_ref().map_or(0, |m| *m.get_ref()),
        }
    }
}

/// An alert in force: pending, or firing since `fired`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub rule: usize,
    pub subject: String,
    /// What the condition says now ("3 of 20 failed", "depth 140").
    pub detail: String,
    pub since: DateTime<Utc>,
    pub fired: Option<DateTime<Utc>>,
    /// Who acknowledged it (here, or in another control room over the audit channel).
    pub acked: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Fired,
    Resolved,
}

/// One change, for the Alerts view's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub at: DateTime<Utc>,
    pub change: Change,
    pub rule: String,
    pub severity: AlertSeverity,
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct Book {
    pub rules: Vec<Rule>,
    /// By (rule, subject).
    pub active: BTreeMap<(usize, String), Alert>,
    pub history: VecDeque<Record>,
    /// The failure ratio's last count (name, failed, ended), and when it was taken.
    pub ratios: Vec<(String, u64, u64)>,
    pub ratios_at: Option<DateTime<Utc>>,
    /// When this control room started judging: a stall is not judged before a window.
    pub started: Option<DateTime<Utc>>,
    /// Ring the terminal's bell when an alert fires (`ui.bell`).
    pub bell: bool,
}

/// How an acknowledgement names its alert in the audit trail: "RULE · SUBJECT".
pub fn ack_target(rule: &str, subject: &str) -> String {
    format!("{rule} · {subject}")
}

impl Book {
    /// Marks the firing alert that `target` names (see `ack_target`) acknowledged by `who`;
    /// whether there was one.
    pub fn ack(&mut self, target: &str, who: &str) -> bool {
        let rules = &self.rules;
        match self
            .active
            .values_mut()
            .find(|a| a.fired.is_some() && ack_target(&rules[a.rule].name, &a.subject) == target)
        {
            Some(a) => {
                a.acked = Some(who.to_string());
                true
            }
            None => false,
        }
    }

    pub fn new(rules: &[AlertRule], bell: bool) -> Book {
        Book {
            rules: rules.iter().map(Rule::from_config).collect(),
            bell,
            ..Book::default()
        }
    }

    /// The alerts firing now, most severe first.
    pub fn firing(&self) -> Vec<&Alert> {
        let mut out: Vec<&Alert> = self.active.values().filter(|a| a.fired.is_some()).collect();
        out.sort_by(|a, b| {
            self.rules[b.rule]
                .severity
                .cmp(&self.rules[a.rule].severity)
                .then(a.fired.cmp(&b.fired))
        });
        out
    }
}
