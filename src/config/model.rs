//! The config file's shape. Every field has a default, so an empty file is a valid config
//! describing the platform as deployed (see assets/config.example.toml).

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub redis: RedisConfig,
    pub ui: UiConfig,
    pub agents: Vec<AgentConfig>,
    pub ports: Vec<PortConfig>,
    pub probes: ProbeConfig,
    pub socketio: Vec<SocketIoEndpoint>,
    pub activity: ActivityConfig,
    pub celery: CeleryConfig,
    pub store: StoreConfig,
    /// The flight recorder: every event kept on disk for replay.
    pub recorder: RecorderConfig,
    pub executor: ExecutorConfig,
    pub logs: LogsConfig,
    pub keymap: KeymapConfig,
    /// Alert rules, judged on the state at each tick. Giving any replaces the defaults.
    pub alerts: Vec<AlertRule>,
    /// Where alerts are sent: webhooks and local commands. None by default.
    pub notify: Vec<Notifier>,
    /// The platform's Prometheus (phase 2), read for the Metrics pane.
    pub prometheus: PrometheusConfig,
    /// PromQL queries drawn as sparklines in the Metrics pane.
    pub panels: Vec<Panel>,
    /// The Docker Engine the agents' containers run on.
    pub docker: DockerConfig,
    /// Other platforms watched at once (`[[contexts]]`): read by `contexts::expand`, each
    /// becoming a whole config of its own. Here only so the file's parser accepts them.
    pub contexts: Vec<toml::Value>,
}

/// Where the Docker Engine is, and which containers are the platform's.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DockerConfig {
    /// `unix:///var/run/docker.sock`, `tcp://HOST:PORT` (TLS with `ca_file`, `cert_file`,
    /// `key_file`), or `ssh://NAME` for an `[[executor.hosts]]` entry, whose socket is
    /// forwarded over the executor's SSH (host keys as strict as ever). "" turns it off.
    pub url: Spanned<String>,
    /// The remote socket an `ssh://` URL forwards.
    pub remote_socket: String,
    pub ca_file: String,
    pub cert_file: String,
    pub key_file: String,
    /// Only this Compose project's containers; "" for every container on the Engine.
    pub project: String,
    /// Compose services (or container names) whose logs follow into the activity stream
    /// from the start.
    pub follow_logs: Vec<String>,
    /// How far back a container's logs start when followed (seconds).
    pub logs_since_secs: Spanned<u64>,
}

/// One place alerts are sent: a webhook (POST JSON) or a local command (the alert as JSON on
/// its stdin). Exactly one of `webhook`, `webhook_env` and `command`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifier {
    pub name: Spanned<String>,
    /// The URL; it often holds a secret (Slack's does), so it is never shown whole.
    #[serde(default)]
    pub webhook: Option<Spanned<String>>,
    /// The name of an environment variable holding the URL, to keep it out of the file.
    #[serde(default)]
    pub webhook_env: Option<Spanned<String>>,
    /// A program and its arguments, run without a shell.
    #[serde(default)]
    pub command: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub format: NotifyFormat,
    /// Seconds one attempt may take.
    #[serde(default = "notify_timeout")]
    pub timeout_secs: Spanned<u64>,
    /// Attempts after the first when one fails (a timeout, a 5xx, a 429, a refused connection).
    #[serde(default = "notify_retries")]
    pub retries: Spanned<u32>,
    /// Also send when an alert resolves.
    #[serde(default = "yes")]
    pub resolved: bool,
}

fn notify_timeout() -> Spanned<u64> {
    Spanned::new(0..0, 5)
}

fn notify_retries() -> Spanned<u32> {
    Spanned::new(0..0, 2)
}

fn yes() -> bool {
    true
}

/// The shape of a webhook's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyFormat {
    /// The alert as one JSON object (what a command gets on stdin too).
    #[default]
    Json,
    /// `{"text": "…"}`: Slack's incoming webhooks, and Mattermost's and Rocket.Chat's.
    Slack,
}

/// The platform's Prometheus: none by default.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PrometheusConfig {
    pub url: Option<Spanned<String>>,
    /// Grafana beside it, whose Ports row is then probed there.
    pub grafana_url: Option<Spanned<String>>,
    /// Seconds between two reads of the panels.
    pub every_secs: Option<Spanned<u64>>,
}

/// One PromQL query, drawn as a sparkline over the last `range_secs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub title: String,
    pub query: Spanned<String>,
    #[serde(default = "panel_range")]
    pub range_secs: Spanned<u64>,
    /// A unit shown after the latest value ("/s", "%", "s").
    #[serde(default)]
    pub unit: String,
}

fn panel_range() -> Spanned<u64> {
    Spanned::new(0..0, 3600)
}

