//! The Workers view: every Celery worker seen, with what Flower shows of it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::fmt::duration;
use super::panes::view_block;
use crate::app::state::State;
use crate::config::theme::Theme;

// Long, on purpose: the table's columns, one after another.
pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let online = state.workers.values().filter(|w| w.online).count();
    let block = view_block(
        theme,
        "Workers",
        format!(
            "{online} online of {} seen · offline = no heartbeat for 2 × freq ",
            state.workers.len()
        ),
    );
    // Narrow, the load and version give way: the counts are what an operator reads.
    let wide = area.width >= 100;
    let keep = |i: usize| wide || !matches!(i, 5 | 6);
    let names = [
        "worker",
        "agent",
        "state",
        "active",
        "processed",
        "load 1/5/15",
        "version",
        "heartbeat",
    ];
    let header = Row::new(
        names
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, n)| *n)
            .collect::<Vec<_>>(),
    )
    .style(theme.header);
    let rows = state.workers.values().map(|w| {
        let (label, style) = if w.online {
            ("online", theme.state_idle)
        } else {
            ("OFFLINE", theme.state_offline)
        };
        let cells = vec![
            Cell::from(w.hostname.clone()),
            Cell::from(
                w.agent
                    .map(|i| state.agents[i].name.clone())
                    .unwrap_or_else(|| "—".into()),
            ),
            Cell::from(Span::styled(label, style)),
            Cell::from(format!("{:>6}", w.active)),
            Cell::from(format!("{:>9}", w.processed)),
            Cell::from(format!(
                "{:.2} {:.2} {:.2}",
                w.loadavg[0], w.loadavg[1], w.loadavg[2]
            )),
            Cell::from(w.sw_ver.clone().unwrap_or_default()),
            Cell::from(format!(
                "{} ago",
                duration((state.now - w.last_heartbeat).num_seconds())
            )),
        ];
        Row::new(
            cells
                .into_iter()
                .enumerate()
                .filter(|(i, _)| keep(*i))
                .map(|(_, c)| c)
                .collect::<Vec<_>>(),
        )
    });
    let widths: Vec<Constraint> = [
        Constraint::Min(18),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(14),
        Constraint::Length(8),
        Constraint::Length(10),
    ]
    .into_iter()
    .enumerate()
    .filter(|(i, _)| keep(*i))
    .map(|(_, c)| c)
    .collect();
    f.render_widget(Table::new(rows, widths).header(header).block(block), area);
    if state.workers.is_empty() {
        let line = Rect {
            x: area.x + 2,
            y: area.y + 2,
            width: area.width.saturating_sub(4),
            height: 1,
        }
        .intersection(area);
        f.render_widget(
            Paragraph::new(Span::styled(
                "no Celery worker seen yet: they appear with their first heartbeat",
                theme.muted,
            )),
            line,
        );
    }
}
