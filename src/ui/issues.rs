//! The Issues view: what is failing, since when, and where, one row per task name and
//! exception type, with the selected group's newest traceback below.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use super::fmt::{clock, sparkline};
use super::panes::view_block;
use crate::app::model::failures::{self, groups};
use crate::app::state::State;
use crate::app::views::issues::picked_index;
use crate::config::keymap::{Action, Section};
use crate::config::theme::Theme;

/// The Issues view: one row per group of failures, the selected group's sample below.
pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let all = groups(state);
    let failing = all.iter().filter(|g| !g.recovered).count();
    let hint = |a| state.keymap.hint(Section::Issues, a);
    let block = view_block(
        theme,
        "Issues",
        format!(
            "{failing} failing · {} recovered · from the {} tasks kept · {} its tasks · {} retry them all ",
            all.len() - failing,
            state.tasks.by_id.len(),
            hint(Action::Zoom),
            hint(Action::Retry)
        ),
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let sample_h = if inner.height > 12 {
        inner.height / 3
    } else {
        0
    };
    let [table_area, sample_area] =
        Layout::vertical([Constraint::Min(2), Constraint::Length(sample_h)]).areas(inner);
    // Narrow, the sparkline and then the workers give way (the sample below names them).
    let (spark, wide) = (area.width >= 100, area.width >= 150);
    let (header, widths) = columns(spark, wide);
    let rows = all.iter().map(|g| row(g, state, theme, spark, wide));
    let sel = picked_index(state, &all);
    let mut ts = TableState::default().with_selected(sel);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .row_highlight_style(theme.selection);
    f.render_stateful_widget(table, table_area, &mut ts);
    if all.is_empty() {
        super::panes::empty_note(
            f,
            area,
            "no failed task among those kept: nothing is failing",
            theme,
        );
    }
    if let (Some(g), true) = (sel.and_then(|i| all.get(i)), sample_h > 0) {
        sample(f, sample_area, g, state, theme);
    }
}

/// The selected group's head line and the newest lines of its sample traceback.
fn sample(f: &mut Frame, area: Rect, g: &failures::Group, state: &State, theme: &Theme) {
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{} · {} · first {} · newest {} · on {}",
            g.name,
            g.exception,
            clock(g.first, state.utc),
            clock(g.last, state.utc),
            g.workers_words()
        ),
        theme.header,
    ))];
    lines.extend(
        g.sample
            .lines()
            .rev()
            .take(area.height.saturating_sub(1) as usize)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|l| Line::from(Span::styled(l.to_string(), theme.level_error))),
    );
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// The columns: narrow, the sparkline and then the workers give way (the sample below
/// names them).
fn columns(spark: bool, wide: bool) -> (Vec<&'static str>, Vec<Constraint>) {
    let mut header = vec!["", "task", "exception", "1h", "total", "first", "last"];
    if spark {
        header.push("failures a minute, last 30 min");
    }
    if wide {
        header.push("workers");
    }
    let mut widths = vec![
        Constraint::Length(9),
        Constraint::Min(16),
        Constraint::Length(16),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(8),
    ];
    if spark {
        widths.push(Constraint::Length(30));
    }
    if wide {
        widths.push(Constraint::Min(20));
    }
    (header, widths)
}

/// One group's row.
fn row<'a>(g: &failures::Group, state: &State, theme: &Theme, spark: bool, wide: bool) -> Row<'a> {
    let (mark, style) = if g.recovered {
        ("recovered", theme.state_idle)
    } else {
        ("FAILING", theme.level_error)
    };
    let mut cells = vec![
        Cell::from(Span::styled(mark, style)),
        Cell::from(g.name.clone()),
        Cell::from(g.exception.clone()),
        Cell::from(format!("{:>5}", g.in_window)),
        Cell::from(format!("{:>6}", g.total)),
        Cell::from(clock(g.first, state.utc)),
        Cell::from(clock(g.last, state.utc)),
    ];
    if spark {
        cells.push(Cell::from(Span::styled(
            sparkline(g.per_minute.iter(), failures::BUCKETS),
            theme.level_error,
        )));
    }
    if wide {
        cells.push(Cell::from(g.workers_words()));
    }
    Row::new(cells)
}
