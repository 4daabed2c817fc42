//! The help overlay, generated from the active keymap: it cannot disagree with the keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::layout::centered;
use super::panes::popup_block;
use crate::app::state::State;
use crate::config::keymap::{Action, Section};
use crate::config::theme::Theme;

type ViewRows = &'static [(&'static [Action], &'static str)];

/// Keys whose meaning inside a view is its own.
const VIEW_KEYS: &[(&str, Section, ViewRows)] = &[
    (
        "Tasks view",
        Section::Normal,
        &[
            (
                &[Action::Up, Action::Down],
                "select a task (the selection follows it)",
            ),
            (&[Action::Zoom], "details of the selected task"),
            (&[Action::Sort], "sort: newest, name, state, agent, runtime"),
            (
                &[Action::Filter],
                "filter: state: agent: name: worker: or words",
            ),
            (
                &[Action::Revoke, Action::Terminate],
                "revoke / revoke and terminate (asks first)",
            ),
            (&[Action::Back], "back to the dashboard"),
        ],
    ),
    (
        "Executor view",
        Section::Executor,
        &[
            (
                &[Action::FocusNext, Action::FocusPrev],
                "next / previous tab",
            ),
            (&[Action::Run], "run the selected runbook (asks first)"),
            (
                &[Action::Cancel],
                "cancel the run in this tab (TERM, then KILL)",
            ),
            (&[Action::CloseTab], "close an ended run's tab"),
        ],
    ),
];

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
    // The views' own sections are listed once something is bound in them.
    let views = Section::VIEWS
        .into_iter()
        .map(|(s, _)| s)
        .filter(|s| !state.keymap.section(*s).is_empty());
    let sections = [
        Section::Normal,
        Section::Log,
        Section::Executor,
        Section::Help,
    ];
    for section in sections.into_iter().chain(views) {
        lines.push(Line::from(Span::styled(section.title(), theme.header)));
        for (keys, desc) in rows(state, section) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<16} "), theme.accent),
                Span::raw(desc),
            ]));
        }
        lines.push(Line::raw(""));
    }
    // What the same keys mean inside the views, named from the active keymap.
    for (title, section, rows) in VIEW_KEYS {
        lines.push(Line::from(Span::styled(*title, theme.header)));
        for (actions, desc) in *rows {
            let keys: Vec<String> = actions
                .iter()
                .map(|a| state.keymap.hint(*section, *a))
                .collect();
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<16} ", keys.join(" / ")), theme.accent),
                Span::raw(*desc),
            ]));
        }
        lines.push(Line::raw(""));
    }
    lines.push(Line::from(Span::styled(
        format!(
            "Commands ({} opens the command line)",
            state.keymap.hint(Section::Normal, Action::Command)
        ),
        theme.header,
    )));
    for (_, usage, what) in crate::app::dialogs::commands::COMMANDS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {usage:<34} "), theme.accent),
            Span::raw(*what),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "Mouse capture is off: select text with your terminal as usual.",
        theme.muted,
    )));
    let h = |a| state.keymap.hint(Section::Help, a);
    let keys = format!(
        " {} close · {}{} scroll ",
        h(Action::Back),
        h(Action::Up),
        h(Action::Down)
    );
    let block = popup_block(theme, " Help — keys ".into(), &keys);
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .style(theme.base)
            .scroll((state.ui.help_scroll, 0)),
        popup,
    );
}
