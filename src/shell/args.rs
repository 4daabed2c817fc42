//! The command line, as clap reads it: the global flags and every subcommand with its
//! arguments. Only types and their help texts; what each command does is in `commands`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use crate::config::model::ColorChoice;
use crate::platform::pidbox::Inspect;

/// A full-screen terminal control room for the Chavion multi-agent platform.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/chavion-tui/config.toml).
    #[arg(long, global = true, env = "CHAVION_TUI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Redis URL, overriding the config's redis.url (of the context given, or `default`).
    #[arg(long, global = true, value_name = "URL")]
    pub redis: Option<String>,
    /// The context (a `[[contexts]]` name, or `default`) shown first, or acted on.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Audit store: postgres://… or a SQLite file (default: audit.db in the data dir).
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,
    /// Docker Engine, overriding the config's docker.url: unix:///PATH, tcp://HOST:PORT, or
    /// ssh://EXECUTOR_HOST ("" turns it off).
    #[arg(long, global = true, value_name = "URL")]
    pub docker: Option<String>,
    /// Theme: dark, light, high-contrast, mono, or one of your own.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Colour depth; `auto` reads NO_COLOR, COLORTERM and TERM.
    #[arg(long, global = true, value_enum, value_name = "MODE")]
    pub color: Option<ColorChoice>,
    /// Run a simulated fleet inside the process; needs nothing else. With a command that
    /// acts (dispatch, exec), the action is refused: the demo never reaches anything.
    #[arg(long, global = true)]
    pub demo: bool,
    /// Refuse every action that changes the platform (the gate's list, below).
    #[arg(long, global = true, long_help = crate::gate::read_only_help())]
    pub read_only: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (the TUI and `watch`): PORT (on
    /// 127.0.0.1), HOST:PORT or [V6]:PORT.
    #[arg(long, global = true, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// Allow --metrics on an address other machines can reach.
    #[arg(long, global = true, requires = "metrics")]
    pub metrics_public: bool,
    /// Test hook: panic after this many milliseconds, to prove the terminal is restored.
    #[arg(long, hide = true, value_name = "MS")]
    pub crash_after_ms: Option<u64>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// The full-screen control room (the default).
    Tui,
    /// Send a task to an agent; prints its id (and, with --wait, its result).
    Dispatch {
        agent: String,
        task: String,
        /// Positional arguments, a JSON array.
        #[arg(long, default_value = "")]
        args: String,
        /// Keyword arguments, a JSON object.
        #[arg(long, default_value = "")]
        kwargs: String,
        /// 0 (first) to 9.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=9))]
        priority: u8,
        /// Run it this many seconds from now.
        #[arg(long, value_name = "S")]
        countdown: Option<f64>,
        /// Run it at this time (RFC 3339).
        #[arg(long, conflicts_with = "countdown")]
        eta: Option<String>,
        /// Drop it if not started within this many seconds.
        #[arg(long, value_name = "S")]
        expires: Option<f64>,
        /// Wait for the result: exit 0 on success, 1 on failure, 124 on timeout.
        #[arg(long)]
        wait: bool,
        #[arg(long, default_value_t = 60, requires = "wait", value_name = "S")]
        timeout: u64,
    },
    /// Check every probe, feed link and queue once, without a TUI (for cron, Nagios, CI).
    /// Exits 0 all well, 1 degraded, 2 when a required target is down, 3 when it could not
    /// judge (a config error, a bad flag, --demo).
    Status {
        /// JSON with a documented schema (docs/OPERATIONS.md).
        #[arg(long)]
        json: bool,
        /// Every context, each under its name; the exit code is the worst of them.
        #[arg(long)]
        all_contexts: bool,
    },
    /// Run a runbook over SSH, streaming its output; exits with the remote exit code.
    Exec {
        runbook: String,
        /// One of the runbook's hosts (default: its first).
        #[arg(long)]
        host: Option<String>,
        /// Do not ask first (needed when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Run the alert rules without a screen, printing what fires and resolves (for a
    /// systemd service: docs/OPERATIONS.md has a unit file). Only watches: read-only.
    Watch,
    /// What happened between two times, in order, for a post-mortem: state changes of
    /// agents, workers, ports and containers, failure bursts, operator actions with who,
    /// executor runs. Times: 14:05, 14:05:30, -30m, or RFC 3339.
    Timeline {
        #[arg(long, default_value = "-1h", allow_hyphen_values = true)]
        from: String,
        #[arg(long, default_value = "-0m", allow_hyphen_values = true)]
        to: String,
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        #[arg(long)]
        markdown: bool,
    },
    /// Play the flight recorder back through the same screen: the state at --from (rebuilt
    /// from the --warmup before it), then the events at --speed times real time, or one at
    /// a time with --step. Read-only: nothing reaches the platform. With --snapshot, print
    /// the state at --to as JSON (the `status --json` schema, plus tasks and workers).
    /// Times: 14:05, 14:05:30, -30m, or RFC 3339. --demo replays the demo's recordings.
    Replay {
        #[arg(long, default_value = "-15m", allow_hyphen_values = true)]
        from: String,
        #[arg(long, default_value = "-0m", allow_hyphen_values = true)]
        to: String,
        /// Times real time (0.01 to 10000).
        #[arg(long, default_value_t = 1.0, conflicts_with = "step")]
        speed: f64,
        /// Start paused; `.` applies one event at a time.
        #[arg(long)]
        step: bool,
        /// Print the state at --to as JSON instead of opening the screen.
        #[arg(long)]
        snapshot: bool,
        /// How much recorded time before --from rebuilds the state (30m, 2h).
        #[arg(long, default_value = "1h")]
        warmup: String,
    },
    /// Print the audit trail.
    Audit {
        /// Only the last part: 30m, 2h, 7d.
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        json: bool,
        /// The executor's runs instead: host, command, start, end, exit status, output.
        #[arg(long, conflicts_with = "outbox")]
        runs: bool,
        /// The dispatches still waiting in the outbox, each with the broker it is meant for.
        #[arg(long)]
        outbox: bool,
        /// With --outbox: remove the waiting dispatch with this task id, one that will never
        /// be delivered (asked first, audited; refused under --read-only).
        #[arg(long, value_name = "TASK_ID", requires = "outbox")]
        drop: Option<String>,
        /// Do not ask first (needed when stdin is not a terminal).
        #[arg(long, requires = "drop")]
        yes: bool,
    },
    /// Ask and command the Celery workers over the pidbox. Exit 0 when every addressed
    /// worker said ok, 1 when some did not answer or refused, 2 on a usage error.
    Worker {
        #[command(subcommand)]
        action: WorkerCommand,
    },
    /// Tasks: send failed or revoked tasks again.
    Task {
        #[command(subcommand)]
        action: TaskCommand,
    },
    /// What waits in a queue: purge it, or move it to another queue.
    Queue {
        #[command(subcommand)]
        action: QueueCommand,
    },
    /// The agents' containers on the Docker Engine ([docker] url): list them, or restart,
    /// stop, start or kill one (a container's name or its Compose service).
    Containers {
        /// The list as JSON.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<ContainerCommand>,
    },
    /// Work with the config file.
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Print every path the program uses.
    Info,
}

#[derive(Subcommand)]
pub enum WorkerCommand {
    /// Ask workers (a worker's name, or `all`): active, reserved, scheduled, revoked,
    /// registered, stats, active_queues, conf or ping.
    Inspect {
        worker: String,
        #[arg(value_parser = inspect_method)]
        method: Inspect,
        #[arg(long)]
        json: bool,
    },
    /// Grow or shrink a worker's pool by N processes.
    Pool {
        worker: String,
        #[arg(value_enum)]
        direction: PoolDirection,
        n: u32,
        #[command(flatten)]
        go: Go,
    },
    /// Set an autoscaling worker's range.
    Autoscale {
        worker: String,
        max: u32,
        min: u32,
        #[command(flatten)]
        go: Go,
    },
    /// Make a worker start (add) or stop (cancel) consuming a queue.
    Consumer {
        worker: String,
        #[arg(value_enum)]
        action: ConsumerAction,
        queue: String,
        #[command(flatten)]
        go: Go,
    },
    /// Limit how often a task runs on a worker (or `all`): N, N/s, N/m or N/h; 0 lifts it.
    RateLimit {
        worker: String,
        task: String,
        rate: String,
        #[command(flatten)]
        go: Go,
    },
    /// Soft and hard time limits, in seconds, for a task on a worker (or `all`).
    TimeLimit {
        worker: String,
        task: String,
        soft: f64,
        hard: f64,
        #[command(flatten)]
        go: Go,
    },
    /// Restart a worker's pool processes (the worker must allow it: worker_pool_restarts).
    PoolRestart {
        worker: String,
        #[command(flatten)]
        go: Go,
    },
    /// Shut a worker down (warm: it finishes its running tasks). Type its name to confirm.
    Shutdown {
        worker: String,
        #[command(flatten)]
        go: Go,
    },
}

/// How a fleet command is confirmed and reported.
#[derive(clap::Args)]
pub struct Go {
    /// Do not ask first (needed when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// What was done, as JSON.
    #[arg(long)]
    pub json: bool,
}

impl Go {
    pub fn go(&self) -> crate::cli::fleet::Go {
        crate::cli::fleet::Go {
            yes: self.yes,
            json: self.json,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PoolDirection {
    Grow,
    Shrink,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ConsumerAction {
    Add,
    Cancel,
}

pub fn inspect_method(word: &str) -> Result<Inspect, String> {
    Inspect::parse(word)
        .filter(|m| *m != Inspect::QueryTask)
        .ok_or_else(|| {
            let names: Vec<_> = Inspect::NAMED.iter().map(|m| m.method()).collect();
            format!("not an inspect method; one of {}", names.join(", "))
        })
}

#[derive(Subcommand)]
pub enum TaskCommand {
    /// Send tasks again under new ids, from the exact message a control room kept (its
    /// outbox, or kombu's unacked). Several at once want their count typed to confirm.
    Retry {
        #[arg(required_unless_present = "filter", conflicts_with = "filter")]
        ids: Vec<String>,
        /// Every dispatch kept in the audit store that the result backend says failed or
        /// was revoked, and that this filter picks (the Tasks view's syntax).
        #[arg(long, value_name = "QUERY")]
        filter: Option<String>,
        /// Also send tasks that were already retried (by default only the newest of each
        /// chain of retries is sent; the rest are listed as left out).
        #[arg(long)]
        include_retried: bool,
        #[command(flatten)]
        go: Go,
    },
}

#[derive(Subcommand)]
pub enum QueueCommand {
    /// Remove what waits in a queue, all four priority sub-queues, atomically; with
    /// --task, only that task's messages, the rest kept in order. Type the queue's name to
    /// confirm.
    Purge {
        queue: String,
        #[arg(long)]
        task: Option<String>,
        #[command(flatten)]
        go: Go,
    },
    /// Move what waits in FROM to TO, each priority to its own, message by message
    /// atomically: nothing is lost if this is killed half-way.
    Move {
        from: String,
        to: String,
        #[arg(long)]
        task: Option<String>,
        #[command(flatten)]
        go: Go,
    },
}

#[derive(Subcommand)]
pub enum ContainerCommand {
    /// Restart it; exit 0 once the Engine confirms.
    Restart {
        name: String,
        #[command(flatten)]
        go: Go,
    },
    /// Stop it (TERM, then KILL after its stop timeout); exit 0 once the Engine confirms.
    Stop {
        name: String,
        #[command(flatten)]
        go: Go,
    },
    /// Start it again; exit 0 once the Engine confirms.
    Start {
        name: String,
        #[command(flatten)]
        go: Go,
    },
    /// Send it a signal (KILL unless --signal says otherwise).
    Kill {
        name: String,
        #[arg(long, default_value = "KILL")]
        signal: String,
        #[command(flatten)]
        go: Go,
    },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file; every error is named by file:line:column.
    Check { file: Option<PathBuf> },
}

// Long, on purpose: one arm per subcommand.
