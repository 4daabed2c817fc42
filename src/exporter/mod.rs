//! /metrics: what the control room knows, in Prometheus's exposition format (OpenMetrics
//! text, through the `prometheus-client` crate), under celery-exporter's names and labels so
//! the community's Grafana dashboards (17508, 17509) and the celery-mixin alerts work
//! unchanged, plus Chavion's own. Rendered from the state on the loop's thread when a scrape
//! asks (`render`, pure), served by `serve`.
//!
//! One correction on celery-exporter: `celery_queue_length` is the true depth, all four
//! priority sub-queues together (its issue #272 reads only the first).

pub mod serve;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;

use crate::app::State;
use crate::app::model::task_counts::{
    BUCKETS, MAX_HOSTS, MAX_QUEUES, Series, Tally, host_of, label_value,
};
use crate::app::state::PortStatus;
use crate::event::LinkHealth;
use crate::platform::model::{AgentState, TaskEventKind};

/// Each sampled queue: its depth, reserved, the online workers that said they consume it,
/// and their pools' processes.
fn queue_gauges(state: &State) -> Vec<(String, u64, u64, u64, u64)> {
    let consumers = |queue: &str| {
        state
            .workers
            .values()
            .filter(|w| {
                w.online
                    && w.queues
                        .as_ref()
                        .is_some_and(|q| q.iter().any(|n| n == queue))
            })
            .fold((0u64, 0u64), |(n, p), w| {
                (n + 1, p + u64::from(w.processes.unwrap_or(0)))
            })
    };
    state
        .queues
        .iter()
        .filter(|q| q.last.is_some())
        .take(MAX_QUEUES)
        .map(|q| {
            let (workers, processes) = consumers(&q.name);
            (q.name.clone(), q.depth, q.reserved, workers, processes)
        })
        .collect()
}

/// The content type of what `render` writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The exposition of `state` now.
pub fn render(state: &State) -> String {
    Snapshot::of(state).render()
}

