//! The Executor view: a tab of runbooks, then one tab per run with its live output; and the
//! confirmation that shows the host, the user and the exact command before anything runs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::fmt::{fit, wrap_words};
use super::layout::centered;
use super::panes::{popup_block, show_popup, view_block};
use crate::app::state::{PendingExec, RunPhase, RunTab, State};
use crate::config::keymap::{Action, Section};
use crate::config::theme::Theme;
use crate::executor::run::{Status, Stream};

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let x = &state.executor;
    let running = x.runs.iter().filter(|r| r.running()).count();
    let block = view_block(
        theme,
        "Executor",
        format!(
            "{running} running · {} run tab{} · {}/{} switch · {} back ",
            x.runs.len(),
            if x.runs.len() == 1 { "" } else { "s" },
            state.keymap.hint(Section::Executor, Action::FocusNext),
            state.keymap.hint(Section::Executor, Action::FocusPrev),
            state.keymap.hint(Section::Executor, Action::Back),
        ),
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 2 {
        return;
    }
    f.render_widget(
        Paragraph::new(tab_bar(state, theme)),
        Rect { height: 1, ..inner },
    );
    let body = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    match x.current() {
        Some(run) => draw_run(f, body, state, run, theme),
        None => draw_runbooks(f, body, state, theme),
    }
}

fn phase_mark(run: &RunTab) -> (&'static str, fn(&Theme) -> Style) {
    match &run.phase {
        RunPhase::Connecting => ("…", |t| t.muted),
        RunPhase::Running => ("▶", |t| t.state_busy),
        RunPhase::Cancelling => ("■", |t| t.level_warn),
        RunPhase::Ended(end) if end.succeeded() => ("✓", |t| t.state_idle),
        RunPhase::Ended(_) => ("✖", |t| t.state_error),
    }
}

fn tab_bar<'a>(state: &State, theme: &Theme) -> Line<'a> {
    let x = &state.executor;
    let style = |i: usize| {
        if x.tab == i {
            theme.selection
        } else {
            theme.title
        }
    };
    let mut spans = vec![Span::styled(" Runbooks ", style(0))];
    for (i, run) in x.runs.iter().enumerate() {
        let (mark, mark_style) = phase_mark(run);
        spans.push(Span::styled("│", theme.border));
        spans.push(Span::styled(format!(" {} ", mark), mark_style(theme)));
        spans.push(Span::styled(
            format!("{}@{} ", run.plan.runbook, run.plan.host.name),
            style(i + 1),
        ));
    }
    Line::from(spans)
}

