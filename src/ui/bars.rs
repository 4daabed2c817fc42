//! The title bar (what this is, DEMO, fleet summary) and the status bar (every link's
//! health, the mode, READ-ONLY, warnings, the clock).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fmt::clock;
use crate::app::state::State;
use crate::config::keymap::{Action, Section};
use crate::config::theme::Theme;
use crate::event::LinkHealth;

/// The replay's clock: the recorded time, the pace, and what was last said.
fn replay_clock<'a>(
    clock: &crate::app::ui_state::ReplayClock,
    utc: bool,
    theme: &Theme,
) -> Vec<Span<'a>> {
    let when = super::fmt::stamp(clock.at, utc);
    let pace = if clock.paused {
        "paused".to_string()
    } else if clock.speed >= 1.0 {
        format!("×{}", clock.speed)
    } else {
        format!("×{:.2}", clock.speed)
    };
    let mut out = vec![
        Span::styled(format!(" REPLAY {when} {pace} "), theme.badge_demo),
        Span::raw(" "),
    ];
    if !clock.note.is_empty() {
        out.push(Span::styled(format!("{} ", clock.note), theme.level_warn));
    }
    out
}

pub fn title(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = vec![Span::styled(" chavion-tui ", theme.title)];
    if let Some(badge) = super::contexts::badge(state, theme) {
        spans.push(badge);
        spans.push(Span::raw(" "));
    }
    if let Some(clock) = &state.ui.replay {
        spans.extend(replay_clock(clock, state.utc, theme));
    }
    if state.session.demo {
        spans.push(Span::styled(" DEMO ", theme.badge_demo));
        spans.push(Span::raw(" "));
    }
    // Firing alerts first, where the eye lands: the count and the most severe one.
    let firing = state.alerts.firing();
    if let Some(top) = firing.first() {
        let rule = &state.alerts.rules[top.rule];
        let style = if rule.severity == crate::config::model::AlertSeverity::Critical {
            theme.level_error
        } else {
            theme.level_warn
        };
        spans.push(Span::styled(
            format!(
                " ⚠ {} alert{}: {} ({}) ",
                firing.len(),
                if firing.len() == 1 { "" } else { "s" },
                rule.name,
                super::fmt::fit(&top.subject, 24)
            ),
            style,
        ));
        spans.push(Span::raw(" "));
    }
    let workers = state.workers.values().filter(|w| w.online).count();
    let waiting: u64 = state.queues.iter().map(|q| q.depth).sum();
    spans.push(Span::styled(
        format!(
            "workers {workers} · tasks {} · waiting {waiting} · events {}",
            state.tasks.order.len(),
            state.counters.events
        ),
        theme.muted,
    ));
    let km = &state.keymap;
    let hint = format!(
        " {} help  {} quit ",
        km.hint(Section::Normal, Action::Help),
        km.hint(Section::Normal, Action::Quit)
    );
    let hint = hint.as_str();
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let pad = (area.width as usize).saturating_sub(used + hint.len());
    if pad > 0 {
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(hint, theme.muted));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(theme.base), area);
}

/// The order the status bar names links in, whatever order they first reported in: the
/// platform's spine first, so at 80 columns what is cut is never Redis.
fn link_rank(name: &str) -> (u8, &str) {
    match name {
        crate::event::links::REDIS => (0, name),
        crate::event::links::QUEUES => (1, name),
        _ => (2, name),
    }
}

fn link_span<'a>(link: &crate::app::state::Link, theme: &Theme) -> Span<'a> {
    let (sym, style, extra) = match &link.health {
        LinkHealth::Up => ("●", theme.link_up, String::new()),
        LinkHealth::Connecting => ("◌", theme.muted, " connecting".to_string()),
        // An Engine that is not there is calm grey, and short: the platform may run
        // without Docker, and the Ports pane's Docker row says why.
        LinkHealth::Down { .. } if link.name == crate::event::links::DOCKER => {
            ("○", theme.muted, String::new())
        }
        // Cut, so several failing links still leave room for the mode and the clock.
        LinkHealth::Down { why, .. } => (
            "○",
            theme.link_down,
            format!(" {}", super::fmt::fit(why, 28)),
        ),
        LinkHealth::Degraded { why } => (
            "◐",
            theme.level_warn,
            format!(" {}", super::fmt::fit(why, 40)),
        ),
    };
    Span::styled(format!(" {sym} {}{extra} ", link.name), style)
}

