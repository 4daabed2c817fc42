//! The Metrics view: each `[[panels]]` PromQL query as Prometheus last answered it over its
//! range, a sparkline per series with its latest value. What Prometheus knows, beside what
//! the control room knows.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fmt::{clock, float_sparkline};
use super::panes::view_block;
use crate::app::state::State;
use crate::config::theme::Theme;

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let read = state
        .panels
        .iter()
        .filter_map(|p| p.read_at)
        .max()
        .map(|at| format!("read {}", clock(at, state.utc)))
        .unwrap_or_else(|| "not read yet".into());
    let block = view_block(
        theme,
        "Metrics",
        format!("{} panel(s) from Prometheus · {read} ", state.panels.len()),
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    if state.panels.is_empty() {
        lines.push(Line::styled(
            "No panels: set [prometheus] url and add [[panels]] (title, query, range_secs) to the config.",
            theme.muted,
        ));
    }
    let width = inner.width as usize;
    for p in &state.panels {
        let mut head = vec![
            Span::styled(p.title.clone(), theme.header),
            Span::styled(
                format!("  over {}  {}", range(p.range_secs), p.query),
                theme.muted,
            ),
        ];
        if let Some(why) = &p.error {
            head.push(Span::styled(format!("  ⚠ {why}"), theme.level_warn));
        }
        lines.push(Line::from(head));
        if p.series.is_empty() && p.error.is_none() {
            let word = if p.read_at.is_some() {
                "no data"
            } else {
                "…"
            };
            lines.push(Line::styled(format!("  {word}"), theme.muted));
        }
        for s in &p.series {
            let latest = s
                .points
                .iter()
                .rev()
                .find(|v| v.is_finite())
                .map_or_else(|| "–".to_string(), |v| number(*v));
            let value = format!(" {latest}{}", p.unit);
            let label = if s.label.is_empty() {
                String::new()
            } else {
                format!(" {}", s.label)
            };
            let spark_w = width
                .saturating_sub(2 + value.chars().count())
                .min(s.points.len());
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(float_sparkline(&s.points, spark_w), theme.sparkline),
                Span::styled(value, theme.header),
                Span::styled(label, theme.muted),
            ]));
        }
        lines.push(Line::raw(""));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn range(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s => format!("{}m", s / 60),
    }
}

/// A value as a reader wants it: integers whole, small numbers with 3 significant digits.
fn number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e12 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}
