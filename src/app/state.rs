//! Everything the screen shows, and nothing that touches the outside world. Every
//! collection here is bounded: the control room runs for days.

use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, HashMap, VecDeque};

pub use crate::app::model::activity::{ActivityLog, LogLine};
pub use crate::app::model::runs::*;
pub use crate::app::model::task_ring::TaskStore;
pub use crate::app::ui_state::*;
use crate::config::Config;
use crate::config::keymap::Keymap;
use crate::config::model::Expect;
use crate::event::LinkHealth;
pub use crate::kept::{Task, Worker};
use crate::platform::model::AgentState;

/// Samples of history kept per queue and per port (one a second: two minutes).
pub const HISTORY: usize = 120;
/// Agents that announce themselves beyond the configured ones get tiles up to this many.
pub const MAX_AGENTS: usize = 12;

#[derive(Debug, Clone)]
pub struct AgentTile {
    pub name: String,
    pub model: String,
    pub role: String,
    pub queues: Vec<String>,
    pub hostnames: Vec<String>,
    pub stale_after: Duration,
    /// Task names offered when dispatching to this agent.
    pub tasks: Vec<String>,
    pub state: AgentState,
    pub since: DateTime<Utc>,
    pub task: Option<String>,
    pub detail: Option<String>,
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// Its tasks that ended lately, (when, failed), newest last, at most `ENDED_KEPT`:
    /// "failing" is a rate over a window, not the last event.
    pub ended: VecDeque<(DateTime<Utc>, bool)>,
    /// When its last task failed: a fact to show, not a state.
    pub last_failure: Option<DateTime<Utc>>,
}

/// Ended tasks kept per agent for its failure rate.
pub const ENDED_KEPT: usize = 50;
/// An agent is failing when, over the last `FAILING_WINDOW`, at least `FAILING_MIN` of its
/// tasks ended and more than half of them failed.
pub const FAILING_WINDOW: Duration = Duration::minutes(5);
pub const FAILING_MIN: usize = 3;

impl AgentTile {
    /// Notes a task of its that ended.
    pub fn ended(&mut self, at: DateTime<Utc>, failed: bool) {
        if self.ended.len() >= ENDED_KEPT {
            self.ended.pop_front();
        }
        self.ended.push_back((at, failed));
        if failed {
            self.last_failure = Some(at);
        }
    }

    /// More than half of at least `FAILING_MIN` tasks failed within `FAILING_WINDOW`.
    pub fn failing(&self, now: DateTime<Utc>) -> bool {
        let recent = self
            .ended
            .iter()
            .filter(|(t, _)| now - *t <= FAILING_WINDOW);
        let (n, failed) = recent.fold((0, 0), |(n, f), (_, x)| (n + 1, f + *x as usize));
        n >= FAILING_MIN && failed * 2 > n
    }
}

#[derive(Debug, Clone)]
pub struct QueueRow {
    pub name: String,
    pub depth: u64,
    pub reserved: u64,
    pub history: VecDeque<u64>,
    /// task-sent events seen for this queue, ever: the inflow, when producers send them.
    pub sent_total: u64,
    /// task-received events of its tasks, ever: the drain, whoever produced them.
    pub received_total: u64,
    /// The previous sample: when, depth, sent_total, received_total.
    pub last: Option<(DateTime<Utc>, u64, u64, u64)>,
    /// Messages per second in and out, estimated between samples.
    pub in_rate: Option<f64>,
    pub out_rate: Option<f64>,
}

impl QueueRow {
    /// Whether its depth has been read from Redis at least once.
    pub fn sampled(&self) -> bool {
        self.last.is_some()
    }

