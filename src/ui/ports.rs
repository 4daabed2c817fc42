//! The port map: one row per entry, with what it was expected to be.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::fmt::fit;
use super::panes::block;
use crate::app::state::{Pane, PortRow, PortStatus, State};
use crate::config::model::Expect;
use crate::config::theme::Theme;

/// What a row means for the operator: its label and its style.
pub fn verdict(row: &PortRow, theme: &Theme) -> (&'static str, Style) {
    match (&row.status, row.expect) {
        (PortStatus::Unknown, _) => ("unknown", theme.port_unknown),
        (PortStatus::Up { .. }, Expect::Down) => ("EXPOSED", theme.port_down),
        (PortStatus::Up { .. }, _) => ("up", theme.port_up),
        (PortStatus::Down { .. }, Expect::Down) => ("closed", theme.port_up),
        (PortStatus::Down { .. }, Expect::Optional) => ("absent", theme.port_optional),
        (PortStatus::Down { .. }, Expect::Required) => ("DOWN", theme.port_down),
    }
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let down = state
        .ports
        .iter()
        .filter(|p| matches!(verdict(p, theme).0, "DOWN" | "EXPOSED"))
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
        .map(|p| p.host.chars().count() + 1 + p.port.to_string().len())
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
        let (label, style) = verdict(p, theme);
        let latency = match &p.status {
            PortStatus::Up { latency_ms } => format!("{latency_ms:.1}"),
            _ => "–".into(),
        };
        let why = match &p.status {
            PortStatus::Down { why } => why.clone(),
            _ => String::new(),
        };
        let mut cells = vec![
            Cell::from(p.name.clone()),
            Cell::from(fit(&format!("{}:{}", p.host, p.port), target_w as usize)),
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
