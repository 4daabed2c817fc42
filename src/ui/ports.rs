//! The port map: one row per entry, with what it was expected to be.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::fmt::fit;
use super::panes::block;
use crate::app::model::health::{self, Severity};
use crate::app::state::{Pane, PortRow, PortStatus, State};
use crate::config::model::Expect;
use crate::config::theme::Theme;

/// What a row means for the operator: its label and its style.
pub fn verdict(row: &PortRow, state: &State, theme: &Theme) -> (String, Style) {
    let (label, severity) = health::port(state, row);
    let style = match (severity, &row.status, row.expect) {
        (Severity::Alarm, ..) => theme.port_down,
        (Severity::Warn, PortStatus::Down { .. }, Expect::Optional) => theme.port_optional,
        (Severity::Warn, ..) => theme.level_warn,
        (Severity::Ok, PortStatus::Unknown, _) => theme.port_unknown,
        (Severity::Ok, ..) => theme.port_up,
    };
    (label, style)
}

/// ` via HOST` for a port checked from another host.
fn via_words(p: &PortRow) -> String {
    if p.via.is_empty() {
        String::new()
    } else {
        format!(" via {}", p.via)
    }
}

// Long, on purpose: the table's columns, one after another.
pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let down = state
        .ports
        .iter()
        .filter(|p| health::port(state, p).1 == Severity::Alarm)
        .count();
    let summary = if down > 0 {
        Span::styled(format!("{down} need attention "), theme.port_down)
    } else {
        Span::styled(format!("{} entries ", state.ports.len()), theme.muted)
    };
    let b = block(state, theme, Pane::Ports, vec![summary]);
    let inner_w = area.width.saturating_sub(2);
    let wide = inner_w >= 60;
    // As wide as the longest host:port, within reason: remote targets can be long names.
    let target_w = state
        .ports
        .iter()
        .map(|p| p.host.chars().count() + 1 + p.port.to_string().len() + via_words(p).len())
        .max()
        .unwrap_or(10)
        .clamp(10, 28) as u16;
    let header = Row::new(if wide {
        vec!["name", "target", "state", "latency", "why"]
    } else {
        vec!["name", "target", "state", "ms"]
    })
    .style(theme.header);
    let rows = state.ports.iter().map(|p| {
        let (label, style) = verdict(p, state, theme);
        let latency = match &p.status {
            PortStatus::Up { latency_ms } => format!("{latency_ms:.1}"),
            _ => "–".into(),
        };
        // Why, in words: what failed, what listens where it should not, or the latency trend.
        let why = match (health::exposed(state, p), &p.status) {
            (
                Some(crate::platform::exposure::Finding::Exposed {
                    listener, remedy, ..
                }),
                _,
            ) => {
                let owner = listener
                    .owner
                    .as_deref()
                    .map(|o| format!(" by {o}"))
                    .unwrap_or_default();
                format!("listening on {}{owner}: {remedy}", listener.addr)
            }
            (_, PortStatus::Down { why }) => why.clone(),
            _ => super::fmt::sparkline(p.latency_history.iter(), 16),
        };
        let mut cells = vec![
            Cell::from(p.name.clone()),
            Cell::from(fit(
                &format!("{}:{}{}", p.host, p.port, via_words(p)),
                target_w as usize,
            )),
            Cell::from(Span::styled(label, style)),
            Cell::from(if wide && latency != "–" {
                format!("{latency} ms")
            } else {
                latency
            }),
        ];
        if wide {
            cells.push(Cell::from(Span::styled(why, theme.muted)));
        }
        Row::new(cells)
    });
    // The Docker Engine, as a row of its own: up, or calmly not there.
    let docker = state
        .links
        .iter()
        .find(|l| l.name == crate::event::links::DOCKER)
        .map(|l| {
            let (label, style, why) = match &l.health {
                crate::event::LinkHealth::Up => (
                    "up",
                    theme.port_up,
                    format!("{} container(s)", state.docker.rows.len()),
                ),
                crate::event::LinkHealth::Down { why, .. } => ("absent", theme.muted, why.clone()),
                _ => ("…", theme.muted, String::new()),
            };
            let mut cells = vec![
                Cell::from("Docker"),
                Cell::from(fit(&state.docker.host, target_w as usize)),
                Cell::from(Span::styled(label, style)),
                Cell::from(if wide { "" } else { "–" }),
            ];
            if wide {
                cells.push(Cell::from(Span::styled(why, theme.muted)));
            }
            Row::new(cells)
        });
    // The broker's master behind Sentinel: where the sentinels say it is, and since when.
    let master = state.master.as_ref().map(|(news, since)| {
        let following = state
            .links
            .iter()
            .find(|l| l.name == crate::event::links::SENTINEL)
            .is_some_and(|l| l.health == crate::event::LinkHealth::Up);
        let (label, style) = if following {
            ("master", theme.port_up)
        } else {
            ("unsure", theme.level_warn)
        };
        let when = super::fmt::clock(*since, state.utc);
        let why = match &news.previous {
            // What moved first: the pane is often narrow.
            Some(was) => format!("failed over from {was} at {when} ({})", news.name),
            None => format!("{} since {when}", news.name),
        };
        let mut cells = vec![
            Cell::from("Master"),
            Cell::from(fit(&news.addr, target_w as usize)),
            Cell::from(Span::styled(label, style)),
            Cell::from(if wide { "" } else { "–" }),
        ];
        if wide {
            cells.push(Cell::from(Span::styled(why, theme.muted)));
        }
        Row::new(cells)
    });
    let rows = rows.chain(master).chain(docker);
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(12),
            Constraint::Length(target_w),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Min(0),
        ]
    } else {
        vec![
            Constraint::Length(12),
            Constraint::Min(10),
            Constraint::Length(8),
            Constraint::Length(5),
        ]
    };
    let table = Table::new(rows, widths)
        .header(header)
        .block(b)
        .row_highlight_style(theme.selection);
    let mut ts = TableState::default();
    if state.ui.focus == Pane::Ports {
        ts.select(Some(state.ui.port_sel));
    }
    f.render_stateful_widget(table, area, &mut ts);
}
