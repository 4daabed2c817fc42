//! The agents' containers as the Docker Engine describes them: its inspect and stats JSON
//! (bollard's models of the Engine's own shapes) turned into what the control room shows.
//! Pure: the live feed and the demo both come through here, and every string from the
//! Engine (names, labels, images, errors, health output, env names) is cleaned.

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, ContainerStatsResponse};
use chrono::{DateTime, Utc};

use crate::sanitize::clean;

/// Docker Compose's labels.
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
pub const PROJECT_LABEL: &str = "com.docker.compose.project";

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Container {
    pub id: String,
    /// Without Docker's leading `/`.
    pub name: String,
    pub service: Option<String>,
    pub project: Option<String>,
    pub image: String,
    pub state: RunState,
    pub oom_killed: bool,
    /// healthy, unhealthy or starting, when it has a health check.
    pub health: Option<String>,
    pub restarts: i64,
    pub exit_code: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it stopped, in the Engine's words ("" when none).
    pub error: String,
    /// `8080->80/tcp` or `80/tcp`.
    pub ports: Vec<String>,
    /// The last health checks' outputs, newest last.
    pub health_log: Vec<String>,
    /// `source -> destination (rw|ro)`.
    pub mounts: Vec<String>,
    /// Environment variables' names only: their values may be secrets.
    pub env_names: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub command: String,
    /// The memory limit (bytes), 0 for none.
    pub memory_limit: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RunState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    Unknown,
}

impl RunState {
    pub fn word(self) -> &'static str {
        match self {
            RunState::Created => "created",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Restarting => "restarting",
            RunState::Removing => "removing",
            RunState::Exited => "exited",
            RunState::Dead => "dead",
            RunState::Unknown => "unknown",
        }
    }
}

impl Container {
    /// What a tile and a row say: "running", "restarting (4 restarts)", "exited (3)",
    /// "OOM-killed", "unhealthy".
    pub fn summary(&self) -> String {
        match self.state {
            RunState::Running if self.health.as_deref() == Some("unhealthy") => "unhealthy".into(),
            RunState::Running => "running".into(),
            RunState::Restarting => format!("restarting ({} restarts)", self.restarts),
            RunState::Exited | RunState::Dead if self.oom_killed => "OOM-killed".into(),
            RunState::Exited => format!("exited ({})", self.exit_code),
            s => s.word().into(),
        }
    }

    /// Running and not unhealthy.
    pub fn is_well(&self) -> bool {
        self.state == RunState::Running && self.health.as_deref() != Some("unhealthy")
    }
}

