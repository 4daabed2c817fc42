//! The Containers view: one row per container of the project, each agent's first, with its
//! state as an operator says it, restarts, exit code, CPU and memory with sparklines (read
//! only while this view is open), and ports; and a container's detail.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::fmt::{duration, sparkline};
use super::layout::centered;
use super::panes::{popup_block, show_popup, view_block};
use crate::app::state::State;
use crate::app::views::containers::Row as CRow;
use crate::config::keymap::{Action, Section};
use crate::config::theme::Theme;
use crate::platform::containers::RunState;

/// Bytes as people read them: 512M, 1.5G.
fn bytes(b: u64) -> String {
    const M: f64 = 1024.0 * 1024.0;
    let m = b as f64 / M;
    if m >= 1024.0 {
        format!("{:.1}G", m / 1024.0)
    } else {
        format!("{m:.0}M")
    }
}

fn state_style(theme: &Theme, r: &CRow) -> ratatui::style::Style {
    match r.c.state {
        _ if r.c.oom_killed => theme.state_error,
        RunState::Running if r.c.is_well() => theme.state_idle,
        RunState::Running | RunState::Restarting => theme.state_error,
        RunState::Exited if r.c.exit_code != 0 => theme.state_error,
        _ => theme.state_offline,
    }
}

/// "up 3h", "exited 2m ago", or "".
pub fn since(state: &State, r: &CRow) -> String {
    match (r.c.state, r.c.started_at, r.c.finished_at) {
        (RunState::Running, Some(at), _) => {
            format!("up {}", duration((state.now - at).num_seconds()))
        }
        (_, _, Some(at)) => format!("{} ago", duration((state.now - at).num_seconds())),
        _ => String::new(),
    }
}

/// The Containers view: one row per container of the project, the selection following its
/// id.
pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let d = &state.docker;
    let running = d
        .rows
        .values()
        .filter(|r| r.c.state == RunState::Running)
        .count();
    let summary = if d.on {
        format!(
            "{running} running of {} on {} · {} detail · {} restart · :restart :stop :start :kill :logs ",
            d.rows.len(),
            d.host,
            state.keymap.hint(Section::Normal, Action::Zoom),
            state.keymap.hint(Section::Normal, Action::Retry),
        )
    } else {
        "Docker is not configured ([docker] url) ".into()
    };
    let block = view_block(theme, "Containers", summary);
    let wide = area.width >= 130;
    let names = [
        "container",
        "agent",
        "image",
        "state",
        "since",
        "restarts",
        "exit",
        "cpu",
        "memory",
        "ports",
    ];
    let keep = |i: usize| wide || !matches!(i, 2 | 9);
    let header = Row::new(super::panes::kept(names, keep)).style(theme.header);
    let listed = d.listed();
    let rows = listed.iter().map(|r| row(state, theme, r, &keep));
    let widths: Vec<Constraint> = super::panes::kept(
        [
            Constraint::Min(16),
            Constraint::Length(10),
            Constraint::Length(18),
            Constraint::Length(24),
            Constraint::Length(12),
            Constraint::Length(8),
            Constraint::Length(4),
            Constraint::Length(15),
            Constraint::Length(20),
            Constraint::Min(10),
        ],
        keep,
    );
    let sel = d
        .pick
        .as_ref()
        .and_then(|p| listed.iter().position(|r| r.c.id == *p));
    let mut table_state = TableState::default().with_selected(sel);
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme.selection);
    f.render_stateful_widget(table, area, &mut table_state);
    if d.on && d.rows.is_empty() {
        super::panes::empty_note(f, area, "no container seen on the Engine (yet)", theme);
    }
}

/// One container's row: its state with its health, since when, restarts, exit code, CPU
/// and memory with their sparklines; only the columns `keep` keeps.
fn row<'a>(
    state: &State,
    theme: &Theme,
    r: &crate::app::model::containers::Row,
    keep: &impl Fn(usize) -> bool,
) -> Row<'a> {
    let cpu = match r.usage {
        Some(u) => format!("{} {:>5.1}%", sparkline(r.cpu.iter(), 8), u.cpu_pct),
        None => "–".into(),
    };
    let mem = match r.usage {
        Some(u) if u.mem_limit > 0 && r.c.memory_limit > 0 => format!(
            "{} {}/{}",
            sparkline(r.mem.iter(), 8),
            bytes(u.mem),
            bytes(u.mem_limit)
        ),
        Some(u) => format!("{} {}", sparkline(r.mem.iter(), 8), bytes(u.mem)),
        None => "–".into(),
    };
    let health =
        r.c.health
            .as_deref()
            .map(|h| format!(" · {h}"))
            .unwrap_or_default();
    let cells = vec![
        Cell::from(r.c.name.clone()),
        Cell::from(
            r.agent
                .map(|i| state.agents[i].name.clone())
                .or_else(|| r.c.service.clone())
                .unwrap_or_else(|| "—".into()),
        ),
        Cell::from(r.c.image.clone()),
        Cell::from(Span::styled(
            format!("{}{health}", r.c.summary()),
            state_style(theme, r),
        )),
        Cell::from(since(state, r)),
        Cell::from(format!("{:>8}", r.c.restarts)),
        Cell::from(match r.c.state {
            RunState::Running => String::new(),
            _ => format!("{:>4}", r.c.exit_code),
        }),
        Cell::from(cpu),
        Cell::from(mem),
        Cell::from(r.c.ports.join(", ")),
    ];
    Row::new(super::panes::kept(cells, keep))
}

/// The selected container's detail: why it stopped, its health checks, mounts, env names
/// (never values), labels and command.
pub fn detail(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(r) = state.docker.picked() else {
        return;
    };
    let c = &r.c;
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:<12} "), theme.header),
            Span::raw(value),
        ])
    };
    let mut lines = vec![
        field("state", format!("{} {}", c.summary(), since(state, r))),
        field("image", c.image.clone()),
        field("id", c.id.chars().take(12).collect()),
        field("restarts", c.restarts.to_string()),
        field(
            "last stop",
            format!(
                "exit code {}{}{}",
                c.exit_code,
                if c.oom_killed { " · OOMKilled" } else { "" },
                if c.error.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", c.error)
                }
            ),
        ),
        field("command", c.command.clone()),
        field("ports", c.ports.join(", ")),
    ];
    let mut section = |title: &str, items: &[String]| {
        if !items.is_empty() {
            lines.push(Line::from(Span::styled(title.to_string(), theme.title)));
            lines.extend(items.iter().map(|i| Line::raw(format!("  {i}"))));
        }
    };
    section("health checks", &c.health_log);
    section("mounts", &c.mounts);
    section("environment (names only)", &c.env_names);
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    section("labels", &labels);
    let keys = " esc close · R restart · : stop, start, kill, logs ";
    let block = popup_block(
        theme,
        format!(" Container {} on {} ", c.name, state.docker.host),
        keys,
    );
    show_popup(
        f,
        centered(area, 90, 90).intersection(area),
        lines,
        block,
        theme,
    );
}
