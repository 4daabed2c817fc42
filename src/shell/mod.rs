//! The command line: `args` is what clap reads, `commands` what each command does, and
//! `main` hands one to the other. `src/main.rs` only calls `main`.

pub mod args;
mod commands;

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

use crate::app::model::draft::Draft;
use crate::orders::Order;
use args::*;
use commands::*;

/// Parses the command line, keeps what this process writes private, and runs the command.
pub fn main() -> ExitCode {
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
        }) => config_check(&cli, file.clone()),
        Some(Command::Info) => info(&cli),
        Some(c @ Command::Dispatch { .. }) => dispatch(&cli, c),
        Some(Command::Status { json, all_contexts }) => status(&cli, *json, *all_contexts),
        Some(Command::Exec { runbook, host, yes }) => with_settings(&cli, |settings, rt| {
            rt.block_on(crate::cli::exec(
                &settings,
                runbook,
                host.as_deref(),
                *yes,
                gate(&cli),
            ))
        }),
        Some(c @ Command::Audit { .. }) => audit(&cli, c),
        Some(Command::Worker { action }) => worker(&cli, action),
        Some(Command::Watch) => watch(&cli),
        Some(Command::Task { action }) => task(&cli, action),
        Some(Command::Containers { json, action }) => containers(&cli, *json, action.as_ref()),
        Some(c @ Command::Replay { .. }) => replay(&cli, c),
        Some(Command::Timeline {
            from,
            to,
            json,
            markdown,
        }) => with_settings(&cli, |settings, rt| {
            rt.block_on(crate::cli::timeline(&settings, from, to, *json, *markdown))
        }),
        Some(Command::Queue { action }) => queue(&cli, action),
        Some(Command::Tui) | None => tui(&cli),
    }
}

/// `config check [FILE]`: every problem at its file, line and column; exit 1 with any.
fn config_check(cli: &Cli, file: Option<std::path::PathBuf>) -> ExitCode {
    let paths = crate::config::paths::Paths::resolve(file.or(cli.config.clone()));
    let diags = crate::config::check(&paths);
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

fn dispatch(cli: &Cli, c: &Command) -> ExitCode {
    let Command::Dispatch {
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
    } = c
    else {
        unreachable!("called for dispatch")
    };
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
    with_settings(cli, |settings, rt| {
        rt.block_on(crate::cli::dispatch(&settings, &draft, gate(cli), wait))
    })
}

fn audit(cli: &Cli, c: &Command) -> ExitCode {
    let Command::Audit {
        since,
        json,
        runs,
        outbox,
        drop,
        yes,
    } = c
    else {
        unreachable!("called for audit")
    };
    if let (true, Some(id)) = (*outbox, drop) {
        return with_settings(cli, |settings, rt| {
            rt.block_on(crate::cli::drop_outbox(&settings, gate(cli), id, *yes))
        });
    }
    let what = if *runs {
        crate::cli::Trail::Runs
    } else if *outbox {
        crate::cli::Trail::Outbox
    } else {
        crate::cli::Trail::Actions
    };
    with_settings(cli, |settings, rt| {
        rt.block_on(crate::cli::audit(&settings, since.as_deref(), *json, what))
    })
}

fn watch(cli: &Cli) -> ExitCode {
    if cli.demo {
        eprintln!("chavion-tui: refused: watch judges the live platform; the demo has none");
        return ExitCode::from(2);
    }
    let metrics = match metrics_listener(cli) {
        Ok(m) => m,
        Err(code) => return code,
    };
    with_settings(cli, |settings, rt| {
        rt.block_on(crate::headless::watch(
            settings,
            metrics,
            cli.metrics_public,
        ))
    })
}

fn task(cli: &Cli, action: &TaskCommand) -> ExitCode {
    let TaskCommand::Retry {
        ids,
        filter,
        include_retried,
        go,
    } = action;
    with_settings(cli, |settings, rt| {
        rt.block_on(crate::cli::fleet::retry(
            &settings,
            gate(cli),
            crate::cli::fleet::Picked {
                ids,
                filter: filter.as_deref(),
                include_retried: *include_retried,
            },
            go.go(),
        ))
    })
}

fn containers(cli: &Cli, json: bool, action: Option<&ContainerCommand>) -> ExitCode {
    use crate::orders::ContainerOp;
    with_settings(cli, |settings, rt| {
        rt.block_on(async {
            let (op, name, go) = match action {
                None => return crate::cli::containers::list(&settings, json).await,
                Some(ContainerCommand::Restart { name, go }) => (ContainerOp::Restart, name, go),
                Some(ContainerCommand::Stop { name, go }) => (ContainerOp::Stop, name, go),
                Some(ContainerCommand::Start { name, go }) => (ContainerOp::Start, name, go),
                Some(ContainerCommand::Kill { name, signal, go }) => (
                    ContainerOp::Kill(signal.trim_start_matches("SIG").to_uppercase()),
                    name,
                    go,
                ),
            };
            crate::cli::containers::order(&settings, gate(cli), op, name, go.go()).await
        })
    })
}

fn replay(cli: &Cli, c: &Command) -> ExitCode {
    let Command::Replay {
        from,
        to,
        speed,
        step,
        snapshot,
        warmup,
    } = c
    else {
        unreachable!("called for replay")
    };
    let ask = crate::replay::Replay {
        from: from.clone(),
        to: to.clone(),
        speed: *speed,
        step: *step,
        snapshot: *snapshot,
        warmup: warmup.clone(),
    };
    let demo = cli.demo;
    with_settings(cli, |settings, rt| {
        rt.block_on(crate::replay::command(&settings, demo, ask))
    })
}

fn queue(cli: &Cli, action: &QueueCommand) -> ExitCode {
    let (order, go) = match action {
        QueueCommand::Purge { queue, task, go } => (
            Order::Purge {
                queue: queue.clone(),
                task: task.clone(),
            },
            go,
        ),
        QueueCommand::Move { from, to, task, go } => (
            Order::Move {
                from: from.clone(),
                to: to.clone(),
                task: task.clone(),
            },
            go,
        ),
    };
    with_settings(cli, |settings, rt| {
        rt.block_on(crate::cli::fleet::queue_order(
            &settings,
            gate(cli),
            order,
            go.go(),
        ))
    })
}
