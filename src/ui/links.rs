//! The Links view: one row per connection, the troubled first, with its state, since when,
//! and its last error (kept after it recovers, with its time).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::fmt::{clock, duration};
use super::panes::view_block;
use crate::app::state::State;
use crate::config::theme::Theme;
use crate::event::LinkHealth;

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let all = crate::app::views::links::listed(state);
    let up = all
        .iter()
        .filter(|l| matches!(l.health, LinkHealth::Up))
        .count();
    let block = view_block(
        theme,
        "Links",
        format!(
            "{up} of {} up · troubled first · what each link last said stays until the next error ",
            all.len()
        ),
    );
    let rows = all.iter().map(|l| {
        let (word, style, now) = match &l.health {
            LinkHealth::Up => ("up", theme.state_idle, String::new()),
            LinkHealth::Connecting => ("connecting", theme.level_warn, String::new()),
            LinkHealth::Degraded { why } => ("degraded", theme.level_warn, why.clone()),
            LinkHealth::Down { why, retry_in } => (
                "down",
                theme.level_error,
                match retry_in {
                    Some(d) => format!("{why}; retrying in {:.1}s", d.as_secs_f64()),
                    None => why.clone(),
                },
            ),
        };
        let last = match (&l.last_error, now.is_empty()) {
            (_, false) => now,
            (Some((at, why)), true) => format!("{} {why}", clock(*at, state.utc)),
            (None, true) => String::new(),
        };
        Row::new(vec![
            Cell::from(l.name.clone()),
            Cell::from(Span::styled(word, style)),
            Cell::from(duration((state.now - l.since).num_seconds().max(0))),
            Cell::from(last),
        ])
    });
    let widths = [
        Constraint::Length(22),
        Constraint::Length(11),
        Constraint::Length(9),
        Constraint::Min(10),
    ];
    let mut ts =
        TableState::default().with_selected(crate::app::views::links::picked_index(state, &all));
    f.render_stateful_widget(
        Table::new(rows, widths)
            .header(Row::new(["link", "state", "for", "last error"]).style(theme.header))
            .row_highlight_style(theme.selection)
            .block(block),
        area,
        &mut ts,
    );
}
