//! What the workers are asked over the pidbox, and what their answers mean: the inspect
//! methods, the control commands, and a worker's detail assembled from its replies. Pure:
//! the asking is `clients::broker::pidbox`'s. Every name that came from a worker is cleaned
//! here, before it reaches a screen, a CLI's output or the store.
//!
//! The request and reply shapes are those of celery 5.7.0, captured in
//! tests/fixtures/pidbox/ and described in docs/WIRE.md.

use serde_json::{Value, json};

use crate::sanitize::clean;

/// Longest name kept (task names, queues, hostnames).
const NAME: usize = 120;
/// Longest free text kept (an argument repr, a conf value, an error).
const TEXT: usize = 300;

/// The inspect methods: they only read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Inspect {
    Active,
    Reserved,
    Scheduled,
    Revoked,
    Registered,
    Stats,
    ActiveQueues,
    Conf,
    QueryTask,
    Ping,
}

impl Inspect {
    /// Everything the Workers detail view shows, asked together.
    pub const DETAIL: [Inspect; 8] = [
        Inspect::Stats,
        Inspect::ActiveQueues,
        Inspect::Registered,
        Inspect::Conf,
        Inspect::Active,
        Inspect::Reserved,
        Inspect::Scheduled,
        Inspect::Revoked,
    ];

    /// The ones an operator may name (`query_task` wants task ids: the task detail asks it).
    pub const NAMED: [Inspect; 9] = [
        Inspect::Active,
        Inspect::Reserved,
        Inspect::Scheduled,
        Inspect::Revoked,
        Inspect::Registered,
        Inspect::Stats,
        Inspect::ActiveQueues,
        Inspect::Conf,
        Inspect::Ping,
    ];

    pub fn method(self) -> &'static str {
        match self {
            Inspect::Active => "active",
            Inspect::Reserved => "reserved",
            Inspect::Scheduled => "scheduled",
            Inspect::Revoked => "revoked",
            Inspect::Registered => "registered",
            Inspect::Stats => "stats",
            Inspect::ActiveQueues => "active_queues",
            Inspect::Conf => "conf",
            Inspect::QueryTask => "query_task",
            Inspect::Ping => "ping",
        }
    }

    pub fn parse(word: &str) -> Option<Inspect> {
        Inspect::NAMED
            .into_iter()
            .chain([Inspect::QueryTask])
            .find(|m| m.method() == word)
    }

    /// The request's arguments. `registered` asks for each task's limits too, so the detail
    /// shows the rate and time limits in force (celery's `taskinfoitems`).
    pub fn arguments(self, task_ids: &[String]) -> Value {
        match self {
            Inspect::Registered => {
                json!({"taskinfoitems": ["rate_limit", "time_limit", "soft_time_limit"]})
            }
            Inspect::QueryTask => json!({"ids": task_ids}),
            // `celery inspect conf` asks without the defaults: only what the app changed.
            Inspect::Conf => json!({"with_defaults": false}),
            _ => json!({}),
        }
    }
}

/// A command that changes a worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    PoolGrow(u32),
    PoolShrink(u32),
    Autoscale { max: u32, min: u32 },
    AddConsumer(String),
    CancelConsumer(String),
    RateLimit { task: String, rate: String },
    TimeLimit { task: String, soft: f64, hard: f64 },
    PoolRestart,
    Shutdown,
}

