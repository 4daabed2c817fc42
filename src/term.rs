//! The terminal: raw mode and the alternate screen on the way in, and restored on every
//! way out — `q`, an error, a panic, SIGTERM, SIGHUP (a dropped SSH link).

use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{Stdout, stdout};
use std::sync::atomic::{AtomicBool, Ordering};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Restores the terminal at most once, whoever asks first. Errors are ignored: after a
/// SIGHUP the terminal may already be gone, and there is no one left to tell.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = stdout();
        let _ = execute!(
            out,
            crossterm::terminal::EndSynchronizedUpdate,
            LeaveAlternateScreen,
            cursor::Show
        );
        let _ = disable_raw_mode();
    }
}

/// Dropping this restores the terminal, so early returns and `?` are covered too.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Restore first, so the message lands on a usable screen rather than an alternate
        // one that is about to vanish.
        restore();
        tracing::error!("panic: {info}");
        previous(info);
        // A panic in any task is a bug; a UI that kept drawing on the restored screen would
        // be worse than leaving. 101 is Rust's own exit code for a panic.
        std::process::exit(101);
    }));
}

/// Mouse capture is never turned on: the operator's terminal keeps its own selection and
/// copy, which matter more over SSH than clicking.
pub fn enter() -> std::io::Result<(Term, Guard)> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let guard = Guard;
    let mut out = stdout();
    execute!(out, EnterAlternateScreen, cursor::Hide)?;
    let terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    Ok((terminal, guard))
}
