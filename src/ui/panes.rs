//! Shared pane chrome: a bordered block whose border shows focus.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::app::state::{Pane, State};
use crate::config::theme::Theme;

pub fn block<'a>(state: &State, theme: &Theme, pane: Pane, extra: Vec<Span<'a>>) -> Block<'a> {
    let focused = state.ui.focus == pane;
    let mut title = vec![Span::styled(
        format!(" {} ", pane.title()),
        if focused {
            theme.border_focused
        } else {
            theme.title
        },
    )];
    title.extend(extra);
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        })
        .title(Line::from(title))
}

/// The frame of a full-body view (Tasks, Workers): its name, then a summary line.
pub fn view_block<'a>(theme: &Theme, name: &'a str, summary: String) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Thick)
        .border_style(theme.border_focused)
        .title(Line::from(vec![
            Span::styled(format!(" {name} "), theme.border_focused),
            Span::styled(summary, theme.muted),
        ]))
}

/// The frame of an overlay (help, task detail): a title, and its keys along the bottom.
pub fn popup_block<'a>(theme: &Theme, title: String, keys: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.border_focused)
        .title(Span::styled(title, theme.title))
        .title_bottom(Line::from(Span::styled(keys, theme.muted)))
}

/// An overlay: what was under `rect` cleared, then `lines` in `block`, wrapped.
pub fn show_popup(
    f: &mut Frame,
    rect: Rect,
    lines: Vec<Line<'_>>,
    block: Block<'_>,
    theme: &Theme,
) {
    show_popup_scrolled(f, rect, lines, block, theme, 0);
}

/// `show_popup`, scrolled down `scroll` lines (a detail longer than the screen).
pub fn show_popup_scrolled(
    f: &mut Frame,
    rect: Rect,
    lines: Vec<Line<'_>>,
    block: Block<'_>,
    theme: &Theme,
    scroll: u16,
) {
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .style(theme.base)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        rect,
    );
}

/// A word typed to confirm something destructive: the ask, what is typed so far, and why
/// the last Enter did not match.
pub fn typed_prompt(
    theme: &Theme,
    ask: String,
    typed: &str,
    wrong: Option<&String>,
    lines: &mut Vec<Line<'_>>,
) {
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(ask, theme.level_error)));
    lines.push(Line::from(vec![
        Span::styled("> ", theme.accent),
        Span::raw(typed.to_string()),
        Span::styled("█", theme.accent),
    ]));
    if let Some(why) = wrong {
        lines.push(Line::from(Span::styled(why.clone(), theme.level_error)));
    }
}

/// A grey line inside a view's frame (the first row under its header) saying why it is
/// empty.
pub fn empty_note(f: &mut Frame, area: Rect, why: &str, theme: &Theme) {
    let line = Rect {
        x: area.x + 2,
        y: area.y + 2,
        width: area.width.saturating_sub(4),
        height: 1,
    }
    .intersection(area);
    f.render_widget(
        Paragraph::new(Span::styled(why.to_string(), theme.muted)),
        line,
    );
}

/// The items whose place `keep` keeps: a table's columns that give way when it is narrow.
pub fn kept<T>(items: impl IntoIterator<Item = T>, keep: impl Fn(usize) -> bool) -> Vec<T> {
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, x)| x)
        .collect()
}
