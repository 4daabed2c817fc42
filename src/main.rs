use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chavion_tui::config::model::ColorChoice;
use chavion_tui::config::paths::Paths;
use chavion_tui::config::{self, Overridden};
use chavion_tui::sanitize::redact_url;
use chavion_tui::{logging, run, term};

/// A full-screen terminal control room for the Chavion multi-agent platform.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/chavion-tui/config.toml).
    #[arg(long, global = true, env = "CHAVION_TUI_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Redis URL, overriding the config's redis.url.
    #[arg(long, global = true, value_name = "URL")]
    redis: Option<String>,
    /// Theme: dark, light, high-contrast, mono, or one of your own.
    #[arg(long, global = true, value_name = "NAME")]
    theme: Option<String>,
    /// Colour depth; `auto` reads NO_COLOR, COLORTERM and TERM.
    #[arg(long, global = true, value_enum, value_name = "MODE")]
    color: Option<ColorChoice>,
    /// Run a simulated fleet inside the process; needs nothing else.
    #[arg(long)]
    demo: bool,
    /// Refuse every action that changes the platform.
    #[arg(long)]
    read_only: bool,
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
    /// Work with the config file.
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Print every path the program uses.
    Info,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a config file; every error is named by file:line:column.
    Check { file: Option<PathBuf> },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Config {
            action: ConfigCommand::Check { file },
        }) => {
            let paths = Paths::resolve(file.or(cli.config));
            let diags = config::check(&paths);
            if diags.is_empty() {
                println!("ok");
                ExitCode::SUCCESS
            } else {
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
        }
        Some(Command::Info) => info(&Paths::resolve(cli.config)),
        Some(Command::Tui) | None => tui(cli),
    }
}

fn info(paths: &Paths) -> ExitCode {
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
    if let Ok(s) = config::load(
        paths,
        &Overridden {
            theme: None,
            color: None,
            redis_url: None,
        },
    ) {
        println!("redis         {}", redact_url(s.config.redis.url.get_ref()));
    }
    ExitCode::SUCCESS
}

fn tui(cli: Cli) -> ExitCode {
    let paths = Paths::resolve(cli.config);
    let over = Overridden {
        theme: cli.theme.as_deref(),
        color: cli.color,
        redis_url: cli.redis.as_deref(),
    };
    let settings = match config::load(&paths, &over) {
        Ok(s) => s,
        Err(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            eprintln!(
                "chavion-tui: not starting; fix the config (check it with `chavion-tui config check`)"
            );
            return ExitCode::from(2);
        }
    };
    let _log = logging::init(&paths.log_file);
    term::install_panic_hook();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chavion-tui: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run::run(
        settings,
        run::Options {
            demo: cli.demo,
            read_only: cli.read_only,
            crash_after: cli.crash_after_ms.map(std::time::Duration::from_millis),
        },
    ));
    term::restore();
    // Feed tasks may be mid-connect; do not wait on the network to exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // After SIGHUP stderr may be gone too; a failed report must not become a panic.
            let _ = writeln!(std::io::stderr(), "chavion-tui: {e}");
            ExitCode::from(1)
        }
    }
}
