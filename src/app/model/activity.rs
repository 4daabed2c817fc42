//! The activity stream as an operator's tool: a ring bounded in lines and in bytes, a
//! filter that runs incrementally (a million lines are rescanned in slices between key
//! presses, never in one go), a search with next and previous, a selection, and older
//! history paged in from the store above the ring.
//!
//! Lines are addressed by sequence numbers: the ring holds `first_seq..first_seq+len`.
//! Lines paged in from the store go in front, so sequence numbers count down as well as up;
//! the view's scroll position is counted from the bottom, so neither end moving disturbs it.

use crate::app::model::input_error::InputError;
use chrono::{DateTime, Utc};
use regex::Regex;
use std::collections::VecDeque;

use crate::platform::model::Level;

/// Lines tested per slice of a rescan: a few milliseconds, so keys stay responsive.
pub const SCAN_SLICE: usize = 50_000;
/// What a line costs besides its text: the struct, the deque slot, allocator slack.
const LINE_OVERHEAD: usize = 80;
/// Sequence numbers start high so paging history in front never runs below zero.
const FIRST_SEQ: u64 = 1 << 40;

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    pub level: Level,
    pub source: String,
    pub message: String,
}

impl LogLine {
    fn cost(&self) -> usize {
        self.source.len() + self.message.len() + LINE_OVERHEAD
    }
}

fn rank(l: Level) -> u8 {
    match l {
        Level::Debug => 0,
        Level::Info => 1,
        Level::Warn => 2,
        Level::Error => 3,
    }
}

/// `level:warn source:redis,celery agent:thinking REGEX`, where `!REGEX` keeps the lines
/// that do not match. Words are ANDed; a regex without capitals ignores case.
#[derive(Debug, Clone)]
pub struct Filter {
    pub text: String,
    min_level: Option<Level>,
    sources: Vec<String>,
    agents: Vec<String>,
    pub regex: Option<Regex>,
    invert: bool,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Option<Filter>, InputError> {
        let mut f = Filter {
            text: text.trim().to_string(),
            min_level: None,
            sources: Vec::new(),
            agents: Vec::new(),
            regex: None,
            invert: false,
        };
        let mut rest: Vec<&str> = Vec::new();
        for word in text.split_whitespace() {
            if let Some(v) = word.strip_prefix("level:") {
                f.min_level = Some(Level::parse(v).ok_or_else(|| {
                    format!("level:{v}? use level:debug, level:info, level:warn or level:error")
                })?);
            } else if let Some(v) = word.strip_prefix("source:") {
                f.sources.extend(
                    v.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_lowercase),
                );
            } else if let Some(v) = word.strip_prefix("agent:") {
                f.agents.extend(
                    v.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_lowercase),
                );
            } else {
                rest.push(word);
            }
        }
        let mut pattern = rest.join(" ");
        if let Some(p) = pattern.strip_prefix('!') {
            f.invert = true;
            pattern = p.to_string();
        }
        if !pattern.is_empty() {
            f.regex = Some(compile(&pattern)?);
        }
        let empty = f.min_level.is_none()
            && f.sources.is_empty()
            && f.agents.is_empty()
            && f.regex.is_none()
            && !f.invert;
        Ok((!empty).then_some(f))
    }

    pub fn matches(&self, l: &LogLine) -> bool {
        if let Some(min) = self.min_level
            && rank(l.level) < rank(min)
        {
            return false;
        }
        if !self.sources.is_empty() {
            let s = l.source.to_lowercase();
            if !self.sources.iter().any(|w| s.contains(w.as_str())) {
                return false;
            }
        }
        if !self.agents.is_empty() {
            // An agent's own lines, and lines about it (its worker, its queue, its name).
            let s = l.source.to_lowercase();
            let m = l.message.to_lowercase();
            if !self
                .agents
                .iter()
                .any(|a| s == *a || m.contains(a.as_str()))
            {
                return false;
            }
        }
        match &self.regex {
            Some(r) => (r.is_match(&l.message) || r.is_match(&l.source)) != self.invert,
            None => !self.invert,
        }
    }
}

