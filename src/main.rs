use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chavion_tui::app::draft::Draft;
use chavion_tui::config::model::ColorChoice;
use chavion_tui::config::paths::Paths;
use chavion_tui::config::{self, Overridden, Settings};
use chavion_tui::feeds::pidbox::{Control, Inspect};
use chavion_tui::orders::Order;
use chavion_tui::sanitize::redact_url;
use chavion_tui::{cli, logging, run, term, wiring};

// glibc's malloc took a fifth of the control room's time at 200 000 events/s, much of it
// on its arena lock: the feed's threads allocate what the loop frees. mimalloc's per-thread
// heaps free across threads without that lock (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A full-screen terminal control room for the Chavion multi-agent platform.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/chavion-tui/config.toml).
    #[arg(long, global = true, env = "CHAVION_TUI_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Redis URL, overriding the config's redis.url (of the context given, or `default`).
    #[arg(long, global = true, value_name = "URL")]
    redis: Option<String>,
    /// The context (a `[[contexts]]` name, or `default`) shown first, or acted on.
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,
    /// Audit store: postgres://… or a SQLite file (default: audit.db in the data dir).
    #[arg(long, global = true, value_name = "URL")]
    store: Option<String>,
    /// Docker Engine, overriding the config's docker.url: unix:///PATH, tcp://HOST:PORT, or
    /// ssh://EXECUTOR_HOST ("" turns it off).
    #[arg(long, global = true, value_name = "URL")]
    docker: Option<String>,
    /// Theme: dark, light, high-contrast, mono, or one of your own.
    #[arg(long, global = true, value_name = "NAME")]
    theme: Option<String>,
    /// Colour depth; `auto` reads NO_COLOR, COLORTERM and TERM.
    #[arg(long, global = true, value_enum, value_name = "MODE")]
    color: Option<ColorChoice>,
    /// Run a simulated fleet inside the process; needs nothing else. With a command that
    /// acts (dispatch, exec), the action is refused: the demo never reaches anything.
    #[arg(long, global = true)]
    demo: bool,
    /// Refuse every action that changes the platform (the gate's list, below).
    #[arg(long, global = true, long_help = chavion_tui::gate::read_only_help())]
    read_only: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (the TUI and `watch`): PORT (on
    /// 127.0.0.1), HOST:PORT or [V6]:PORT.
    #[arg(long, global = true, value_name = "ADDR")]
    metrics: Option<String>,
    /// Allow --metrics on an address other machines can reach.
    #[arg(long, global = true, requires = "metrics")]
    metrics_public: bool,
    /// Test hook: panic after this many milliseconds, to prove the terminal is restored.
    #[arg(long, hide = true, value_name = "MS")]
    crash_after_ms: Option<u64>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
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
enum WorkerCommand {
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
struct Go {
    /// Do not ask first (needed when stdin is not a terminal).
    #[arg(long)]
    yes: bool,
    /// What was done, as JSON.
    #[arg(long)]
    json: bool,
}

impl Go {
    fn go(&self) -> cli::fleet::Go {
        cli::fleet::Go {
            yes: self.yes,
            json: self.json,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PoolDirection {
    Grow,
    Shrink,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ConsumerAction {
    Add,
    Cancel,
}

fn inspect_method(word: &str) -> Result<Inspect, String> {
    Inspect::parse(word)
        .filter(|m| *m != Inspect::QueryTask)
        .ok_or_else(|| {
            let names: Vec<_> = Inspect::NAMED.iter().map(|m| m.method()).collect();
            format!("not an inspect method; one of {}", names.join(", "))
        })
}

#[derive(Subcommand)]
enum TaskCommand {
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
enum QueueCommand {
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
enum ContainerCommand {
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
enum ConfigCommand {
    /// Validate a config file; every error is named by file:line:column.
    Check { file: Option<PathBuf> },
}

// Long, on purpose: one arm per subcommand.
fn main() -> ExitCode {
    let cli = Cli::parse();
    keep_private(&cli);
    if cli.metrics.is_some() && !matches!(cli.command, None | Some(Command::Tui | Command::Watch)) {
        eprintln!(
            "chavion-tui: refused: --metrics is served by the control room and by watch only"
        );
        return ExitCode::from(2);
    }
    match &cli.command {
        Some(Command::Config {
            action: ConfigCommand::Check { file },
        }) => {
            let paths = Paths::resolve(file.clone().or(cli.config.clone()));
            let diags = config::check(&paths);
            if diags.is_empty() {
                if paths.config_explicit || paths.config_file.exists() {
                    println!("ok");
                } else {
                    println!(
                        "ok: there is no config file at {}, so the built-in defaults are in force (assets/config.example.toml lists them)",
                        paths.config_file.display()
                    );
                }
                return ExitCode::SUCCESS;
            }
            for d in &diags {
                eprintln!("{d}");
            }
            eprintln!(
                "{} error(s) in {}",
                diags.len(),
                paths.config_file.display()
            );
            ExitCode::from(1)
        }
        Some(Command::Info) => info(&cli),
        Some(Command::Dispatch {
            agent,
            task,
            args,
            kwargs,
            priority,
            countdown,
            eta,
            expires,
            wait,
            timeout,
        }) => {
            let draft = Draft {
                agent: agent.clone(),
                task: task.clone(),
                args: args.clone(),
                kwargs: kwargs.clone(),
                priority: *priority,
                countdown: *countdown,
                eta: eta.clone(),
                expires: *expires,
            };
            let wait = wait.then(|| Duration::from_secs(*timeout));
            with_settings(&cli, |settings, rt| {
                rt.block_on(cli::dispatch(&settings, &draft, gate(&cli), wait))
            })
        }
        Some(Command::Status { json, all_contexts }) => status(&cli, *json, *all_contexts),
        Some(Command::Exec { runbook, host, yes }) => with_settings(&cli, |settings, rt| {
            rt.block_on(cli::exec(
                &settings,
                runbook,
                host.as_deref(),
                *yes,
                gate(&cli),
            ))
        }),
        Some(Command::Audit {
            since,
            json,
            runs,
            outbox,
            drop: Some(id),
            yes,
        }) if *outbox => {
            let _ = (since, json, runs);
            with_settings(&cli, |settings, rt| {
                rt.block_on(cli::drop_outbox(&settings, gate(&cli), id, *yes))
            })
        }
        Some(Command::Audit {
            since,
            json,
            runs,
            outbox,
            ..
        }) => with_settings(&cli, |settings, rt| {
            let what = if *runs {
                cli::Trail::Runs
            } else if *outbox {
                cli::Trail::Outbox
            } else {
                cli::Trail::Actions
            };
            rt.block_on(cli::audit(&settings, since.as_deref(), *json, what))
        }),
        Some(Command::Worker { action }) => worker(&cli, action),
        Some(Command::Watch) => {
            if cli.demo {
                eprintln!(
                    "chavion-tui: refused: watch judges the live platform; the demo has none"
                );
                return ExitCode::from(2);
            }
            let metrics = match metrics_listener(&cli) {
                Ok(m) => m,
                Err(code) => return code,
            };
            with_settings(&cli, |settings, rt| {
                rt.block_on(chavion_tui::headless::watch(
                    settings,
                    metrics,
                    cli.metrics_public,
                ))
            })
        }
        Some(Command::Task {
            action:
                TaskCommand::Retry {
                    ids,
                    filter,
                    include_retried,
                    go,
                },
        }) => with_settings(&cli, |settings, rt| {
            rt.block_on(cli::fleet::retry(
                &settings,
                gate(&cli),
                cli::fleet::Picked {
                    ids,
                    filter: filter.as_deref(),
                    include_retried: *include_retried,
                },
                go.go(),
            ))
        }),
        Some(Command::Containers { json, action }) => with_settings(&cli, |settings, rt| {
            use chavion_tui::orders::ContainerOp;
            rt.block_on(async {
                let (op, name, go) = match action {
                    None => return cli::containers::list(&settings, *json).await,
                    Some(ContainerCommand::Restart { name, go }) => {
                        (ContainerOp::Restart, name, go)
                    }
                    Some(ContainerCommand::Stop { name, go }) => (ContainerOp::Stop, name, go),
                    Some(ContainerCommand::Start { name, go }) => (ContainerOp::Start, name, go),
                    Some(ContainerCommand::Kill { name, signal, go }) => (
                        ContainerOp::Kill(signal.trim_start_matches("SIG").to_uppercase()),
                        name,
                        go,
                    ),
                };
                cli::containers::order(&settings, gate(&cli), op, name, go.go()).await
            })
        }),
        Some(Command::Replay {
            from,
            to,
            speed,
            step,
            snapshot,
            warmup,
        }) => {
            let demo = cli.demo;
            let ask = chavion_tui::replay::Replay {
                from: from.clone(),
                to: to.clone(),
                speed: *speed,
                step: *step,
                snapshot: *snapshot,
                warmup: warmup.clone(),
            };
            with_settings(&cli, |settings, rt| {
                rt.block_on(chavion_tui::replay::command(&settings, demo, ask))
            })
        }
        Some(Command::Timeline {
            from,
            to,
            json,
            markdown,
        }) => with_settings(&cli, |settings, rt| {
            rt.block_on(cli::timeline(&settings, from, to, *json, *markdown))
        }),
        Some(Command::Queue { action }) => with_settings(&cli, |settings, rt| {
            rt.block_on(async {
                match action {
                    QueueCommand::Purge { queue, task, go } => {
                        let order = Order::Purge {
                            queue: queue.clone(),
                            task: task.clone(),
                        };
                        cli::fleet::queue_order(&settings, gate(&cli), order, go.go()).await
                    }
                    QueueCommand::Move { from, to, task, go } => {
                        let order = Order::Move {
                            from: from.clone(),
                            to: to.clone(),
                            task: task.clone(),
                        };
                        cli::fleet::queue_order(&settings, gate(&cli), order, go.go()).await
                    }
                }
            })
        }),
        Some(Command::Tui) | None => tui(&cli),
    }
}

/// `worker …`: an inspect, or a control command to one worker (or `all`, where allowed).
// Long, on purpose: one arm per worker subcommand, each naming its command.
fn worker(cli: &Cli, action: &WorkerCommand) -> ExitCode {
    let (who, cmd, go) = match action {
        WorkerCommand::Inspect {
            worker,
            method,
            json,
        } => {
            return with_settings(cli, |settings, rt| {
                rt.block_on(cli::fleet::inspect(
                    &settings,
                    gate(cli),
                    worker,
                    *method,
                    *json,
                ))
            });
        }
        WorkerCommand::Pool {
            worker,
            direction,
            n,
            go,
        } => (
            worker,
            match direction {
                PoolDirection::Grow => Control::PoolGrow(*n),
                PoolDirection::Shrink => Control::PoolShrink(*n),
            },
            go,
        ),
        WorkerCommand::Autoscale {
            worker,
            max,
            min,
            go,
        } => (
            worker,
            Control::Autoscale {
                max: *max,
                min: *min,
            },
            go,
        ),
        WorkerCommand::Consumer {
            worker,
            action,
            queue,
            go,
        } => (
            worker,
            match action {
                ConsumerAction::Add => Control::AddConsumer(queue.clone()),
                ConsumerAction::Cancel => Control::CancelConsumer(queue.clone()),
            },
            go,
        ),
        WorkerCommand::RateLimit {
            worker,
            task,
            rate,
            go,
        } => (
            worker,
            Control::RateLimit {
                task: task.clone(),
                rate: rate.clone(),
            },
            go,
        ),
        WorkerCommand::TimeLimit {
            worker,
            task,
            soft,
            hard,
            go,
        } => (
            worker,
            Control::TimeLimit {
                task: task.clone(),
                soft: *soft,
                hard: *hard,
            },
            go,
        ),
        WorkerCommand::PoolRestart { worker, go } => (worker, Control::PoolRestart, go),
        WorkerCommand::Shutdown { worker, go } => (worker, Control::Shutdown, go),
    };
    // Only limits may go to every worker at once; the rest name one worker.
    let fleet_wide = matches!(cmd, Control::RateLimit { .. } | Control::TimeLimit { .. });
    if who == "all" && !fleet_wide {
        eprintln!(
            "chavion-tui: refused: `{}` goes to one worker at a time; name the worker",
            cmd.method()
        );
        return ExitCode::from(2);
    }
    with_settings(cli, |settings, rt| {
        rt.block_on(cli::fleet::control(&settings, gate(cli), who, cmd, go.go()))
    })
}

/// The one action gate, from the flags: the CLI's commands ask it as the TUI does.
fn gate(cli: &Cli) -> chavion_tui::gate::Gate {
    chavion_tui::gate::Gate {
        demo: cli.demo,
        read_only: cli.read_only,
    }
}

/// What this process writes is the operator's alone; what an older version left readable
/// to others (the data dir, the log's) is tightened, and said once, before anything starts.
fn keep_private(cli: &Cli) {
    chavion_tui::private_files::private_from_now_on();
    let paths = Paths::resolve(cli.config.clone());
    let mut dirs = vec![paths.data_dir.as_path()];
    dirs.extend(paths.log_file.parent());
    let n = chavion_tui::private_files::tighten(&dirs);
    if n > 0 {
        eprintln!(
            "chavion-tui: made {n} file(s) and directories under {} private to this user (they were readable by others)",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        );
    }
}

fn info(cli: &Cli) -> ExitCode {
    let paths = &Paths::resolve(cli.config.clone());
    let themes: Vec<_> = config::theme::BUILT_IN.iter().map(|(n, _)| *n).collect();
    let keymaps: Vec<_> = config::keymap::PRESETS.iter().map(|(n, _)| *n).collect();
    let rows = [
        ("config file", &paths.config_file, None),
        ("themes dir", &paths.themes_dir, Some(themes.join(", "))),
        ("keymaps dir", &paths.keymaps_dir, Some(keymaps.join(", "))),
        ("data dir", &paths.data_dir, None),
        ("log file", &paths.log_file, None),
    ];
    for (label, path, built_in) in rows {
        let note = if path.exists() { "" } else { "  (not present)" };
        println!("{label:<13} {}{note}", path.display());
        if let Some(names) = built_in {
            println!("  built in    {names}");
        }
    }
    // The settings in force, flags included: what a control room started with these same
    // flags would use.
    match config::load_all(paths, &overridden(cli)) {
        Ok(all) => {
            let chosen = cli.context.as_deref().unwrap_or(config::contexts::DEFAULT);
            for s in all.iter().filter(|s| s.context.name == chosen) {
                println!("redis         {}", redact_url(s.config.redis.url.get_ref()));
                if let Some(store) = &s.store_url {
                    println!("audit store   {}", redact_url(store));
                }
            }
            if all.len() > 1 {
                let names: Vec<&str> = all.iter().map(|s| s.context.name.as_str()).collect();
                println!("contexts      {} (showing {chosen})", names.join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(diags) => {
            refused(&diags);
            ExitCode::from(2)
        }
    }
}

fn overridden(cli: &Cli) -> Overridden<'_> {
    Overridden {
        theme: cli.theme.as_deref(),
        color: cli.color,
        redis_url: cli.redis.as_deref(),
        store_url: cli.store.as_deref(),
        docker_url: cli.docker.as_deref(),
        context: cli.context.as_deref(),
    }
}

/// Says why nothing starts, naming what to fix: the command line or the config.
fn refused(diags: &[config::Diagnostic]) {
    for d in diags {
        eprintln!("{d}");
    }
    if diags.iter().any(|d| d.is_flag()) {
        eprintln!("chavion-tui: not starting; fix the command line (see chavion-tui --help)");
    } else {
        eprintln!(
            "chavion-tui: not starting; fix the config (check it with `chavion-tui config check`)"
        );
    }
}

/// `status`, the check cron and Nagios read. Whatever stops it judging (a config error, a
/// bad flag, `--demo`, which has no platform to check) is exit 3, "unknown", as Nagios reads
/// it, never a verdict; under `--json` an error object goes to stdout, so
/// `status --json > status.json || notify-ops` has something to say.
fn status(cli: &Cli, json: bool, all_contexts: bool) -> ExitCode {
    let unknown = |why: String| {
        if json {
            let error = serde_json::json!({
                "schema": chavion_tui::app::status::SCHEMA,
                "status": "unknown",
                "exit_code": 3,
                "error": why,
            });
            println!("{}", chavion_tui::sanitize::json_pretty(&error));
        } else {
            eprintln!("chavion-tui: status could not judge: {why}");
        }
        ExitCode::from(3)
    };
    if cli.demo {
        return unknown(
            "the demo has no platform to check; drop --demo to check the real one".into(),
        );
    }
    let paths = Paths::resolve(cli.config.clone());
    let all = match config::load_all(&paths, &overridden(cli)) {
        Ok(all) => all,
        Err(diags) => {
            let words: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
            return unknown(words.join("; "));
        }
    };
    let _log = logging::init(&paths.log_file);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(_) => return unknown("the runtime could not start".into()),
    };
    if all_contexts {
        return rt.block_on(cli::status_all(&all, json));
    }
    let chosen = cli.context.as_deref().unwrap_or(config::contexts::DEFAULT);
    match all.iter().find(|s| s.context.name == chosen) {
        Some(settings) => rt.block_on(cli::status(settings, json)),
        None => unknown(format!("no context named {chosen}")),
    }
}

/// The settings of the context `--context` names (`default` without it).
fn load(cli: &Cli) -> Result<(Paths, Settings), ExitCode> {
    let (paths, all) = load_every(cli)?;
    let chosen = cli.context.as_deref().unwrap_or(config::contexts::DEFAULT);
    let settings = all
        .into_iter()
        .find(|s| s.context.name == chosen)
        .expect("load_all refuses an unknown context");
    Ok((paths, settings))
}

/// Every context's settings, `default` first.
fn load_every(cli: &Cli) -> Result<(Paths, Vec<Settings>), ExitCode> {
    let paths = Paths::resolve(cli.config.clone());
    match config::load_all(&paths, &overridden(cli)) {
        Ok(all) => Ok((paths, all)),
        Err(diags) => {
            refused(&diags);
            Err(ExitCode::from(2))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("chavion-tui: cannot start the runtime: {e}");
            ExitCode::from(1)
        })
}

fn with_settings(
    cli: &Cli,
    f: impl FnOnce(Settings, &tokio::runtime::Runtime) -> ExitCode,
) -> ExitCode {
    let (paths, settings) = match load(cli) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let _log = logging::init(&paths.log_file);
    match runtime() {
        Ok(rt) => f(settings, &rt),
        Err(code) => code,
    }
}

/// `--metrics`, checked and bound before anything starts: a public address without
/// `--metrics-public`, or a port in use, is refused in words.
fn metrics_listener(cli: &Cli) -> Result<Option<std::net::TcpListener>, ExitCode> {
    let Some(text) = &cli.metrics else {
        return Ok(None);
    };
    chavion_tui::metrics::serve::parse_addr(text, cli.metrics_public)
        .and_then(chavion_tui::metrics::serve::bind)
        .map(Some)
        .map_err(|why| {
            eprintln!("chavion-tui: refused: {why}");
            ExitCode::from(2)
        })
}

fn tui(cli: &Cli) -> ExitCode {
    // Every context is watched at once; `--context` says which is shown first.
    let (paths, all) = match load_every(cli) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let chosen = cli.context.as_deref().unwrap_or(config::contexts::DEFAULT);
    let active = all
        .iter()
        .position(|s| s.context.name == chosen)
        .unwrap_or(0);
    let _log = logging::init(&paths.log_file);
    term::install_panic_hook();
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let metrics = match metrics_listener(cli) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let opts = wiring::Options {
        demo: cli.demo,
        read_only: cli.read_only,
        crash_after: cli.crash_after_ms.map(Duration::from_millis),
        metrics,
        metrics_public: cli.metrics_public,
        record: true,
    };
    let result = runtime.block_on(run::run(all, active, opts));
    term::restore();
    // Feed tasks may be mid-connect; do not wait on the network to exit.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // After SIGHUP stderr may be gone too; a failed report must not become a panic.
            let _ = writeln!(std::io::stderr(), "chavion-tui: {e}");
            ExitCode::from(1)
        }
    }
}
