//! The Alerts view: the alerts in force (firing, then pending), and the history of alerts
//! that fired and resolved, newest first.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};

use super::fmt::{clock, duration};
use super::panes::view_block;
use crate::app::model::alerts::Change;
use crate::app::state::State;
use crate::config::model::AlertSeverity;
use crate::config::theme::Theme;

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let book = &state.alerts;
    let firing = book.firing().len();
    let pending = book.active.len() - firing;
    let block = view_block(
        theme,
        "Alerts",
        format!(
            "{firing} firing · {pending} pending · {} rules · {} acknowledge · an alert fires once its condition has held for its `for` ",
            book.rules.len(),
            state.keymap.hint(
                crate::config::keymap::Section::Alerts,
                crate::config::keymap::Action::Ack
            )
        ),
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let now_h = (book.active.len() as u16 + 1).clamp(2, inner.height / 2);
    let [now_area, history_area] =
        Layout::vertical([Constraint::Length(now_h), Constraint::Min(1)]).areas(inner);
    let sev = |s| severity_style(theme, s);
    // The room's order, so the selection is the row it acts on.
    let order = crate::app::views::alerts::listed(state);
    let active: Vec<_> = order
        .iter()
        .filter_map(|t| {
            book.active.values().find(|a| {
                crate::app::model::alert_book::ack_target(&book.rules[a.rule].name, &a.subject)
                    == *t
            })
        })
        .collect();
    let rows = active.iter().map(|a| {
        let rule = &book.rules[a.rule];
        let (state_word, for_how_long) = match a.fired {
            Some(at) => ("FIRING", duration((state.now - at).num_seconds())),
            None => (
                "pending",
                format!(
                    "fires in {}",
                    duration((rule.wait - (state.now - a.since)).num_seconds().max(0))
                ),
            ),
        };
        Row::new(vec![
            Cell::from(Span::styled(state_word, sev(rule.severity))),
            Cell::from(Span::styled(rule.severity.label(), sev(rule.severity))),
            Cell::from(rule.name.clone()),
            Cell::from(a.subject.clone()),
            Cell::from(for_how_long),
            Cell::from(match &a.acked {
                Some(who) => format!("acked by {who} · {}", a.detail),
                None => a.detail.clone(),
            }),
        ])
    });
    let widths = [
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(22),
        Constraint::Length(24),
        Constraint::Length(12),
        Constraint::Min(10),
    ];
    let mut ts = ratatui::widgets::TableState::default()
        .with_selected(crate::app::views::alerts::picked_index(state, &order));
    f.render_stateful_widget(
        Table::new(rows, widths)
            .header(Row::new(["", "severity", "rule", "subject", "for", "now"]).style(theme.header))
            .row_highlight_style(theme.selection),
        now_area,
        &mut ts,
    );
    history(f, history_area, state, theme);
}

/// Every alert that fired or resolved, newest first.
fn history(f: &mut Frame, history_area: Rect, state: &State, theme: &Theme) {
    let book = &state.alerts;
    let history = book.history.iter().rev().map(|r| {
        let (word, style) = match r.change {
            Change::Fired => ("fired", severity_style(theme, r.severity)),
            Change::Resolved => ("resolved", theme.state_idle),
        };
        Row::new(vec![
            Cell::from(clock(r.at, state.utc)),
            Cell::from(Span::styled(word, style)),
            Cell::from(r.rule.clone()),
            Cell::from(r.subject.clone()),
            Cell::from(r.detail.clone()),
        ])
    });
    let widths = [
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(22),
        Constraint::Length(24),
        Constraint::Min(10),
    ];
    f.render_widget(
        Table::new(history, widths)
            .header(Row::new(["at", "", "rule", "subject", "why"]).style(theme.header)),
        history_area,
    );
}

fn severity_style(theme: &Theme, s: AlertSeverity) -> ratatui::style::Style {
    match s {
        AlertSeverity::Critical => theme.level_error,
        AlertSeverity::Warning => theme.level_warn,
        AlertSeverity::Info => theme.muted,
    }
}
