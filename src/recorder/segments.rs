//! The recordings on disk: segment files named by their first record's time, listed in
//! order, read back block by block (a torn tail skipped with a warning), and retired oldest
//! first by age and by total size.

use chrono::{DateTime, NaiveDateTime, Utc};
use std::path::{Path, PathBuf};

use super::format::{self, MAGIC, Record, Unsealed};

const NAME_FORMAT: &str = "%Y%m%dT%H%M%S%.3fZ";

/// One segment file.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub path: PathBuf,
    pub start: DateTime<Utc>,
    pub bytes: u64,
}

/// The file name a segment starting at `at` gets.
pub fn name_for(at: DateTime<Utc>) -> String {
    format!("{}.seg", at.format(NAME_FORMAT))
}

fn start_of(name: &str) -> Option<DateTime<Utc>> {
    let stem = name.strip_suffix(".seg")?;
    NaiveDateTime::parse_from_str(stem, NAME_FORMAT)
        .ok()
        .map(|n| n.and_utc())
}

/// The segments in `dir`, oldest first. Files that are not segments are left alone.
pub fn list(dir: &Path) -> Vec<Segment> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Segment> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let start = start_of(name.to_str()?)?;
            let bytes = e.metadata().ok()?.len();
            Some(Segment {
                path: e.path(),
                start,
                bytes,
            })
        })
        .collect();
    out.sort_by_key(|s| s.start);
    out
}

/// Which segments retention removes, oldest first: those that ended before `now - keep`
/// (a segment ends where the next begins), then more of the oldest until the rest fit in
/// `keep_bytes`. The newest (being written) is never removed.
pub fn doomed(
    segments: &[Segment],
    now: DateTime<Utc>,
    keep: chrono::Duration,
    keep_bytes: u64,
) -> Vec<PathBuf> {
    let Some((_newest, older)) = segments.split_last() else {
        return Vec::new();
    };
    let mut total: u64 = segments.iter().map(|s| s.bytes).sum();
    let mut out = Vec::new();
    for (i, s) in older.iter().enumerate() {
        let ended = segments[i + 1].start;
        if ended < now - keep || total > keep_bytes {
            total -= s.bytes;
            out.push(s.path.clone());
        } else {
            break;
        }
    }
    out
}

/// Removes what `doomed` names; says what it could not.
pub fn sweep(dir: &Path, now: DateTime<Utc>, keep: chrono::Duration, keep_bytes: u64) {
    for path in doomed(&list(dir), now, keep, keep_bytes) {
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(path = %path.display(), error = %e, "a recording segment could not be removed");
        }
    }
}

/// Reads one segment's records block by block. Warnings (a torn tail, a corrupt block)
/// are collected, never fatal: the blocks before them are all read.
pub struct Reader {
    file: std::io::BufReader<std::fs::File>,
    size: u64,
    at: u64,
    name: String,
    decompressor: zstd::bulk::Decompressor<'static>,
    done: bool,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader, String> {
        let name = crate::sanitize::clean(
            &path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            200,
        );
        let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
        let size = file.metadata().map_err(|e| format!("{name}: {e}"))?.len();
        if size > format::max_segment_bytes() {
            return Err(format!(
                "{name}: {size} bytes, longer than any segment the recorder writes: not read"
            ));
        }
        let mut file = std::io::BufReader::new(file);
        let mut magic = [0u8; MAGIC.len()];
        if std::io::Read::read_exact(&mut file, &mut magic).is_err() || &magic != MAGIC {
            return Err(format!("{name}: not a recording segment"));
        }
        Ok(Reader {
            file,
            size,
            at: MAGIC.len() as u64,
            name,
            decompressor: zstd::bulk::Decompressor::new()
                .map_err(|e| format!("zstd could not start: {e}"))?,
            done: false,
        })
    }

    /// The next block's records, or None at the end. A torn block ends the segment with a
    /// warning pushed into `warnings`.
    pub fn next_block(&mut self, warnings: &mut Vec<String>) -> Option<Vec<Record>> {
        if self.done {
            return None;
        }
        match format::read_block(&mut self.file, &mut self.decompressor) {
            Unsealed::End => {
                self.done = true;
                None
            }
            Unsealed::Torn(why) => {
                self.done = true;
                warnings.push(format!(
                    "{}: {why} at byte {}; the {} bytes after it are skipped",
                    self.name,
                    self.at,
                    self.size.saturating_sub(self.at)
                ));
                None
            }
            Unsealed::Block { raw, used } => {
                self.at += used as u64;
                let (records, why) = format::decode_block(&raw);
                if let Some(why) = why {
                    warnings.push(format!(
                        "{}: {}; the rest of its block is skipped",
                        self.name,
                        crate::sanitize::clean(&why, 300)
                    ));
                }
                Some(records)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(name: &str, start: &str, bytes: u64) -> Segment {
        Segment {
            path: PathBuf::from(name),
            start: start.parse().unwrap(),
            bytes,
        }
    }

    #[test]
    fn names_read_back_as_their_start() {
        let at: DateTime<Utc> = "2026-12-01T04:05:06.789Z".parse().unwrap();
        assert_eq!(start_of(&name_for(at)), Some(at));
        assert_eq!(start_of("notes.txt"), None);
    }

    #[test]
    fn retention_removes_the_oldest_first_by_age_then_by_size() {
        let all = vec![
            seg("a", "2026-11-20T00:00:00Z", 10),
            seg("b", "2026-11-23T00:00:00Z", 10),
            seg("c", "2026-11-28T00:00:00Z", 10),
            seg("d", "2026-11-30T00:00:00Z", 10),
        ];
        let now: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        let week = chrono::Duration::days(7);
        // a ended (b began) more than 7 days ago; b ended within the week.
        assert_eq!(doomed(&all, now, week, 1000), vec![PathBuf::from("a")]);
        // 20 bytes allowed: the two oldest go, never the newest.
        assert_eq!(
            doomed(&all, now, week, 20),
            vec![PathBuf::from("a"), PathBuf::from("b")]
        );
        assert_eq!(doomed(&all, now, week, 0).len(), 3);
        assert!(doomed(&all[3..], now, week, 0).is_empty());
    }

    #[test]
    fn a_sweep_removes_the_oldest_files_and_leaves_other_files_alone() {
        let dir = std::env::temp_dir().join(format!("chavion-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let day: DateTime<Utc> = "2026-11-30T00:00:00Z".parse().unwrap();
        for h in 0..4 {
            let at = day + chrono::Duration::hours(h);
            std::fs::write(dir.join(name_for(at)), vec![0u8; 100]).unwrap();
        }
        std::fs::write(dir.join("lock"), b"").unwrap();
        sweep(
            &dir,
            day + chrono::Duration::days(1),
            chrono::Duration::days(7),
            250,
        );
        let left: Vec<DateTime<Utc>> = list(&dir).iter().map(|s| s.start).collect();
        assert_eq!(
            left,
            [
                day + chrono::Duration::hours(2),
                day + chrono::Duration::hours(3)
            ]
        );
        assert!(dir.join("lock").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
