//! The flight recorder's bytes on disk (docs/RECORDER.md): a segment is a magic line, then
//! blocks; a block is a header (compressed length, raw length, CRC-32 of the compressed
//! bytes) and one zstd frame holding records. A torn or corrupted block is found by its
//! length or its CRC and ends the reading of that segment with a warning, never an error.

use super::record::Recorded;

/// The first bytes of every segment file.
pub const MAGIC: &[u8; 8] = b"CHVREC01";
/// compressed length, raw length, CRC-32: three little-endian u32s.
pub const BLOCK_HEADER: usize = 12;
/// A block never decompresses to more than this: a header claiming more is corrupt.
pub const MAX_RAW_BLOCK: usize = 64 * 1024 * 1024;

/// One recorded thing, with the time it was recorded (epoch milliseconds).
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Messages exactly as Redis delivered them (channel, payload): a replay decodes them
    /// again with the decoders of the day.
    Wire {
        /// The batch's own time, to the nanosecond, as `update` saw it.
        at: chrono::DateTime<chrono::Utc>,
        messages: Vec<(String, Vec<u8>)>,
    },
    /// Any other event that changes what the control room knows.
    Event { at_ms: i64, event: Recorded },
    /// The recorder fell behind and dropped this many events here.
    Gap { at_ms: i64, missed: u64 },
    /// At the start of each segment: how to read the wire records that follow.
    Meta { at_ms: i64, meta: Meta },
}

impl Record {
    pub fn at_ms(&self) -> i64 {
        match self {
            Record::Wire { at, .. } => at.timestamp_millis(),
            Record::Event { at_ms, .. }
            | Record::Gap { at_ms, .. }
            | Record::Meta { at_ms, .. } => *at_ms,
        }
    }
}

/// What a segment says of itself.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    /// The platform recorded (the recordings' directory name).
    pub platform: String,
    /// The channels the wire records came from, so they are routed as they were.
    pub channels: crate::platform::route::Channels,
    /// This program's version when it wrote the segment.
    pub version: String,
    /// The port map in force when it was written (none in segments from before issue 27):
    /// a replay draws the past with it, not with today's config.
    #[serde(default)]
    pub ports: Option<Vec<RecordedPort>>,
    /// The agents in force when it was written.
    #[serde(default)]
    pub agents: Option<Vec<RecordedAgent>>,
}

/// Port-map entries and agents read back from a segment at most.
const MAP_MAX: usize = 500;

/// A port-map entry as a segment keeps it: what a replay needs to draw its row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordedPort {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub expect: crate::config::model::Expect,
    pub probe: crate::config::model::ProbeKind,
    pub internal: bool,
}

/// An agent as a segment keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordedAgent {
    pub name: String,
    pub model: String,
    pub role: String,
    pub queues: Vec<String>,
    pub hostnames: Vec<String>,
    pub stale_after_secs: u64,
}

impl Meta {
    /// The segment header for `cfg`, its port map and agents included.
    pub fn of(
        platform: String,
        channels: crate::platform::route::Channels,
        version: String,
        cfg: &crate::config::Config,
    ) -> Meta {
        Meta {
            platform,
            channels,
            version,
            ports: Some(
                cfg.ports
                    .iter()
                    .map(|p| RecordedPort {
                        name: p.name.clone(),
                        host: p.host.clone(),
                        port: *p.port.get_ref(),
                        expect: p.expect,
                        probe: p.probe,
                        internal: p.internal,
                    })
                    .collect(),
            ),
            agents: Some(
                cfg.agents
                    .iter()
                    .map(|a| RecordedAgent {
                        name: a.name.get_ref().clone(),
                        model: a.model.clone(),
                        role: a.role.clone(),
                        queues: a.queues.clone(),
                        hostnames: a.hostnames.clone(),
                        stale_after_secs: *a.stale_after_secs.get_ref(),
                    })
                    .collect(),
            ),
        }
    }

    /// `cfg` with the port map and agents this segment was written under, where it says
    /// (text from a file anyone able to write the recordings may have made: cleaned).
    pub fn apply_to(&self, cfg: &mut crate::config::Config) {
        use crate::sanitize::clean;
        let sp = |v| toml::Spanned::new(0..0, v);
        if let Some(ports) = &self.ports {
            cfg.ports = ports
                .iter()
                .take(MAP_MAX)
                .map(|p| crate::config::model::PortConfig {
                    name: clean(&p.name, 60),
                    host: clean(&p.host, 200),
                    port: sp(p.port),
                    expect: p.expect,
                    probe: p.probe,
                    internal: p.internal,
                    ..Default::default()
                })
                .collect();
        }
        if let Some(agents) = &self.agents {
            cfg.agents = agents
                .iter()
                .take(MAP_MAX)
                .map(|a| crate::config::model::AgentConfig {
                    name: toml::Spanned::new(0..0, clean(&a.name, 60)),
                    model: clean(&a.model, 60),
                    role: clean(&a.role, 200),
                    queues: a.queues.iter().map(|q| clean(q, 200)).collect(),
                    hostnames: a.hostnames.iter().map(|h| clean(h, 200)).collect(),
                    stale_after_secs: toml::Spanned::new(0..0, a.stale_after_secs.max(1)),
                    ..Default::default()
                })
                .collect();
        }
    }
}