impl Control {
    pub fn method(&self) -> &'static str {
        match self {
            Control::PoolGrow(_) => "pool_grow",
            Control::PoolShrink(_) => "pool_shrink",
            Control::Autoscale { .. } => "autoscale",
            Control::AddConsumer(_) => "add_consumer",
            Control::CancelConsumer(_) => "cancel_consumer",
            Control::RateLimit { .. } => "rate_limit",
            Control::TimeLimit { .. } => "time_limit",
            Control::PoolRestart => "pool_restart",
            Control::Shutdown => "shutdown",
        }
    }

    /// The request's arguments, as `celery control` sends them.
    pub fn arguments(&self) -> Value {
        match self {
            Control::PoolGrow(n) | Control::PoolShrink(n) => json!({"n": n}),
            Control::Autoscale { max, min } => json!({"max": max, "min": min}),
            Control::AddConsumer(q) => json!({"queue": q}),
            Control::CancelConsumer(q) => json!({"queue": q}),
            Control::RateLimit { task, rate } => json!({"task_name": task, "rate_limit": rate}),
            Control::TimeLimit { task, soft, hard } => {
                json!({"task_name": task, "soft": soft, "hard": hard})
            }
            Control::PoolRestart => json!({"reload": false}),
            Control::Shutdown => json!({}),
        }
    }

    /// The command in words, for a confirmation and the audit trail.
    pub fn words(&self) -> String {
        match self {
            Control::PoolGrow(n) => format!("grow the pool by {n}"),
            Control::PoolShrink(n) => format!("shrink the pool by {n}"),
            Control::Autoscale { max, min } => format!("autoscale between {min} and {max}"),
            Control::AddConsumer(q) => format!("start consuming queue {q}"),
            Control::CancelConsumer(q) => format!("stop consuming queue {q}"),
            Control::RateLimit { task, rate } => format!("rate limit {task} to {rate}"),
            Control::TimeLimit { task, soft, hard } => {
                format!("time limit {task}: soft {soft} s, hard {hard} s")
            }
            Control::PoolRestart => "restart the pool".into(),
            Control::Shutdown => "shut down".into(),
        }
    }

    /// What the operator should know once the workers said ok.
    pub fn note(&self) -> Option<&'static str> {
        match self {
            // celery 5.7 copies a task type's limits into its request class when the worker
            // starts its consumer (worker/request.py, create_request_cls); the command changes
            // the task, not that copy, until the pool restarts.
            Control::TimeLimit { .. } => Some(
                "celery applies new time limits once the worker's pool restarts (pool-restart, where the worker allows it, or a worker restart)",
            ),
            _ => None,
        }
    }

    /// A worker answers every command but `shutdown`, which ends it first.
    pub fn expects_reply(&self) -> bool {
        !matches!(self, Control::Shutdown)
    }

    /// Refuses, in words, a command whose values a worker would refuse or misread.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Control::PoolGrow(0) | Control::PoolShrink(0) => {
                Err("the pool changes by at least 1 process".into())
            }
            Control::Autoscale { max, min } if min > max || *max == 0 => Err(format!(
                "autoscale wants MAX ≥ MIN and MAX ≥ 1 (got max {max}, min {min})"
            )),
            Control::AddConsumer(q) | Control::CancelConsumer(q) if !is_name(q) => {
                Err(format!("{q:?} is not a queue name"))
            }
            Control::RateLimit { task, .. } | Control::TimeLimit { task, .. } if !is_name(task) => {
                Err(format!("{task:?} is not a task name"))
            }
            Control::RateLimit { rate, .. } if !is_rate(rate) => Err(format!(
                "{rate:?} is not a rate: a number per second, or N/s, N/m or N/h (0 lifts the limit)"
            )),
            Control::TimeLimit { soft, hard, .. }
                if !(soft.is_finite() && hard.is_finite() && *soft > 0.0 && soft <= hard) =>
            {
                Err(format!(
                    "time limits want 0 < SOFT ≤ HARD seconds (got soft {soft}, hard {hard})"
                ))
            }
            _ => Ok(()),
        }
    }
}

/// A queue or task name as the operator typed it: printable, no spaces.
fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= NAME && s.chars().all(|c| c.is_ascii_graphic())
}

/// Celery's rate syntax: `N`, `N/s`, `N/m`, `N/h` (celery.utils.time.rate).
fn is_rate(s: &str) -> bool {
    let (n, unit) = s.split_once('/').unwrap_or((s, "s"));
    n.parse::<f64>().is_ok_and(|v| v >= 0.0 && v.is_finite()) && matches!(unit, "s" | "m" | "h")
}

/// What one worker said to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Ok(String),
    Refused(String),
}

impl Answer {
    /// `{"ok": "…"}` or `{"error": "…"}`; anything else is shown as it came.
    pub fn of(said: &Value) -> Answer {
        if let Some(e) = said.get("error") {
            return Answer::Refused(clean(&text(e), TEXT));
        }
        match said.get("ok") {
            Some(ok) => Answer::Ok(clean(&text(ok), TEXT)),
            None => Answer::Ok(clean(&said.to_string(), TEXT)),
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Answer::Ok(_))
    }

    pub fn words(&self) -> String {
        match self {
            Answer::Ok(s) => format!("ok: {s}"),
            Answer::Refused(s) => format!("refused: {s}"),
        }
    }
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Every worker's answer to one command, and the workers that said nothing in time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Roll {
    pub answers: Vec<(String, Answer)>,
    pub silent: Vec<String>,
}