/// What one scrape shows, copied out of the state: the loop copies it (quick), and the
/// server encodes it on a thread of its own (the slow part, tens of milliseconds for
/// thousands of series), so a scrape never holds the feed up.
#[derive(Debug, Default)]
pub struct Snapshot {
    task_counts: Tally,
    /// By host (celery-exporter's `hostname`): up, active tasks.
    workers: BTreeMap<String, (bool, u64)>,
    /// By queue: depth over the priority sub-queues, reserved (unacked), online consumers,
    /// and their pool processes.
    queues: Vec<(String, u64, u64, u64, u64)>,
    agents: Vec<(String, AgentState)>,
    ports: Vec<PortSample>,
    links: Vec<(String, bool)>,
    events: u64,
    shed: u64,
    malformed: u64,
    /// Worker events turned away because the workers map was full.
    workers_turned_away: u64,
    /// Workers' hosts not shown because the host cap was reached.
    hosts_left_out: u64,
    /// By (rule, severity).
    firing: BTreeMap<(String, &'static str), u64>,
}

impl Snapshot {
    /// The exposition text.
    pub fn render(self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut out = String::with_capacity(64 * 1024);
        // Writing to a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }

    pub fn of(state: &State) -> Snapshot {
        let (workers, hosts_left_out) = worker_gauges(state);
        let queues = queue_gauges(state);
        let ports = state
            .ports
            .iter()
            .filter_map(|p| {
                let (up, latency) = match &p.status {
                    PortStatus::Unknown => return None,
                    PortStatus::Up { latency_ms } => (true, Some(latency_ms / 1000.0)),
                    PortStatus::Down { .. } => (false, None),
                };
                Some(PortSample(
                    p.name.clone(),
                    p.host.clone(),
                    p.port.to_string(),
                    up,
                    latency,
                    p.cert_days,
                ))
            })
            .collect();
        let mut firing: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
        for a in state.alerts.firing() {
            let rule = &state.alerts.rules[a.rule];
            *firing
                .entry((rule.name.clone(), rule.severity.label()))
                .or_default() += 1;
        }
        Snapshot {
            task_counts: state.task_counts.clone(),
            workers,
            queues,
            agents: state
                .agents
                .iter()
                .map(|a| (a.name.clone(), a.state))
                .collect(),
            ports,
            links: state
                .links
                .iter()
                .map(|l| {
                    (
                        l.name.clone(),
                        matches!(l.health, LinkHealth::Up | LinkHealth::Degraded { .. }),
                    )
                })
                .collect(),
            events: state.counters.events,
            shed: state.counters.shed,
            malformed: state.counters.malformed,
            workers_turned_away: state.counters.workers_turned_away,
            hosts_left_out,
            firing,
        }
    }
}

/// By host: up, active tasks; and the hosts left out. The worker gauges go through the same
/// cap on hosts as the task counters: anyone can announce a worker.
fn worker_gauges(state: &State) -> (BTreeMap<String, (bool, u64)>, u64) {
    let mut workers: BTreeMap<String, (bool, u64)> = BTreeMap::new();
    let mut left_out = 0;
    for w in state.workers.values() {
        let host = label_value(host_of(&w.hostname));
        if !workers.contains_key(&host) && workers.len() >= MAX_HOSTS {
            left_out += 1;
            continue;
        }
        let e = workers.entry(host).or_default();
        e.0 |= w.online;
        e.1 += if w.online { w.active } else { 0 };
    }
    (workers, left_out)
}

/// One probed port: name, host, port, up, latency in seconds, certificate days left.
#[derive(Debug)]
struct PortSample(String, String, String, bool, Option<f64>, Option<i64>);

/// celery-exporter's counters, in the order of `TaskEventKind`.
const TASK_COUNTERS: [(TaskEventKind, &str, &str); 8] = [
    (
        TaskEventKind::Sent,
        "celery_task_sent",
        "Sent when a task message is published.",
    ),
    (
        TaskEventKind::Received,
        "celery_task_received",
        "Sent when the worker receives a task.",
    ),
    (
        TaskEventKind::Started,
        "celery_task_started",
        "Sent just before the worker executes the task.",
    ),
    (
        TaskEventKind::Succeeded,
        "celery_task_succeeded",
        "Sent if the task executed successfully.",
    ),
    (
        TaskEventKind::Failed,
        "celery_task_failed",
        "Sent if the execution of the task failed.",
    ),
    (
        TaskEventKind::Rejected,
        "celery_task_rejected",
        "The task was rejected by the worker, possibly to be re-queued or moved to a dead letter queue.",
    ),
    (
        TaskEventKind::Revoked,
        "celery_task_revoked",
        "Sent if the task has been revoked.",
    ),
    (
        TaskEventKind::Retried,
        "celery_task_retried",
        "Sent if the task failed, but will be retried in the future.",
    ),
];

const AGENT_STATES: [AgentState; 5] = [
    AgentState::Idle,
    AgentState::Busy,
    AgentState::Error,
    AgentState::Offline,
    AgentState::Unknown,
];

type Fmt = Result<(), std::fmt::Error>;

impl prometheus_client::collector::Collector for Snapshot {
    // Long, on purpose: one family after another, in the order a reader scans them.
    fn encode(&self, mut enc: DescriptorEncoder) -> Fmt {
        let t = &self.task_counts;
        let labels = |(n, h, q): &(u32, u32, u32)| {
            [
                ("name", t.names.get(*n)),
                ("hostname", t.hosts.get(*h)),
                ("queue_name", t.queues.get(*q)),
            ]
        };
        let mut series: Vec<_> = t.series.iter().collect();
        series.sort_by_key(|(k, _)| **k);
        for (kind, name, help) in TASK_COUNTERS {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
            if kind == TaskEventKind::Failed {
                let mut failed: Vec<_> = t.failed.iter().collect();
                failed.sort_by_key(|(k, _)| **k);
                for ((n, h, q, e), v) in failed {
                    let l = [
                        ("name", t.names.get(*n)),
                        ("hostname", t.hosts.get(*h)),
                        ("exception", t.exceptions.get(*e)),
                        ("queue_name", t.queues.get(*q)),
                    ];
                    ConstCounter::new(*v).encode(m.encode_family(&l)?)?;
                }
                continue;
            }
            for (k, s) in &series {
                let v = s.events[kind as usize];
                // task-sent comes from every client: only its own series, as the exporter.
                if v == 0 && kind == TaskEventKind::Sent {
                    continue;
                }
                ConstCounter::new(v).encode(m.encode_family(&labels(k))?)?;
            }
        }
        for (name, help, pick) in [
            (
                "celery_task_runtime",
                "Histogram of task runtime measurements.",
                (|s: &Series| (&s.buckets, s.runtime_sum, s.runtime_count))
                    as fn(&Series) -> (&[u64; BUCKETS.len() + 1], f64, u64),
            ),
            (
                "celery_task_queue_wait_time",
                "Histogram of the time tasks waited in their queue, sent to started (ETA and countdown delays left out).",
                |s: &Series| (&s.wait_buckets, s.wait_sum, s.wait_count),
            ),
        ] {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Histogram)?;
            for (k, s) in &series {
                let (counts, sum, count) = pick(s);
                if count == 0 {
                    continue;
                }
                let buckets: Vec<(f64, u64)> = BUCKETS
                    .iter()
                    .copied()
                    .chain([f64::INFINITY])
                    .zip(counts.iter().copied())
                    .collect();
                m.encode_family(&labels(k))?
                    .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                        sum, count, &buckets, None,
                    )?;
            }
        }
        let mut m = enc.encode_descriptor(
            "celery_worker_up",
            "Indicates if a worker has recently sent a heartbeat.",
            None,
            MetricType::Gauge,
        )?;
        for (host, (up, _)) in &self.workers {
            ConstGauge::new(*up as i64).encode(m.encode_family(&[("hostname", host.as_str())])?)?;
        }
        let mut m = enc.encode_descriptor(
            "celery_worker_tasks_active",
            "The number of tasks the worker is currently processing",
            None,
            MetricType::Gauge,
        )?;
        for (host, (_, active)) in &self.workers {
            ConstGauge::new(*active as i64)
                .encode(m.encode_family(&[("hostname", host.as_str())])?)?;
        }
        for (name, help, pick) in [
            (
                "celery_queue_length",
                "The number of message in broker queue (all four priority sub-queues).",
                0,
            ),
            (
                "celery_queue_reserved",
                "Messages delivered to a worker and not yet acknowledged (kombu's unacked).",
                1,
            ),
            (
                "celery_active_worker_count",
                "The number of active workers in broker queue.",
                2,
            ),
            (
                "celery_active_process_count",
                "The number of active processes in broker queue (its workers' pool processes).",
                3,
            ),
        ] {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (q, depth, reserved, consumers, processes) in &self.queues {
                let v = [*depth, *reserved, *consumers, *processes][pick];
                ConstGauge::new(v as i64)
                    .encode(m.encode_family(&[("queue_name", q.as_str())])?)?;
            }
        }
        let mut m = enc.encode_descriptor(
            "chavion_agent_state",
            "1 for each agent's current state (idle, busy, error, offline, unknown).",
            None,
            MetricType::Gauge,
        )?;
        for (agent, now) in &self.agents {
            for s in AGENT_STATES {
                let l = [("agent", agent.as_str()), ("state", s.label())];
                ConstGauge::new((*now == s) as i64).encode(m.encode_family(&l)?)?;
            }
        }
        let mut m = enc.encode_descriptor(
            "chavion_port_up",
            "Whether the port map's entry answered its last probes.",
            None,
            MetricType::Gauge,
        )?;
        for PortSample(name, host, port, up, _, _) in &self.ports {
            let l = [
                ("name", name.as_str()),
                ("host", host.as_str()),
                ("port", port.as_str()),
            ];
            ConstGauge::new(*up as i64).encode(m.encode_family(&l)?)?;
        }
        let mut m = enc.encode_descriptor(
            "chavion_port_probe_seconds",
            "How long the last successful probe took.",
            None,
            MetricType::Gauge,
        )?;
        for PortSample(name, _, _, _, latency, _) in &self.ports {
            if let Some(s) = latency {
                ConstGauge::new(*s).encode(m.encode_family(&[("name", name.as_str())])?)?;
            }
        }
        let mut m = enc.encode_descriptor(
            "chavion_certificate_days_left",
            "Days left on a TLS entry's certificate.",
            None,
            MetricType::Gauge,
        )?;
        for PortSample(name, _, _, _, _, days) in &self.ports {
            if let Some(d) = days {
                ConstGauge::new(*d).encode(m.encode_family(&[("name", name.as_str())])?)?;
            }
        }
        let mut m = enc.encode_descriptor(
            "chavion_link_up",
            "Whether each link to the platform (Redis, the sampler, Socket.IO endpoints) is up.",
            None,
            MetricType::Gauge,
        )?;
        for (link, up) in &self.links {
            ConstGauge::new(*up as i64).encode(m.encode_family(&[("link", link.as_str())])?)?;
        }
        for (name, help, v) in [
            (
                "chavion_events",
                "Messages the control room took in from its feeds.",
                self.events,
            ),
            (
                "chavion_events_shed",
                "Messages a feed shed rather than block its socket reader.",
                self.shed,
            ),
            (
                "chavion_events_malformed",
                "Messages that did not decode (each shown as a warning).",
                self.malformed,
            ),
            (
                "chavion_metrics_dropped",
                "Task events not counted here because a label cap was reached.",
                t.dropped,
            ),
            (
                "chavion_workers_turned_away",
                "Worker events from a new hostname not kept because the workers map was full.",
                self.workers_turned_away,
            ),
        ] {
            ConstCounter::new(v).encode(enc.encode_descriptor(
                name,
                help,
                None,
                MetricType::Counter,
            )?)?;
        }
        ConstGauge::new(self.hosts_left_out as i64).encode(enc.encode_descriptor(
            "chavion_metrics_hosts_left_out",
            "Workers' hosts not in celery_worker_up because the host cap was reached.",
            None,
            MetricType::Gauge,
        )?)?;
        let mut m = enc.encode_descriptor(
            "chavion_alerts_firing",
            "Alerts firing now, by rule.",
            None,
            MetricType::Gauge,
        )?;
        for ((rule, severity), n) in &self.firing {
            let l = [("rule", rule.as_str()), ("severity", *severity)];
            ConstGauge::new(*n as i64).encode(m.encode_family(&l)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::model::task_counts::MAX_SERIES;
    use crate::kept::Worker;

    /// The worst a hostile publisher can make a scrape: every label at its cap and its
    /// longest, every series full, and three thousand workers. A few MB, not a hundred.
    #[test]
    fn the_worst_case_exposition_is_a_few_mb_and_every_family_is_capped() {
        let km =
            crate::config::keymap::build("default", std::path::Path::new("/nonexistent"), vec![])
                .unwrap();
        let mut state = State::new(&crate::config::Config::default(), km, chrono::Utc::now());
        state.task_counts.on = true;
        state.task_counts.fill_to_the_caps();
        let long = "x".repeat(500);
        assert_eq!(state.task_counts.series.len(), MAX_SERIES);
        for i in 0..3_000 {
            let hostname = format!("fake{i}@{long}{i}");
            state.workers.insert(
                hostname.clone(),
                Worker {
                    active: 1,
                    ..Worker::new(hostname, None, true, chrono::Utc::now(), 2.0)
                },
            );
        }
        let text = render(&state);
        eprintln!("worst-case exposition: {} bytes", text.len());
        assert!(text.len() < 12 << 20, "{} bytes", text.len());
        let up = text
            .lines()
            .filter(|l| l.starts_with("celery_worker_up{"))
            .count();
        assert_eq!(up, MAX_HOSTS);
        assert!(text.contains("chavion_metrics_hosts_left_out 2000"));
        assert!(text.lines().all(|l| l.len() < 1_000), "labels are cut");
    }
}
