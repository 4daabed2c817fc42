//! The fleet's overlays: a worker's detail (what it said over the pidbox) and the
//! confirmation of an order to the fleet.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::fmt::duration;
use super::layout::centered;
use super::panes::{popup_block, show_popup, show_popup_scrolled, typed_prompt};
use crate::app::state::{PendingOrder, State};
use crate::config::keymap::{Action, Section};
use crate::config::theme::Theme;
use crate::platform::pidbox::{HeldTask, WorkerDetail};

fn field<'a>(theme: &Theme, name: &'a str, value: String) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name:<14} "), theme.header),
        Span::raw(value),
    ])
}

fn heading<'a>(theme: &Theme, text: String) -> Line<'a> {
    Line::from(Span::styled(text, theme.title))
}

fn held<'a>(theme: &Theme, title: &str, tasks: &[HeldTask], lines: &mut Vec<Line<'a>>) {
    lines.push(heading(theme, format!("{title} ({})", tasks.len())));
    for t in tasks {
        let when = t
            .eta
            .clone()
            .map(|e| format!(" eta {e}"))
            .or(t.worker_pid.map(|p| format!(" pid {p}")))
            .unwrap_or_default();
        lines.push(Line::raw(format!(
            "  {} [{}] {}{when}",
            t.name,
            crate::app::common::short_id(&t.id),
            t.args
        )));
    }
}

/// The detail's sections, one after another, as Flower's worker page: the pool first.
fn detail_lines<'a>(d: &WorkerDetail, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![
        heading(theme, "pool".into()),
        field(theme, "implementation", or_dash(&d.pool)),
        field(
            theme,
            "concurrency",
            d.concurrency.map_or("–".into(), |c| c.to_string()),
        ),
        field(
            theme,
            "processes",
            d.processes
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        field(theme, "max per child", or_dash(&d.max_tasks_per_child)),
        field(
            theme,
            "autoscale",
            d.autoscale.map_or("off".into(), |(max, min, cur)| {
                format!("{min}–{max}, now {cur}")
            }),
        ),
        field(
            theme,
            "prefetch",
            d.prefetch.map_or("–".into(), |p| p.to_string()),
        ),
        field(theme, "broker", or_dash(&d.broker)),
        field(
            theme,
            "uptime",
            d.uptime_s.map_or("–".into(), |u| duration(u as i64)),
        ),
        field(theme, "pid", d.pid.map_or("–".into(), |p| p.to_string())),
        field(
            theme,
            "rusage",
            d.rusage.map_or("–".into(), |(u, s, rss)| {
                format!(
                    "user {u:.2} s · system {s:.2} s · max RSS {} MiB",
                    rss / 1024
                )
            }),
        ),
        heading(theme, format!("queues consumed ({})", d.queues.len())),
    ];
    what_it_holds(d, theme, &mut lines);
    lines
}

/// The rest of the detail: the queues it consumes, what it holds, what it revoked, its
/// registered tasks with their limits, and its settings changed from the defaults.
fn what_it_holds<'a>(d: &WorkerDetail, theme: &Theme, lines: &mut Vec<Line<'a>>) {
    for q in &d.queues {
        lines.push(Line::raw(format!(
            "  {}  exchange {}  routing key {}",
            q.name,
            or_dash(&q.exchange),
            or_dash(&q.routing_key)
        )));
    }
    held(theme, "active", &d.active, lines);
    held(theme, "reserved", &d.reserved, lines);
    held(theme, "scheduled", &d.scheduled, lines);
    lines.push(heading(theme, format!("revoked ({})", d.revoked.len())));
    for id in d.revoked.iter().take(20) {
        lines.push(Line::raw(format!("  {id}")));
    }
    lines.push(heading(
        theme,
        format!("registered tasks and their limits ({})", d.registered.len()),
    ));
    for (name, limits) in &d.registered {
        let total = d
            .totals
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, c)| *c);
        lines.push(Line::raw(format!("  {name}  run {total}×  {limits}")));
    }
    lines.push(heading(theme, "settings changed from the defaults".into()));
    for (k, v) in &d.conf {
        lines.push(Line::raw(format!("  {k} = {v}")));
    }
}

pub fn worker_detail(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(w) = crate::app::views::workers::picked(state) else {
        return;
    };
    let popup = centered(area, 90, 90).intersection(area);
    let asked = state.inspected.get(&w.hostname);
    let mut lines = vec![field(
        theme,
        "state",
        format!(
            "{} · active {} · processed {} · succeeded {} · failed {} · retried {}",
            if w.online { "online" } else { "OFFLINE" },
            w.active,
            w.processed,
            w.succeeded,
            w.failed,
            w.retried
        ),
    )];
    let answered = asked.and_then(|a| a.at);
    let status = match (asked, answered) {
        (Some(a), _) if a.error.is_some() => Span::styled(
            format!("not answering: {}", a.error.clone().unwrap_or_default()),
            theme.level_warn,
        ),
        (_, Some(at)) => Span::styled(
            format!("answered {} ago", duration((state.now - at).num_seconds())),
            theme.muted,
        ),
        _ => Span::styled("asking…", theme.muted),
    };
    lines.push(Line::from(vec![
        Span::styled(format!("{:<14} ", "pidbox"), theme.header),
        status,
    ]));
    let said: Vec<_> = state
        .fleet_said
        .iter()
        .filter(|(_, _, l)| l.starts_with(&format!("{}:", w.hostname)))
        .rev()
        .take(5)
        .collect();
    if !said.is_empty() {
        lines.push(heading(theme, "its latest answers".into()));
        for (at, ok, line) in said {
            let style = if *ok { theme.base } else { theme.level_warn };
            lines.push(Line::from(Span::styled(
                format!("  {} {line}", super::fmt::clock(*at, state.utc)),
                style,
            )));
        }
    }
    if let Some(a) = asked.filter(|a| a.at.is_some()) {
        lines.extend(detail_lines(&a.detail, theme));
    }
    let km = &state.keymap;
    let n = |a| km.hint(Section::Normal, a);
    let keys = format!(
        " {} close · {}{} scroll · {} ask now · : pool, autoscale, consumer, ratelimit, timelimit, shutdown ",
        n(Action::Back),
        n(Action::Up),
        n(Action::Down),
        n(Action::Refresh)
    );
    let block = popup_block(theme, format!(" Worker {} ", w.hostname), &keys);
    show_popup_scrolled(f, popup, lines, block, theme, state.ui.worker_scroll);
}

pub fn confirm_order(f: &mut Frame, area: Rect, p: &PendingOrder, theme: &Theme) {
    let rect = centered(area, 80, 60).intersection(area);
    let mut lines = vec![Line::from(Span::styled(p.order.words(), theme.level_warn))];
    lines.extend(p.lines.iter().map(|l| Line::raw(l.clone())));
    let keys = match &p.typed_word {
        Some(word) => {
            let ask = format!("Type `{word}` and press enter to confirm:");
            typed_prompt(theme, ask, &p.typed, p.wrong.as_ref(), &mut lines);
            " type it, enter to send · esc cancel "
        }
        None => " y send · n / esc cancel ",
    };
    let title = match p.order {
        crate::orders::Order::Container { .. } => " Confirm an order to a container ",
        _ => " Confirm an order to the fleet ",
    };
    let block = popup_block(theme, title.into(), keys);
    show_popup(f, rect, lines, block, theme);
}

/// A value, or a dash for an empty one.
fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "–".to_string()
    } else {
        s.to_string()
    }
}
