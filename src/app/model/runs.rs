//! The Executor view's state: the runbooks it was configured with, and one tab per run with
//! its phase and scrollback.

use chrono::{DateTime, Utc};
use std::collections::VecDeque;

use crate::executor::RunPlan;
use crate::executor::run::{RunEnd, Stream};

/// Run tabs open at once; a new run closes the oldest finished tab beyond this.
pub const MAX_RUN_TABS: usize = 8;

#[derive(Debug, Clone)]
pub struct Executor {
    /// The configuration runs are planned from (runbooks, hosts, timeouts).
    pub config: std::sync::Arc<crate::config::model::ExecutorConfig>,
    pub runs: Vec<RunTab>,
    /// 0 is the runbook list; `i` is `runs[i - 1]`.
    pub tab: usize,
    pub book_sel: usize,
    /// Only the runbooks for this agent are listed (the queue path is down for it).
    pub agent_filter: Option<String>,
    pub next_id: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunPhase {
    Connecting,
    Running,
    Cancelling,
    Ended(RunEnd),
}

#[derive(Debug, Clone)]
pub struct RunTab {
    pub id: u64,
    pub plan: RunPlan,
    pub phase: RunPhase,
    pub started: DateTime<Utc>,
    pub lines: VecDeque<(Stream, String)>,
    pub capacity: usize,
    /// Lines dropped off the top of the scrollback.
    pub dropped: u64,
    /// Lines between the bottom of the view and the newest line; 0 follows.
    pub offset: usize,
}

impl RunTab {
    pub fn push(&mut self, stream: Stream, line: String) {
        if self.lines.len() >= self.capacity {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back((stream, line));
        if self.offset > 0 {
            self.offset = (self.offset + 1).min(self.lines.len().saturating_sub(1));
        }
    }

    pub fn running(&self) -> bool {
        !matches!(self.phase, RunPhase::Ended(_))
    }
}

impl Executor {
    /// The runbooks listed, with their index in the config.
    pub fn listed(&self) -> Vec<(usize, &crate::config::model::Runbook)> {
        self.config
            .runbooks
            .iter()
            .enumerate()
            .filter(|(_, r)| match &self.agent_filter {
                Some(a) => r.repairs(a),
                None => true,
            })
            .collect()
    }

    pub fn current(&self) -> Option<&RunTab> {
        self.tab.checked_sub(1).and_then(|i| self.runs.get(i))
    }

    pub fn current_mut(&mut self) -> Option<&mut RunTab> {
        self.tab.checked_sub(1).and_then(|i| self.runs.get_mut(i))
    }

    /// Runbooks that repair `agent`.
    pub fn for_agent(&self, agent: &str) -> Vec<&str> {
        self.config
            .runbooks
            .iter()
            .filter(|r| r.repairs(agent))
            .map(|r| r.name.get_ref().as_str())
            .collect()
    }
}