/// One alert rule: a condition, how long it must hold before the alert fires, and how
/// serious it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    pub name: String,
    pub rule: Spanned<AlertKind>,
    /// Seconds the condition must hold before the alert fires: flapping is damped.
    #[serde(default = "no_wait")]
    pub for_secs: Spanned<u64>,
    #[serde(default)]
    pub severity: AlertSeverity,
    /// failure_ratio: the ratio (0.05 is 5 %); queue_depth: the depth.
    #[serde(default)]
    pub threshold: Option<Spanned<f64>>,
    /// failure_ratio and events_stalled: the window looked at, in seconds.
    #[serde(default)]
    pub window_secs: Option<Spanned<u64>>,
    /// failure_ratio: tasks ended in the window before a ratio means anything.
    #[serde(default)]
    pub min_tasks: Option<Spanned<u64>>,
    /// The `[[notify]]` names it goes to; left out, it goes to all of them; `[]`, to none.
    #[serde(default)]
    pub notify: Option<Spanned<Vec<String>>>,
}

fn no_wait() -> Spanned<u64> {
    Spanned::new(0..0, 0)
}

/// What an alert rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A worker without a heartbeat (Celery's rule: 2 × freq).
    WorkerOffline,
    /// Failed / (failed + succeeded) of one task name over `window_secs`.
    FailureRatio,
    /// A queue's true depth (all four priority sub-queues).
    QueueDepth,
    /// A required port-map entry down.
    PortDown,
    /// A certificate with fewer than `probes.cert_alarm_days` left.
    CertExpiring,
    /// An internal service found listening on a public address.
    Exposure,
    /// No task event for `window_secs` while workers are online.
    EventsStalled,
    /// Messages wait in a queue (more than `threshold`, 0 by default) that no live worker
    /// consumes.
    QueueUnconsumed,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl AlertSeverity {
    pub fn label(self) -> &'static str {
        match self {
            AlertSeverity::Info => "info",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Empty: SQLite in the data dir. Or `postgres://user:pass@host/db`, or a file path.
    pub url: Spanned<String>,
    /// Activity lines kept in the store; older ones are trimmed with each batch.
    pub activity_keep: Spanned<i64>,
}

/// The flight recorder (docs/RECORDER.md): segments in the data dir's `recordings/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecorderConfig {
    pub enabled: bool,
    /// Segments older than this many days are removed, oldest first.
    pub keep_days: Spanned<u64>,
    /// And the oldest go while all of them together are over this many MiB.
    pub keep_mib: Spanned<u64>,
}

/// The services' own log files, followed like `tail -F` into the activity stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogsConfig {
    /// How often every file is checked for new lines, rotation and truncation.
    pub poll_ms: Spanned<u64>,
    pub files: Vec<LogFile>,
    /// systemd units followed with `journalctl -f -o json -u UNIT`.
    pub journal: Vec<JournalUnit>,
    /// Files on other hosts, followed over the executor's SSH like `tail -F`.
    pub remote: Vec<RemoteLog>,
}

/// A file on another host (`[[logs.remote]]`): nothing is installed there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteLog {
    /// An `[[executor.hosts]]` name: its address, login and known_hosts.
    pub host: Spanned<String>,
    /// The file's path on that host.
    pub path: Spanned<String>,
    /// The source its lines show; empty: the file's name without its extension.
    #[serde(default)]
    pub name: String,
    /// Read what the file already holds at the first connection, not just what is added.
    #[serde(default)]
    pub from_start: bool,
}

