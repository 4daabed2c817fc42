//! The activity stream: newest at the bottom; time, level, source and message, coloured by
//! level and by source; the filter's and the search's matches highlighted; long lines cut
//! with a marker, or wrapped; the selection shown.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use regex::Regex;

use super::fmt::{clock, fit};
use super::panes::block;
use crate::app::model::activity::{ActivityLog, Filter, LogLine};
use crate::app::state::{Pane, State};
use crate::config::theme::{ColorMode, Theme};
use crate::platform::model::Level;

pub fn level_style(theme: &Theme, l: Level) -> Style {
    match l {
        Level::Debug => theme.level_debug,
        Level::Info => theme.level_info,
        Level::Warn => theme.level_warn,
        Level::Error => theme.level_error,
    }
}

/// Each source keeps one colour, so a busy stream can be read by source at a glance.
pub fn source_style(theme: &Theme, source: &str) -> Style {
    const PALETTE: [Color; 6] = [
        Color::Cyan,
        Color::Magenta,
        Color::Blue,
        Color::Green,
        Color::LightCyan,
        Color::LightMagenta,
    ];
    if theme.mode == ColorMode::None {
        return theme.accent;
    }
    // FNV-1a: stable across runs and machines, unlike the std hasher.
    let h = source.bytes().fold(0x811c9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x01000193)
    });
    theme.accent.fg(PALETTE[h as usize % PALETTE.len()])
}

fn highlight(theme: &Theme) -> Style {
    theme.selection.add_modifier(Modifier::BOLD)
}

/// `text` as spans, the matches of `re` highlighted.
fn marked<'a>(text: String, re: Option<&Regex>, base: Style, hl: Style) -> Vec<Span<'a>> {
    let Some(re) = re else {
        return vec![Span::styled(text, base)];
    };
    let mut out = Vec::new();
    let mut last = 0;
    for m in re.find_iter(&text) {
        if m.start() == m.end() {
            continue;
        }
        if m.start() > last {
            out.push(Span::styled(text[last..m.start()].to_string(), base));
        }
        out.push(Span::styled(text[m.start()..m.end()].to_string(), hl));
        last = m.end();
    }
    if last < text.len() {
        out.push(Span::styled(text[last..].to_string(), base));
    }
    out
}

fn title_spans<'a>(log: &ActivityLog, theme: &Theme) -> Vec<Span<'a>> {
    let mut spans = vec![if log.follow {
        Span::styled("following ", theme.muted)
    } else {
        let new = if log.unseen > 0 {
            format!(", {} new", log.unseen)
        } else {
            String::new()
        };
        Span::styled(
            format!("paused · {} below{new} ", log.offset),
            theme.level_warn,
        )
    }];
    if let Some(f) = &log.filter {
        spans.push(Span::styled(
            format!(
                "/{} ({} of {}) ",
                f.text,
                log.matched_len(),
                log.lines.len()
            ),
            theme.accent,
        ));
    }
    if let Some(p) = log.scan_progress() {
        spans.push(Span::styled(
            format!("filtering {:.0}% ", p * 100.0),
            theme.level_warn,
        ));
    }
    if log.search.is_some() {
        spans.push(Span::styled(
            format!("search: {} ", log.search_text),
            theme.accent,
        ));
    }
    if let Some((lo, hi)) = log.selection().filter(|_| log.mark.is_some()) {
        spans.push(Span::styled(
            format!("{} selected ", hi - lo + 1),
            theme.selection,
        ));
    }
    if log.wrap {
        spans.push(Span::styled("wrap ", theme.muted));
    }
    if log.history_pending {
        spans.push(Span::styled("loading older… ", theme.muted));
    }
    spans
}

