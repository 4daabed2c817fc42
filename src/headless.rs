//! `chavion-tui watch`: the control room without a screen, for a systemd service. The same
//! feeds, the same `update` and the same alert rules run; what the rules say (FIRING and
//! resolved) is printed, one line each, for the journal. It only watches: it runs
//! read-only, so no effect that changes the platform can pass the gate.

use std::io::Write;
use std::process::ExitCode;

use crate::config::Settings;
use crate::house::{House, Local};
use crate::wiring::Options;

/// `metrics`: where /metrics is served, bound already.
pub async fn watch(
    settings: Settings,
    metrics: Option<std::net::TcpListener>,
    public: bool,
) -> ExitCode {
    let serving = metrics
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| format!(", metrics at http://{a}/metrics"))
        .unwrap_or_default();
    let opts = Options {
        demo: false,
        read_only: true,
        crash_after: None,
        metrics,
        metrics_public: public,
        record: true,
    };
    let (mut house, mut rx, mut scrapes) = House::start(settings, &opts);
    let mut seen = house.state.activity.total;
    let rules = house.state.alerts.rules.len();
    say(&format!(
        "chavion-tui watch: {rules} alert rule(s), watching {}{serving}",
        crate::sanitize::redact_url(house.settings.config.redis.url.get_ref())
    ));
    let why = loop {
        let ev = tokio::select! {
            biased;
            Some(scrape) = crate::exporter::serve::next_scrape(&mut scrapes) => {
                crate::exporter::serve::answer_scrape(scrape, &house.state);
                continue;
            }
            ev = rx.recv() => match ev {
                Some(ev) => ev,
                None => break "the feeds stopped".to_string(),
            },
            _ = tokio::signal::ctrl_c() => break "SIGINT".to_string(),
        };
        let stepped = house.step(ev);
        seen = print_alert_lines(&house.state, seen);
        // Nothing to draw on: the bell and the clipboard are for a terminal, and `watch`
        // has one context.
        if stepped.local.contains(&Local::Quit) {
            break house
                .state
                .activity
                .lines
                .iter()
                .rev()
                .find(|l| l.message.starts_with("shutting down"))
                .map_or("asked to stop".to_string(), |l| l.message.clone());
        }
    };
    say(&format!("chavion-tui watch: stopping ({why})"));
    house
        .stop(async || {
            let _ = rx.recv().await;
        })
        .await;
    ExitCode::SUCCESS
}

/// Prints the alert lines `update` appended since `seen`. Returns the new mark.
fn print_alert_lines(state: &crate::app::State, seen: u64) -> u64 {
    let log = &state.activity;
    let new = (log.total - seen).min(log.lines.len() as u64) as usize;
    for l in log.lines.iter().skip(log.lines.len() - new) {
        if l.source == "alert" || l.source.starts_with("notify ") {
            say(&format!(
                "{} {} {}",
                l.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                l.level.label(),
                l.message
            ));
        }
    }
    log.total
}

/// One line on stdout, flushed: the journal sees it at once. A closed pipe is not fatal.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