    pub fn new(name: &str) -> QueueRow {
        QueueRow {
            name: name.to_string(),
            depth: 0,
            reserved: 0,
            history: VecDeque::with_capacity(HISTORY),
            sent_total: 0,
            received_total: 0,
            last: None,
            in_rate: None,
            out_rate: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PortStatus {
    Unknown,
    Up { latency_ms: f64 },
    Down { why: String },
}

/// One `[[panels]]` query and what Prometheus last said of it.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub query: String,
    pub unit: String,
    pub range_secs: u64,
    pub series: Vec<crate::event::PanelSeries>,
    /// Why the last read failed (the series shown are the last good ones).
    pub error: Option<String>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct PortRow {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub expect: Expect,
    pub status: PortStatus,
    pub latency_history: VecDeque<u64>,
    /// Failures in a row, and how many make it down.
    pub fails: u32,
    pub fail_after: u32,
    /// For TLS probes: days left on the certificate.
    pub cert_days: Option<i64>,
    pub internal: bool,
    /// Checked from this `[[executor.hosts]]` host (`probe_via`), not from here.
    pub via: String,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub name: String,
    pub health: LinkHealth,
    /// The last failure logged, so a link retrying in a loop is logged once per reason.
    pub last_down: Option<String>,
    /// Since when it has been up, degraded, or not up (connecting and down are one spell:
    /// a link retrying cycles through both).
    pub since: DateTime<Utc>,
    /// Its last error and when it came, kept after it recovers (the Links view shows it).
    pub last_error: Option<(DateTime<Utc>, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub events: u64,
    pub malformed: u64,
    /// Messages a feed shed rather than block its socket reader.
    pub shed: u64,
    /// Worker events from a hostname not kept because the workers map was full
    /// (`MAX_WORKERS`): anyone who can PUBLISH can announce a worker.
    pub workers_turned_away: u64,
}

/// The most workers kept at once. A real platform has tens; a flood of fake hostnames must
/// not grow the map (and the tick's sweep over it, and the history) without end.
pub const MAX_WORKERS: usize = 2_000;

/// Who this control room is, for this run: given at construction, never changed.
#[derive(Debug, Clone)]
pub struct Session {
    /// The simulated fleet: nothing is sent anywhere.
    pub demo: bool,
    /// Every action that changes the platform is refused.
    pub read_only: bool,
    /// Drawn once per run: the TUI's task ids derive from it (see `derived_task_id`).
    pub id_seed: u64,
    /// `origin` header of dispatched messages: chavion-tui@host.
    pub origin: String,
    /// This control room on the audit channel, to tell its own broadcasts from others'.
    pub instance: String,
    /// The operator, as the audit trail names them: an acknowledgement says who.
    pub who: String,
    /// The context this state watches, and every context's name (one: `default` alone).
    pub context: crate::config::contexts::ContextMeta,
    pub contexts: Vec<String>,
}

impl Default for Session {
    fn default() -> Session {
        Session {
            demo: false,
            read_only: false,
            id_seed: 0,
            origin: "chavion-tui".into(),
            instance: String::new(),
            who: "operator".into(),
            context: Default::default(),
            contexts: Vec::new(),
        }
    }
}

/// What the config decides about judging and keeping: read once, at construction.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Workers offline longer than this are forgotten.
    pub forget_workers_after: Duration,
    /// A dispatch no worker has reported after this long is looked for.
    pub lost_after: Duration,
    /// The broker's visibility timeout: what a vanished worker held is lost after it.
    pub visibility_timeout: Duration,
    /// A lost dispatch is pushed again (tasks idempotent on their id).
    pub redeliver_lost: bool,
    pub cert_warn_days: i64,
    pub cert_alarm_days: i64,
    /// Where Ctrl-S saves the filtered activity.
    pub save_dir: std::path::PathBuf,
}

impl Policy {
    /// From the config; `save_dir` is where saved views go (the data dir's `saved/`).
    pub fn from_config(cfg: &Config, save_dir: std::path::PathBuf) -> Policy {
        Policy {
            forget_workers_after: Duration::seconds(
                *cfg.celery.forget_workers_secs.get_ref() as i64
            ),
            lost_after: Duration::seconds(*cfg.celery.lost_after_secs.get_ref() as i64),
            visibility_timeout: Duration::seconds(
                *cfg.celery.visibility_timeout_secs.get_ref() as i64
            ),
            redeliver_lost: cfg.celery.redeliver_lost,
            cert_warn_days: *cfg.probes.cert_warn_days.get_ref(),
            cert_alarm_days: *cfg.probes.cert_alarm_days.get_ref(),
            save_dir,
        }
    }
}

/// The domain (what the platform is doing, as last heard), the UI's own state, and the
/// session and policy it was built with.
#[derive(Debug, Clone)]
pub struct State {
    pub now: DateTime<Utc>,
    pub session: Session,
    pub policy: Policy,
    pub utc: bool,
    pub keymap: Keymap,
    pub agents: Vec<AgentTile>,
    pub queues: Vec<QueueRow>,
    pub ports: Vec<PortRow>,
    pub links: Vec<Link>,
    pub activity: ActivityLog,
    pub workers: BTreeMap<String, Worker>,
    pub tasks: TaskStore,
    pub counters: Counters,
    /// Which task was retried as which: bulk retries pick only the newest of a chain.
    pub retries: crate::app::model::retries::Retries,
    /// When the last purges announced on the audit channel were applied to the tasks: at
    /// most `gone::SCANS_PER_SEC` scans a second, whatever a publisher floods it with.
    pub purge_scans: VecDeque<DateTime<Utc>>,
    pub ui: Ui,
    pub flash: Option<Flash>,
    /// When the last Celery task event arrived: are task events flowing?
    pub last_task_event: Option<DateTime<Utc>>,
    /// Since when the Redis feed has been lost (it was up before): while it is, workers,
    /// agents and queue figures are unknown, not offline, and heartbeats do not expire.
    pub feed_lost: Option<DateTime<Utc>>,
    /// The port-map row that is the Redis the feeds use, so a lost feed shows there at once.
    pub redis_port: Option<usize>,
    /// This control room's dispatches, until a worker reports them (see `watch.rs`).
    pub own_dispatches: crate::app::model::own_dispatches::Watch,
    pub dispatches: u64,
    /// Where the sentinels last said the broker's master is, and since when (a `sentinel://`
    /// broker only).
    pub master: Option<(crate::event::MasterNews, DateTime<Utc>)>,
    /// What the exposure audit found, newest scan.
    pub exposure: Vec<crate::platform::exposure::Finding>,
    pub executor: Executor,
    /// An audit store holds older activity: scrolling past the top pages it in.
    pub history_store: bool,
    /// When the task history was last saved (see `history.rs`).
    pub history_saved: Option<DateTime<Utc>>,
    /// This control room's dispatches whose end is not known yet (bounded): when one ends,
    /// `Effect::ResultKnown` stops its result-backend poll.
    pub results_awaited: crate::kept::IdSet,
    /// Effects asked for while applying a feed (applying returns only whether to redraw):
    /// `update` hands them out with its outcome.
    pub effects_due: Vec<crate::app::effect::Effect>,
    /// What each worker said when last asked (its detail), by hostname.
    pub inspected: HashMap<String, Inspected>,
    /// The alert rules, the alerts in force and their history.
    pub alerts: crate::app::model::alert_book::Book,
    /// The agents' containers, from the Docker Engine.
    pub docker: crate::app::model::containers::Docker,
    /// The Prometheus panels, as last read.
    pub panels: Vec<Panel>,
    /// Task events counted for /metrics, while it is served.
    pub task_counts: crate::app::model::task_counts::Tally,
    /// The latest answers to orders (when, ok, the line), oldest first, bounded: a worker's
    /// detail shows those that name it.
    pub fleet_said: VecDeque<(DateTime<Utc>, bool, String)>,
}

/// A worker's detail as last asked, and whether a question is out.
#[derive(Debug, Clone, Default)]
pub struct Inspected {
    pub detail: crate::platform::pidbox::WorkerDetail,
    /// When it last answered.
    pub at: Option<DateTime<Utc>>,
    /// When it was last asked; None once its answer (or silence) is in.
    pub asking: Option<DateTime<Utc>>,
    pub asked_at: Option<DateTime<Utc>>,
    /// Why the last question got no answer.
    pub error: Option<String>,
}

impl State {
    /// Whether agent `i` is alive: one of its Celery workers is online, or its own report
    /// is fresh (idle, busy, or reporting an error). A failed last task is not down.
    pub fn agent_up(&self, i: usize) -> bool {
        self.workers
            .values()
            .any(|w| w.online && w.agent == Some(i))
            || self
                .agents
                .get(i)
                .is_some_and(|a| !matches!(a.state, AgentState::Offline | AgentState::Unknown))
    }

    /// Since when the queue figures have been stale: the feed lost, or the sampler's link
    /// down (then since the feed's loss if known, else now).
    pub fn queues_stale_since(&self) -> Option<DateTime<Utc>> {
        let sampler_down = self.links.iter().any(|l| {
            l.name == crate::event::links::QUEUES
                && !matches!(
                    l.health,
                    crate::event::LinkHealth::Up | crate::event::LinkHealth::Degraded { .. }
                )
        });
        self.feed_lost.or(sampler_down.then_some(self.now))
    }

    /// The one action gate, as this session was started.
    pub fn gate(&self) -> crate::gate::Gate {
        crate::gate::Gate {
            demo: self.session.demo,
            read_only: self.session.read_only,
        }
    }

    /// A state with the default session (live, not read-only) and the config's policy.
    pub fn new(cfg: &Config, keymap: Keymap, now: DateTime<Utc>) -> State {
        let policy = Policy::from_config(cfg, std::env::temp_dir());
        State::with(cfg, keymap, now, Session::default(), policy)
    }

    /// A state for this session and policy, given at construction.
    // Long, on purpose: one struct literal, field by field.
    pub fn with(
        cfg: &Config,
        keymap: Keymap,
        now: DateTime<Utc>,
        session: Session,
        policy: Policy,
    ) -> State {
        let agents = cfg
            .agents
            .iter()
            .map(|a| AgentTile {
                name: a.name.get_ref().to_uppercase(),
                model: a.model.clone(),
                role: a.role.clone(),
                queues: a.queues.clone(),
                hostnames: a.hostnames.clone(),
                stale_after: Duration::seconds(*a.stale_after_secs.get_ref() as i64),
                tasks: a.tasks.clone(),
                state: AgentState::Unknown,
                since: now,
                task: None,
                detail: None,
                last_heartbeat: None,
                ended: VecDeque::new(),
                last_failure: None,
            })
            .collect::<Vec<_>>();
        let mut queues: Vec<QueueRow> = Vec::new();
        for q in cfg.agents.iter().flat_map(|a| a.queues.iter()) {
            if !queues.iter().any(|r| &r.name == q) {
                queues.push(QueueRow::new(q));
            }
        }
        State {
            now,
            session,
            policy,
            utc: cfg.ui.utc,
            keymap,
            agents,
            queues,
            ports: cfg
                .ports
                .iter()
                .map(|p| PortRow {
                    name: p.name.clone(),
                    host: p.host.clone(),
                    port: *p.port.get_ref(),
                    expect: p.expect,
                    status: PortStatus::Unknown,
                    latency_history: VecDeque::with_capacity(HISTORY),
                    fails: 0,
                    fail_after: (*cfg.probes.fail_after.get_ref()).max(1),
                    cert_days: None,
                    internal: p.internal,
                    via: p.probe_via.clone(),
                })
                .collect(),
            links: Vec::new(),
            activity: ActivityLog::new(
                *cfg.activity.max_lines.get_ref(),
                *cfg.activity.max_bytes.get_ref(),
                *cfg.activity.max_line_chars.get_ref(),
            ),
            workers: BTreeMap::new(),
            tasks: TaskStore::new(*cfg.celery.max_tasks.get_ref()),
            counters: Counters::default(),
            retries: Default::default(),
            purge_scans: VecDeque::new(),
            flash: None,
            last_task_event: None,
            feed_lost: None,
            redis_port: None,
            own_dispatches: Default::default(),
            dispatches: 0,
            exposure: Vec::new(),
            history_store: false,
            history_saved: None,
            results_awaited: Default::default(),
            master: None,
            effects_due: Vec::new(),
            inspected: Default::default(),
            fleet_said: VecDeque::new(),
            task_counts: Default::default(),
            docker: crate::app::model::containers::Docker::new(cfg),
            panels: cfg
                .panels
                .iter()
                .map(|p| Panel {
                    title: crate::sanitize::clean(&p.title, 80),
                    query: p.query.get_ref().clone(),
                    unit: crate::sanitize::clean(&p.unit, 12),
                    range_secs: *p.range_secs.get_ref(),
                    series: Vec::new(),
                    error: None,
                    read_at: None,
                })
                .collect(),
            alerts: crate::app::model::alert_book::Book::new(
                &cfg.alerts,
                &cfg.notify
                    .iter()
                    .map(|n| n.name.get_ref().clone())
                    .collect::<Vec<_>>(),
                cfg.ui.bell,
            ),
            executor: Executor {
                config: std::sync::Arc::new(cfg.executor.clone()),
                runs: Vec::new(),
                tab: 0,
                book_sel: 0,
                agent_filter: None,
                next_id: 1,
            },
            ui: Ui {
                mode: Mode::Normal,
                history: VecDeque::new(),
                history_pos: None,
                view: View::Dashboard,
                task_pick: None,
                task_sort: TaskSort::Newest,
                filter: String::new(),
                detail_scroll: 0,
                focus: Pane::Agents,
                zoomed: false,
                width: 80,
                height: 24,
                agent_sel: 0,
                queue_sel: 0,
                port_sel: 0,
                help_scroll: 0,
                fullscreen: false,
                goto_pending: None,
                worker_pick: None,
                resume_detail: false,
                issue_pick: None,
                context_rows: Vec::new(),
                context_pick: None,
                alert_pick: None,
                link_pick: None,
                detail_link: None,
                worker_scroll: 0,
                replay: None,
            },
        }
    }

    pub fn agent_index(&self, name: &str) -> Option<usize> {
        self.agents
            .iter()
            .position(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The agent a Celery worker belongs to, by its hostname patterns.
    pub fn agent_for_worker(&self, hostname: &str) -> Option<usize> {
        self.agents.iter().position(|a| {
            a.hostnames
                .iter()
                .any(|p| crate::glob::matches(p, hostname))
        })
    }

    /// Whether a live worker consumes `queue`: Some(false) is a queue no one will take from.
    /// None when it cannot be told: the feed is lost, or a worker online has not said what it
    /// consumes and maps to no agent.
    pub fn consumed(&self, queue: &str) -> Option<bool> {
        if self.feed_lost.is_some() {
            return None;
        }
        let mut unknown = false;
        for w in self.workers.values().filter(|w| w.online) {
            let takes = match (&w.queues, w.agent) {
                (Some(qs), _) => qs.iter().any(|q| q == queue),
                (None, Some(a)) => self.agents[a].queues.iter().any(|q| q == queue),
                (None, None) => {
                    unknown = true;
                    false
                }
            };
            if takes {
                return Some(true);
            }
        }
        (!unknown).then_some(false)
    }

    pub fn agent_for_queue(&self, queue: &str) -> Option<usize> {
        self.agents
            .iter()
            .position(|a| a.queues.iter().any(|q| q == queue))
    }
}