/// Smart case: a pattern without capitals ignores case. Size-limited, so a pathological
/// pattern is refused rather than eating memory.
pub fn compile(pattern: &str) -> Result<Regex, InputError> {
    let insensitive = !pattern.chars().any(char::is_uppercase);
    regex::RegexBuilder::new(pattern)
        .case_insensitive(insensitive)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            InputError(format!(
                "not a valid regex: {}",
                e.to_string().lines().last().unwrap_or("")
            ))
        })
}

#[derive(Debug, Clone)]
pub struct ActivityLog {
    pub lines: VecDeque<LogLine>,
    first_seq: u64,
    pub capacity: usize,
    pub max_bytes: usize,
    pub bytes: usize,
    pub max_chars: usize,
    pub follow: bool,
    /// View rows between the bottom of the view and the newest visible line.
    pub offset: usize,
    /// Lines that arrived while paused.
    pub unseen: usize,
    /// Lines ever appended (not counting history read back from the store).
    pub total: u64,
    pub filter: Option<Filter>,
    /// With a filter: the sequence numbers of the lines it keeps, in order.
    matched: VecDeque<u64>,
    /// A rescan in progress: the next sequence number to test.
    scan: Option<u64>,
    pub search: Option<Regex>,
    pub search_text: String,
    /// The other end of the selection (`v`); the cursor is the bottom line of the view.
    pub mark: Option<u64>,
    pub wrap: bool,
    pub timestamps: bool,
    /// Lines paged in from the store sit in front of the ring; while there are any, the
    /// bounds are doubled, and they are let go when following resumes.
    pub paged: usize,
    /// The store has nothing older than the first line.
    pub history_exhausted: bool,
    pub history_pending: bool,
    /// The widest source seen (in characters, at most `SOURCE_MAX`): the source column is
    /// sized to the sources in use, so `sio:chavion.com/dash` is not cut to `sio:chavi…`.
    pub source_w: usize,
}

/// The source column's bounds.
pub const SOURCE_MIN: usize = 8;
pub const SOURCE_MAX: usize = 28;

impl ActivityLog {
    pub fn new(capacity: usize, max_bytes: usize, max_chars: usize) -> ActivityLog {
        ActivityLog {
            lines: VecDeque::new(),
            first_seq: FIRST_SEQ,
            capacity,
            max_bytes,
            bytes: 0,
            max_chars,
            follow: true,
            offset: 0,
            unseen: 0,
            total: 0,
            filter: None,
            matched: VecDeque::new(),
            scan: None,
            search: None,
            search_text: String::new(),
            mark: None,
            wrap: false,
            timestamps: true,
            paged: 0,
            history_exhausted: false,
            history_pending: false,
            source_w: SOURCE_MIN,
        }
    }

    fn widen_for(&mut self, source: &str) {
        let w = source.chars().count().min(SOURCE_MAX);
        if w > self.source_w {
            self.source_w = w;
        }
    }

    /// With a filter: how many of the kept lines it keeps (so far, while it rescans).
    pub fn matched_len(&self) -> usize {
        self.matched.len()
    }

