//! One tile per agent: state, current task, time in state, heartbeat age and model.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::fmt::{duration, fit};
use super::layout::tile_grid;
use super::panes::block;
use crate::app::state::{AgentTile, Pane, State};
use crate::config::keymap::{Action, Section};
use crate::config::theme::Theme;
use crate::platform::model::AgentState;

pub fn state_style(theme: &Theme, s: AgentState) -> Style {
    match s {
        AgentState::Idle => theme.state_idle,
        AgentState::Busy => theme.state_busy,
        AgentState::Error => theme.state_error,
        AgentState::Offline => theme.state_offline,
        AgentState::Unknown => theme.state_unknown,
    }
}

/// Shape as well as colour, so states read the same with no colour at all.
pub fn state_symbol(s: AgentState) -> &'static str {
    match s {
        AgentState::Idle => "●",
        AgentState::Busy => "▶",
        AgentState::Error => "✖",
        AgentState::Offline => "○",
        AgentState::Unknown => "?",
    }
}

fn heartbeat(state: &State, a: &AgentTile) -> String {
    match a.last_heartbeat {
        Some(hb) => format!("hb {}", duration((state.now - hb).num_seconds())),
        None => "no hb yet".into(),
    }
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme, compact: bool) {
    // Up means alive (a worker online, or the agent's own fresh report); a failed last task
    // is not down, and is counted on its own.
    let up = (0..state.agents.len())
        .filter(|i| state.agent_up(*i))
        .count();
    let failing = state
        .agents
        .iter()
        .filter(|a| a.state == AgentState::Error)
        .count();
    let summary = match state.feed_lost {
        // Nothing is heard: up or not is unknown, not zero.
        Some(t) => Span::styled(
            format!(
                "?/{} up · feed lost since {} ",
                state.agents.len(),
                super::fmt::clock(t, state.utc)
            ),
            theme.level_warn,
        ),
        None => Span::styled(format!("{up}/{} up ", state.agents.len()), theme.muted),
    };
    let mut title = vec![summary];
    if failing > 0 {
        title.push(Span::styled(
            format!("· {failing} failing "),
            theme.level_error,
        ));
    }
    if state.queue_path_down() && !state.executor.config.runbooks.is_empty() {
        title.push(Span::styled(
            format!(
                "queue path down: {} for runbooks ",
                state.keymap.hint(Section::Normal, Action::Executor)
            ),
            theme.level_warn,
        ));
    }
    if compact {
        return draw_compact(f, area, state, theme, title);
    }
    let outer = block(state, theme, Pane::Agents, title);
    // The outer frame would cost two rows the tiles need: draw only its title line.
    let title_line = Rect { height: 1, ..area };
    f.render_widget(outer.borders(Borders::NONE), title_line);
    let (cols, _) = tile_grid(state.agents.len(), area.width, area.height >= 14);
    let tile_w = area.width / cols.max(1);
    let rows = (state.agents.len() as u16).div_ceil(cols.max(1)).max(1);
    let tile_h = (area.height.saturating_sub(1) / rows).max(3);
    for (i, a) in state.agents.iter().enumerate() {
        let (r, c) = (i as u16 / cols, i as u16 % cols);
        let x = area.x + c * tile_w;
        let w = if c == cols - 1 {
            area.width - c * tile_w
        } else {
            tile_w
        };
        let rect = Rect {
            x,
            y: area.y + 1 + r * tile_h,
            width: w,
            height: tile_h,
        };
        if rect.bottom() > area.bottom() {
            break;
        }
        tile(
            f,
            rect,
            state,
            theme,
            a,
            state.ui.focus == Pane::Agents && state.ui.agent_sel == i,
        );
    }
}

