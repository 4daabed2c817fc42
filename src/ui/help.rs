//! The help overlay, generated from the active keymap: it cannot disagree with the keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::layout::centered;
use super::panes::popup_block;
use crate::app::state::State;
use crate::config::keymap::Section;
use crate::config::theme::Theme;

/// Rows of (keys, description), keys that do the same thing joined on one row.
pub fn rows(state: &State, section: Section) -> Vec<(String, String)> {
    let mut out: Vec<(String, String, crate::config::keymap::Action)> = Vec::new();
    for b in state.keymap.section(section) {
        if b.action == crate::config::keymap::Action::Nothing {
            continue;
        }
        match out
            .iter_mut()
            .find(|(_, d, a)| *a == b.action && *d == b.desc)
        {
            Some(row) => row.0 = format!("{}, {}", row.0, b.key),
            None => out.push((b.key.to_string(), b.desc.clone(), b.action)),
        }
    }
    out.into_iter().map(|(k, d, _)| (k, d)).collect()
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let popup = centered(area, 70, 80);
    let popup = Rect {
        width: popup.width.max(area.width.min(44)),
        height: popup.height.max(area.height.min(12)),
        ..popup
    };
    let popup = popup.intersection(area);
    let mut lines = Vec::new();
    for section in [
        Section::Normal,
        Section::Log,
        Section::Executor,
        Section::Help,
    ] {
        lines.push(Line::from(Span::styled(section.title(), theme.header)));
        for (keys, desc) in rows(state, section) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<16} "), theme.accent),
                Span::raw(desc),
            ]));
        }
        lines.push(Line::raw(""));
    }
    lines.push(Line::from(Span::styled(
        "Mouse capture is off: select text with your terminal as usual.",
        theme.muted,
    )));
    let block = popup_block(theme, " Help — keys ".into(), " esc close · ↑↓ scroll ");
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .style(theme.base)
            .scroll((state.ui.help_scroll, 0)),
        popup,
    );
}