    fn end_seq(&self) -> u64 {
        self.first_seq + self.lines.len() as u64
    }

    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        seq.checked_sub(self.first_seq)
            .and_then(|i| self.lines.get(i as usize))
    }

    /// Lines the view shows: all of them, or those the filter keeps.
    pub fn visible_len(&self) -> usize {
        if self.filter.is_some() {
            self.matched.len()
        } else {
            self.lines.len()
        }
    }

    pub fn visible_seq(&self, i: usize) -> Option<u64> {
        if self.filter.is_some() {
            self.matched.get(i).copied()
        } else {
            (i < self.lines.len()).then(|| self.first_seq + i as u64)
        }
    }

    pub fn visible(&self, i: usize) -> Option<&LogLine> {
        self.visible_seq(i).and_then(|s| self.get(s))
    }

    /// The view index of a sequence number, or of the first visible line after it.
    pub fn index_of(&self, seq: u64) -> usize {
        if self.filter.is_some() {
            self.matched.partition_point(|s| *s < seq)
        } else {
            seq.saturating_sub(self.first_seq) as usize
        }
    }

    /// The line at the bottom of the view: where search, marks and copies start.
    pub fn cursor(&self) -> Option<usize> {
        self.visible_len().checked_sub(1 + self.offset)
    }

    pub fn push(&mut self, mut line: LogLine) {
        if line.message.chars().count() > self.max_chars {
            line.message = crate::sanitize::recut(&line.message, self.max_chars);
        }
        let seq = self.end_seq();
        let shown = match &self.filter {
            None => true,
            // A rescan in progress reaches this line by itself.
            Some(_) if self.scan.is_some() => false,
            Some(f) => f.matches(&line),
        };
        if shown && self.filter.is_some() {
            self.matched.push_back(seq);
        }
        self.bytes += line.cost();
        self.widen_for(&line.source);
        self.lines.push_back(line);
        self.total += 1;
        if !self.follow && shown {
            // Keep the paused view still while new lines land below it.
            self.offset += 1;
            self.unseen += 1;
        }
        self.evict();
    }

    fn bounds(&self) -> (usize, usize) {
        let k = if self.paged > 0 { 2 } else { 1 };
        (self.capacity * k, self.max_bytes.saturating_mul(k))
    }

    fn evict(&mut self) {
        let (max_lines, max_bytes) = self.bounds();
        while self.lines.len() > 1 && (self.lines.len() > max_lines || self.bytes > max_bytes) {
            self.pop_front();
        }
        self.offset = self.offset.min(self.visible_len().saturating_sub(1));
    }

    fn pop_front(&mut self) {
        let Some(old) = self.lines.pop_front() else {
            return;
        };
        self.bytes = self.bytes.saturating_sub(old.cost());
        if self.matched.front() == Some(&self.first_seq) {
            self.matched.pop_front();
        }
        self.first_seq += 1;
        self.paged = self.paged.saturating_sub(1);
        if let Some(s) = self.scan
            && s < self.first_seq
        {
            self.scan = Some(self.first_seq);
        }
        if self.mark.is_some_and(|m| m < self.first_seq) {
            self.mark = None;
        }
        // Older lines went: the store has them, so paging back is possible again.
        self.history_exhausted = false;
    }

    /// Older lines from the store, oldest first, in front of the ring. Returns how many fit.
    pub fn prepend(&mut self, older: Vec<LogLine>) -> usize {
        self.history_pending = false;
        if older.is_empty() {
            self.history_exhausted = true;
            return 0;
        }
        let (max_lines, max_bytes) = (self.capacity * 2, self.max_bytes.saturating_mul(2));
        let mut taken = 0;
        for line in older.into_iter().rev() {
            if self.lines.len() >= max_lines || self.bytes + line.cost() > max_bytes {
                break;
            }
            self.first_seq -= 1;
            if let Some(f) = &self.filter
                && f.matches(&line)
            {
                self.matched.push_front(self.first_seq);
            }
            self.bytes += line.cost();
            self.widen_for(&line.source);
            self.lines.push_front(line);
            self.paged += 1;
            taken += 1;
        }
        taken
    }

    /// History read back at start-up, oldest first: part of the ring, not paged in.
    pub fn seed(&mut self, older: Vec<LogLine>) {
        let keep = older
            .len()
            .min(self.capacity.saturating_sub(self.lines.len()));
        let skip = older.len() - keep;
        self.prepend(older.into_iter().skip(skip).collect());
        self.paged = 0;
        self.history_exhausted = false;
        self.evict();
    }

    /// Back to the live tail: the paged-in history is let go, the bounds are normal again.
    pub fn resume_follow(&mut self) {
        self.follow = true;
        self.offset = 0;
        self.unseen = 0;
        self.mark = None;
        while self.paged > 0 && !self.lines.is_empty() {
            self.pop_front();
        }
        self.paged = 0;
        self.evict();
    }

    /// Applies a new filter; the lines already kept are rescanned in slices (`work`).
    pub fn set_filter(&mut self, filter: Option<Filter>) {
        self.matched.clear();
        self.scan = filter.as_ref().map(|_| self.first_seq);
        self.filter = filter;
        self.offset = 0;
        self.unseen = 0;
        self.mark = None;
        if self.scan == Some(self.end_seq()) {
            self.scan = None;
        }
    }

    pub fn pending_work(&self) -> bool {
        self.scan.is_some()
    }

    /// One slice of a rescan. The view stays where it was, counted from the bottom.
    pub fn work(&mut self) {
        let (Some(start), Some(f)) = (self.scan, &self.filter) else {
            return;
        };
        let end = self.end_seq().min(start + SCAN_SLICE as u64);
        let base = self.first_seq;
        for seq in start..end {
            if let Some(l) = self.lines.get((seq - base) as usize)
                && f.matches(l)
            {
                self.matched.push_back(seq);
            }
        }
        self.scan = (end < self.end_seq()).then_some(end);
    }

    /// How far a rescan has got, for the title: 0.0 to 1.0.
    pub fn scan_progress(&self) -> Option<f64> {
        self.scan.map(|s| {
            let done = s.saturating_sub(self.first_seq) as f64;
            done / self.lines.len().max(1) as f64
        })
    }

    /// Moves the view so view index `i` is the bottom line; a jump pauses following.
    pub fn show(&mut self, i: usize) {
        let len = self.visible_len();
        if len == 0 {
            return;
        }
        self.offset = len - 1 - i.min(len - 1);
        self.follow = false;
    }

    /// The next line matching the search, `forward` towards newer lines; wraps around.
    pub fn search_from_cursor(&self, forward: bool) -> Option<usize> {
        let re = self.search.as_ref()?;
        let len = self.visible_len();
        let start = self.cursor().unwrap_or(0);
        (1..=len)
            .map(|k| {
                if forward {
                    (start + k) % len
                } else {
                    (start + len - k % len) % len
                }
            })
            .find(|&i| {
                self.visible(i)
                    .is_some_and(|l| re.is_match(&l.message) || re.is_match(&l.source))
            })
    }

    /// The first visible line at or after `at`; `None` when every line is older.
    pub fn first_at_or_after(&self, at: DateTime<Utc>) -> Option<usize> {
        (0..self.visible_len()).find(|&i| self.visible(i).is_some_and(|l| l.at >= at))
    }

    /// The selection as view indices, low to high: the mark to the cursor, or the cursor.
    pub fn selection(&self) -> Option<(usize, usize)> {
        let cursor = self.cursor()?;
        let other = self.mark.map(|m| self.index_of(m)).unwrap_or(cursor);
        Some((other.min(cursor), other.max(cursor)))
    }

    pub fn clear(&mut self) {
        self.first_seq = self.end_seq();
        self.lines.clear();
        self.matched.clear();
        self.bytes = 0;
        self.offset = 0;
        self.unseen = 0;
        self.mark = None;
        self.paged = 0;
        if self.filter.is_some() {
            self.scan = None;
        }
        self.history_exhausted = false;
    }
}