pub fn draw(f: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let log = &state.activity;
    let b = block(state, theme, Pane::Activity, title_spans(log, theme));
    let inner = b.inner(area);
    f.render_widget(b, area);
    let rows = inner.height as usize;
    if rows == 0 || inner.width == 0 {
        return;
    }
    // Sized to the sources in use, but never more than a quarter of the pane.
    let source_w = log
        .source_w
        .min((inner.width as usize / 4).max(crate::app::model::activity::SOURCE_MIN));
    let prefix_w = if log.timestamps { 9 } else { 0 } + 6 + source_w + 1;
    let msg_w = (inner.width as usize).saturating_sub(prefix_w).max(1);
    let re = log
        .search
        .as_ref()
        .or(log.filter.as_ref().and_then(|f: &Filter| f.regex.as_ref()));
    let selection = log
        .selection()
        .filter(|_| log.mark.is_some() || !log.follow);
    let cursor = log.cursor();
    // From the bottom up, until the rows are full: a wrapped line takes several.
    let mut out: Vec<Line> = Vec::with_capacity(rows);
    let end = log.visible_len().saturating_sub(log.offset);
    for i in (0..end).rev() {
        if out.len() >= rows {
            break;
        }
        let Some(l) = log.visible(i) else { continue };
        let selected = selection.is_some_and(|(lo, hi)| (lo..=hi).contains(&i));
        let mut rendered = render_line(l, state, theme, re, msg_w, prefix_w, log.wrap);
        if selected || (Some(i) == cursor && !log.follow) {
            let style = if selected {
                theme.selection
            } else {
                Style::default().add_modifier(Modifier::UNDERLINED)
            };
            rendered = rendered
                .into_iter()
                .map(|line| line.patch_style(style))
                .collect();
        }
        for line in rendered.into_iter().rev() {
            if out.len() < rows {
                out.push(line);
            }
        }
    }
    out.reverse();
    f.render_widget(Paragraph::new(out), inner);
}

fn render_line<'a>(
    l: &LogLine,
    state: &State,
    theme: &Theme,
    re: Option<&Regex>,
    msg_w: usize,
    prefix_w: usize,
    wrap: bool,
) -> Vec<Line<'a>> {
    let mut head = Vec::new();
    if state.activity.timestamps {
        head.push(Span::styled(
            format!("{} ", clock(l.at, state.utc)),
            theme.muted,
        ));
    }
    head.push(Span::styled(
        format!("{:<5} ", l.level.label()),
        level_style(theme, l.level),
    ));
    // What the prefix leaves for the source (see `draw`).
    let source_w = prefix_w - if state.activity.timestamps { 9 } else { 0 } - 7;
    head.push(Span::styled(
        format!("{:<w$} ", fit(&l.source, source_w), w = source_w),
        source_style(theme, &l.source),
    ));
    let base = Style::default();
    if !wrap {
        let mut spans = head;
        spans.extend(marked(fit(&l.message, msg_w), re, base, highlight(theme)));
        return vec![Line::from(spans)];
    }
    let chars: Vec<char> = l.message.chars().collect();
    let mut lines = Vec::new();
    for (k, chunk) in chars.chunks(msg_w).enumerate().take(200) {
        let text: String = chunk.iter().collect();
        let mut spans = if k == 0 {
            head.clone()
        } else {
            vec![Span::raw(" ".repeat(prefix_w))]
        };
        spans.extend(marked(text, re, base, highlight(theme)));
        lines.push(Line::from(spans));
    }
    if lines.is_empty() {
        lines.push(Line::from(head));
    }
    lines
}

/// The filter or search being typed, on the status row; a bad pattern says why as you type.
pub fn prompt(f: &mut Frame, area: Rect, search: bool, text: &str, theme: &Theme) {
    let (sigil, error) = if search {
        (
            "search ",
            crate::app::model::activity::compile(text)
                .err()
                .filter(|_| !text.is_empty()),
        )
    } else {
        ("/", Filter::parse(text).err())
    };
    let mut spans = vec![
        Span::styled(sigil, theme.accent),
        Span::raw(text.to_string()),
        Span::raw("▏"),
    ];
    match error {
        Some(e) => spans.push(Span::styled(format!("  {e}"), theme.level_error)),
        None if !search => spans.push(Span::styled(
            "  level:warn source:NAME agent:NAME REGEX (!REGEX inverts)",
            theme.muted,
        )),
        None => {}
    }
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(Line::from(spans)).style(theme.base), area);
}