/// A container's inspect answer, as shown.
// Long, on purpose: one field after another, each cleaned.
pub fn from_inspect(c: &ContainerInspectResponse) -> Container {
    let cl = |s: &str| clean(s, 200);
    let state = c.state.as_ref();
    let config = c.config.as_ref();
    let labels_map = config.and_then(|x| x.labels.as_ref());
    let mut labels: Vec<(String, String)> = labels_map
        .map(|m| m.iter().map(|(k, v)| (cl(k), cl(v))).collect())
        .unwrap_or_default();
    labels.sort();
    let label = |key: &str| labels_map.and_then(|m| m.get(key)).map(|v| cl(v));
    let status = state
        .and_then(|s| s.status)
        .map_or(RunState::Unknown, |s| match s {
            ContainerStateStatusEnum::CREATED => RunState::Created,
            ContainerStateStatusEnum::RUNNING => RunState::Running,
            ContainerStateStatusEnum::PAUSED => RunState::Paused,
            ContainerStateStatusEnum::RESTARTING => RunState::Restarting,
            ContainerStateStatusEnum::REMOVING => RunState::Removing,
            ContainerStateStatusEnum::EXITED => RunState::Exited,
            ContainerStateStatusEnum::DEAD => RunState::Dead,
            _ => RunState::Unknown,
        });
    let health = state.and_then(|s| s.health.as_ref());
    let mut ports: Vec<String> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .map(|m| {
            m.iter()
                .map(|(inside, bound)| {
                    let host = bound
                        .as_ref()
                        .and_then(|b| b.first())
                        .and_then(|b| b.host_port.clone());
                    match host {
                        Some(h) => format!("{}->{}", cl(&h), cl(inside)),
                        None => cl(inside),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    ports.sort();
    let mut command: Vec<String> = c.path.iter().cloned().collect();
    command.extend(c.args.iter().flatten().cloned());
    Container {
        id: cl(c.id.as_deref().unwrap_or("")),
        name: cl(c.name.as_deref().unwrap_or("").trim_start_matches('/')),
        service: label(SERVICE_LABEL),
        project: label(PROJECT_LABEL),
        image: cl(config
            .and_then(|x| x.image.as_deref())
            .or(c.image.as_deref())
            .unwrap_or("")),
        state: status,
        oom_killed: state.and_then(|s| s.oom_killed).unwrap_or(false),
        health: health
            .and_then(|h| h.status)
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty() && s != "none"),
        restarts: c.restart_count.unwrap_or(0),
        exit_code: state.and_then(|s| s.exit_code).unwrap_or(0),
        started_at: state.and_then(|s| time(s.started_at.as_deref())),
        finished_at: state.and_then(|s| time(s.finished_at.as_deref())),
        error: cl(state.and_then(|s| s.error.as_deref()).unwrap_or("")),
        ports,
        health_log: health
            .and_then(|h| h.log.as_ref())
            .map(|l| {
                l.iter()
                    .map(|r| {
                        format!(
                            "exit {}: {}",
                            r.exit_code.unwrap_or(-1),
                            cl(r.output.as_deref().unwrap_or("").trim())
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        mounts: c
            .mounts
            .iter()
            .flatten()
            .map(|m| {
                format!(
                    "{} -> {} ({})",
                    cl(m.source.as_deref().or(m.name.as_deref()).unwrap_or("?")),
                    cl(m.destination.as_deref().unwrap_or("?")),
                    if m.rw.unwrap_or(true) { "rw" } else { "ro" }
                )
            })
            .collect(),
        env_names: config
            .and_then(|x| x.env.as_ref())
            .map(|e| {
                e.iter()
                    .map(|kv| cl(kv.split_once('=').map_or(kv.as_str(), |(k, _)| k)))
                    .collect()
            })
            .unwrap_or_default(),
        labels,
        command: clean(&command.join(" "), 300),
        memory_limit: c
            .host_config
            .as_ref()
            .and_then(|h| h.memory)
            .unwrap_or(0)
            .max(0) as u64,
    }
}

/// The Engine's times; its zero time (`0001-01-01T00:00:00Z`) is none.
fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(text?)
        .ok()?
        .with_timezone(&Utc);
    (t.timestamp() > 0).then_some(t)
}

/// One stats sample: CPU % (of one core, as `docker stats` shows it) and memory use.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    pub cpu_pct: f64,
    pub mem: u64,
    pub mem_limit: u64,
}

/// A one-shot stats answer, which carries the previous CPU reading too.
pub fn usage(s: &ContainerStatsResponse) -> Usage {
    let cpu = |c: Option<&bollard::models::ContainerCpuStats>| {
        c.map(|c| {
            (
                c.cpu_usage
                    .as_ref()
                    .and_then(|u| u.total_usage)
                    .unwrap_or(0),
                c.system_cpu_usage.unwrap_or(0),
                c.online_cpus.unwrap_or(1).max(1),
            )
        })
        .unwrap_or((0, 0, 1))
    };
    let (now, sys_now, cpus) = cpu(s.cpu_stats.as_ref());
    let (before, sys_before, _) = cpu(s.precpu_stats.as_ref());
    let (d, sys_d) = (
        now.saturating_sub(before),
        sys_now.saturating_sub(sys_before),
    );
    let cpu_pct = if sys_d > 0 {
        d as f64 / sys_d as f64 * cpus as f64 * 100.0
    } else {
        0.0
    };
    let m = s.memory_stats.as_ref();
    // As `docker stats`: the page cache that can be reclaimed is not counted as used.
    let cache = m
        .and_then(|m| m.stats.as_ref())
        .and_then(|st| st.get("inactive_file").or(st.get("total_inactive_file")))
        .copied()
        .unwrap_or(0);
    Usage {
        cpu_pct,
        mem: m.and_then(|m| m.usage).unwrap_or(0).saturating_sub(cache),
        mem_limit: m.and_then(|m| m.limit).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect(json: &str) -> Container {
        from_inspect(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn an_oom_killed_compose_service_is_read_from_the_engines_json() {
        let c = inspect(
            r#"{"Id":"abc","Name":"/chavion-thinking-1","RestartCount":2,"Path":"python","Args":["-m","agent"],
                "State":{"Status":"exited","Running":false,"OOMKilled":true,"ExitCode":137,"Error":"",
                         "StartedAt":"2026-12-01T10:00:00Z","FinishedAt":"2026-12-01T10:05:00Z"},
                "Config":{"Image":"chavion/thinking:1","Env":["OPENAI_KEY=sk-secret","MODE=prod"],
                          "Labels":{"com.docker.compose.service":"thinking","com.docker.compose.project":"chavion"}},
                "HostConfig":{"Memory":67108864},
                "Mounts":[{"Source":"/srv/data","Destination":"/data","RW":false}],
                "NetworkSettings":{"Ports":{"5004/tcp":[{"HostIp":"127.0.0.1","HostPort":"15004"}],"9000/tcp":null}}}"#,
        );
        assert_eq!(c.name, "chavion-thinking-1");
        assert_eq!(c.service.as_deref(), Some("thinking"));
        assert_eq!(c.summary(), "OOM-killed");
        assert_eq!(c.restarts, 2);
        assert_eq!(
            c.env_names,
            ["OPENAI_KEY", "MODE"],
            "names only, never values"
        );
        assert_eq!(c.ports, ["15004->5004/tcp", "9000/tcp"]);
        assert_eq!(c.mounts, ["/srv/data -> /data (ro)"]);
        assert_eq!(c.command, "python -m agent");
        assert_eq!(c.memory_limit, 64 << 20);
        assert!(c.finished_at.is_some());
    }

    #[test]
    fn states_read_as_an_operator_says_them_and_names_are_cleaned() {
        let c = inspect(
            r#"{"Id":"x","Name":"/evil\u001b[2J","RestartCount":5,
                "State":{"Status":"restarting","ExitCode":2,"StartedAt":"0001-01-01T00:00:00Z",
                         "Health":{"Status":"unhealthy","Log":[{"ExitCode":1,"Output":"curl: refused\n"}]}}}"#,
        );
        assert_eq!(c.name, "evil");
        assert_eq!(c.summary(), "restarting (5 restarts)");
        assert_eq!(c.started_at, None, "the Engine's zero time is none");
        assert_eq!(c.health_log, ["exit 1: curl: refused"]);
        let exited = inspect(r#"{"Id":"y","Name":"/y","State":{"Status":"exited","ExitCode":3}}"#);
        assert_eq!(exited.summary(), "exited (3)");
        let sick = inspect(
            r#"{"Id":"z","Name":"/z","State":{"Status":"running","Health":{"Status":"unhealthy"}}}"#,
        );
        assert_eq!(sick.summary(), "unhealthy");
        assert!(!sick.is_well());
    }

    #[test]
    fn cpu_and_memory_are_read_as_docker_stats_reads_them() {
        let s: ContainerStatsResponse = serde_json::from_str(
            r#"{"cpu_stats":{"cpu_usage":{"total_usage":300},"system_cpu_usage":2000,"online_cpus":2},
                "precpu_stats":{"cpu_usage":{"total_usage":100},"system_cpu_usage":1000},
                "memory_stats":{"usage":5000,"limit":10000,"stats":{"inactive_file":1000}}}"#,
        )
        .unwrap();
        let u = usage(&s);
        assert!((u.cpu_pct - 40.0).abs() < 1e-9, "{u:?}");
        assert_eq!((u.mem, u.mem_limit), (4000, 10000));
    }
}
