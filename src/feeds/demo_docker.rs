//! The demo fleet's containers: the five agents' running, the project's web app restarting
//! in a loop, and a retraining job killed for memory. Each is the Docker Engine's own
//! inspect and stats JSON, read through the same decoders as the live feed
//! (`containers::from_inspect`, `containers::usage`).

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tokio::sync::mpsc::Sender;

use crate::event::{ContainerNews, Event, LinkHealth};
use crate::platform::containers::{Container, from_inspect, usage};

/// One container as the Engine's inspect answer shapes it.
fn inspect(name: &str, service: &str, status: &str, exit: i64, oom: bool, restarts: i64) -> Value {
    let now = Utc::now();
    let started = (now - Duration::minutes(42 + restarts)).to_rfc3339();
    let finished = if status == "running" {
        "0001-01-01T00:00:00Z".to_string()
    } else {
        (now - Duration::seconds(20)).to_rfc3339()
    };
    json!({
        "Id": format!("{:0<64}", name.replace('-', "")),
        "Name": format!("/{name}"),
        "RestartCount": restarts,
        "Path": "python", "Args": ["-m", service],
        "State": {
            "Status": status, "Running": status == "running", "Restarting": status == "restarting",
            "OOMKilled": oom, "ExitCode": exit, "Error": "",
            "StartedAt": started, "FinishedAt": finished,
        },
        "Config": {
            "Image": format!("chavion/{service}:1.4"),
            "Env": ["OPENAI_API_KEY=sk-demo", "CHAVION_ENV=demo"],
            "Labels": {"com.docker.compose.project": "chavion", "com.docker.compose.service": service},
        },
        "HostConfig": {"Memory": 536870912},
        "Mounts": [{"Source": "/srv/chavion/data", "Destination": "/data", "RW": true}],
        "NetworkSettings": {"Ports": {"8000/tcp": null}},
    })
}

fn stats(cpu: u64, mem: u64) -> Value {
    json!({
        "cpu_stats": {"cpu_usage": {"total_usage": 1_000_000 + cpu}, "system_cpu_usage": 2_000_000, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000}, "system_cpu_usage": 1_000_000},
        "memory_stats": {"usage": mem, "limit": 536_870_912u64, "stats": {"inactive_file": 0}},
    })
}

fn read(v: Value) -> Option<Container> {
    serde_json::from_value(v).ok().map(|i| from_inspect(&i))
}

/// The demo's containers now; `restarts`: the web app's count so far.
fn fleet(agents: &[String], restarts: i64, web_up: bool) -> Vec<Container> {
    let mut all: Vec<Value> = agents
        .iter()
        .map(|a| {
            let s = a.to_lowercase();
            inspect(&format!("chavion-{s}-1"), &s, "running", 0, false, 0)
        })
        .collect();
    all.push(if web_up {
        inspect("chavion-web-1", "web", "running", 0, false, restarts)
    } else {
        inspect("chavion-web-1", "web", "restarting", 1, false, restarts)
    });
    all.push(inspect(
        "chavion-retrainer-1",
        "retrainer",
        "exited",
        137,
        true,
        0,
    ));
    all.into_iter().filter_map(read).collect()
}

/// The demo's Engine: listed at once, then the web app dies and comes back every few
/// seconds, and stats every 2 s.
pub async fn run(agents: Vec<String>, tx: Sender<Event>) {
    let up = Event::Link {
        name: super::docker::LINK.into(),
        health: LinkHealth::Up,
    };
    if tx.send(up).await.is_err()
        || tx
            .send(Event::Containers(ContainerNews::Listed(fleet(
                &agents, 3, false,
            ))))
            .await
            .is_err()
    {
        return;
    }
    let mut rng = fastrand::Rng::with_seed(11);
    let mut restarts = 3;
    for tick in 1u64.. {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let web_up = tick % 3 != 0;
        if tick % 3 == 1 {
            restarts += 1;
        }
        let web = fleet(&agents, restarts, web_up)
            .into_iter()
            .find(|c| c.name == "chavion-web-1");
        let action = if web_up { "start" } else { "die" };
        let mut news = vec![];
        if let Some(c) = web {
            news.push(ContainerNews::Changed {
                container: Box::new(c),
                action: action.into(),
            });
        }
        let samples = fleet(&agents, restarts, web_up)
            .into_iter()
            .filter(|c| c.state == crate::platform::containers::RunState::Running)
            .filter_map(|c| {
                let s =
                    serde_json::from_value(stats(rng.u64(10_000..400_000), rng.u64(80..300) << 20))
                        .ok()?;
                Some((c.id, usage(&s)))
            })
            .collect();
        news.push(ContainerNews::Stats(samples));
        for n in news {
            if tx.send(Event::Containers(n)).await.is_err() {
                return;
            }
        }
    }
}