const WIRE: u8 = 1;
const EVENT: u8 = 2;
const GAP: u8 = 3;
const META: u8 = 4;

/// Appends one record: kind, time, body length, body.
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    let (kind, at) = match record {
        Record::Wire { at, .. } => (WIRE, at.timestamp_millis()),
        Record::Event { at_ms, .. } => (EVENT, *at_ms),
        Record::Gap { at_ms, .. } => (GAP, *at_ms),
        Record::Meta { at_ms, .. } => (META, *at_ms),
    };
    out.push(kind);
    out.extend_from_slice(&at.to_le_bytes());
    let len_at = out.len();
    out.extend_from_slice(&0u32.to_le_bytes());
    let body_at = out.len();
    match record {
        Record::Wire { at, messages } => {
            let ns = at
                .timestamp_nanos_opt()
                .unwrap_or(at.timestamp_millis() * 1_000_000);
            out.extend_from_slice(&ns.to_le_bytes());
            out.extend_from_slice(&(messages.len() as u32).to_le_bytes());
            for (channel, payload) in messages {
                let channel = &channel.as_bytes()[..channel.len().min(u16::MAX as usize)];
                out.extend_from_slice(&(channel.len() as u16).to_le_bytes());
                out.extend_from_slice(channel);
                out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                out.extend_from_slice(payload);
            }
        }
        Record::Event { event, .. } => {
            // Our own types into a Vec: this cannot fail.
            rmp_serde::encode::write(out, event).expect("a recorded event encodes");
        }
        Record::Gap { missed, .. } => out.extend_from_slice(&missed.to_le_bytes()),
        Record::Meta { meta, .. } => {
            rmp_serde::encode::write(out, meta).expect("a segment's meta encodes");
        }
    }
    let body = (out.len() - body_at) as u32;
    out[len_at..len_at + 4].copy_from_slice(&body.to_le_bytes());
}

/// Why a record cannot be read: the block is torn there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("a record is cut short ({have} of {need} bytes)")]
    Short { have: usize, need: usize },
    #[error("a wire record whose two times disagree")]
    TimesDisagree,
    #[error("an event record: {0}")]
    Event(String),
    #[error("a segment header: {0}")]
    Header(String),
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
}

/// Reads the records of one decompressed block, in order. A record that cannot be read
/// ends the block: what came before it is kept, and the reason is returned beside them.
pub fn decode_block(mut bytes: &[u8]) -> (Vec<Record>, Option<String>) {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        match decode_one(&mut bytes) {
            Ok(r) => out.push(r),
            Err(why) => return (out, Some(why.to_string())),
        }
    }
    (out, None)
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], RecordError> {
    if bytes.len() < n {
        return Err(RecordError::Short {
            have: bytes.len(),
            need: n,
        });
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

fn u32_of(bytes: &mut &[u8]) -> Result<u32, RecordError> {
    Ok(u32::from_le_bytes(
        take(bytes, 4)?.try_into().expect("4 bytes"),
    ))
}

fn decode_one(bytes: &mut &[u8]) -> Result<Record, RecordError> {
    let kind = take(bytes, 1)?[0];
    let at_ms = i64::from_le_bytes(take(bytes, 8)?.try_into().expect("8 bytes"));
    let len = u32_of(bytes)? as usize;
    let mut body = take(bytes, len)?;
    Ok(match kind {
        WIRE => {
            let ns = i64::from_le_bytes(take(&mut body, 8)?.try_into().expect("8 bytes"));
            let n = u32_of(&mut body)? as usize;
            let mut messages = Vec::with_capacity(n.min(65_536));
            for _ in 0..n {
                let clen = u16::from_le_bytes(take(&mut body, 2)?.try_into().expect("2 bytes"));
                let channel = String::from_utf8_lossy(take(&mut body, clen as usize)?).into_owned();
                let plen = u32_of(&mut body)? as usize;
                messages.push((channel, take(&mut body, plen)?.to_vec()));
            }
            let at = chrono::DateTime::from_timestamp_nanos(ns);
            if at.timestamp_millis() != at_ms {
                return Err(RecordError::TimesDisagree);
            }
            Record::Wire { at, messages }
        }
        EVENT => Record::Event {
            at_ms,
            event: rmp_serde::from_slice(body).map_err(|e| RecordError::Event(e.to_string()))?,
        },
        GAP => Record::Gap {
            at_ms,
            missed: u64::from_le_bytes(take(&mut body, 8)?.try_into().expect("8 bytes")),
        },
        META => Record::Meta {
            at_ms,
            meta: rmp_serde::from_slice(body).map_err(|e| RecordError::Header(e.to_string()))?,
        },
        other => return Err(RecordError::UnknownKind(other)),
    })
}

/// A block ready to append: header, then the compressed frame.
pub fn seal(compressor: &mut zstd::bulk::Compressor<'_>, raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let frame = compressor.compress(raw)?;
    let mut out = Vec::with_capacity(BLOCK_HEADER + frame.len());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&frame).to_le_bytes());
    out.extend_from_slice(&frame);
    Ok(out)
}

