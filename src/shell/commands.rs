//! What each command does, from its parsed arguments: loading the settings once, the
//! runtime, the one gate from the flags, and the commands too long for the dispatch in
//! `mod.rs`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use super::args::*;
use crate::config::paths::Paths;
use crate::config::{self, Overridden, Settings};
use crate::platform::pidbox::Control;
use crate::sanitize::redact_url;
use crate::{cli, logging, run, term, wiring};

/// `worker …`: an inspect, or a control command to one worker (or `all`, where allowed).
pub(super) fn worker(cli: &Cli, action: &WorkerCommand) -> ExitCode {
    if let WorkerCommand::Inspect {
        worker,
        method,
        json,
    } = action
    {
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
    let Some((who, cmd, go)) = control_of(action) else {
        return ExitCode::from(2);
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

/// The control command a worker subcommand names, with its worker and its confirmation
/// flags; None for an inspect, which is no command.
fn control_of(action: &WorkerCommand) -> Option<(&String, Control, &Go)> {
    Some(match action {
        WorkerCommand::Inspect { .. } => return None,
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
    })
}

/// The one action gate, from the flags: the CLI's commands ask it as the TUI does.
pub(super) fn gate(cli: &Cli) -> crate::gate::Gate {
    crate::gate::Gate {
        demo: cli.demo,
        read_only: cli.read_only,
    }
}

/// What this process writes is the operator's alone; what an older version left readable
/// to others (the data dir, the log's) is tightened, and said once, before anything starts.
pub(super) fn keep_private(cli: &Cli) {
    crate::private_files::private_from_now_on();
    let paths = Paths::resolve(cli.config.clone());
    let mut dirs = vec![paths.data_dir.as_path()];
    dirs.extend(paths.log_file.parent());
    let n = crate::private_files::tighten(&dirs);
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

pub(super) fn info(cli: &Cli) -> ExitCode {
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

pub(super) fn overridden(cli: &Cli) -> Overridden<'_> {
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
pub(super) fn refused(diags: &[config::Diagnostic]) {
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
pub(super) fn status(cli: &Cli, json: bool, all_contexts: bool) -> ExitCode {
    let unknown = |why: String| {
        if json {
            let error = serde_json::json!({
                "schema": crate::app::reports::status::SCHEMA,
                "status": "unknown",
                "exit_code": 3,
                "error": why,
            });
            println!("{}", crate::sanitize::json_pretty(&error));
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
pub(super) fn load(cli: &Cli) -> Result<(Paths, Settings), ExitCode> {
    let (paths, all) = load_every(cli)?;
    let chosen = cli.context.as_deref().unwrap_or(config::contexts::DEFAULT);
    let settings = all
        .into_iter()
        .find(|s| s.context.name == chosen)
        .expect("load_all refuses an unknown context");
    Ok((paths, settings))
}

/// Every context's settings, `default` first.
pub(super) fn load_every(cli: &Cli) -> Result<(Paths, Vec<Settings>), ExitCode> {
    let paths = Paths::resolve(cli.config.clone());
    match config::load_all(&paths, &overridden(cli)) {
        Ok(all) => Ok((paths, all)),
        Err(diags) => {
            refused(&diags);
            Err(ExitCode::from(2))
        }
    }
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("chavion-tui: cannot start the runtime: {e}");
            ExitCode::from(1)
        })
}

pub(super) fn with_settings(
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
pub(super) fn metrics_listener(cli: &Cli) -> Result<Option<std::net::TcpListener>, ExitCode> {
    let Some(text) = &cli.metrics else {
        return Ok(None);
    };
    crate::exporter::serve::parse_addr(text, cli.metrics_public)
        .and_then(crate::exporter::serve::bind)
        .map(Some)
        .map_err(|why| {
            eprintln!("chavion-tui: refused: {why}");
            ExitCode::from(2)
        })
}

pub(super) fn tui(cli: &Cli) -> ExitCode {
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
