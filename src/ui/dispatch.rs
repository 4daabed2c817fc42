//! The dispatch form, its confirmation (the exact message), and the `:` command line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::fmt::fit;
use super::layout::{centered, popup};
use super::panes::popup_block;
use crate::app::common::short_id;
use crate::app::dialogs::forms::{completions, field_error};
use crate::app::state::{Form, FormField, PendingDispatch, PendingEmit, State};
use crate::config::theme::Theme;

/// The dispatch form, field by field: each value, its error as typed, the task's
/// completions.
pub fn form(f: &mut Frame, area: Rect, state: &State, theme: &Theme, form: &Form) {
    let rect = popup(area, 84, 20);
    let inner_w = rect.width.saturating_sub(18) as usize;
    let mut lines = Vec::new();
    for field in FormField::ALL {
        let focused = form.field == field;
        let label_style = if focused {
            theme.selection
        } else {
            theme.header
        };
        let cursor = if focused { "▏" } else { "" };
        let value = field_value(state, theme, form, field, inner_w, cursor);
        let mut spans = vec![Span::styled(
            format!(" {:<14} ", field.label()),
            label_style,
        )];
        spans.extend(value);
        lines.push(Line::from(spans));
        // Validated as you type: the error, with its position, right under the field.
        if let Some(e) = field_error(form, field) {
            lines.push(Line::from(Span::styled(
                format!("{:16}{}", "", fit(&e, inner_w)),
                theme.level_error,
            )));
        }
        if field == FormField::Task && focused {
            let others: Vec<String> = completions(state, form).into_iter().take(4).collect();
            if !others.is_empty() {
                lines.push(Line::from(Span::styled(
                    format!("{:16}→ {}", "", others.join("  ")),
                    theme.muted,
                )));
            }
        }
    }
    lines.push(Line::raw(""));
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(
            format!(" refused: {e}"),
            theme.level_error,
        )));
    }
    let block = popup_block(
        theme,
        " Dispatch a task ".into(),
        " tab/↑↓ field · ←→ choose, complete · enter preview · esc cancel ",
    );
    super::panes::show_popup(f, rect, lines, block, theme);
}

/// One field's value as shown: a choice between arrows, or the text typed with its cursor
/// and, while empty, what it means.
fn field_value<'a>(
    state: &State,
    theme: &Theme,
    form: &Form,
    field: FormField,
    inner_w: usize,
    cursor: &'a str,
) -> Vec<Span<'a>> {
    match field {
        FormField::Agent => {
            let a = state.agents.get(form.agent);
            let name = a.map_or("—".to_string(), |a| a.name.clone());
            let queue = a
                .and_then(|a| a.queues.first().cloned())
                .map_or("no queue".into(), |q| format!("queue {q}"));
            vec![
                Span::styled(format!("◀ {name} ▶"), theme.accent),
                Span::styled(format!("  {queue}"), theme.muted),
            ]
        }
        FormField::Priority => vec![
            Span::styled(format!("◀ {} ▶", form.priority), theme.accent),
            Span::styled("  0 runs first … 9", theme.muted),
        ],
        FormField::Task => {
            let hint = completions(state, form)
                .first()
                .map(|c| c[form.task.trim().len().min(c.len())..].to_string())
                .unwrap_or_default();
            vec![
                Span::raw(fit(&form.task, inner_w)),
                Span::raw(cursor),
                Span::styled(hint, theme.muted),
            ]
        }
        FormField::Args => vec![
            Span::raw(fit(&form.args, inner_w)),
            Span::raw(cursor),
            Span::styled(if form.args.is_empty() { " []" } else { "" }, theme.muted),
        ],
        FormField::Kwargs => vec![
            Span::raw(fit(&form.kwargs, inner_w)),
            Span::raw(cursor),
            Span::styled(if form.kwargs.is_empty() { " {}" } else { "" }, theme.muted),
        ],
        FormField::When => vec![
            Span::raw(fit(&form.when, inner_w)),
            Span::raw(cursor),
            Span::styled(
                if form.when.is_empty() {
                    " now (seconds, or an RFC 3339 ETA)"
                } else {
                    ""
                },
                theme.muted,
            ),
        ],
        FormField::Expires => vec![
            Span::raw(fit(&form.expires, inner_w)),
            Span::raw(cursor),
            Span::styled(
                if form.expires.is_empty() {
                    " never (seconds)"
                } else {
                    ""
                },
                theme.muted,
            ),
        ],
    }
}

/// `context`: the context it goes to, named when the config has several.
pub fn confirm(
    f: &mut Frame,
    area: Rect,
    p: &PendingDispatch,
    theme: &Theme,
    context: Option<&str>,
) {
    let rect = centered(area, 90, 90).intersection(area);
    let r = &p.request;
    let within = context
        .map(|c| format!(" in context {c}"))
        .unwrap_or_default();
    let mut lines = vec![
        Line::from(vec![
            Span::styled("send ", theme.level_warn),
            Span::styled(format!("{} [{}]", r.name, short_id(&r.id)), theme.title),
            Span::styled(
                format!(
                    " to {} on queue {}, priority {}{within}",
                    p.agent, r.queue, r.priority
                ),
                theme.level_warn,
            ),
        ]),
        Line::raw(""),
    ];
    lines.extend(
        p.preview
            .lines()
            .map(|l| Line::from(Span::raw(l.to_string()))),
    );
    let block = popup_block(
        theme,
        " Confirm dispatch: the exact message ".into(),
        " y send · n / esc cancel · ↑↓ scroll ",
    );
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .style(theme.base)
            .scroll((p.scroll, 0)),
        rect,
    );
}

pub fn command_line(f: &mut Frame, area: Rect, text: &str, theme: &Theme) {
    let line = Line::from(vec![
        Span::styled(":", theme.accent),
        Span::raw(text.to_string()),
        Span::raw("▏"),
    ]);
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(line).style(theme.base), area);
}

pub fn confirm_emit(f: &mut Frame, area: Rect, p: &PendingEmit, theme: &Theme) {
    let rect = popup(area, 72, 10);
    let w = rect.width.saturating_sub(14) as usize;
    let lines = vec![
        Line::from(Span::styled(
            "emit to a Socket.IO endpoint and wait for its ack",
            theme.level_warn,
        )),
        Line::raw(""),
        Line::from(vec![
            Span::styled("endpoint  ", theme.header),
            Span::raw(format!("{} {}", p.endpoint, p.namespace)),
        ]),
        Line::from(vec![
            Span::styled("event     ", theme.header),
            Span::raw(p.event.clone()),
        ]),
        Line::from(vec![
            Span::styled("payload   ", theme.header),
            Span::raw(fit(&p.payload.to_string(), w)),
        ]),
    ];
    let block = popup_block(theme, " Confirm emit ".into(), " y send · n / esc cancel ");
    f.render_widget(Clear, rect);
    f.render_widget(Paragraph::new(lines).block(block).style(theme.base), rect);
}
