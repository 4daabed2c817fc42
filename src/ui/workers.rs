//! The Workers view: every Celery worker seen, with what Flower shows of it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::fmt::duration;
use super::panes::view_block;
use crate::app::state::State;
use crate::config::keymap::{Action, Section};
use crate::config::theme::Theme;

/// The Workers view: one row per worker, the selection following its name.
pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let block = view_block(theme, "Workers", title(state));
    // Narrow, the load and version give way, then the succeeded and retried counts: active,
    // processed and failed are what an operator reads first.
    let (wide, mid) = (area.width >= 120, area.width >= 100);
    let keep = |i: usize| wide || !(matches!(i, 8 | 9) || (!mid && matches!(i, 5 | 7)));
    let names = [
        "worker",
        "agent",
        "state",
        "active",
        "processed",
        "succeeded",
        "failed",
        "retried",
        "load 1/5/15",
        "version",
        "heartbeat",
    ];
    let header = Row::new(super::panes::kept(names, keep)).style(theme.header);
    let rows = state.workers.values().map(|w| row(state, theme, w, &keep));
    let widths: Vec<Constraint> = super::panes::kept(
        [
            Constraint::Min(18),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(14),
            Constraint::Length(8),
            Constraint::Length(10),
        ],
        keep,
    );
    // The selection follows the worker's name, whatever joins or leaves above it.
    let sel = state
        .ui
        .worker_pick
        .as_ref()
        .and_then(|p| state.workers.keys().position(|k| k == p));
    let mut table_state = TableState::default().with_selected(sel);
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme.selection);
    f.render_stateful_widget(table, area, &mut table_state);
    if state.workers.is_empty() {
        super::panes::empty_note(
            f,
            area,
            "no Celery worker seen yet: they appear with their first heartbeat",
            theme,
        );
    }
}

/// The title: online of seen (or since when the feed is lost), and the detail key.
fn title(state: &State) -> String {
    let online = state.workers.values().filter(|w| w.online).count();
    match state.feed_lost {
        Some(t) => format!(
            "feed lost since {}: states unknown until it is back · {} seen ",
            super::fmt::clock(t, state.utc),
            state.workers.len()
        ),
        None => format!(
            "{online} online of {} seen · offline = no heartbeat for 2 × freq · counts since each started · {} detail ",
            state.workers.len(),
            state.keymap.hint(Section::Workers, Action::Zoom)
        ),
    }
}

/// One worker's row, only the columns `keep` keeps.
fn row<'a>(
    state: &State,
    theme: &Theme,
    w: &crate::app::state::Worker,
    keep: &impl Fn(usize) -> bool,
) -> Row<'a> {
    let (label, style) = if state.feed_lost.is_some() {
        ("?", theme.state_unknown)
    } else if w.online {
        ("online", theme.state_idle)
    } else {
        ("OFFLINE", theme.state_offline)
    };
    // ↺: read back from the history at start, not heard from live since.
    let (label, style) = if w.restored {
        (format!("{label} ↺"), theme.muted)
    } else {
        (label.to_string(), style)
    };
    let cells = vec![
        Cell::from(w.hostname.clone()),
        Cell::from(
            w.agent
                .map(|i| state.agents[i].name.clone())
                .unwrap_or_else(|| "—".into()),
        ),
        Cell::from(Span::styled(label, style)),
        Cell::from(format!("{:>6}", w.active)),
        Cell::from(format!("{:>9}", w.processed)),
        Cell::from(format!("{:>9}", w.succeeded)),
        Cell::from(format!("{:>6}", w.failed)),
        Cell::from(format!("{:>7}", w.retried)),
        Cell::from(format!(
            "{:.2} {:.2} {:.2}",
            w.loadavg[0], w.loadavg[1], w.loadavg[2]
        )),
        Cell::from(w.sw_ver.clone().unwrap_or_default()),
        Cell::from(format!(
            "{} ago",
            duration((state.now - w.last_heartbeat).num_seconds())
        )),
    ];
    Row::new(super::panes::kept(cells, keep))
}