impl Roll {
    /// From the raw replies and the workers that were addressed (or, for "all", the ones
    /// known to be online): the ones missing are named.
    pub fn of(replies: &[(String, Value)], addressed: &[String]) -> Roll {
        let answers: Vec<_> = replies
            .iter()
            .map(|(w, said)| (w.clone(), Answer::of(said)))
            .collect();
        let silent = addressed
            .iter()
            .filter(|w| !answers.iter().any(|(a, _)| a == *w))
            .map(|w| clean(w, NAME))
            .collect();
        Roll { answers, silent }
    }

    /// True when every addressed worker answered ok.
    pub fn all_ok(&self) -> bool {
        self.silent.is_empty()
            && !self.answers.is_empty()
            && self.answers.iter().all(|(_, a)| a.is_ok())
    }

    /// One line: "w1@h: ok: pool will grow; w2@h did not answer within 3 s".
    pub fn words(&self, window_s: u64) -> String {
        let mut parts: Vec<String> = self
            .answers
            .iter()
            .map(|(w, a)| format!("{w}: {}", a.words()))
            .collect();
        parts.extend(
            self.silent
                .iter()
                .map(|w| format!("{w} did not answer within {window_s} s")),
        );
        if parts.is_empty() {
            return format!("no worker answered within {window_s} s");
        }
        parts.join("; ")
    }
}

/// A task a worker holds: running, reserved (prefetched) or scheduled (waiting on its ETA).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeldTask {
    pub id: String,
    pub name: String,
    pub args: String,
    /// When it started running (epoch seconds), for active tasks.
    pub started: Option<f64>,
    /// When it is due, for scheduled tasks.
    pub eta: Option<String>,
    /// The pool process running it.
    pub worker_pid: Option<u64>,
}

impl HeldTask {
    fn of(v: &Value) -> HeldTask {
        // Scheduled entries wrap the request: {"eta", "priority", "request": {…}}.
        let r = v.get("request").unwrap_or(v);
        let repr = |k: &str| match r.get(k) {
            Some(Value::String(s)) => clean(s, TEXT),
            Some(other) => clean(&other.to_string(), TEXT),
            None => String::new(),
        };
        HeldTask {
            id: clean(r["id"].as_str().unwrap_or(""), NAME),
            name: clean(r["name"].as_str().unwrap_or(""), NAME),
            args: repr("args"),
            started: r["time_start"].as_f64(),
            eta: v["eta"].as_str().map(|e| clean(e, 40)),
            worker_pid: r["worker_pid"].as_u64(),
        }
    }
}

/// One queue a worker consumes, as `active_queues` says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consumed {
    pub name: String,
    pub exchange: String,
    pub routing_key: String,
}

/// Everything known about one worker from its answers. Each reply fills its part; a part
/// not (yet) answered stays empty, and `answered` says which.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkerDetail {
    pub pool: String,
    pub concurrency: Option<u64>,
    pub processes: Vec<u64>,
    pub max_tasks_per_child: String,
    /// (max, min, current) when the worker autoscales.
    pub autoscale: Option<(u64, u64, u64)>,
    pub prefetch: Option<u64>,
    pub broker: String,
    pub uptime_s: Option<u64>,
    pub pid: Option<u64>,
    /// (user, system) CPU seconds and the peak resident set in KiB.
    pub rusage: Option<(f64, f64, u64)>,
    /// Tasks run, per name, since the worker started.
    pub totals: Vec<(String, u64)>,
    pub queues: Vec<Consumed>,
    /// Registered task names, each with its limits when set ("rate_limit=10/m").
    pub registered: Vec<(String, String)>,
    /// The settings the app changed from Celery's defaults, as key = value.
    pub conf: Vec<(String, String)>,
    pub active: Vec<HeldTask>,
    pub reserved: Vec<HeldTask>,
    pub scheduled: Vec<HeldTask>,
    pub revoked: Vec<String>,
    pub answered: Vec<Inspect>,
}

