//! The Tasks view (everything Flower's task list shows), the task detail overlay and the
//! revoke confirmation.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap,
};

use super::fmt::{clock, duration, fit};
use super::layout::centered;
use super::panes::{popup_block, view_block};
use crate::app::common::short_id;
use crate::app::model::tasks::{
    pick_gone, row_of, runtime, selected, shown_state, timeline, visible_upto,
};
use crate::app::state::{Confirm, Mode, State, Task};
use crate::config::keymap::{Action, Section};
use crate::config::theme::Theme;
use crate::platform::model::TaskEventKind;

pub fn state_style(theme: &Theme, k: TaskEventKind) -> Style {
    match k {
        TaskEventKind::Succeeded => theme.state_idle,
        TaskEventKind::Started => theme.state_busy,
        TaskEventKind::Failed | TaskEventKind::Rejected => theme.state_error,
        TaskEventKind::Retried | TaskEventKind::Revoked => theme.level_warn,
        TaskEventKind::Sent | TaskEventKind::Received => theme.state_unknown,
    }
}

fn agent(state: &State, t: &Task) -> String {
    t.agent
        .map(|i| state.agents[i].name.clone())
        .unwrap_or_else(|| "—".into())
}

/// The Tasks view: the rows that fit, around the selection, with the filter and the
/// sort in the title.
pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    // Only the rows that fit are sorted and built: with 50 000 tasks kept, sorting or
    // formatting every one of them each frame would cost milliseconds.
    let fit_rows = area.height.saturating_sub(3).max(1) as usize;
    // The selection follows its task's id: find the row it stands in now.
    let sel = selected(state).map(|t| row_of(state, t));
    let (matching, list) = visible_upto(state, sel.map_or(0, |s| s + 1).max(fit_rows));
    let block = view_block(theme, "Tasks", title(state, matching));
    let wide = area.width >= 110;
    let mut header = vec!["state", "name", "agent", "id", "runtime", "received", "eta"];
    if wide {
        header.extend(["worker", "args"]);
    }
    let first = sel.map_or(0, |s| s.saturating_sub(fit_rows - 1));
    let rows = list.iter().skip(first).take(fit_rows).map(|t| {
        let rt = runtime(state, t).map_or("–".into(), |r| format!("{r:.2}s"));
        // ↺: read back from the history at start, not heard from live since.
        let state_label = if t.restored {
            format!("{} ↺", shown_state(t))
        } else {
            shown_state(t).to_string()
        };
        let mut cells = vec![
            Cell::from(Span::styled(state_label, state_style(theme, t.state))),
            Cell::from(t.fields.name.clone().unwrap_or_default()),
            Cell::from(agent(state, t)),
            Cell::from(short_id(&t.uuid).to_string()),
            Cell::from(rt),
            Cell::from(t.received.map_or("–".into(), |r| clock(r, state.utc))),
            Cell::from(eta_cell(state, t)),
        ];
        if wide {
            cells.push(Cell::from(t.worker.clone()));
            cells.push(Cell::from(t.fields.args.clone().unwrap_or_default()));
        }
        Row::new(cells)
    });
    let mut widths = vec![
        Constraint::Length(14),
        Constraint::Min(14),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(9),
    ];
    if wide {
        widths.extend([Constraint::Length(22), Constraint::Min(10)]);
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header))
        .block(block)
        .row_highlight_style(theme.selection);
    let mut ts = TableState::default();
    ts.select(sel.map(|s| s - first));
    f.render_stateful_widget(table, area, &mut ts);
    if list.is_empty() {
        let why = if state.tasks.order.is_empty() {
            "no tasks yet: they appear as Celery task events arrive"
        } else {
            "no task matches the filter"
        };
        super::panes::empty_note(f, area, why, theme);
    }
    if let Some(id) = pick_gone(state) {
        evicted_note(f, area, id, theme);
    }
}

/// The title: how many match of how many, the sort, the filter (a malformed one said as it
/// is typed), and the detail key.
fn title(state: &State, matching: usize) -> String {
    let filter = match &state.ui.mode {
        // A malformed filter is said as it is typed.
        Mode::Filter(text) => {
            match crate::app::model::tasks::Filter::parse(text, state.now, state.utc) {
                Ok(_) => format!("/{text}▏"),
                Err(why) => format!("/{text}▏ ✗ {why}"),
            }
        }
        _ if state.ui.filter.is_empty() => format!(
            "no filter ({})",
            state.keymap.hint(Section::Tasks, Action::Filter)
        ),
        _ => format!("/{}", state.ui.filter),
    };
    format!(
        "{} of {} · sort: {} ({}) · {filter} · {} details ",
        matching,
        state.tasks.order.len(),
        state.ui.task_sort.label(),
        state.keymap.hint(Section::Tasks, Action::Sort),
        state.keymap.hint(Section::Tasks, Action::Zoom)
    )
}

