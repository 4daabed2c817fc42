//! The fleet overview (`:fleet`): one row per context, the one on screen marked; and the
//! context badge the title bar shows.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::fmt::sparkline;
use super::panes::view_block;
use crate::app::state::State;
use crate::app::views::contexts::picked_index;
use crate::config::keymap::{Action, Section};
use crate::config::theme::Theme;

/// How many seconds the sparkline covers.
const SPARK: usize = 30;

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let rows = &state.ui.context_rows;
    let block = view_block(
        theme,
        "Fleet",
        format!(
            "{} contexts · {} go into one · :ctx NAME ",
            rows.len(),
            state.keymap.hint(Section::Normal, Action::Zoom)
        ),
    );
    let label = |r: &crate::event::ContextRow| {
        let here = r.name == state.session.context.name;
        format!(
            "{}{}{}",
            if here { "▶ " } else { "  " },
            r.name,
            if r.protected { " (protected)" } else { "" }
        )
    };
    let name_w = rows
        .iter()
        .map(|r| label(r).chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 40) as u16;
    // The sparkline takes what the other columns leave, its newest seconds rightmost.
    const FIXED: [u16; 7] = [5, 6, 7, 7, 7, 5, 6];
    let used = 2 + name_w + FIXED.iter().sum::<u16>() + FIXED.len() as u16 + 1;
    let spark_w = area.width.saturating_sub(used).clamp(4, SPARK as u16);
    let header = Row::new(vec![
        "context", "feed", "agents", "workers", "waiting", "fail 5m", "down", "alerts", "events/s",
    ])
    .style(theme.header);
    let lines = rows.iter().map(|r| {
        let name = label(r);
        let (feed, feed_style) = if r.live {
            ("live", theme.link_up)
        } else {
            ("DOWN", theme.level_error)
        };
        let alarm = |n: usize| {
            if n > 0 {
                theme.level_error
            } else {
                theme.muted
            }
        };
        Row::new(vec![
            Cell::from(Span::styled(name, badge_style(&r.color, theme))),
            Cell::from(Span::styled(feed, feed_style)),
            Cell::from(format!("{}/{}", r.agents_up, r.agents)),
            Cell::from(r.workers_online.to_string()),
            Cell::from(r.waiting.to_string()),
            Cell::from(Span::styled(
                r.failures_5m.to_string(),
                alarm(r.failures_5m),
            )),
            Cell::from(Span::styled(r.ports_down.to_string(), alarm(r.ports_down))),
            Cell::from(Span::styled(
                r.alerts_firing.to_string(),
                alarm(r.alerts_firing),
            )),
            Cell::from(sparkline(r.spark.iter(), spark_w as usize)),
        ])
    });
    let mut widths = vec![Constraint::Length(name_w)];
    widths.extend(FIXED.iter().map(|w| Constraint::Length(*w)));
    widths.push(Constraint::Length(spark_w));
    let mut ts = TableState::default().with_selected(picked_index(state));
    let table = Table::new(lines, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme.selection);
    f.render_stateful_widget(table, area, &mut ts);
    if rows.is_empty() {
        super::panes::empty_note(f, area, "summing up the contexts…", theme);
    }
}

/// The context's name as the title bar shows it, in its colour: always there when the
/// config has contexts, so an operator never acts on production thinking it is staging.
pub fn badge<'a>(state: &State, theme: &Theme) -> Option<Span<'a>> {
    let c = &state.session.context;
    if state.session.contexts.len() <= 1 && c.name == crate::config::contexts::DEFAULT {
        return None;
    }
    let lock = if c.protected { " · protected" } else { "" };
    Some(Span::styled(
        format!(" ⎈ {}{lock} ", c.name),
        badge_style(&c.color, theme).add_modifier(Modifier::REVERSED | Modifier::BOLD),
    ))
}

/// The context's colour (a name `config::contexts::COLORS` allows), read as the theme reads
/// colours and brought down to the terminal's colour depth like the theme's own, so
/// `NO_COLOR` and `--color none` hold here too; no colour given, the theme's title style.
fn badge_style(color: &str, theme: &Theme) -> Style {
    if color.is_empty() {
        return theme.title;
    }
    match crate::config::theme::parse_color(color) {
        Ok(c) => theme
            .base
            .fg(crate::config::theme::downsample(c, theme.mode)),
        Err(_) => theme.title,
    }
}

/// A protected context: the held action, and the name typed so far.
pub fn confirm(
    f: &mut Frame,
    area: Rect,
    state: &State,
    held: &crate::app::dialogs::protect::Held,
    theme: &Theme,
) {
    use ratatui::text::Line;
    let name = &state.session.context.name;
    let rect = super::layout::popup(area, 72, 9);
    let lines = vec![
        Line::from(Span::styled(
            format!("`{name}` is a protected context."),
            badge_style(&state.session.context.color, theme).add_modifier(Modifier::BOLD),
        )),
        Line::raw(""),
        Line::raw(format!(
            "About to go ahead with: {}.",
            held.words().join(", ")
        )),
        Line::raw("Type the context's name to go ahead:"),
        Line::from(vec![
            Span::styled("> ", theme.accent),
            Span::raw(held.typed.clone()),
            Span::styled("█", theme.accent),
        ]),
    ];
    let block = super::panes::popup_block(
        theme,
        format!(" Protected: {name} "),
        " enter go ahead · esc drop it ",
    );
    super::panes::show_popup(f, rect, lines, block, theme);
}

/// Over the status row while an action waits for its confirmation, with several contexts:
/// the context it will act in, in the context's colour.
pub fn confirming_in(f: &mut Frame, row: Rect, state: &State, theme: &Theme) {
    use crate::app::state::Mode;
    let confirming = matches!(
        state.ui.mode,
        Mode::Confirm(_)
            | Mode::ConfirmDispatch(_)
            | Mode::ConfirmEmit(_)
            | Mode::ConfirmExec(_)
            | Mode::ConfirmOrder(_)
    );
    if !confirming || state.session.contexts.len() <= 1 {
        return;
    }
    let c = &state.session.context;
    let text = format!(
        " ⎈ this acts in context {}{} ",
        c.name,
        if c.protected { " (protected)" } else { "" }
    );
    f.render_widget(
        ratatui::widgets::Paragraph::new(Span::styled(
            text,
            badge_style(&c.color, theme).add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )),
        row,
    );
}
