//! The agents' containers as the state holds them: what the Docker Engine last said of
//! each, which agent it belongs to, and its CPU and memory samples. Data, and the questions
//! asked of it; the room that changes it is `app::containers`.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, VecDeque};

use crate::platform::containers::{Container, Usage};

/// Stats samples kept per container (2 s apart: two minutes).
pub const HISTORY: usize = 60;

#[derive(Debug, Clone, Default)]
pub struct Docker {
    /// `[docker] url` is set.
    pub on: bool,
    /// The Engine's address as shown in a confirmation (no secrets).
    pub host: String,
    pub rows: BTreeMap<String, Row>,
    /// Per agent, the services and name patterns that are its containers.
    pub patterns: Vec<Vec<String>>,
    /// The Containers view's selection, by container id.
    pub pick: Option<String>,
    /// The Containers view is open (the feed samples stats only then).
    pub looking: bool,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub c: Container,
    pub agent: Option<usize>,
    pub usage: Option<Usage>,
    /// CPU in tenths of a percent, and memory in bytes: one sample each per stats read.
    pub cpu: VecDeque<u64>,
    pub mem: VecDeque<u64>,
    /// When the Engine last said something of it.
    pub seen: DateTime<Utc>,
}

impl Docker {
    pub fn new(cfg: &crate::config::Config) -> Docker {
        Docker {
            on: !cfg.docker.url.get_ref().trim().is_empty(),
            host: crate::sanitize::redact_url(cfg.docker.url.get_ref()),
            patterns: cfg
                .agents
                .iter()
                .map(|a| {
                    if a.containers.is_empty() {
                        vec![a.name.get_ref().to_lowercase()]
                    } else {
                        a.containers.clone()
                    }
                })
                .collect(),
            ..Docker::default()
        }
    }

    /// The agent a container belongs to: its Compose service, or its name, matched against
    /// each agent's patterns.
    pub fn agent_of(&self, c: &Container) -> Option<usize> {
        self.patterns.iter().position(|ps| {
            ps.iter().any(|p| {
                c.service
                    .as_deref()
                    .is_some_and(|s| crate::glob::matches(p, s))
                    || crate::glob::matches(p, &c.name)
            })
        })
    }

    /// The rows as listed: each agent's containers first, in the agents' order, then the
    /// rest of the project by name.
    pub fn listed(&self) -> Vec<&Row> {
        let mut rows: Vec<&Row> = self.rows.values().collect();
        rows.sort_by(|a, b| {
            (a.agent.is_none(), a.agent, &a.c.name).cmp(&(b.agent.is_none(), b.agent, &b.c.name))
        });
        rows
    }

    /// The containers of agent `i`.
    pub fn of_agent(&self, i: usize) -> Vec<&Row> {
        self.listed()
            .into_iter()
            .filter(|r| r.agent == Some(i))
            .collect()
    }

    pub fn picked(&self) -> Option<&Row> {
        self.pick.as_ref().and_then(|id| self.rows.get(id))
    }
}