pub fn status(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut spans = Vec::new();
    let mut links: Vec<&crate::app::state::Link> = state.links.iter().collect();
    links.sort_by(|a, b| link_rank(&a.name).cmp(&link_rank(&b.name)));
    let (spine, rest): (Vec<_>, Vec<_>) = links.into_iter().partition(|l| link_rank(&l.name).0 < 2);
    for link in spine {
        spans.push(link_span(link, theme));
    }
    if state.links.is_empty() {
        spans.push(Span::styled(" no feeds ", theme.muted));
    }
    if let Some(flowing) = task_events(state, theme) {
        spans.push(flowing);
    }
    spans.push(Span::styled(
        format!("│ {} ", state.ui.mode.label()),
        theme.statusbar,
    ));
    if state.ui.zoomed {
        spans.push(Span::styled("ZOOM ", theme.statusbar));
    }
    if state.session.read_only {
        spans.push(Span::styled(" READ-ONLY ", theme.badge_readonly));
        spans.push(Span::raw(" "));
    }
    if state.counters.shed > 0 {
        spans.push(Span::styled(
            format!("⚠ {} shed ", state.counters.shed),
            theme.level_warn,
        ));
    }
    if let Some(flash) = &state.flash
        && (state.now - flash.at).num_seconds() < 8
    {
        let style = match flash.level {
            crate::platform::model::Level::Error => theme.level_error,
            crate::platform::model::Level::Warn => theme.level_warn,
            _ => theme.accent,
        };
        spans.push(Span::styled(format!(" {} ", flash.text), style));
    }
    // The other links after the flash: what the operator just did is said first.
    for link in rest {
        spans.push(link_span(link, theme));
    }
    if state.counters.malformed > 0 {
        spans.push(Span::styled(
            format!("⚠ {} malformed ", state.counters.malformed),
            theme.level_warn,
        ));
    }
    let clock = format!(
        " {}{} ",
        clock(state.now, state.utc),
        if state.utc { " UTC" } else { "" }
    );
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let pad = (area.width as usize).saturating_sub(used + clock.len());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(clock, theme.statusbar));
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.statusbar),
        area,
    );
}

/// The dashboard's alerts strip: every firing alert, most severe first, as far as the row
/// goes, and where to see them all.
pub fn alerts_strip(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    use crate::config::model::AlertSeverity;
    let firing = state.alerts.firing();
    let mut spans = vec![Span::styled(" ALERTS ", theme.badge_demo)];
    for a in &firing {
        let rule = &state.alerts.rules[a.rule];
        let style = match rule.severity {
            AlertSeverity::Critical => theme.level_error,
            AlertSeverity::Warning => theme.level_warn,
            AlertSeverity::Info => theme.muted,
        };
        let acked = if a.acked.is_some() { " (acked)" } else { "" };
        spans.push(Span::styled(
            format!(
                " ⚠ {}: {}{acked} ",
                rule.name,
                super::fmt::fit(&a.subject, 32)
            ),
            style,
        ));
    }
    spans.push(Span::styled(" · :alerts for all ", theme.muted));
    f.render_widget(Paragraph::new(Line::from(spans)).style(theme.base), area);
}

/// Are task events flowing? Workers without -E send none until enable_events arrives, and
/// none can flow at all while Redis is down.
fn task_events<'a>(state: &State, theme: &Theme) -> Option<Span<'a>> {
    let redis = state
        .links
        .iter()
        .find(|l| l.name == crate::event::links::REDIS);
    let redis_up = redis.is_some_and(|l| l.health == LinkHealth::Up);
    Some(match state.last_task_event {
        _ if redis.is_some() && !redis_up => {
            Span::styled(" ○ no task events: Redis down ", theme.link_down)
        }
        Some(t) if (state.now - t).num_seconds() < 60 => {
            Span::styled(" ● task events ", theme.link_up)
        }
        Some(_) if redis_up => Span::styled(" ○ task events quiet ", theme.muted),
        None if redis_up => Span::styled(" ○ no task events ", theme.level_warn),
        _ => return None,
    })
}