/// One tile's lines, top to bottom, each with its fallback.
fn tile(f: &mut Frame, rect: Rect, state: &State, theme: &Theme, a: &AgentTile, selected: bool) {
    let st = state_style(theme, a.state);
    let title_style = if selected {
        theme.selection
    } else {
        theme.title
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(if selected {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(match (selected, st.fg) {
            (true, _) => theme.border_focused,
            // The state's colour on the frame makes the fleet readable at a glance.
            (false, Some(c)) => theme.border.fg(c),
            (false, None) => theme.border,
        })
        .title(Span::styled(
            fit(&a.name, rect.width.saturating_sub(2) as usize),
            title_style,
        ));
    let inner = block.inner(rect);
    let w = inner.width as usize;
    let mut in_state = duration((state.now - a.since).num_seconds());
    let mut label = format!("{} {}", state_symbol(a.state), a.state.label());
    let mut st = st;
    // Its container, when the Engine knows it: "exited (3) 2m ago" beats "offline".
    let index = state.agents.iter().position(|x| x.name == a.name);
    let container = index.and_then(|i| state.docker.of_agent(i).into_iter().next());
    if let Some(r) = container.filter(|r| !r.c.is_well()) {
        label = format!("✖ {}", r.c.summary());
        in_state = super::containers::since(state, r);
        st = theme.state_error;
    } else if let Some(t) = state.feed_lost {
        // How long nothing has been heard; the title says since when.
        label = format!("{} unknown", state_symbol(AgentState::Unknown));
        in_state = duration((state.now - t).num_seconds());
        st = theme.state_unknown;
    }
    let gap = w
        .saturating_sub(label.chars().count() + in_state.chars().count())
        .max(1);
    let hb = heartbeat(state, a);
    let model_gap = w.saturating_sub(hb.chars().count() + a.model.chars().count());
    let mut lines = vec![
        Line::from(vec![
            Span::styled(label, st),
            Span::raw(" ".repeat(gap)),
            Span::styled(in_state, theme.muted),
        ]),
        repair_hint(state, theme, a, w)
            .or_else(|| unconsumed(state, theme, a, w))
            .unwrap_or_else(|| Line::from(Span::raw(fit(a.task.as_deref().unwrap_or("—"), w)))),
        if model_gap >= 1 {
            Line::from(vec![
                Span::styled(hb, theme.muted),
                Span::raw(" ".repeat(model_gap)),
                Span::styled(a.model.clone(), theme.accent),
            ])
        } else {
            Line::from(Span::styled(fit(&hb, w), theme.muted))
        },
    ];
    if inner.height > 3 {
        lines.push(fourth_line(state, theme, a, container, w));
    }
    if inner.height > 4 {
        lines.push(Line::from(Span::styled(fit(&a.role, w), theme.muted)));
    }
    f.render_widget(Paragraph::new(lines).block(block), rect);
}

/// A tile's fourth line: its container and since when, when the Engine knows it; else its
/// last failure said as a fact while it is not failing, else its detail.
fn fourth_line<'a>(
    state: &State,
    theme: &Theme,
    a: &AgentTile,
    container: Option<&crate::app::model::containers::Row>,
    w: usize,
) -> Line<'a> {
    if let Some(r) = container {
        return Line::from(Span::styled(
            fit(
                &format!(
                    "container {} {}",
                    r.c.summary(),
                    super::containers::since(state, r)
                ),
                w,
            ),
            if r.c.is_well() {
                theme.muted
            } else {
                theme.state_error
            },
        ));
    }
    let (text, style) = match a.last_failure {
        Some(t) if a.state != AgentState::Error => (
            format!(
                "last task failed {} ago",
                duration((state.now - t).num_seconds())
            ),
            theme.level_warn,
        ),
        _ => (a.detail.clone().unwrap_or_default(), theme.muted),
    };
    Line::from(Span::styled(fit(&text, w), style))
}

/// Work waits in its queues and no live worker consumes them: said in the warning style.
fn unconsumed<'a>(state: &State, theme: &Theme, a: &AgentTile, w: usize) -> Option<Line<'a>> {
    let waiting: u64 = state
        .queues
        .iter()
        .filter(|q| a.queues.contains(&q.name) && q.depth > 0)
        .filter(|q| state.consumed(&q.name) == Some(false))
        .map(|q| q.depth)
        .sum();
    (waiting > 0).then(|| {
        Line::from(Span::styled(
            fit(
                &format!("{} · {waiting} waiting", super::queues::NO_CONSUMER),
                w,
            ),
            theme.level_warn,
        ))
    })
}

/// With the queue path down, a tile offers the runbooks that repair its agent.
fn repair_hint<'a>(state: &State, theme: &Theme, a: &AgentTile, w: usize) -> Option<Line<'a>> {
    if !state.queue_path_down() {
        return None;
    }
    let books = state.executor.for_agent(&a.name);
    (!books.is_empty()).then(|| {
        Line::from(Span::styled(
            fit(&format!("e: {}", books.join(", ")), w),
            theme.level_warn,
        ))
    })
}

fn draw_compact(f: &mut Frame, area: Rect, state: &State, theme: &Theme, title: Vec<Span<'_>>) {
    let b = block(state, theme, Pane::Agents, title);
    let inner = b.inner(area);
    let w = inner.width as usize;
    let lines: Vec<Line> = state
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let st = state_style(theme, a.state);
            let head = format!(
                "{} {:<10} {:<7} {:>6} ",
                state_symbol(a.state),
                fit(&a.name, 10),
                a.state.label(),
                duration((state.now - a.since).num_seconds())
            );
            let tail = format!(" {} {}", heartbeat(state, a), a.model);
            let task_w = w.saturating_sub(head.chars().count() + tail.chars().count());
            let mut line = Line::from(vec![
                Span::styled(head, st),
                Span::raw(fit(a.task.as_deref().unwrap_or("—"), task_w)),
                Span::raw(" ".repeat(
                    task_w.saturating_sub(a.task.as_deref().unwrap_or("—").chars().count()),
                )),
                Span::styled(tail, theme.muted),
            ]);
            if state.ui.focus == Pane::Agents && state.ui.agent_sel == i {
                line = line.style(theme.selection);
            }
            line
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(b), area);
}
