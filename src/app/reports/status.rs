//! `chavion-tui status` as a value: what every port, link, queue and exposure finding says,
//! judged with the screen's own judgement (`health`). Built by a pure function from the
//! state the probes were applied to; printed as text or as JSON (schema
//! `chavion-tui/status/1`, docs/OPERATIONS.md) by the CLI.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::model::health::{self, Severity};
pub use crate::app::reports::status_fleet::{AgentLine, FleetSample, WorkerLine};
use crate::app::state::{PortStatus, State};
use crate::config::model::PortConfig;
use crate::event::LinkHealth;
use crate::platform::exposure::Finding;
use crate::platform::model::QueueSample;

/// The JSON's schema name: what a reader of `status --json` can rely on.
pub const SCHEMA: &str = "chavion-tui/status/1";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub schema: &'static str,
    /// ok, degraded or critical.
    pub status: &'static str,
    pub exit_code: u8,
    pub checked_at: String,
    pub ports: Vec<PortLine>,
    pub links: Vec<LinkLine>,
    pub queues: Vec<QueueLine>,
    pub exposure: Vec<ExposureLine>,
    /// The alert rules' conditions that hold now: firing when the rule's `for` is 0 (a
    /// one-shot check has no history to wait on), pending otherwise.
    pub alerts: Vec<AlertLine>,
    /// The containers the Docker Engine reported (none when it is not configured or not
    /// reachable; the `docker` link says which).
    pub containers: Vec<ContainerLine>,
    /// The workers that answered, and those the history knows of that did not.
    pub workers: Vec<WorkerLine>,
    /// The agents: down when their queues have no live consumer.
    pub agents: Vec<AgentLine>,
}

