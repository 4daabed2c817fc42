//! The demo fleet: five simulated agents with Celery workers behind them. It produces the
//! same wire bytes the real feeds carry (Chavion JSON, kombu envelopes around Celery
//! events, `task.multi` batches) and pushes them through the real router and decoders.
//! Only queue depths and probe results are simulated as samples, as their real feeds
//! produce samples rather than messages.

use chrono::Utc;
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc::Sender;

use crate::config::Config;
use crate::config::model::Expect;
use crate::event::{Event, LinkHealth, ProbeOutcome};
use crate::platform::model::{FeedItem, QueueSample};
use crate::platform::route::{Channels, route};
use crate::platform::wire;

struct SimAgent {
    name: String,
    queue: String,
    model: String,
    host: String,
    tasks: Vec<String>,
    current: Option<SimTask>,
    processed: u64,
    depth: u64,
}

struct SimTask {
    uuid: String,
    name: String,
    stage: u8,
}

const CHATTER: &[(&str, &str)] = &[
    ("info", "intent classified: deploy request (0.93)"),
    ("info", "plan ready: 4 steps, est. 40s"),
    (
        "warn",
        "risk score 0.62 above soft threshold, second opinion requested",
    ),
    ("info", "cross-check agreed (3/3 models)"),
    ("info", "git pull origin main: 3 files changed"),
    ("info", "A/B test b-17: variant B +2.1% success"),
    ("debug", "token budget 12k/32k"),
    (
        "error",
        "deploy health check failed: HTTP 502 from :5002, rolling back",
    ),
    ("info", "retraining window scheduled 03:00 UTC"),
];

fn uuid(rng: &mut fastrand::Rng) -> String {
    let h = |rng: &mut fastrand::Rng, n: usize| {
        (0..n)
            .map(|_| char::from_digit(rng.u32(0..16), 16).expect("hex digit"))
            .collect::<String>()
    };
    format!(
        "{}-{}-{}-{}-{}",
        h(rng, 8),
        h(rng, 4),
        h(rng, 4),
        h(rng, 4),
        h(rng, 12)
    )
}

fn now_f() -> f64 {
    Utc::now().timestamp_micros() as f64 / 1e6
}

