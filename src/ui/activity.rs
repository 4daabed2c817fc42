//! The live tail: newest line at the bottom, levels coloured, a source column.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fmt::{clock, fit};
use super::panes::block;
use crate::app::state::{Pane, State};
use crate::config::theme::Theme;
use crate::feeds::model::Level;

pub fn level_style(theme: &Theme, l: Level) -> Style {
    match l {
        Level::Debug => theme.level_debug,
        Level::Info => theme.level_info,
        Level::Warn => theme.level_warn,
        Level::Error => theme.level_error,
    }
}

const SOURCE_W: usize = 10;

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let log = &state.activity;
    let status = if log.follow {
        Span::styled("following ", theme.muted)
    } else {
        Span::styled(
            format!("paused · {} new below ", log.unseen),
            theme.level_warn,
        )
    };
    let b = block(state, theme, Pane::Activity, vec![status]);
    let inner = b.inner(area);
    let rows = inner.height as usize;
    let end = log
        .lines
        .len()
        .saturating_sub(if log.follow { 0 } else { log.offset });
    let start = end.saturating_sub(rows);
    let msg_w = (inner.width as usize).saturating_sub(9 + 6 + SOURCE_W + 1);
    let lines: Vec<Line> = log
        .lines
        .range(start..end)
        .map(|l| {
            Line::from(vec![
                Span::styled(format!("{} ", clock(l.at, state.utc)), theme.muted),
                Span::styled(
                    format!("{:<5} ", l.level.label()),
                    level_style(theme, l.level),
                ),
                Span::styled(
                    format!("{:<w$} ", fit(&l.source, SOURCE_W), w = SOURCE_W),
                    theme.accent,
                ),
                Span::raw(fit(&l.message, msg_w)),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(b), area);
}
