//! The services' own log files, followed the way `tail -F` follows them: through rotation
//! (the path now names a new file: the old one is read to its end first), through
//! truncation (read again from the start), and picking up new files that match a glob.
//! Polling, not inotify: it works on every filesystem, and a poll every half second costs
//! a `stat` per file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::lines::LineSplitter;
use crate::platform::model::Level;

/// Bytes read from one file in one poll, so one busy file cannot starve the others.
pub const READ_PER_POLL: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum Tailed {
    Line {
        source: String,
        level: Level,
        text: String,
    },
    /// Rotation, truncation, a new file, a vanished one: said once, as a warning or note.
    Notice {
        source: String,
        level: Level,
        text: String,
    },
}

struct Followed {
    file: File,
    id: (u64, u64),
    pos: u64,
    lines: LineSplitter,
    /// The path no longer names this file (renamed away or deleted), said once.
    gone_said: bool,
    /// The last bytes read, ending at `pos`: a file truncated and written past `pos` again
    /// between two polls has the same identity and no smaller size, but not these bytes.
    tail: Vec<u8>,
}

/// Bytes of a file's content remembered to recognise it (see `Followed::tail`).
const TAIL_KEPT: usize = 64;

/// One `[[logs.files]]` entry: a path, or a glob in its last component.
pub struct Tailer {
    pattern: PathBuf,
    name: Option<String>,
    from_start: bool,
    max_chars: usize,
    files: HashMap<PathBuf, Followed>,
    started: bool,
}

impl Tailer {
    pub fn new(pattern: &Path, name: Option<String>, from_start: bool, max_chars: usize) -> Tailer {
        Tailer {
            pattern: pattern.to_path_buf(),
            name,
            from_start,
            max_chars,
            files: HashMap::new(),
            started: false,
        }
    }

    fn matching(&self) -> Vec<PathBuf> {
        let name = self
            .pattern
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        match name {
            Some(n) if n.contains(['*', '?']) => {
                let dir = self.pattern.parent().unwrap_or(Path::new("."));
                let Ok(entries) = std::fs::read_dir(dir) else {
                    return Vec::new();
                };
                let mut out: Vec<PathBuf> = entries
                    .flatten()
                    .filter(|e| crate::glob::matches(&n, &e.file_name().to_string_lossy()))
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .map(|e| e.path())
                    .collect();
                out.sort();
                out
            }
            _ => vec![self.pattern.clone()],
        }
    }

    /// Everything new since the last poll: tail -F's cases (new, rotated, truncated, gone)
    /// in the order they must be checked.
    pub fn poll(&mut self) -> Vec<Tailed> {
        let mut out = Vec::new();
        let first = !self.started;
        self.started = true;
        // One directory read and one stat per file per poll; what is present is remembered
        // for the check below.
        let mut present: Vec<PathBuf> = Vec::new();
        for path in self.matching() {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            present.push(path.clone());
            let id = (meta.dev(), meta.ino());
            let source = source_of(&self.name, &path);
            match self.files.get(&path).map(|f| f.id) {
                None => {
                    let Ok(file) = File::open(&path) else {
                        continue;
                    };
                    // At start, like tail: from the end. A file that appears later is new
                    // to everyone, so all of it is read.
                    let pos = if first && !self.from_start {
                        meta.len()
                    } else {
                        0
                    };
                    if !first {
                        out.push(notice(
                            &source,
                            Level::Info,
                            format!("new file {}", shown(&path)),
                        ));
                    }
                    self.files
                        .insert(path.clone(), followed(file, id, pos, self.max_chars));
                }
                Some(old) if old != id => {
                    // Rotated: what was written to the old file before the rename comes first.
                    if let Some(f) = self.files.get_mut(&path) {
                        read_new(f, &source, &mut out);
                        flush(f, &source, &mut out);
                    }
                    out.push(notice(
                        &source,
                        Level::Info,
                        format!("{} was rotated; following the new file", shown(&path)),
                    ));
                    match File::open(&path) {
                        Ok(file) => {
                            self.files
                                .insert(path.clone(), followed(file, id, 0, self.max_chars));
                        }
                        Err(_) => continue,
                    }
                }
                Some(_) => {}
            }
            let Some(f) = self.files.get_mut(&path) else {
                continue;
            };
            f.gone_said = false;
            if meta.len() < f.pos || (meta.len() > f.pos && !same_content(f)) {
                out.push(notice(
                    &source,
                    Level::Warn,
                    format!("{} was truncated; reading it from the start", shown(&path)),
                ));
                f.pos = 0;
                f.tail.clear();
                f.lines = LineSplitter::new(self.max_chars);
            }
            read_new(f, &source, &mut out);
        }
        self.gone(&present, &mut out);
        out
    }

    /// Files whose path went away: what is left read through the open handle, and said once.
    fn gone(&mut self, present: &[PathBuf], out: &mut Vec<Tailed>) {
        for (path, f) in self.files.iter_mut() {
            if present.contains(path) {
                continue;
            }
            let source = source_of(&self.name, path);
            read_new(f, &source, out);
            if !f.gone_said {
                f.gone_said = true;
                out.push(notice(
                    &source,
                    Level::Warn,
                    format!("{} has gone; waiting for it to come back", shown(path)),
                ));
            }
        }
    }
}

/// The source a file's lines show: the entry's name, or the file's stem. A file name is
/// text from outside (anyone who can write to the directory chooses it): cleaned.
fn source_of(name: &Option<String>, path: &Path) -> String {
    name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| crate::sanitize::clean(&s.to_string_lossy(), 60))
            .unwrap_or_else(|| "log".into())
    })
}