// Long, on purpose: the simulated fleet's script, one step after another.
pub fn spawn(cfg: &Config, channels: Channels, tx: Sender<Event>) -> tokio::task::JoinHandle<()> {
    let mut agents: Vec<SimAgent> = cfg
        .agents
        .iter()
        .map(|a| {
            let name = a.name.get_ref().to_uppercase();
            let queue = a
                .queues
                .first()
                .cloned()
                .unwrap_or_else(|| name.to_lowercase());
            SimAgent {
                host: format!("{queue}@chavion-vm"),
                tasks: if a.tasks.is_empty() {
                    vec![format!("{}.work", queue)]
                } else {
                    a.tasks.clone()
                },
                name,
                queue,
                model: a.model.clone(),
                current: None,
                processed: 0,
                depth: 0,
            }
        })
        .collect();
    let ports: Vec<Expect> = cfg.ports.iter().map(|p| p.expect).collect();
    tokio::spawn(async move {
        let mut rng = fastrand::Rng::with_seed(7);
        let _ = tx
            .send(Event::Link {
                name: "demo".into(),
                health: LinkHealth::Up,
            })
            .await;
        let mut tick: u64 = 0;
        loop {
            let mut items = Vec::new();
            let mut publish =
                |channel: &str, bytes: &[u8]| route(&channels, channel, bytes, &mut items);
            // Every 2 s (and at once): heartbeats, agent self-reports, probes.
            if tick.is_multiple_of(8) {
                for a in &agents {
                    let hb = wire::worker_heartbeat(
                        &a.host,
                        now_f(),
                        a.current.is_some() as u64,
                        a.processed,
                        [0.4, 0.3, 0.2],
                    );
                    publish(
                        &wire::celery_channel(&channels.celery_prefix, "worker-heartbeat"),
                        &wire::kombu_event_envelope(
                            &hb,
                            &a.host,
                            "worker.heartbeat",
                            &uuid(&mut rng),
                        ),
                    );
                    let (state, task, detail) = match &a.current {
                        Some(t) => ("busy", Some(t.uuid.as_str()), t.name.as_str()),
                        None => ("idle", None, "waiting for work"),
                    };
                    publish(
                        &format!("chavion:agents:{}", a.name),
                        &wire::agent_json(&a.name, state, task, detail, &a.model, now_f()),
                    );
                }
                for (index, expect) in ports.iter().enumerate() {
                    let outcome = match expect {
                        Expect::Optional if index % 2 == 0 => ProbeOutcome::Down {
                            why: "connection refused".into(),
                        },
                        Expect::Down => ProbeOutcome::Down {
                            why: "connection refused".into(),
                        },
                        _ => ProbeOutcome::Up {
                            latency: Duration::from_micros(rng.u64(150..4000)),
                            cert_days: (index == 1).then_some(64),
                        },
                    };
                    let _ = tx
                        .send(Event::Probe {
                            at: Utc::now(),
                            index,
                            outcome,
                        })
                        .await;
                }
            }
            // Every second: queue depths, as the sampler would report them.
            if tick.is_multiple_of(4) {
                let samples = agents
                    .iter_mut()
                    .map(|a| {
                        a.depth = (a.depth as i64 + rng.i64(-3..5)).clamp(0, 60) as u64;
                        QueueSample {
                            queue: a.queue.clone(),
                            depth: a.depth,
                            reserved: a.current.is_some() as u64,
                        }
                    })
                    .collect();
                items.push(FeedItem::Queues(samples));
            }
            // Every 250 ms: one agent moves its task along its Celery lifecycle.
            if !agents.is_empty() {
                let i = rng.usize(..agents.len());
                let a = &mut agents[i];
                let batch = step(a, &mut rng);
                if !batch.is_empty() {
                    publish_batch(&channels, a, &batch, &mut items, &mut rng);
                }
            }
            if !agents.is_empty() && (tick == 1 || rng.u8(..20) == 0) {
                let (level, msg) = CHATTER[rng.usize(..CHATTER.len())];
                let source = &agents[rng.usize(..agents.len())].name;
                route(
                    &channels,
                    &channels.activity,
                    &wire::activity_json(level, source, msg, None, now_f()),
                    &mut items,
                );
            }
            if !items.is_empty()
                && tx
                    .send(Event::FeedBatch {
                        at: Utc::now(),
                        items,
                    })
                    .await
                    .is_err()
            {
                return;
            }
            tick += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
}

/// Advances one agent's task and returns the Celery events that step emits.
fn step(a: &mut SimAgent, rng: &mut fastrand::Rng) -> Vec<serde_json::Value> {
    let ts = now_f();
    let Some(t) = &mut a.current else {
        if rng.bool() {
            let name = a.tasks[rng.usize(..a.tasks.len())].clone();
            let t = SimTask {
                uuid: uuid(rng),
                name: name.clone(),
                stage: 0,
            };
            let args = format!("('job-{}',)", rng.u32(100..999));
            let ev = vec![
                json!({"type": "task-received", "uuid": t.uuid, "name": name, "args": args, "kwargs": "{}", "retries": 0,
                       "root_id": t.uuid, "parent_id": null, "eta": null, "expires": null, "hostname": a.host, "timestamp": ts, "clock": 1}),
            ];
            a.current = Some(t);
            return ev;
        }
        return Vec::new();
    };
    t.stage += 1;
    match t.stage {
        1 => vec![
            json!({"type": "task-started", "uuid": t.uuid, "hostname": a.host, "timestamp": ts, "pid": 4243, "clock": 2}),
        ],
        2..=4 if rng.u8(..3) > 0 => Vec::new(),
        _ => {
            let roll = rng.u8(..20);
            let ev = if roll == 0 {
                json!({"type": "task-failed", "uuid": t.uuid, "exception": "TimeoutError('upstream model did not answer in 30s')",
                       "traceback": "Traceback (most recent call last):\n  File \"agents/run.py\", line 88, in run\nTimeoutError: upstream model did not answer in 30s",
                       "hostname": a.host, "timestamp": ts, "clock": 3})
            } else if roll == 1 {
                json!({"type": "task-retried", "uuid": t.uuid, "exception": "ConnectionError('rate limited')", "traceback": "",
                       "hostname": a.host, "timestamp": ts, "clock": 3})
            } else {
                json!({"type": "task-succeeded", "uuid": t.uuid, "result": "'ok'", "runtime": rng.f64() * 3.0 + 0.05,
                       "hostname": a.host, "timestamp": ts, "clock": 3})
            };
            a.processed += 1;
            a.current = None;
            vec![ev]
        }
    }
}

fn publish_batch(
    channels: &Channels,
    a: &SimAgent,
    batch: &[serde_json::Value],
    items: &mut Vec<FeedItem>,
    rng: &mut fastrand::Rng,
) {
    // Workers buffer task events and publish them as one `task.multi` list.
    let body = serde_json::Value::Array(batch.to_vec());
    let bytes = wire::kombu_event_envelope(&body, &a.host, "task.multi", &uuid(rng));
    route(
        channels,
        &wire::celery_channel(&channels.celery_prefix, "task-multi"),
        &bytes,
        items,
    );
}
