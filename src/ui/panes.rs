//! Shared pane chrome: a bordered block whose border shows focus.

use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

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