/// One line as saved and copied: time, level, source, message.
pub fn format_line(l: &LogLine, utc: bool) -> String {
    let at = if utc {
        l.at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    } else {
        l.at.with_timezone(&chrono::Local)
            .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string()
    };
    format!("{at} {:<5} {} {}", l.level.label(), l.source, l.message)
}

/// OSC 52: the terminal puts `text` on the operator's own clipboard, even over SSH.
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
    )
}

/// Terminals cap OSC 52 payloads (xterm and tmux at about 100 kB); past that, cut.
pub const OSC52_MAX: usize = 74_000;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_000_000 + s, 0).unwrap()
    }

    fn line(s: i64, level: Level, source: &str, message: &str) -> LogLine {
        LogLine {
            at: at(s),
            level,
            source: source.into(),
            message: message.into(),
        }
    }

    fn sample() -> Vec<LogLine> {
        vec![
            line(0, Level::Info, "THINKING", "idle → busy: planning rollout"),
            line(1, Level::Warn, "redis", "link down: connection refused"),
            line(
                2,
                Level::Error,
                "celery",
                "task judging.risk failed on judging@vm",
            ),
            line(3, Level::Debug, "celery", "heartbeat from thinking@vm"),
            line(4, Level::Info, "nginx", "GET /health 200"),
        ]
    }

    fn kept(text: &str) -> Vec<i64> {
        let f = Filter::parse(text).unwrap().unwrap();
        sample()
            .iter()
            .filter(|l| f.matches(l))
            .map(|l| l.at.timestamp() - 1_795_000_000)
            .collect()
    }

    #[test]
    fn the_filter_reads_regex_inversion_level_source_and_agent() {
        assert_eq!(kept("refused|failed"), [1, 2]);
        // Smart case: lower case ignores case; a capital makes it exact.
        assert_eq!(kept("get"), [4]);
        assert_eq!(kept("Get"), Vec::<i64>::new());
        assert_eq!(kept("!celery"), [0, 1, 4]);
        assert_eq!(kept("level:warn"), [1, 2]);
        assert_eq!(kept("level:error"), [2]);
        assert_eq!(kept("source:celery,nginx"), [2, 3, 4]);
        // An agent's own lines, and lines that name it (its worker, its queue).
        assert_eq!(kept("agent:thinking"), [0, 3]);
        assert_eq!(kept("agent:judging"), [2]);
        assert_eq!(kept("source:celery !heartbeat"), [2]);
        assert_eq!(kept("level:info !^GET"), [0, 1, 2]);
        assert!(Filter::parse("  ").unwrap().is_none());
        let bad = Filter::parse("(unclosed").unwrap_err();
        assert!(bad.0.starts_with("not a valid regex"), "{bad}");
        assert!(
            Filter::parse("level:loud")
                .unwrap_err()
                .0
                .contains("level:warn")
        );
    }

    #[test]
    fn a_new_filter_rescans_in_slices_and_new_lines_are_judged_as_they_come() {
        let mut log = ActivityLog::new(1_000_000, usize::MAX, 2000);
        for i in 0..(SCAN_SLICE as i64 * 2 + 10) {
            let level = if i % 10 == 0 {
                Level::Error
            } else {
                Level::Info
            };
            log.push(line(i, level, "celery", &format!("line {i}")));
        }
        log.set_filter(Filter::parse("level:error").unwrap());
        assert!(log.pending_work());
        log.work();
        assert_eq!(log.matched.len(), SCAN_SLICE / 10, "one slice at a time");
        // A line arriving mid-scan is left for the scan, not counted twice.
        log.push(line(999_999, Level::Error, "celery", "late"));
        while log.pending_work() {
            log.work();
        }
        assert_eq!(log.visible_len(), (SCAN_SLICE * 2 + 10) / 10 + 1);
        assert_eq!(log.visible(log.visible_len() - 1).unwrap().message, "late");
        log.push(line(1_000_000, Level::Error, "celery", "after"));
        log.push(line(1_000_001, Level::Info, "celery", "hidden"));
        assert_eq!(log.visible(log.visible_len() - 1).unwrap().message, "after");
        log.set_filter(None);
        assert_eq!(log.visible_len(), log.lines.len());
    }

    #[test]
    fn memory_is_bounded_in_lines_and_in_bytes() {
        let mut log = ActivityLog::new(1000, usize::MAX, 2000);
        for i in 0..5000 {
            log.push(line(i, Level::Info, "s", "x"));
        }
        assert_eq!(log.lines.len(), 1000);
        assert_eq!(log.lines.front().unwrap().at, at(4000));
        let mut log = ActivityLog::new(1_000_000, 100_000, 2000);
        let big = "y".repeat(1000);
        for i in 0..1000 {
            log.push(line(i, Level::Info, "s", &big));
        }
        assert!(log.bytes <= 100_000, "{}", log.bytes);
        assert_eq!(log.lines.len(), 100_000 / (1000 + 1 + LINE_OVERHEAD));
        // Eviction keeps the filter's list in step.
        log.set_filter(Filter::parse("y").unwrap());
        while log.pending_work() {
            log.work();
        }
        log.push(line(5000, Level::Info, "s", &big));
        assert_eq!(log.matched.len(), log.lines.len());
        assert_eq!(log.matched.front(), Some(&log.first_seq));
    }

    #[test]
    fn older_history_goes_in_front_without_moving_the_view_and_is_let_go_on_follow() {
        let mut log = ActivityLog::new(4, usize::MAX, 2000);
        for i in 10..14 {
            log.push(line(i, Level::Info, "s", &format!("new {i}")));
        }
        log.follow = false;
        log.offset = 3;
        let took = log.prepend(
            (0..6)
                .map(|i| line(i, Level::Info, "s", &format!("old {i}")))
                .collect(),
        );
        // Twice max_lines while browsing history: 4 more fit, the newest of the page.
        assert_eq!(took, 4);
        assert_eq!(log.lines.len(), 8);
        assert_eq!(log.lines.front().unwrap().message, "old 2");
        assert_eq!(
            log.visible(log.cursor().unwrap()).unwrap().message,
            "new 10"
        );
        log.push(line(20, Level::Info, "s", "new 20"));
        assert_eq!(log.lines.len(), 8, "still bounded while browsing");
        log.resume_follow();
        assert_eq!(log.lines.len(), 4);
        assert_eq!(log.lines.back().unwrap().message, "new 20");
        assert_eq!(log.prepend(Vec::new()), 0);
        assert!(log.history_exhausted);
    }

    #[test]
    fn search_goes_both_ways_and_wraps() {
        let mut log = ActivityLog::new(100, usize::MAX, 2000);
        for l in sample() {
            log.push(l);
        }
        log.search = Some(compile("celery").unwrap());
        // The cursor is the bottom line (nginx, index 4).
        assert_eq!(log.search_from_cursor(false), Some(3));
        log.show(3);
        assert_eq!(log.search_from_cursor(false), Some(2));
        log.show(2);
        assert_eq!(log.search_from_cursor(true), Some(3));
        assert_eq!(log.search_from_cursor(false), Some(3), "wraps past the top");
        assert_eq!(log.first_at_or_after(at(2)), Some(2));
        assert_eq!(log.first_at_or_after(at(99)), None);
    }

    #[test]
    fn the_selection_runs_from_the_mark_to_the_cursor() {
        let mut log = ActivityLog::new(100, usize::MAX, 2000);
        for l in sample() {
            log.push(l);
        }
        log.show(1);
        log.mark = log.visible_seq(1);
        log.show(3);
        assert_eq!(log.selection(), Some((1, 3)));
        let text: Vec<String> = (1..=3)
            .map(|i| format_line(log.visible(i).unwrap(), true))
            .collect();
        assert_eq!(
            text[0],
            "2026-11-18T11:06:41.000Z WARN  redis link down: connection refused"
        );
    }

    #[test]
    fn osc52_is_exactly_the_bytes_a_terminal_expects() {
        assert_eq!(osc52("héllo\nworld"), "\x1b]52;c;aMOpbGxvCndvcmxk\x07");
        assert_eq!(osc52(""), "\x1b]52;c;\x07");
    }

    #[test]
    fn a_million_lines_scroll_from_bottom_to_top_and_filter_without_a_full_pass_at_once() {
        let mut log = ActivityLog::new(1_000_000, usize::MAX, 2000);
        for i in 0..1_000_000i64 {
            let level = if i % 1000 == 0 {
                Level::Error
            } else {
                Level::Info
            };
            log.push(line(i, level, "celery", &format!("task {i} done")));
        }
        assert_eq!(log.visible_len(), 1_000_000);
        // Page up all the way: every step is O(1), and the view always has its 40 rows.
        log.follow = false;
        let mut pages = 0;
        while log.offset < log.visible_len() - 1 {
            log.offset = (log.offset + 40).min(log.visible_len() - 1);
            let bottom = log.cursor().unwrap();
            assert_eq!(
                log.visible(bottom).unwrap().message,
                format!("task {bottom} done")
            );
            pages += 1;
        }
        assert_eq!(pages, 1_000_000 / 40);
        assert_eq!(
            log.visible(log.cursor().unwrap()).unwrap().message,
            "task 0 done"
        );
        log.set_filter(Filter::parse("level:error").unwrap());
        let mut slices = 0;
        while log.pending_work() {
            log.work();
            slices += 1;
        }
        assert_eq!(slices, 1_000_000 / SCAN_SLICE);
        assert_eq!(log.visible_len(), 1000);
        assert_eq!(log.visible(999).unwrap().message, "task 999000 done");
    }
}
