//! `draw` is a pure function of the state and the theme.

mod activity;
mod agents;
mod alerts;
mod bars;
mod containers;
mod contexts;
mod dispatch;
mod executor;
mod fleet;
pub mod fmt;
mod help;
mod issues;
pub mod layout;
mod links;
mod metrics;
mod panes;
mod ports;
mod queues;
mod tasks;
mod workers;

use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::app::state::{Mode, Pane, State, View};
use crate::config::theme::Theme;

pub fn draw(f: &mut Frame, state: &State, theme: &Theme) {
    let area = f.area();
    f.render_widget(Block::default().style(theme.base), area);
    let plan = layout::plan(area, state);
    if plan.too_small {
        let msg = Paragraph::new(Line::raw(format!(
            "chavion-tui: {}×{} is too small; need 20×5",
            area.width, area.height
        )))
        .wrap(Wrap { trim: true });
        f.render_widget(msg, area);
        return;
    }
    if let Some(r) = plan.title {
        bars::title(f, r, state, theme);
    }
    if let Some(r) = plan.alerts {
        bars::alerts_strip(f, r, state, theme);
    }
    match (state.ui.view, plan.body) {
        (View::Tasks, Some(body)) => tasks::draw(f, body, state, theme),
        (View::Workers, Some(body)) => workers::draw(f, body, state, theme),
        (View::Issues, Some(body)) => issues::draw(f, body, state, theme),
        (View::Alerts, Some(body)) => alerts::draw(f, body, state, theme),
        (View::Metrics, Some(body)) => metrics::draw(f, body, state, theme),
        (View::Containers, Some(body)) => containers::draw(f, body, state, theme),
        (View::Executor, Some(body)) => executor::draw(f, body, state, theme),
        (View::Contexts, Some(body)) => contexts::draw(f, body, state, theme),
        (View::Links, Some(body)) => links::draw(f, body, state, theme),
        _ => draw_panes(f, &plan, state, theme),
    }
    if let Some(r) = plan.status {
        bars::status(f, r, state, theme);
    }
    match &state.ui.mode {
        Mode::Help => help::draw(f, area, state, theme),
        Mode::Detail => tasks::detail(f, area, state, theme),
        Mode::Confirm(c) => tasks::confirm(f, area, c, state, theme),
        Mode::Form(form) => dispatch::form(f, area, state, theme, form),
        Mode::ConfirmDispatch(p) => {
            let context =
                (state.session.contexts.len() > 1).then_some(state.session.context.name.as_str());
            dispatch::confirm(f, area, p, theme, context)
        }
        Mode::ConfirmEmit(p) => dispatch::confirm_emit(f, area, p, theme),
        Mode::ConfirmExec(p) => executor::confirm(f, area, p, theme),
        Mode::ConfirmQuit => executor::confirm_quit(f, area, state, theme),
        Mode::ConfirmContext(held) => contexts::confirm(f, area, state, held, theme),
        Mode::WorkerDetail => fleet::worker_detail(f, area, state, theme),
        Mode::ContainerDetail => containers::detail(f, area, state, theme),
        Mode::ConfirmOrder(p) => fleet::confirm_order(f, area, p, theme),
        Mode::Command(text) => {
            if let Some(r) = plan.status {
                dispatch::command_line(f, r, text, theme);
            }
        }
        Mode::LogFilter(text) | Mode::LogSearch(text) => {
            let search = matches!(state.ui.mode, Mode::LogSearch(_));
            let row = plan.status.unwrap_or(ratatui::layout::Rect {
                y: area.bottom().saturating_sub(1),
                height: 1,
                ..area
            });
            activity::prompt(f, row, search, text, theme);
        }
        Mode::Normal | Mode::Filter(_) => {}
    }
    // Every confirmation says which context it acts in, on the status row below it.
    if let Some(row) = plan.status {
        contexts::confirming_in(f, row, state, theme);
    }
}

fn draw_panes(f: &mut Frame, plan: &layout::Plan, state: &State, theme: &Theme) {
    for (pane, rect) in &plan.panes {
        match pane {
            Pane::Agents => agents::draw(
                f,
                *rect,
                state,
                theme,
                plan.compact_agents && !state.ui.zoomed,
            ),
            Pane::Queues => queues::draw(f, *rect, state, theme),
            Pane::Ports => ports::draw(f, *rect, state, theme),
            Pane::Activity => activity::draw(f, *rect, state, theme),
        }
    }
}
