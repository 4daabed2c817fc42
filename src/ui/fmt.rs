//! Small formatting helpers shared by the panes.

pub use crate::sanitize::fit;
use chrono::{DateTime, Local, Utc};

/// `5s`, `2m05s`, `1h02m`, `3d04h`: compact, and never wider than six cells.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

pub fn clock(at: DateTime<Utc>, utc: bool) -> String {
    if utc {
        at.format("%H:%M:%S").to_string()
    } else {
        at.with_timezone(&Local).format("%H:%M:%S").to_string()
    }
}

/// Date and time, on the clock the screen shows (the replay's clock bar).
pub fn stamp(at: DateTime<Utc>, utc: bool) -> String {
    if utc {
        at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else {
        at.with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    }
}

const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-row sparkline of the newest `width` samples, scaled to their maximum.
pub fn sparkline<'a>(
    samples: impl DoubleEndedIterator<Item = &'a u64> + ExactSizeIterator,
    width: usize,
) -> String {
    let len = samples.len();
    let recent: Vec<u64> = samples.skip(len.saturating_sub(width)).copied().collect();
    let max = recent.iter().copied().max().unwrap_or(0);
    let mut out: String = recent
        .iter()
        .map(|v| {
            if max == 0 {
                BARS[1]
            } else {
                BARS[((*v as f64 / max as f64) * 8.0).round().clamp(1.0, 8.0) as usize]
            }
        })
        .collect();
    // Right-align so the newest sample always sits at the same place.
    let pad = width.saturating_sub(recent.len());
    out.insert_str(0, &" ".repeat(pad));
    out
}

/// A one-row sparkline of the newest `width` points, scaled between their least and
/// greatest; a gap (NaN) stays blank. A flat series sits on the floor.
pub fn float_sparkline(points: &[f64], width: usize) -> String {
    let recent = &points[points.len().saturating_sub(width)..];
    let finite = recent.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let mut out: String = recent
        .iter()
        .map(|v| match v {
            v if !v.is_finite() => ' ',
            _ if hi <= lo => BARS[1],
            v => BARS[(((v - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize + 1],
        })
        .collect();
    out.insert_str(0, &" ".repeat(width.saturating_sub(recent.len())));
    out
}

/// Breaks `s` into lines of at most `width` characters, at spaces where it can and inside
/// a word only when the word alone is longer (a fingerprint, a key): nothing is cut off.
pub fn wrap_words(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in s.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        if len > 0 && len + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
            len = 0;
        }
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        while len + word.len() > width {
            let rest = word.split_off(width - len);
            line.extend(word);
            lines.push(std::mem::take(&mut line));
            len = 0;
            word = rest;
        }
        len += word.len();
        line.extend(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_character() {
        let text = "host key refused: SHA256:abcdefghijklmnopqrstuvwxyz0123456789 add it";
        let lines = wrap_words(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:?}");
        assert_eq!(lines.join(" ").replace(' ', ""), text.replace(' ', ""));
        assert_eq!(lines[0], "host key refused:");
        assert_eq!(wrap_words("", 5), [""]);
    }

    #[test]
    fn durations_are_compact() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(125), "2m05s");
        assert_eq!(duration(3720), "1h02m");
        assert_eq!(duration(273_600), "3d04h");
        assert_eq!(duration(-3), "0s");
    }

    #[test]
    fn float_sparklines_span_least_to_greatest_and_keep_gaps() {
        assert_eq!(float_sparkline(&[1.0, f64::NAN, 2.0, 3.0], 4), "▁ ▅█");
        assert_eq!(float_sparkline(&[5.0, 5.0], 3), " ▁▁");
        assert_eq!(float_sparkline(&[1.0, 2.0, 3.0], 2), "▁█");
    }

    #[test]
    fn sparkline_scales_and_pads() {
        let v = [0u64, 4, 8];
        assert_eq!(sparkline(v.iter(), 5), "  ▁▄█");
        assert_eq!(sparkline(v.iter(), 2), "▄█");
        assert_eq!(sparkline([0u64, 0].iter(), 2), "▁▁");
    }

    #[test]
    fn fit_marks_cuts() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab");
        assert_eq!(fit("ab", 0), "");
    }
}
