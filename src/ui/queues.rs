//! Queue depth (all four priority sub-queues), reserved/ETA tasks, in/out per second, and a
//! sparkline of the recent depth.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::fmt::{fit, sparkline};
use super::panes::block;
use crate::app::state::{Pane, QueueRow, State};
use crate::config::theme::Theme;

/// What a queue row says instead of its sparkline when work waits and no live worker
/// consumes the queue.
pub const NO_CONSUMER: &str = "⊘ no consumer";

fn rate(q: &QueueRow) -> String {
    match (q.in_rate, q.out_rate) {
        (Some(i), Some(o)) => format!("{i:.1}↑{o:.1}↓"),
        (None, Some(o)) => format!("{o:.1}↓"),
        _ => String::new(),
    }
}

/// The pane's title: what waits, or, while the figures are stale, since when.
fn summary<'a>(
    state: &State,
    theme: &Theme,
    stale: Option<chrono::DateTime<chrono::Utc>>,
) -> Span<'a> {
    let total: u64 = state.queues.iter().map(|q| q.depth).sum();
    let reserved: u64 = state.queues.iter().map(|q| q.reserved).sum();
    let text = match (stale, reserved) {
        (Some(t), _) => format!(
            "stale since {} · {total} waiting ",
            super::fmt::clock(t, state.utc)
        ),
        (None, 0) => format!("{total} waiting "),
        (None, _) => format!("{total} waiting · {reserved} reserved "),
    };
    let style = if stale.is_some() {
        theme.level_warn
    } else {
        theme.muted
    };
    Span::styled(text, style)
}

/// The columns' widths, as the pane's width allows them.
struct Widths {
    name: usize,
    spark: usize,
    /// Room for the reserved and rate columns.
    detail: bool,
}

/// One queue's row: its name, depth (greyed while stale, `?` until sampled), reserved and
/// rates where there is room, and its trend, or `no consumer` when work waits that no live
/// worker will take.
fn row<'a>(state: &State, theme: &Theme, q: &QueueRow, stale: bool, w: &Widths) -> Row<'a> {
    let unconsumed = q.depth > 0 && state.consumed(&q.name) == Some(false);
    let plain = ratatui::style::Style::default();
    let mut cells = vec![
        Cell::from(Span::styled(
            fit(&q.name, w.name),
            if unconsumed { theme.level_warn } else { plain },
        )),
        // Learned from a task-sent event and not sampled yet: its depth is unknown, not 0.
        Cell::from(Span::styled(
            if q.sampled() {
                format!("{:>6}", q.depth)
            } else {
                format!("{:>6}", "?")
            },
            if stale { theme.muted } else { plain },
        )),
    ];
    if w.detail {
        let reserved = if q.reserved > 0 {
            format!("{:>4}r", q.reserved)
        } else {
            String::new()
        };
        cells.push(Cell::from(Span::styled(reserved, theme.muted)));
        cells.push(Cell::from(Span::styled(
            format!("{:>10}", rate(q)),
            theme.muted,
        )));
    }
    cells.push(if unconsumed {
        Cell::from(Span::styled(fit(NO_CONSUMER, w.spark), theme.level_warn))
    } else {
        Cell::from(Span::styled(
            sparkline(q.history.iter(), w.spark),
            theme.sparkline,
        ))
    });
    Row::new(cells)
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let stale = state.queues_stale_since();
    let b = block(
        state,
        theme,
        Pane::Queues,
        vec![summary(state, theme, stale)],
    );
    let inner_w = area.width.saturating_sub(2) as usize;
    let name_w = 11usize.min(inner_w / 3);
    // Reserved and rate columns only where they leave the sparkline some room.
    // Fixed columns plus the table's one-cell spacing between columns.
    let fixed_plain = name_w + 6 + 2;
    let fixed_detail = name_w + 6 + 5 + 10 + 4;
    let detail = inner_w >= fixed_detail + 8;
    let spark_w = inner_w.saturating_sub(if detail { fixed_detail } else { fixed_plain });
    let widths_of = Widths {
        name: name_w,
        spark: spark_w,
        detail,
    };
    let rows = state
        .queues
        .iter()
        .map(|q| row(state, theme, q, stale.is_some(), &widths_of));
    let mut heads = vec![fit("queue", name_w), format!("{:>6}", "depth")];
    if detail {
        heads.extend([format!("{:>5}", "rsvd"), format!("{:>10}", "in↑ out↓/s")]);
    }
    heads.push(fit("trend", spark_w));
    let mut widths = vec![Constraint::Length(name_w as u16), Constraint::Length(6)];
    if detail {
        widths.extend([Constraint::Length(5), Constraint::Length(10)]);
    }
    widths.push(Constraint::Min(0));
    let table = Table::new(rows, widths)
        .header(Row::new(heads).style(theme.header))
        .block(b)
        .row_highlight_style(theme.selection);
    let mut ts = TableState::default();
    if state.ui.focus == Pane::Queues {
        ts.select(Some(state.ui.queue_sel));
    }
    f.render_stateful_widget(table, area, &mut ts);
}