impl WorkerDetail {
    /// Takes one reply into the detail.
    pub fn apply(&mut self, method: Inspect, said: &Value) {
        match method {
            Inspect::Stats => self.stats(said),
            Inspect::ActiveQueues => {
                self.queues = list(said)
                    .iter()
                    .map(|q| Consumed {
                        name: clean(q["name"].as_str().unwrap_or(""), NAME),
                        exchange: clean(q["exchange"]["name"].as_str().unwrap_or(""), NAME),
                        routing_key: clean(q["routing_key"].as_str().unwrap_or(""), NAME),
                    })
                    .collect();
            }
            Inspect::Registered => {
                self.registered = list(said)
                    .iter()
                    .filter_map(Value::as_str)
                    .map(registered_entry)
                    .collect();
            }
            Inspect::Conf => {
                let mut conf: Vec<_> = said
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (clean(k, NAME), clean(&text(v), TEXT)))
                    .collect();
                conf.sort();
                self.conf = conf;
            }
            Inspect::Active => self.active = list(said).iter().map(HeldTask::of).collect(),
            Inspect::Reserved => self.reserved = list(said).iter().map(HeldTask::of).collect(),
            Inspect::Scheduled => self.scheduled = list(said).iter().map(HeldTask::of).collect(),
            Inspect::Revoked => {
                self.revoked = list(said)
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|id| clean(id, NAME))
                    .collect();
            }
            Inspect::QueryTask | Inspect::Ping => {}
        }
        if !self.answered.contains(&method) {
            self.answered.push(method);
        }
    }

    fn stats(&mut self, s: &Value) {
        let pool = &s["pool"];
        self.pool = clean(pool["implementation"].as_str().unwrap_or(""), NAME);
        self.concurrency = pool["max-concurrency"].as_u64();
        self.processes = list(&pool["processes"])
            .iter()
            .filter_map(Value::as_u64)
            .collect();
        self.max_tasks_per_child = clean(&text(&pool["max-tasks-per-child"]), 20);
        let a = &s["autoscaler"];
        self.autoscale = match (a["max"].as_u64(), a["min"].as_u64()) {
            (Some(max), Some(min)) => Some((max, min, a["current"].as_u64().unwrap_or(0))),
            _ => None,
        };
        self.prefetch = s["prefetch_count"].as_u64();
        let b = &s["broker"];
        self.broker = clean(
            &format!(
                "{}://{}:{}/{}",
                b["transport"].as_str().unwrap_or("?"),
                b["hostname"].as_str().unwrap_or("?"),
                b["port"],
                b["virtual_host"].as_str().unwrap_or("")
            ),
            TEXT,
        );
        self.uptime_s = s["uptime"].as_u64();
        self.pid = s["pid"].as_u64();
        let r = &s["rusage"];
        self.rusage = r["utime"].as_f64().map(|u| {
            (
                u,
                r["stime"].as_f64().unwrap_or(0.0),
                r["maxrss"].as_u64().unwrap_or(0),
            )
        });
        let mut totals: Vec<_> = s["total"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (clean(k, NAME), v.as_u64().unwrap_or(0)))
            .collect();
        totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        self.totals = totals;
    }
}

/// "thinking.add [rate_limit=10/m time_limit=5]" → ("thinking.add", "rate_limit=10/m time_limit=5").
pub(crate) fn registered_entry(s: &str) -> (String, String) {
    match s.split_once(" [") {
        Some((name, rest)) => (clean(name, NAME), clean(rest.trim_end_matches(']'), TEXT)),
        None => (clean(s, NAME), String::new()),
    }
}

/// A reply with every key and string cleaned, for a CLI's JSON output.
pub fn clean_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(clean(s, TEXT * 4)),
        Value::Array(items) => Value::Array(items.iter().map(clean_value).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (clean(k, NAME), clean_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// The signal a terminate sends to the process running the task, as Flower offers them:
/// TERM lets it clean up, INT is a keyboard interrupt, KILL cannot be caught or ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KillSignal {
    #[default]
    Term,
    Kill,
    Int,
}

impl KillSignal {
    /// Celery's name for it (`revoke(…, signal=…)`).
    pub fn name(self) -> &'static str {
        match self {
            KillSignal::Term => "SIGTERM",
            KillSignal::Kill => "SIGKILL",
            KillSignal::Int => "SIGINT",
        }
    }

    /// The next one offered, in the order TERM, KILL, INT.
    pub fn next(self) -> KillSignal {
        match self {
            KillSignal::Term => KillSignal::Kill,
            KillSignal::Kill => KillSignal::Int,
            KillSignal::Int => KillSignal::Term,
        }
    }

    pub const ALL: [KillSignal; 3] = [KillSignal::Term, KillSignal::Kill, KillSignal::Int];
}