/// A path as notices show it, cleaned like any text from outside.
fn shown(path: &Path) -> String {
    crate::sanitize::clean(&path.display().to_string(), 300)
}

fn followed(file: File, id: (u64, u64), pos: u64, max_chars: usize) -> Followed {
    Followed {
        file,
        id,
        pos,
        lines: LineSplitter::new(max_chars),
        gone_said: false,
        tail: Vec::new(),
    }
}

/// Whether the bytes before `pos` are still the ones read there: false when the file was
/// truncated and written again past where it was read to.
fn same_content(f: &mut Followed) -> bool {
    if f.tail.is_empty() {
        return true;
    }
    let start = f.pos - f.tail.len() as u64;
    let mut now = vec![0u8; f.tail.len()];
    f.file.seek(SeekFrom::Start(start)).is_ok()
        && f.file.read_exact(&mut now).is_ok()
        && now == f.tail
}

fn notice(source: &str, level: Level, text: String) -> Tailed {
    Tailed::Notice {
        source: source.into(),
        level,
        text,
    }
}

fn read_new(f: &mut Followed, source: &str, out: &mut Vec<Tailed>) {
    if f.file.seek(SeekFrom::Start(f.pos)).is_err() {
        return;
    }
    let mut buf = Vec::new();
    let Ok(n) = (&mut f.file).take(READ_PER_POLL).read_to_end(&mut buf) else {
        return;
    };
    f.pos += n as u64;
    if n > 0 {
        let keep = buf.len().min(TAIL_KEPT);
        let mut tail = std::mem::take(&mut f.tail);
        tail.extend_from_slice(&buf[buf.len() - keep..]);
        let extra = tail.len().saturating_sub(TAIL_KEPT);
        tail.drain(..extra);
        f.tail = tail;
    }
    for text in f.lines.push(&buf) {
        out.push(line(source, text));
    }
}

/// The last line of a rotated file may lack its newline: it is complete all the same.
fn flush(f: &mut Followed, source: &str, out: &mut Vec<Tailed>) {
    if let Some(text) = f.lines.finish() {
        out.push(line(source, text));
    }
}

fn line(source: &str, text: String) -> Tailed {
    Tailed::Line {
        source: source.into(),
        level: guess_level(&text),
        text,
    }
}

/// The level a log line states near its start (`[…: ERROR/MainProcess]`, `WARNING:`, …).
pub fn guess_level(text: &str) -> Level {
    let head: String = text
        .chars()
        .take(80)
        .collect::<String>()
        .to_ascii_uppercase();
    let has = |w: &str| {
        head.match_indices(w).any(|(i, _)| {
            let before = head[..i].chars().next_back();
            let after = head[i + w.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        })
    };
    if has("ERROR")
        || has("CRITICAL")
        || has("FATAL")
        || has("EMERG")
        || has("ALERT")
        || has("CRIT")
    {
        Level::Error
    } else if has("WARNING") || has("WARN") {
        Level::Warn
    } else if has("DEBUG") || has("TRACE") {
        Level::Debug
    } else {
        Level::Info
    }
}

/// Follows every `[[logs.files]]` entry on a thread of its own (file reads block), sending
/// each poll's lines as one batch. Ends when the app has gone.
pub fn spawn(
    cfg: &crate::config::model::LogsConfig,
    max_chars: usize,
    tx: tokio::sync::mpsc::Sender<crate::event::Event>,
) -> Option<tokio::task::JoinHandle<()>> {
    if cfg.files.is_empty() {
        return None;
    }
    let mut tailers: Vec<Tailer> = cfg
        .files
        .iter()
        .map(|f| {
            Tailer::new(
                &crate::config::paths::expand_tilde(f.path.get_ref()),
                (!f.name.is_empty()).then(|| f.name.clone()),
                f.from_start,
                max_chars,
            )
        })
        .collect();
    let every = std::time::Duration::from_millis(*cfg.poll_ms.get_ref());
    Some(tokio::task::spawn_blocking(move || {
        while !tx.is_closed() {
            let items: Vec<crate::platform::model::FeedItem> = tailers
                .iter_mut()
                .flat_map(|t| t.poll())
                .map(into_item)
                .collect();
            if !items.is_empty() {
                let batch = crate::event::Event::FeedBatch {
                    at: chrono::Utc::now(),
                    items,
                };
                if tx.blocking_send(batch).is_err() {
                    return;
                }
            }
            std::thread::sleep(every);
        }
    }))
}

fn into_item(t: Tailed) -> crate::platform::model::FeedItem {
    let (Tailed::Line {
        source,
        level,
        text,
    }
    | Tailed::Notice {
        source,
        level,
        text,
    }) = t;
    crate::platform::model::FeedItem::Activity(crate::platform::model::ActivityReport {
        ts: None,
        level,
        source,
        message: text,
        task_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_read_from_common_formats() {
        assert_eq!(
            guess_level("[2026-11-24 10:00:00,123: ERROR/MainProcess] boom"),
            Level::Error
        );
        assert_eq!(guess_level("WARNING:root:disk at 91%"), Level::Warn);
        assert_eq!(
            guess_level("2026/11/24 10:00:00 [warn] 12#12: upstream slow"),
            Level::Warn
        );
        assert_eq!(guess_level("DEBUG celery.worker: tick"), Level::Debug);
        assert_eq!(guess_level("GET /health 200"), Level::Info);
        // A word that merely contains a level is not one.
        assert_eq!(guess_level("terrors of the deep"), Level::Info);
    }
}
