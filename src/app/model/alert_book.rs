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
    /// The notifiers its alerts go to, by name.
    pub notify: Vec<String>,
}

impl Rule {
    /// `notifiers`: every configured notifier's name, for a rule that names none.
    pub fn from_config(r: &AlertRule, notifiers: &[String]) -> Rule {
        Rule {
            name: r.name.clone(),
            kind: *r.rule.get_ref(),
            wait: Duration::seconds(*r.for_secs.get_ref() as i64),
            severity: r.severity,
            threshold: r.threshold.as_ref().map_or(0.0, |t| *t.get_ref()),
            window: Duration::seconds(r.window_secs.as_ref().map_or(0, |w| *w.get_ref()) as i64),
            min_tasks: r.min_tasks.as_ref().map_or(0, |m| *m.get_ref()),
            notify: r
                .notify
                .as_ref()
                .map_or_else(|| notifiers.to_vec(), |n| n.get_ref().clone()),
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

/// One alert that fired or resolved, as the notifiers send it: a webhook's JSON body, a
/// command's stdin. Its words are the activity line's.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Notice {
    /// "firing" or "resolved".
    pub status: &'static str,
    pub rule: String,
    pub severity: &'static str,
    pub subject: String,
    pub detail: String,
    /// When its condition began to hold, and when it fired or resolved (RFC 3339, UTC).
    pub since: String,
    pub at: String,
    /// The control room that judged it: chavion-tui@host.
    pub source: String,
    /// The activity line's words: what Slack shows.
    pub text: String,
    /// The notifiers it goes to, by name.
    #[serde(skip)]
    pub to: Vec<String>,
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

    pub fn new(rules: &[AlertRule], notifiers: &[String], bell: bool) -> Book {
        Book {
            rules: rules
                .iter()
                .map(|r| Rule::from_config(r, notifiers))
                .collect(),
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