/// Say the selected task is gone rather than move the highlight to a neighbour.
fn evicted_note(f: &mut Frame, area: Rect, id: &str, theme: &Theme) {
    let why = format!(
        " selected task [{}] evicted (oldest first): ↑/↓ selects another ",
        short_id(id)
    );
    let bottom = Rect {
        x: area.x + 1,
        y: area.bottom().saturating_sub(1),
        width: area.width.saturating_sub(2),
        height: 1,
    }
    .intersection(area);
    f.render_widget(Paragraph::new(Span::styled(why, theme.level_warn)), bottom);
}

/// When a task waiting on its ETA will run: "in 4m", or "due" once the time has come; "–"
/// for a task not waiting on one (no ETA, or already started or ended).
fn eta_cell(state: &State, t: &Task) -> String {
    let waiting = matches!(
        t.state,
        TaskEventKind::Sent | TaskEventKind::Received | TaskEventKind::Retried
    );
    let eta = t.fields.sending.as_ref().and_then(|s| s.eta.as_deref());
    match eta.and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok()) {
        Some(at) if waiting => {
            let secs = (at.with_timezone(&chrono::Utc) - state.now).num_seconds();
            if secs > 0 {
                format!("in {}", duration(secs))
            } else {
                "due".into()
            }
        }
        _ => "–".into(),
    }
}

fn field<'a>(theme: &Theme, name: &'a str, value: String) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name:<10} "), theme.header),
        Span::raw(value),
    ])
}

/// The detail's timeline, then its workflow links (root, parent, children), the selected
/// one highlighted.
fn workflow_lines(state: &State, t: &Task, theme: &Theme, lines: &mut Vec<Line<'_>>) {
    lines.push(Line::from(Span::styled("timeline", theme.header)));
    for (kind, at) in timeline(t) {
        lines.push(Line::raw(format!(
            "  {:<9} {} ({})",
            kind.label(),
            clock(at, state.utc),
            at.format("%Y-%m-%d")
        )));
    }
    let links = crate::app::model::tasks::links(state, t);
    if !links.is_empty() {
        lines.push(Line::from(Span::styled(
            format!(
                "workflow ({} to select, {} to open)",
                state.keymap.hint(Section::Normal, Action::FocusNext),
                state.keymap.hint(Section::Tasks, Action::Zoom)
            ),
            theme.header,
        )));
        for (i, (what, id)) in links.iter().enumerate() {
            let name = state
                .tasks
                .by_id
                .get(*id)
                .map(|k| {
                    format!(
                        "{} {}",
                        k.fields.name.as_deref().unwrap_or("task"),
                        k.state.label()
                    )
                })
                .unwrap_or_else(|| "(not kept here)".into());
            let text = format!("  {what:<7} {id} {name}");
            lines.push(if state.ui.detail_link == Some(i) {
                Line::from(Span::styled(text, theme.selection))
            } else {
                Line::raw(text)
            });
        }
    }
}

/// The selected task's detail: its fields one after another, as Flower's task page, then
/// how it is gone, its workflow and its traceback.
pub fn detail(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(t) = selected(state) else { return };
    let popup = centered(area, 90, 90).intersection(area);
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "–".into());
    let sent = t.fields.sending.as_deref().cloned().unwrap_or_default();
    let mut lines = vec![
        field(theme, "id", t.uuid.clone()),
        field(theme, "name", opt(&t.fields.name)),
        Line::from(vec![
            Span::styled(format!("{:<10} ", "state"), theme.header),
            Span::styled(
                if t.terminated {
                    "REVOKED (terminated)"
                } else {
                    t.state.label()
                },
                state_style(theme, t.state),
            ),
        ]),
        field(theme, "agent", agent(state, t)),
        field(
            theme,
            "worker",
            if t.worker.is_empty() {
                "–".into()
            } else {
                t.worker.clone()
            },
        ),
        field(theme, "queue", opt(&t.fields.queue)),
        field(
            theme,
            "exchange",
            format!(
                "{} · routing key {}",
                sent.exchange
                    .as_deref()
                    .filter(|e| !e.is_empty())
                    .unwrap_or("(default)"),
                opt(&sent.routing_key)
            ),
        ),
        field(theme, "client", opt(&t.client)),
        field(theme, "eta", opt(&sent.eta)),
        field(theme, "expires", opt(&sent.expires)),
        field(
            theme,
            "runtime",
            runtime(state, t).map_or("–".into(), |r| format!("{r:.3} s")),
        ),
        field(theme, "retries", retries(state, t)),
        field(theme, "args", opt(&t.fields.args)),
        field(theme, "kwargs", opt(&t.fields.kwargs)),
        field(theme, "result", opt(&t.fields.result)),
        field(theme, "exception", opt(&t.fields.exception)),
    ];
    if let Some(gone) = &t.gone {
        lines.push(gone_line(gone, theme));
    }
    workflow_lines(state, t, theme, &mut lines);
    if let Some(tb) = &t.fields.traceback {
        lines.push(Line::from(Span::styled("traceback", theme.header)));
        lines.extend(
            tb.lines()
                .map(|l| Line::from(Span::styled(l.to_string(), theme.level_error))),
        );
    }
    let keys = detail_keys(state);
    let block = popup_block(theme, format!(" Task {} ", short_id(&t.uuid)), &keys);
    super::panes::show_popup_scrolled(f, popup, lines, block, theme, state.ui.detail_scroll);
}