/// One container: an agent's that is not running is critical, one unhealthy degrades.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerLine {
    pub name: String,
    pub agent: Option<String>,
    pub state: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertLine {
    pub rule: String,
    pub severity: crate::config::model::AlertSeverity,
    pub subject: String,
    pub detail: String,
    pub firing: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortLine {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub probe: crate::config::model::ProbeKind,
    pub expect: String,
    /// None while never probed.
    pub up: Option<bool>,
    pub label: String,
    pub severity: Severity,
    pub latency_ms: Option<f64>,
    pub cert_days: Option<i64>,
    pub why: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkLine {
    pub name: String,
    pub up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Degraded: connected, but a namespace refused or was dropped.
    #[serde(skip)]
    pub degraded: bool,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueLine {
    pub name: String,
    pub depth: u64,
    pub reserved: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ExposureLine {
    Exposed {
        service: String,
        address: String,
        port: u16,
        owner: Option<String>,
        remedy: String,
    },
    Unmapped {
        address: String,
        port: u16,
        owner: Option<String>,
    },
}

/// The alert rules' conditions holding now, each firing or pending.
fn alert_lines(state: &State) -> Vec<AlertLine> {
    state
        .alerts
        .active
        .values()
        .map(|a| {
            let rule = &state.alerts.rules[a.rule];
            AlertLine {
                rule: rule.name.clone(),
                severity: rule.severity,
                subject: a.subject.clone(),
                detail: a.detail.clone(),
                firing: a.fired.is_some(),
            }
        })
        .collect()
}

/// Redis is the platform's spine: its link down is an alarm; any other link, a warning.
fn link_severity(name: &str, h: &LinkHealth) -> Severity {
    match h {
        LinkHealth::Up => Severity::Ok,
        _ if name == crate::event::links::REDIS => Severity::Alarm,
        // The platform may run without Docker: its absence is said, calmly.
        _ if name == crate::event::links::DOCKER => Severity::Ok,
        _ => Severity::Warn,
    }
}

impl StatusReport {
    /// The report, from the state the one-shot probes were applied to, the links as they
    /// were found, and the queue samples, one section after another. Pure.
    pub fn build(
        state: &State,
        ports: &[PortConfig],
        links: &[(String, LinkHealth)],
        queues: &[QueueSample],
        fleet_sampled: bool,
        at: DateTime<Utc>,
    ) -> StatusReport {
        let workers = crate::app::reports::status_fleet::workers(state, fleet_sampled, at);
        let agents = crate::app::reports::status_fleet::agents(state, fleet_sampled);
        let ports = port_lines(state, ports);
        let links = link_lines(links);
        let alerts = alert_lines(state);
        let containers = container_lines(state);
        // A firing critical alert is an alarm, a firing warning degrades.
        let alert_severity = alerts
            .iter()
            .filter(|a| a.firing)
            .map(|a| match a.severity {
                crate::config::model::AlertSeverity::Critical => Severity::Alarm,
                crate::config::model::AlertSeverity::Warning => Severity::Warn,
                crate::config::model::AlertSeverity::Info => Severity::Ok,
            });
        let worst = ports
            .iter()
            .map(|p| p.severity)
            .chain(links.iter().map(|l| l.severity))
            .chain(containers.iter().map(|c| c.severity))
            .chain(workers.iter().map(|w| w.severity))
            .chain(agents.iter().map(|a| a.severity))
            .chain(alert_severity)
            .max()
            .unwrap_or(Severity::Ok);
        let exit_code: u8 = match worst {
            Severity::Ok => 0,
            Severity::Warn => 1,
            Severity::Alarm => 2,
        };
        StatusReport {
            schema: SCHEMA,
            status: ["ok", "degraded", "critical"][exit_code as usize],
            exit_code,
            checked_at: at.to_rfc3339(),
            ports,
            links,
            queues: queues
                .iter()
                .map(|q| QueueLine {
                    name: q.queue.clone(),
                    depth: q.depth,
                    reserved: q.reserved,
                })
                .collect(),
            exposure: state.exposure.iter().map(exposure_line).collect(),
            alerts,
            containers,
            workers,
            agents,
        }
    }

    /// The report for a terminal: a table of ports, then links, agents, workers, queues,
    /// alerts, containers and findings, one section after another.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "chavion-tui status: {}\n", self.status.to_uppercase());
        self.port_table(&mut out);
        let _ = writeln!(out);
        for l in &self.links {
            let state = match (l.up, l.degraded) {
                (true, _) => "up".to_string(),
                (false, true) => format!("DEGRADED  {}", l.why.as_deref().unwrap_or("")),
                (false, false) => match &l.why {
                    Some(why) => format!("DOWN  {why}"),
                    None => "connecting".into(),
                },
            };
            let _ = writeln!(out, "link {:<20} {state}", l.name);
        }
        for a in &self.agents {
            let _ = writeln!(
                out,
                "agent {:<19} {:<8} {} worker(s) online{}",
                a.name,
                a.state,
                a.workers_online,
                a.why
                    .as_deref()
                    .map(|w| format!("  {w}"))
                    .unwrap_or_default()
            );
        }
        for w in &self.workers {
            let _ = writeln!(
                out,
                "worker {:<30} {:<8} {:<10} {}",
                crate::sanitize::fit(&w.hostname, 30),
                w.state,
                w.agent.as_deref().unwrap_or("—"),
                w.silent_secs
                    .map(|s| format!("silent for {s} s"))
                    .unwrap_or_default()
            );
        }
        for q in &self.queues {
            let _ = writeln!(
                out,
                "queue {:<19} {} waiting, {} reserved",
                q.name, q.depth, q.reserved
            );
        }
        for a in &self.alerts {
            let _ = writeln!(
                out,
                "alert {} {} [{}]: {} — {}",
                if a.firing { "FIRING" } else { "pending" },
                a.rule,
                a.severity.label(),
                a.subject,
                a.detail
            );
        }
        for c in &self.containers {
            let _ = writeln!(
                out,
                "container {:<28} {:<10} {}",
                c.name,
                c.agent.as_deref().unwrap_or("—"),
                c.state
            );
        }
        self.findings(&mut out);
        out
    }

    /// The ports as a table: target, what is expected, state, latency, why.
    fn port_table(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "{:<13} {:<28} {:<9} {:<9} {:>9}  WHY",
            "PORT", "TARGET", "EXPECT", "STATE", "LATENCY"
        );
        for p in &self.ports {
            let target = format!("{}:{}", p.host, p.port);
            let latency = p
                .latency_ms
                .map(|l| format!("{l:.1} ms"))
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                out,
                "{:<13} {:<28} {:<9} {:<9} {:>9}  {}",
                p.name,
                crate::sanitize::fit(&target, 28),
                p.expect,
                p.label,
                latency,
                p.why.as_deref().unwrap_or("")
            );
        }
    }

    /// The exposure audit's findings: what is exposed and its remedy, unmapped listeners.
    fn findings(&self, out: &mut String) {
        use std::fmt::Write;
        for e in &self.exposure {
            let _ = match e {
                ExposureLine::Exposed {
                    service,
                    address,
                    port,
                    remedy,
                    ..
                } => writeln!(out, "EXPOSED {service} on {address}:{port} — {remedy}"),
                ExposureLine::Unmapped {
                    address,
                    port,
                    owner,
                } => writeln!(
                    out,
                    "unmapped listener {address}:{port}{}",
                    owner
                        .as_ref()
                        .map(|o| format!(" ({o})"))
                        .unwrap_or_default()
                ),
            };
        }
    }
}

fn exposure_line(f: &Finding) -> ExposureLine {
    match f {
        Finding::Exposed {
            service,
            listener,
            remedy,
        } => ExposureLine::Exposed {
            service: service.clone(),
            address: listener.addr.to_string(),
            port: listener.port,
            owner: listener.owner.clone(),
            remedy: remedy.clone(),
        },
        Finding::Unmapped { listener } => ExposureLine::Unmapped {
            address: listener.addr.to_string(),
            port: listener.port,
            owner: listener.owner.clone(),
        },
    }
}

/// Each port as judged, with its probe's latency or why it is down.
fn port_lines(state: &State, ports: &[PortConfig]) -> Vec<PortLine> {
    state
        .ports
        .iter()
        .zip(ports)
        .map(|(p, c)| {
            let (label, severity) = health::port(state, p);
            let (up, latency_ms, why) = match &p.status {
                PortStatus::Up { latency_ms } => {
                    (Some(true), Some((latency_ms * 100.0).round() / 100.0), None)
                }
                PortStatus::Down { why } => (Some(false), None, Some(why.clone())),
                PortStatus::Unknown => (None, None, None),
            };
            PortLine {
                name: p.name.clone(),
                host: p.host.clone(),
                port: p.port,
                probe: c.probe,
                expect: format!("{:?}", p.expect).to_lowercase(),
                up,
                label,
                severity,
                latency_ms,
                cert_days: p.cert_days,
                why,
            }
        })
        .collect()
}

/// Each link: up, degraded or down with why, and how much that matters.
fn link_lines(links: &[(String, LinkHealth)]) -> Vec<LinkLine> {
    links
        .iter()
        .map(|(name, h)| LinkLine {
            name: name.clone(),
            up: *h == LinkHealth::Up,
            why: match h {
                LinkHealth::Down { why, .. } | LinkHealth::Degraded { why } => Some(why.clone()),
                _ => None,
            },
            degraded: matches!(h, LinkHealth::Degraded { .. }),
            severity: link_severity(name, h),
        })
        .collect()
}

/// Each container: an agent's that is not running is an alarm, one unwell a warning.
fn container_lines(state: &State) -> Vec<ContainerLine> {
    state
        .docker
        .listed()
        .iter()
        .map(|r| ContainerLine {
            name: r.c.name.clone(),
            agent: r.agent.map(|i| state.agents[i].name.clone()),
            state: r.c.summary(),
            severity: match (r.agent, r.c.state) {
                (Some(_), crate::platform::containers::RunState::Running) if !r.c.is_well() => {
                    Severity::Warn
                }
                (Some(_), crate::platform::containers::RunState::Running) => Severity::Ok,
                (Some(_), _) => Severity::Alarm,
                (None, _) => Severity::Ok,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_line_decides_the_exit_code_and_redis_down_is_critical() {
        let km =
            crate::config::keymap::build("default", std::path::Path::new("/nonexistent"), vec![])
                .unwrap();
        let cfg = crate::config::Config::default();
        let state = State::new(&cfg, km, Utc::now());
        let sio_down = (
            "sio:dashboard".to_string(),
            LinkHealth::Down {
                why: "connection refused".into(),
                retry_in: None,
            },
        );
        let r = StatusReport::build(
            &state,
            &cfg.ports,
            std::slice::from_ref(&sio_down),
            &[],
            true,
            Utc::now(),
        );
        assert_eq!((r.exit_code, r.status), (1, "degraded"));
        let redis_down = ("redis".to_string(), sio_down.1.clone());
        let r = StatusReport::build(
            &state,
            &cfg.ports,
            &[sio_down, redis_down],
            &[],
            false,
            Utc::now(),
        );
        assert_eq!((r.exit_code, r.status), (2, "critical"));
        assert!(
            r.text()
                .contains("link redis                DOWN  connection refused"),
            "{}",
            r.text()
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["links"][1]["severity"], "alarm");
        assert_eq!(json["schema"], "chavion-tui/status/1");
    }
}
