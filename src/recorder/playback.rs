//! A recording read back as events, in the order they reached `update`: wire batches
//! decoded again through `route` with the channels their segment names, a gap said as a
//! warning line, every other event as it was. Torn tails and unreadable segments become
//! warnings, never errors.

use std::collections::VecDeque;
use std::path::Path;

use super::format::Record;
use super::segments::{self, Reader, Segment};
use crate::event::Event;
use crate::platform::route::{Channels, route};

pub struct Playback {
    segments: VecDeque<Segment>,
    reader: Option<Reader>,
    pending: VecDeque<Record>,
    channels: Option<Channels>,
    /// The port map and agents of the segment being read, when it changed since last taken.
    map: Option<super::format::Meta>,
    from_ms: i64,
    to_ms: i64,
    /// What could not be read, in words (a torn tail, a corrupt block).
    pub warnings: Vec<String>,
}

impl Playback {
    /// The events recorded in `dir` from `from_ms` to `to_ms` (epoch ms, both inclusive).
    pub fn open(dir: &Path, from_ms: i64, to_ms: i64) -> Playback {
        let all = segments::list(dir);
        // A segment may hold records from its start until the next one starts.
        let keep: VecDeque<Segment> = all
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                let ends = all.get(i + 1).map(|n| n.start.timestamp_millis());
                s.start.timestamp_millis() <= to_ms && ends.is_none_or(|e| e >= from_ms)
            })
            .map(|(_, s)| s.clone())
            .collect();
        Playback {
            segments: keep,
            reader: None,
            pending: VecDeque::new(),
            channels: None,
            map: None,
            from_ms,
            to_ms,
            warnings: Vec::new(),
        }
    }

    /// The first and last time of the recordings in `dir`, as far as the segment names and
    /// the newest segment's records tell.
    pub fn span(dir: &Path) -> Option<(i64, i64)> {
        let all = segments::list(dir);
        let first = all.first()?.start.timestamp_millis();
        let mut last = all.last()?.start.timestamp_millis();
        let mut warnings = Vec::new();
        if let Ok(mut r) = Reader::open(&all.last()?.path) {
            while let Some(block) = r.next_block(&mut warnings) {
                if let Some(rec) = block.last() {
                    last = last.max(rec.at_ms());
                }
            }
        }
        Some((first, last))
    }

    fn next_record(&mut self) -> Option<Record> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Some(r);
            }
            if let Some(reader) = self.reader.as_mut() {
                match reader.next_block(&mut self.warnings) {
                    Some(block) => self.pending.extend(block),
                    None => self.reader = None,
                }
                continue;
            }
            let seg = self.segments.pop_front()?;
            match Reader::open(&seg.path) {
                Ok(r) => self.reader = Some(r),
                Err(why) => self.warnings.push(why),
            }
        }
    }
}

impl Playback {
    /// The header of the segment being read, once each time a new one was read.
    pub fn take_meta(&mut self) -> Option<super::format::Meta> {
        self.map.take()
    }
}

impl Iterator for Playback {
    /// The record's time (epoch ms) and the event to apply.
    type Item = (i64, Event);

    fn next(&mut self) -> Option<(i64, Event)> {
        loop {
            let record = self.next_record()?;
            let at_ms = record.at_ms();
            if let Record::Meta { meta, .. } = record {
                self.channels = Some(meta.channels.clone());
                self.map = Some(meta);
                continue;
            }
            if at_ms > self.to_ms {
                // Records are in time order within a platform's recordings.
                self.segments.clear();
                self.reader = None;
                self.pending.clear();
                return None;
            }
            if at_ms < self.from_ms {
                continue;
            }
            let ev = match record {
                Record::Wire { at, messages } => {
                    let Some(channels) = &self.channels else {
                        self.warnings
                            .push("wire records before any segment header: skipped".into());
                        continue;
                    };
                    let mut items = Vec::with_capacity(messages.len());
                    for (channel, payload) in &messages {
                        route(channels, channel, payload, &mut items);
                    }
                    Event::FeedBatch { at, items }
                }
                Record::Event { event, .. } => event.into_event(),
                Record::Gap { missed, .. } => Event::ActionDone {
                    what: "recorder".into(),
                    outcome: Err(format!(
                        "the recording misses {missed} event(s) here: the recorder fell behind"
                    )
                    .into()),
                },
                Record::Meta { .. } => continue,
            };
            return Some((at_ms, ev));
        }
    }
}
