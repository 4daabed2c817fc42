//! Where each pane goes, as a pure function of the screen size and the UI state. Every size
//! from 1×1 up works: panes stack, shrink or hide, and nothing ever panics.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

use crate::app::state::{Pane, State};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub title: Option<Rect>,
    pub status: Option<Rect>,
    pub panes: Vec<(Pane, Rect)>,
    /// Everything between the title and status bars.
    pub body: Option<Rect>,
    /// Agents drawn one line each instead of as tiles, when there is no room for tiles.
    pub compact_agents: bool,
    /// The dashboard's alerts strip, while alerts fire and there is room.
    pub alerts: Option<Rect>,
    pub too_small: bool,
}

pub const TILE_MIN_WIDTH: u16 = 16;

/// Columns and height of the agent tile grid for `count` agents in `width` cells.
pub fn tile_grid(count: usize, width: u16, tall: bool) -> (u16, u16) {
    let cols = (width / TILE_MIN_WIDTH).clamp(1, count.max(1) as u16);
    let rows = (count as u16).div_ceil(cols);
    let tile_h = if tall { 7 } else { 5 };
    // One more row for the pane's title line above the tiles.
    (cols, rows * tile_h + 1)
}

/// The screen's plan: too small, the log full screen, a zoomed pane, or the dashboard's
/// panes, by size.
pub fn plan(area: Rect, state: &State) -> Plan {
    let mut plan = Plan {
        title: None,
        status: None,
        panes: Vec::new(),
        body: None,
        compact_agents: false,
        too_small: false,
        alerts: None,
    };
    if area.width < 20 || area.height < 5 {
        plan.too_small = true;
        return plan;
    }
    if state.ui.fullscreen && state.ui.view == crate::app::state::View::Dashboard {
        plan.panes.push((Pane::Activity, area));
        return plan;
    }
    // A row for the alerts strip on the dashboard while alerts fire, when there is room.
    let strip = u16::from(
        state.ui.view == crate::app::state::View::Dashboard
            && area.height >= 20
            && state.alerts.active.values().any(|a| a.fired.is_some()),
    );
    let [title, alerts, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(strip),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    plan.alerts = (strip > 0).then_some(alerts);
    plan.title = Some(title);
    plan.status = Some(status);
    plan.body = Some(body);
    if state.ui.zoomed {
        plan.panes.push((state.ui.focus, body));
        return plan;
    }
    let n_agents = state.agents.len();
    let tall = body.height >= 40;
    let (_, tiles_h) = tile_grid(n_agents, body.width, tall);
    let compact_h = n_agents as u16 + 2;
    // Tiles need room for the rest underneath; otherwise agents fall back to one line each.
    let (agents_h, compact) = if body.height >= tiles_h + 10 {
        (tiles_h, false)
    } else if body.height >= compact_h + 6 {
        (compact_h, true)
    } else {
        (0, true)
    };
    plan.compact_agents = compact;
    let [agents, rest] =
        Layout::vertical([Constraint::Length(agents_h), Constraint::Min(0)]).areas(body);
    if agents_h > 0 {
        plan.panes.push((Pane::Agents, agents));
    }
    plan.panes.extend(lower_panes(state, body.width, rest));
    plan.panes.retain(|(_, r)| r.height > 0 && r.width > 0);
    plan
}

/// The queues, ports and activity panes under the agents: side by side when wide, stacked
/// when tall enough, the log alone on short screens (the others one Tab + Enter away).
fn lower_panes(state: &State, width: u16, rest: Rect) -> Vec<(Pane, Rect)> {
    let mut panes = Vec::new();
    // Its rows, the column header and the borders.
    let queues_h = (state.queues.len() as u16 + 3).max(4);
    let ports_h = (state.ports.len() as u16 + 3).max(4);
    if width >= 140 {
        // Wide: queues over ports on the left, the activity log takes the right half.
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(rest);
        let [q, p] = Layout::vertical([
            Constraint::Length(queues_h.min(left.height / 2)),
            Constraint::Min(0),
        ])
        .areas(left);
        panes.push((Pane::Queues, q));
        panes.push((Pane::Ports, p));
        panes.push((Pane::Activity, right));
    } else if rest.height >= 12 {
        let mid_h = ports_h.max(queues_h).min(rest.height / 2);
        let [mid, log] =
            Layout::vertical([Constraint::Length(mid_h), Constraint::Min(0)]).areas(rest);
        if mid.width >= 60 {
            let [q, p] =
                Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                    .areas(mid);
            panes.push((Pane::Queues, q));
            panes.push((Pane::Ports, p));
        } else {
            let [q, p] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(mid);
            panes.push((Pane::Queues, q));
            panes.push((Pane::Ports, p));
        }
        panes.push((Pane::Activity, log));
    } else if rest.height >= 3 {
        // Short screens keep the log; the other panes are one Tab + Enter away.
        panes.push((Pane::Activity, rest));
    }
    panes
}

/// A popup `w` by `h` cells (at most the area), in the middle of the area.
pub fn popup(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

pub fn centered(area: Rect, width_pct: u16, height_pct: u16) -> Rect {
    let [_, mid, _] = Layout::new(
        Direction::Vertical,
        [
            Constraint::Percentage((100 - height_pct) / 2),
            Constraint::Percentage(height_pct),
            Constraint::Min(0),
        ],
    )
    .areas(area);
    let [_, c, _] = Layout::horizontal([
        Constraint::Percentage((100 - width_pct) / 2),
        Constraint::Percentage(width_pct),
        Constraint::Min(0),
    ])
    .areas(mid);
    c
}