/// One block read back from `bytes` (a segment after its magic), or why it cannot be.
pub enum Unsealed {
    Block { raw: Vec<u8>, used: usize },
    End,
    Torn(String),
}

/// The size segments turn over at (the writer's default): a segment file is never longer
/// than this plus one block, which is how a reader tells a planted or sparse file.
pub const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// The most bytes one compressed block may take (zstd's bound for the largest raw block).
pub fn max_block_bytes() -> usize {
    zstd::zstd_safe::compress_bound(MAX_RAW_BLOCK)
}

/// The longest a segment file may be.
pub fn max_segment_bytes() -> u64 {
    SEGMENT_BYTES + (BLOCK_HEADER + max_block_bytes()) as u64
}

/// One block read back from the start of `bytes` (a segment after its magic).
pub fn unseal(bytes: &[u8], decompressor: &mut zstd::bulk::Decompressor<'_>) -> Unsealed {
    let mut r = bytes;
    read_block(&mut r, decompressor)
}

/// The next block read from `r`, holding no more than one block in memory. An empty frame
/// is torn: the writer never seals one, and zero-filled regions (a sparse or pre-allocated
/// file) would otherwise read as millions of empty "valid" blocks.
pub fn read_block(
    r: &mut impl std::io::Read,
    decompressor: &mut zstd::bulk::Decompressor<'_>,
) -> Unsealed {
    let mut header = [0u8; BLOCK_HEADER];
    let got = read_up_to(r, &mut header);
    if got == 0 {
        return Unsealed::End;
    }
    if got < BLOCK_HEADER {
        return Unsealed::Torn(format!("a block header cut short ({got} bytes)"));
    }
    let word = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
    let (len, raw_len, crc) = (word(0) as usize, word(4) as usize, word(8));
    if len == 0 {
        return Unsealed::Torn("an empty block (zeroes where a block should be)".into());
    }
    if raw_len > MAX_RAW_BLOCK || len > max_block_bytes() {
        return Unsealed::Torn(format!("a block claims {raw_len} bytes"));
    }
    let mut frame = vec![0u8; len];
    let got = read_up_to(r, &mut frame);
    if got < len {
        return Unsealed::Torn(format!("a block cut short ({got} of {len} bytes)"));
    }
    if crc32fast::hash(&frame) != crc {
        return Unsealed::Torn("a block whose checksum does not match".into());
    }
    match decompressor.decompress(&frame, raw_len) {
        Ok(raw) if raw.len() == raw_len => Unsealed::Block {
            raw,
            used: BLOCK_HEADER + len,
        },
        Ok(raw) => Unsealed::Torn(format!("a block of {} bytes, not {raw_len}", raw.len())),
        Err(e) => Unsealed::Torn(format!("a block that does not decompress ({e})")),
    }
}

/// Reads until `buf` is full or the input ends; how much was read.
fn read_up_to(r: &mut impl std::io::Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LinkHealth;

    fn records() -> Vec<Record> {
        vec![
            Record::Wire {
                at: chrono::DateTime::from_timestamp_nanos(1_000_123),
                messages: vec![("/0.celeryev/task.multi".into(), b"{\"a\":1}".to_vec())],
            },
            Record::Event {
                at_ms: 2,
                event: Recorded::Link {
                    name: "redis".into(),
                    health: LinkHealth::Up,
                },
            },
            Record::Gap {
                at_ms: 3,
                missed: 7,
            },
        ]
    }

    #[test]
    fn records_read_back_as_written() {
        let mut raw = Vec::new();
        for r in records() {
            encode(&r, &mut raw);
        }
        assert_eq!(decode_block(&raw), (records(), None));
    }

    #[test]
    fn a_cut_record_keeps_those_before_it() {
        let mut raw = Vec::new();
        for r in records() {
            encode(&r, &mut raw);
        }
        raw.truncate(raw.len() - 3);
        let (got, why) = decode_block(&raw);
        assert_eq!(got, records()[..2].to_vec());
        assert!(why.unwrap().contains("cut short"));
    }

    #[test]
    fn a_block_torn_or_corrupted_is_told_apart_from_the_end() {
        let mut raw = Vec::new();
        encode(&records()[0], &mut raw);
        let mut c = zstd::bulk::Compressor::new(1).unwrap();
        let mut d = zstd::bulk::Decompressor::new().unwrap();
        let block = seal(&mut c, &raw).unwrap();
        match unseal(&block, &mut d) {
            Unsealed::Block { raw: back, used } => {
                assert_eq!((back, used), (raw.clone(), block.len()));
            }
            _ => panic!("a whole block reads"),
        }
        assert!(matches!(unseal(&[], &mut d), Unsealed::End));
        let torn = &block[..block.len() - 1];
        assert!(matches!(unseal(torn, &mut d), Unsealed::Torn(w) if w.contains("cut short")));
        let mut flipped = block.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(matches!(unseal(&flipped, &mut d), Unsealed::Torn(w) if w.contains("checksum")));
    }
}