/// Celery's retry count, and, when an operator sent it again, the newest of its chain.
fn retries(state: &State, t: &Task) -> String {
    let count = t.fields.retries.map_or("–".into(), |r| r.to_string());
    match state.retries.retried_as(&t.uuid) {
        Some(_) => format!(
            "{count} · already retried as [{}]",
            short_id(state.retries.newest(&t.uuid))
        ),
        None => count,
    }
}

/// How a task is gone without an event: purged, or lost with its worker.
fn gone_line<'a>(gone: &crate::kept::Gone, theme: &Theme) -> Line<'a> {
    let words = match gone {
        crate::kept::Gone::Purged { by } => {
            format!("purged from its queue by {by}: it will not run")
        }
        crate::kept::Gone::LostWithWorker { worker } => format!(
            "lost with worker {worker}: it went away holding it, and no one took it again within the visibility timeout"
        ),
    };
    Line::from(vec![
        Span::styled(format!("{:<10} ", "gone"), theme.header),
        Span::styled(words, theme.level_warn),
    ])
}

/// The detail's keys, from the Tasks view's section of the keymap.
fn detail_keys(state: &State) -> String {
    let km = &state.keymap;
    let n = |a| km.hint(Section::Tasks, a);
    format!(
        " {} close · {}{} scroll · {} revoke · {} terminate · {} retry ",
        n(Action::Back),
        n(Action::Up),
        n(Action::Down),
        n(Action::Revoke),
        n(Action::Terminate),
        n(Action::Retry)
    )
}

/// A terminate's signals, the one it will send bracketed.
fn signals<'a>(c: &Confirm, theme: &Theme) -> Line<'a> {
    let mut spans = vec![Span::styled("signal ", theme.header)];
    for s in crate::orders::KillSignal::ALL {
        let name = s.name().trim_start_matches("SIG");
        spans.push(if s == c.signal {
            Span::styled(format!("[{name}]"), theme.accent)
        } else {
            Span::raw(format!(" {name} "))
        });
    }
    spans.push(Span::styled("  tab", theme.accent));
    spans.push(Span::raw(" another"));
    Line::from(spans)
}

pub fn confirm(f: &mut Frame, area: Rect, c: &Confirm, state: &State, theme: &Theme) {
    let w = area.width.min(64);
    let h = area.height.min(9);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    let terminate_key = state.keymap.hint(Section::Normal, Action::Terminate);
    let what = match (c.terminate, c.running) {
        (true, _) => format!(
            "Revoke and TERMINATE the running task ({})",
            c.signal.name()
        ),
        (false, true) => {
            format!("Already running: revoke alone won't stop it; {terminate_key} terminates")
        }
        (false, false) => "Revoke the task (it will not start)".to_string(),
    };
    let second = if c.terminate {
        signals(c, theme)
    } else {
        Line::raw("")
    };
    let offer = if !c.terminate && c.running {
        vec![
            Span::styled("y", theme.accent),
            Span::raw(" revoke only  "),
            Span::styled(terminate_key, theme.accent),
            Span::raw(" terminate  "),
            Span::styled("n / esc", theme.accent),
            Span::raw(" cancel"),
        ]
    } else {
        vec![
            Span::styled("y", theme.accent),
            Span::raw(" send to every worker   "),
            Span::styled("n / esc", theme.accent),
            Span::raw(" cancel"),
        ]
    };
    let lines = vec![
        Line::from(Span::styled(what, theme.level_warn)),
        second,
        Line::from(vec![
            Span::styled("task  ", theme.header),
            Span::raw(fit(&c.label, w as usize - 10)),
        ]),
        Line::from(vec![
            Span::styled("id    ", theme.header),
            Span::raw(c.task_id.clone()),
        ]),
        Line::raw(""),
        Line::from(offer),
    ];
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.state_error)
        .title(Span::styled(" Confirm ", theme.title));
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .style(theme.base)
            .wrap(Wrap { trim: true }),
        popup,
    );
}