fn draw_runbooks(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let x = &state.executor;
    let listed = x.listed();
    let mut lines = Vec::new();
    if let Some(agent) = &x.agent_filter {
        lines.push(Line::from(Span::styled(
            format!(
                "The queue path is down (Redis unreachable). Runbooks for {agent}; esc lists all."
            ),
            theme.level_warn,
        )));
    }
    if listed.is_empty() {
        lines.push(Line::from(Span::styled(
            "No runbooks configured. Add [[executor.hosts]] and [[executor.runbooks]] to the config (assets/examples/platform.toml has the platform's).",
            theme.muted,
        )));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
        return;
    }
    let w = area.width as usize;
    let name_w = listed
        .iter()
        .map(|(_, r)| r.name.get_ref().chars().count())
        .max()
        .unwrap_or(4)
        .min(28);
    for (row, (_, r)) in listed.iter().enumerate() {
        let selected = row == x.book_sel;
        let mark = if r.destructive { "⚠ " } else { "  " };
        let hosts = r.hosts.get_ref().join(",");
        let head = format!(
            "{mark}{:<name_w$}  {:<12} {:>5}s  ",
            fit(r.name.get_ref(), name_w),
            fit(&hosts, 12),
            r.timeout_secs.get_ref()
        );
        let desc_w = w.saturating_sub(head.chars().count());
        let mut line = Line::from(vec![
            Span::styled(
                head,
                if r.destructive {
                    theme.level_warn
                } else {
                    theme.accent
                },
            ),
            Span::raw(fit(&r.description, desc_w)),
        ]);
        if selected {
            line = line.style(theme.selection);
        }
        lines.push(line);
    }
    if let Some((_, r)) = listed.get(x.book_sel) {
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled("command: ", theme.muted),
            Span::raw(r.command.get_ref().clone()),
        ]));
        if !r.agents.is_empty() {
            lines.push(Line::from(Span::styled(
                format!("repairs: {}", r.agents.join(", ")),
                theme.muted,
            )));
        }
        lines.push(Line::from(Span::styled(
            format!(
                "{} run (asks first) · ⚠ destructive: asks for the host's name",
                state.keymap.hint(Section::Executor, Action::Run)
            ),
            theme.muted,
        )));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn draw_run(f: &mut Frame, area: Rect, state: &State, run: &RunTab, theme: &Theme) {
    let elapsed = (state.now - run.started).num_milliseconds().max(0) as f64 / 1000.0;
    let (status, style) = match &run.phase {
        RunPhase::Connecting => (
            format!("connecting to {}", run.plan.host.login()),
            theme.muted,
        ),
        RunPhase::Running => (
            format!(
                "running {elapsed:.0}s · {} cancel",
                state.keymap.hint(Section::Executor, Action::Cancel)
            ),
            theme.state_busy,
        ),
        RunPhase::Cancelling => (
            "cancelling: TERM sent, KILL follows".into(),
            theme.level_warn,
        ),
        RunPhase::Ended(end) => (
            end.summary(),
            match end.status {
                Status::Exit(0) => theme.state_idle,
                _ => theme.state_error,
            },
        ),
    };
    let w = area.width as usize;
    let title = format!("{} on {} ", run.plan.runbook, run.plan.host.login());
    // A refusal (a host key's fingerprint and the line to add) is wrapped, never cut: the
    // operator needs all of it.
    let mut lines = Vec::new();
    if title.chars().count() + status.chars().count() <= w {
        lines.push(Line::from(vec![
            Span::styled(title, theme.title),
            Span::styled(status, style),
        ]));
    } else {
        lines.push(Line::from(Span::styled(fit(&title, w), theme.title)));
        for part in wrap_words(&status, w) {
            lines.push(Line::from(Span::styled(part, style)));
        }
    }
    lines.push(Line::from(vec![
        Span::styled("$ ", theme.muted),
        Span::styled(run.plan.command.clone(), theme.muted),
    ]));
    let rows = (area.height as usize).saturating_sub(lines.len());
    let end = run.lines.len().saturating_sub(run.offset);
    let start = end.saturating_sub(rows);
    for (stream, text) in run.lines.range(start..end) {
        lines.push(match stream {
            Stream::Out => Line::raw(fit(text, w)),
            Stream::Err => Line::from(vec![
                Span::styled("▌", theme.level_error),
                Span::styled(fit(text, w.saturating_sub(1)), theme.level_warn),
            ]),
        });
    }
    if run.offset > 0 {
        let more = Line::from(Span::styled(
            format!("  ↓ {} newer lines · end to follow", run.offset),
            theme.accent,
        ));
        if lines.len() > (area.height as usize).saturating_sub(1) {
            lines.pop();
        }
        lines.push(more);
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// Quitting with runs going: which, where, and what quitting does to them.
pub fn confirm_quit(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let rect = centered(area, 70, 50).intersection(area);
    let running: Vec<&RunTab> = state.executor.runs.iter().filter(|r| r.running()).collect();
    let mut lines = vec![
        Line::from(Span::styled(
            format!("{} run(s) still going:", running.len()),
            theme.level_warn,
        )),
        Line::raw(""),
    ];
    for r in &running {
        lines.push(Line::raw(format!(
            "  {} on {} ({})",
            r.plan.runbook,
            r.plan.host.name,
            r.plan.host.login()
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        "Quitting cancels each one (TERM, then KILL after its grace period) and records how it ended in the audit trail.",
    ));
    let block = popup_block(
        theme,
        " Quit? ".into(),
        " y quit and cancel them · n / esc stay ",
    );
    show_popup(f, rect, lines, block, theme);
}

pub fn confirm(f: &mut Frame, area: Rect, p: &PendingExec, theme: &Theme) {
    let rect = centered(area, 90, 70).intersection(area);
    let plan = &p.plan;
    let mut lines = vec![
        Line::from(vec![
            Span::styled("run ", theme.level_warn),
            Span::styled(plan.runbook.clone(), theme.title),
            Span::styled(
                format!(" on {} as {}", plan.host.name, plan.host.user),
                theme.level_warn,
            ),
        ]),
        Line::from(vec![
            Span::styled("host:    ", theme.muted),
            Span::raw(plan.host.login()),
        ]),
        Line::from(vec![
            Span::styled("command: ", theme.muted),
            Span::raw(plan.command.clone()),
        ]),
        Line::from(vec![
            Span::styled("timeout: ", theme.muted),
            Span::raw(format!(
                "{} s, then TERM; KILL {} s later",
                plan.timeout.as_secs(),
                plan.grace.as_secs()
            )),
        ]),
        Line::raw(""),
        Line::from(Span::styled(
            "the exact line the remote shell runs:",
            theme.muted,
        )),
        Line::raw(plan.remote.clone()),
    ];
    if plan.host.user == "root" {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!(
                "⚠ root login: OpenSSH delivers no signal to a root session, so a cancel or the timeout ends this run by killing its process group over a second channel, about {} s later",
                plan.grace.as_secs() + 3
            ),
            theme.level_warn,
        )));
    }
    if p.hosts.len() > 1 {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!("tab: another host ({})", p.hosts.join(", ")),
            theme.accent,
        )));
    }
    let keys = if plan.destructive {
        let ask = format!(
            "⚠ DESTRUCTIVE. Type the host's name `{}` and press enter:",
            plan.host.name
        );
        super::panes::typed_prompt(theme, ask, &p.typed, p.wrong.as_ref(), &mut lines);
        " type the host name, enter run · esc cancel "
    } else {
        " y run · n / esc cancel "
    };
    let block = popup_block(theme, " Confirm run over SSH ".into(), keys);
    show_popup(f, rect, lines, block, theme);
}
