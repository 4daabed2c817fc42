//! The flight recorder: every event that reaches `update` from outside, written to disk
//! off the app loop, so any past minute can be replayed through the same `update` and
//! `draw` (docs/RECORDER.md). The loop's side is `Recorder::note`: a move of a wire batch,
//! or a copy of a rarer event, into a channel bounded in bytes. It never waits: past the
//! budget it counts what it drops and a `Gap` record says so in the recording.

pub mod format;
pub mod playback;
pub mod record;
pub mod segments;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::event::Event;
use format::{Meta, Record};
use record::Recorded;

/// Bytes handed to the recorder's thread and not yet encoded, at most.
const IN_FLIGHT_BUDGET: usize = 128 * 1024 * 1024;
/// What an event that is not a wire batch is counted as against the budget.
const EVENT_COST: usize = 512;

/// Where this platform's recordings live: one directory per platform.
pub fn dir_for(data_dir: &Path, platform: &str) -> PathBuf {
    data_dir.join("recordings").join(platform)
}

/// A directory name for the platform behind `redis_url`: its host, port and database,
/// never its password; "demo" for the demo.
pub fn platform_name(redis_url: &str, demo: bool) -> String {
    if demo {
        return "demo".into();
    }
    if let Ok(s) = crate::redis_url::sentinel(redis_url) {
        return safe_name(&format!("sentinel-{}-{}", s.master_name, s.db));
    }
    let (host, port) =
        crate::redis_url::host_port(redis_url).unwrap_or_else(|| ("redis".into(), 6379));
    let db = crate::redis_url::db_of(redis_url);
    safe_name(&format!("{host}-{port}-{db}"))
}

/// A directory name from remote-supplied parts: letters, digits, `.` and `-`; the rest `_`.
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The loop's handle. `off()` records nothing and costs nothing.
pub struct Recorder {
    tx: Option<mpsc::Sender<writer::Msg>>,
    in_flight: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Events dropped since the last record that got through.
    missed: u64,
    /// The latest time an event carried: records without one of their own take it.
    last_ms: i64,
}

/// Why a recorder did not start.
#[derive(Debug)]
pub enum NotStarted {
    /// Another control room on this host records this platform already.
    Taken,
    Failed(String),
}

impl Recorder {
    pub fn off() -> Recorder {
        Recorder {
            tx: None,
            in_flight: Arc::new(AtomicUsize::new(0)),
            thread: None,
            missed: 0,
            last_ms: 0,
        }
    }

    pub fn is_on(&self) -> bool {
        self.tx.is_some()
    }

    /// Starts the recorder's thread on `keep.dir`, unless another process holds its lock.
    pub fn start(
        keep: writer::Keep,
        meta: Meta,
        events: tokio::sync::mpsc::Sender<Event>,
    ) -> Result<Recorder, NotStarted> {
        let shown = keep.dir.display().to_string();
        let fail = |e: std::io::Error| NotStarted::Failed(format!("{shown}: {e}"));
        std::fs::create_dir_all(&keep.dir).map_err(fail)?;
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(keep.dir.join("lock"))
            .map_err(fail)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(NotStarted::Taken),
            Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
        }
        let writer = writer::Writer::new(keep, meta, lock).map_err(fail)?;
        let (tx, rx) = mpsc::channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let counted = in_flight.clone();
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || writer.run(rx, counted, events))
            .map_err(|e| NotStarted::Failed(e.to_string()))?;
        Ok(Recorder {
            tx: Some(tx),
            in_flight,
            thread: Some(thread),
            missed: 0,
            // Until the first event that carries a time: records before it take the start.
            last_ms: chrono::Utc::now().timestamp_millis(),
        })
    }

    /// Records `ev` if it is recorded at all; a wire batch's messages are moved out of it.
    /// Never waits.
    pub fn note(&mut self, ev: &mut Event) {
        if self.tx.is_none() {
            return;
        }
        if let Some(at) = time_of(ev) {
            self.last_ms = at.timestamp_millis();
        }
        let at_ms = self.last_ms;
        let (record, bytes, count) = match ev {
            Event::WireBatch { at, wire, .. } => {
                let wire = std::mem::take(wire);
                let n = wire.messages.len() as u64;
                let messages = wire.messages;
                (Record::Wire { at: *at, messages }, wire.bytes, n)
            }
            other => match Recorded::of(other) {
                Some(event) => (Record::Event { at_ms, event }, EVENT_COST, 1),
                None => return,
            },
        };
        if self.in_flight.load(Ordering::Relaxed) + bytes > IN_FLIGHT_BUDGET {
            self.missed += count;
            return;
        }
        if self.missed > 0 {
            let gap = Record::Gap {
                at_ms,
                missed: std::mem::take(&mut self.missed),
            };
            self.send(gap, 0);
        }
        self.send(record, bytes);
    }

    fn send(&mut self, record: Record, bytes: usize) {
        let Some(tx) = &self.tx else { return };
        self.in_flight.fetch_add(bytes, Ordering::Relaxed);
        if tx
            .send(writer::Msg::Record(Box::new(record), bytes))
            .is_err()
        {
            // The recorder stopped (it said why on its link): nothing more to hand it.
            self.tx = None;
        }
    }

    /// Seals what is buffered and waits until it is on disk (tests, `replay` of a live
    /// recording).
    pub fn flush(&self) {
        let Some(tx) = &self.tx else { return };
        let (done, wait) = mpsc::channel();
        if tx.send(writer::Msg::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    /// Seals the last block and waits for the thread (a clean stop loses nothing).
    pub fn stop(mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn time_of(ev: &Event) -> Option<chrono::DateTime<chrono::Utc>> {
    match ev {
        Event::Tick(at)
        | Event::Feed { at, .. }
        | Event::FeedBatch { at, .. }
        | Event::WireBatch { at, .. }
        | Event::Probe { at, .. }
        | Event::Panels { at, .. } => Some(*at),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_platform_is_named_without_its_password() {
        assert_eq!(
            platform_name("redis://:s3cret@10.0.0.5:6380/2", false),
            "10.0.0.5-6380-2"
        );
        assert_eq!(platform_name("redis://x", true), "demo");
        assert!(!platform_name("redis://u:p@h/../../etc:1/0", false).contains('/'));
    }
}
