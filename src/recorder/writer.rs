//! The recorder's own thread: records arrive over a channel, are encoded into a block,
//! and every second (or every 4 MiB) the block is compressed and appended to the current
//! segment. Segments turn over by size and age; retention runs at each turn. A write that
//! fails (a full disk) stops the recorder and says so through the `recorder` link; the
//! control room carries on.

use chrono::{DateTime, Utc};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::format::{self, MAGIC, Meta, Record};
use super::segments;
use crate::event::{Event, LinkHealth, links};

/// A crash loses at most this much.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// A block is sealed early past this many raw bytes.
const BLOCK_BYTES: usize = 4 * 1024 * 1024;
/// zstd's fastest level: the recorder must cost the ingest nothing.
const LEVEL: i32 = 1;

/// Where and how much to keep.
#[derive(Debug, Clone)]
pub struct Keep {
    pub dir: PathBuf,
    pub age: chrono::Duration,
    pub bytes: u64,
    /// A segment turns over past this size or this age.
    pub segment_bytes: u64,
    pub segment_age: chrono::Duration,
}

pub enum Msg {
    /// Boxed: an event record is large, and most messages are wire batches.
    Record(Box<Record>, usize),
    /// Seal what is buffered now (tests, and a clean stop).
    Flush(std::sync::mpsc::Sender<()>),
}

struct Open {
    file: File,
    path: PathBuf,
    started: DateTime<Utc>,
    bytes: u64,
}

pub struct Writer {
    keep: Keep,
    meta: Meta,
    compressor: zstd::bulk::Compressor<'static>,
    block: Vec<u8>,
    since: Option<Instant>,
    open: Option<Open>,
    /// Held for the recorder's life: one recorder per platform per host.
    _lock: File,
}

impl Writer {
    pub fn new(keep: Keep, meta: Meta, lock: File) -> std::io::Result<Writer> {
        Ok(Writer {
            keep,
            meta,
            compressor: zstd::bulk::Compressor::new(LEVEL)?,
            block: Vec::with_capacity(BLOCK_BYTES + 65_536),
            since: None,
            open: None,
            _lock: lock,
        })
    }

    /// Until the sender goes (the control room stops) or a write fails.
    pub fn run(
        mut self,
        rx: Receiver<Msg>,
        in_flight: Arc<AtomicUsize>,
        events: tokio::sync::mpsc::Sender<Event>,
    ) {
        yield_to_ingest();
        let _ = events.blocking_send(Event::Link {
            name: links::RECORDER.into(),
            health: LinkHealth::Up,
        });
        let failed = loop {
            let wait = match self.since {
                Some(t) => FLUSH_EVERY.saturating_sub(t.elapsed()),
                None => Duration::from_secs(3600),
            };
            let outcome = match rx.recv_timeout(wait) {
                Ok(Msg::Record(record, bytes)) => {
                    let r = self.add(&record);
                    in_flight.fetch_sub(bytes, Ordering::Relaxed);
                    r
                }
                Ok(Msg::Flush(done)) => {
                    let r = self.seal();
                    let _ = done.send(());
                    r
                }
                Err(RecvTimeoutError::Timeout) => self.seal(),
                Err(RecvTimeoutError::Disconnected) => break self.seal().err(),
            };
            if let Err(e) = outcome {
                break Some(e);
            }
        };
        if let Some(open) = self.open.take() {
            let _ = open.file.sync_data();
        }
        if let Some(e) = failed {
            tracing::warn!(error = %e, "the flight recorder stopped");
            let _ = events.blocking_send(Event::Link {
                name: links::RECORDER.into(),
                health: LinkHealth::Down {
                    why: format!("stopped: {e}; nothing more is recorded"),
                    retry_in: None,
                },
            });
        }
    }

    fn add(&mut self, record: &Record) -> std::io::Result<()> {
        if self.open.is_none() || self.due_to_turn(record.at_ms()) {
            self.seal()?;
            self.turn(record.at_ms())?;
        }
        format::encode(record, &mut self.block);
        self.since.get_or_insert_with(Instant::now);
        if self.block.len() >= BLOCK_BYTES {
            self.seal()?;
        }
        Ok(())
    }

    fn due_to_turn(&self, at_ms: i64) -> bool {
        self.open.as_ref().is_some_and(|o| {
            o.bytes >= self.keep.segment_bytes
                || at_ms - o.started.timestamp_millis() >= self.keep.segment_age.num_milliseconds()
        })
    }

    /// Closes the segment being written and starts the next, its meta first; then retires
    /// what retention says.
    fn turn(&mut self, at_ms: i64) -> std::io::Result<()> {
        if let Some(old) = self.open.take() {
            old.file.sync_data()?;
        }
        let started = DateTime::from_timestamp_millis(at_ms).unwrap_or_else(Utc::now);
        let path = free_name(&self.keep.dir, started);
        let mut file = File::options().create_new(true).append(true).open(&path)?;
        file.write_all(MAGIC)?;
        self.open = Some(Open {
            file,
            path,
            started,
            bytes: MAGIC.len() as u64,
        });
        format::encode(
            &Record::Meta {
                at_ms,
                meta: self.meta.clone(),
            },
            &mut self.block,
        );
        self.since.get_or_insert_with(Instant::now);
        segments::sweep(&self.keep.dir, started, self.keep.age, self.keep.bytes);
        Ok(())
    }

    /// Compresses the block and appends it to the segment.
    fn seal(&mut self) -> std::io::Result<()> {
        self.since = None;
        if self.block.is_empty() {
            return Ok(());
        }
        let Some(open) = self.open.as_mut() else {
            self.block.clear();
            return Ok(());
        };
        let sealed = format::seal(&mut self.compressor, &self.block)?;
        self.block.clear();
        open.file.write_all(&sealed).map_err(|e| {
            std::io::Error::new(e.kind(), format!("writing {}: {e}", open.path.display()))
        })?;
        open.bytes += sealed.len() as u64;
        Ok(())
    }
}

/// Nice 10 for this thread only (Linux's nice is per thread): on a busy 2-core machine the
/// feed's reader and the app loop come first, and the recorder catches up in the gaps
/// (its backlog bounded by `IN_FLIGHT_BUDGET`, past which it writes a gap).
fn yield_to_ingest() {
    // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
    let done = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10)
    };
    if done != 0 {
        tracing::debug!("the recorder's priority was not lowered");
    }
}

/// The segment's file name, one millisecond on while the name is taken.
fn free_name(dir: &Path, mut at: DateTime<Utc>) -> PathBuf {
    loop {
        let path = dir.join(segments::name_for(at));
        if !path.exists() {
            return path;
        }
        at += chrono::Duration::milliseconds(1);
    }
}
