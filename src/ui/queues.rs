//! Queue depth with a sparkline of its recent history.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::fmt::{fit, sparkline};
use super::panes::block;
use crate::app::state::{Pane, State};
use crate::config::theme::Theme;

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let total: u64 = state.queues.iter().map(|q| q.depth).sum();
    let b = block(
        state,
        theme,
        Pane::Queues,
        vec![Span::styled(format!("{total} waiting "), theme.muted)],
    );
    let inner_w = area.width.saturating_sub(2) as usize;
    let name_w = 11usize.min(inner_w / 3);
    let spark_w = inner_w.saturating_sub(name_w + 8);
    let rows = state.queues.iter().map(|q| {
        Row::new(vec![
            Cell::from(fit(&q.name, name_w)),
            Cell::from(format!("{:>6}", q.depth)),
            Cell::from(Span::styled(
                sparkline(q.history.iter(), spark_w),
                theme.sparkline,
            )),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(name_w as u16),
            Constraint::Length(6),
            Constraint::Min(0),
        ],
    )
    .block(b)
    .row_highlight_style(theme.selection);
    let mut ts = TableState::default();
    if state.ui.focus == Pane::Queues {
        ts.select(Some(state.ui.queue_sel));
    }
    f.render_stateful_widget(table, area, &mut ts);
}
