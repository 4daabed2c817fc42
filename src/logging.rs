//! Logs go to a file, never to the screen: a line on stderr would tear the TUI apart.

use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;

/// Returns the guard that flushes the log on drop; `None` if the file cannot be opened, in
/// which case the program runs without a log rather than writing over the screen.
pub fn init(log_file: &Path) -> Option<WorkerGuard> {
    let dir = log_file.parent()?;
    std::fs::create_dir_all(dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHAVION_TUI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