impl RemoteLog {
    pub fn source(&self) -> String {
        if !self.name.is_empty() {
            return crate::sanitize::clean(&self.name, 60);
        }
        let path = self.path.get_ref();
        let file = path.rsplit('/').next().unwrap_or(path);
        let stem = file
            .split('.')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(file);
        crate::sanitize::clean(stem, 60)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalUnit {
    pub unit: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFile {
    /// A path, or a glob in its last part (`/var/log/chavion/*.log`); `~/` is the home dir.
    pub path: Spanned<String>,
    /// The source its lines show; empty: the file's name without its extension.
    #[serde(default)]
    pub name: String,
    /// Read what the file already holds at start-up, not just what is added later.
    #[serde(default)]
    pub from_start: bool,
}

/// The emergency executor: vetted runbooks fired over SSH when the queue path is broken.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutorConfig {
    /// `:run HOST COMMAND` for commands that are not runbooks. Off unless asked for.
    pub allow_adhoc: bool,
    pub connect_timeout_secs: Spanned<u64>,
    /// An SSH keepalive after this long without traffic; three unanswered drop the link.
    pub keepalive_secs: Spanned<u64>,
    /// Between TERM and KILL when a run is cancelled or times out.
    pub kill_grace_secs: Spanned<u64>,
    /// Output lines kept per run tab; the oldest go first.
    pub scrollback_lines: Spanned<usize>,
    pub hosts: Vec<SshHost>,
    pub runbooks: Vec<Runbook>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SshHost {
    pub name: Spanned<String>,
    pub address: String,
    pub port: Spanned<u16>,
    pub user: Spanned<String>,
    /// A private key file; empty tries ~/.ssh/id_ed25519, id_ecdsa and id_rsa.
    pub identity: String,
    /// Try the ssh-agent (SSH_AUTH_SOCK) before key files.
    pub agent: bool,
    /// Host keys are checked against this file, strictly: there is no way to skip it.
    pub known_hosts: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Runbook {
    pub name: Spanned<String>,
    /// Names from `[[executor.hosts]]`; the first is the default.
    pub hosts: Spanned<Vec<String>>,
    /// Run by the login shell as `sh -c`, under `timeout --kill-after`.
    pub command: Spanned<String>,
    pub description: String,
    pub timeout_secs: Spanned<u64>,
    /// Asks for the host's name to be typed before it runs.
    pub destructive: bool,
    /// Agents this runbook repairs: offered on their tiles when the queue path is down.
    pub agents: Vec<String>,
}

impl Runbook {
    /// Whether this runbook repairs `agent` (names compare without case).
    pub fn repairs(&self, agent: &str) -> bool {
        self.agents.iter().any(|a| a.eq_ignore_ascii_case(agent))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CeleryConfig {
    /// Broadcast `enable_events` on the pidbox, as Flower does, so task events flow even
    /// from workers started without `-E`.
    pub enable_events: bool,
    pub enable_events_secs: Spanned<u64>,
    /// How often queue depths are sampled (one pipelined round trip).
    pub sample_ms: Spanned<u64>,
    /// Find queues from kombu's bindings (`_kombu.binding.*`) as well as the config.
    pub discover_queues: bool,
    /// Task history kept in memory; the oldest are evicted first.
    pub max_tasks: Spanned<usize>,
    /// Workers offline longer than this are forgotten.
    pub forget_workers_secs: Spanned<u64>,
    /// The broker's visibility timeout (kombu's `visibility_timeout`, an hour by default):
    /// a task held by a worker that went away and was not handed back by then is lost.
    pub visibility_timeout_secs: Spanned<u64>,
    /// Celery's Redis result backend, if the platform uses one: results are read from
    /// `celery-task-meta-<id>` there as well as from the events.
    pub result_backend: String,
    /// A dispatch no worker has reported after this long is looked for in Redis: still
    /// queued, held unacked by a worker, or lost in the broker.
    pub lost_after_secs: Spanned<u64>,
    /// Push a lost dispatch again, same id and bytes (at most 3 times). Only for a platform
    /// whose tasks are idempotent on their id: the task may have run with its events lost.
    pub redeliver_lost: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    pub url: Spanned<String>,
    pub agent_channel: String,
    pub activity_channel: String,
    /// kombu's `global_keyprefix` transport option, if the platform sets one.
    pub global_keyprefix: String,
    /// kombu's `fanout_prefix` transport option (on by default in kombu).
    pub fanout_prefix: bool,
    /// Where every control room announces its operators' actions to the others.
    pub audit_channel: String,
    /// With a `sentinel://` URL: the master's name, as kombu's `master_name` transport option.
    pub master_name: Spanned<String>,
    /// With a `sentinel://` URL: the sentinels' own password, when they want one (kombu's
    /// `sentinel_kwargs`). Never shown.
    pub sentinel_password: String,
    /// With a `rediss://` URL: a PEM file of the CA to verify the server against (a private
    /// CA), instead of the system's roots. Never a way round verification.
    pub ca_file: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    pub theme: Spanned<String>,
    pub keymap: Spanned<String>,
    pub color: ColorChoice,
    /// Upper bound on frames per second; frames are drawn only when something changed.
    pub max_fps: Spanned<u32>,
    /// Removed: mouse capture is always off, so the terminal's own selection and copy work
    /// over SSH. Still read, so a config that sets it is told why in words (issue 14).
    pub mouse: Option<Spanned<bool>>,
    pub utc: bool,
    /// Ring the terminal's bell when an alert fires.
    pub bell: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    Auto,
    Truecolor,
    #[serde(rename = "256")]
    #[value(name = "256")]
    C256,
    #[serde(rename = "16")]
    #[value(name = "16")]
    C16,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    pub name: Spanned<String>,
    pub model: String,
    pub role: String,
    /// Celery queues this agent's workers consume; the first is where dispatches go.
    pub queues: Vec<String>,
    /// Worker hostname patterns (`*` wildcard) that belong to this agent.
    pub hostnames: Vec<String>,
    /// Seconds without a heartbeat before the tile turns offline by itself.
    pub stale_after_secs: Spanned<u64>,
    /// Task names offered when dispatching to this agent.
    pub tasks: Vec<String>,
    /// Its containers: Compose service names or container-name patterns (`*` wildcard).
    /// Empty: the agent's name in lower case.
    pub containers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Must be up: down is an alarm.
    Required,
    /// Phase 2 or nice-to-have: absent shows grey, not red.
    Optional,
    /// Must not be reachable (an internal service on a public address, say).
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// A TCP connect.
    Tcp,
    /// GET `path`, expecting `status` (or any status below 500).
    Http,
    /// The same over TLS, verified against the system's roots (and `ca_file`).
    Https,
    /// PING, with the credentials of `url` if given.
    Redis,
    /// Connect with the credentials of `url` and run `SELECT 1`.
    Postgres,
    /// The Engine.IO open packet of a Socket.IO server.
    Socketio,
    /// A verified TLS handshake, and the days left on the certificate.
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortConfig {
    pub name: String,
    /// A host name or address, on this machine or another (Cloud SQL, Cloud Run, a VM).
    pub host: String,
    pub port: Spanned<u16>,
    pub expect: Expect,
    pub probe: ProbeKind,
    /// For http/https: the path to GET.
    pub path: String,
    /// For http/https: the status expected; any status below 500 when not given.
    pub status: Option<u16>,
    /// For redis/postgres: a URL with credentials (never printed). For http/https/socketio:
    /// a full URL to probe instead of host:port.
    pub url: String,
    /// For https/tls: a PEM file of extra CAs to trust (a private CA). Never a way round
    /// verification.
    pub ca_file: String,
    /// Internal services must never listen on a public address (the exposure audit).
    pub internal: bool,
    /// An `[[executor.hosts]]` name: the port is checked from that host, through an SSH
    /// tunnel (`direct-tcpip`), so internal-only ports are checked from inside.
    pub probe_via: String,
    /// Overrides of [probes] for this entry.
    pub interval_secs: Option<Spanned<u64>>,
    pub timeout_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeConfig {
    pub interval_secs: Spanned<u64>,
    pub timeout_ms: Spanned<u64>,
    /// Consecutive failures before an entry shows down: one lost probe is not an outage.
    pub fail_after: Spanned<u32>,
    /// TLS certificates: a warning under this many days left, an alarm under `cert_alarm_days`.
    pub cert_warn_days: Spanned<i64>,
    pub cert_alarm_days: Spanned<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocketIoEndpoint {
    pub name: String,
    /// ws:// or wss:// (rustls, system roots).
    pub url: Spanned<String>,
    pub path: String,
    pub namespaces: Vec<String>,
    /// Sent as `{"token": …}` when connecting each namespace. Never printed.
    pub token: String,
    /// Or the name of an environment variable holding the token.
    pub token_env: String,
    /// Socket.IO event name → what it means to the control room. Events not listed show as
    /// raw activity; none is dropped.
    pub events: std::collections::BTreeMap<String, Meaning>,
    /// Frames larger than this are refused with a warning (the connection is kept).
    pub max_frame: Spanned<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Meaning {
    /// A Chavion agent-state payload (docs/PROTOCOL.md).
    AgentState,
    /// A Chavion activity payload.
    Activity,
    /// `{task_id, state, name?, result?, exception?}`.
    TaskUpdate,
    /// `{queue, depth}` or a list of them.
    QueueDepth,
    /// Shown as an activity line as it is.
    Raw,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActivityConfig {
    /// Lines kept in memory; the oldest are dropped first.
    pub max_lines: Spanned<usize>,
    /// Longer lines are cut, with a marker.
    pub max_line_chars: Spanned<usize>,
    /// Bytes of text kept in memory; the oldest lines are dropped first, whichever bound
    /// (this or max_lines) is reached first.
    pub max_bytes: Spanned<usize>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct KeymapConfig {
    pub normal: Vec<BindingSpec>,
    pub help: Vec<BindingSpec>,
    pub executor: Vec<BindingSpec>,
    pub log: Vec<BindingSpec>,
    // Each view's own keys (`Section::VIEWS`), over the main screen's.
    pub dashboard: Vec<BindingSpec>,
    pub tasks: Vec<BindingSpec>,
    pub workers: Vec<BindingSpec>,
    pub issues: Vec<BindingSpec>,
    pub alerts: Vec<BindingSpec>,
    pub metrics: Vec<BindingSpec>,
    pub containers: Vec<BindingSpec>,
    pub contexts: Vec<BindingSpec>,
    pub links: Vec<BindingSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingSpec {
    pub on: Spanned<String>,
    pub run: Spanned<String>,
    #[serde(default)]
    pub desc: Option<String>,
}

pub use super::defaults::{default_agents, default_ports};
