//! `[[logs.remote]]`: a file on another host followed like `tail -F`, over the executor's
//! SSH (its hosts, its strict host-key checking), with nothing installed there: one POSIX
//! `sh` loop per session, using `stat`, `tail -c`, `head -c` and `find -inum`.
//!
//! The remote loop says where every chunk comes from (`@@DATA inode offset length`, then the
//! bytes), so this side always knows the inode and the offset just past the last whole line
//! it delivered. A dropped link reconnects and starts the loop again from that inode and
//! offset: nothing doubled, nothing lost. A file rotated meanwhile (a new inode at the path)
//! is finished first, found by its inode in the same directory, then the new one is read
//! from its start; a truncated file (shorter than the offset) is read again from 0, and both
//! are said in the activity log.

use russh::ChannelMsg;
use std::time::Duration;
use tokio::sync::mpsc::Sender;

use crate::config::model::{ExecutorConfig, RemoteLog};
use crate::event::{Event, LinkHealth};
use crate::executor::plan::{HostTarget, shell_quote};
use crate::executor::ssh::{self, SshOptions};
use crate::lines::LineSplitter;
use crate::platform::backoff::Backoff;
use crate::platform::model::{ActivityReport, FeedItem, Level};

/// Where the reading stands: the file (by inode) and the offset past the last whole line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mark {
    pub inode: u64,
    pub offset: u64,
}

/// The link's name: `log NAME`.
pub fn link(r: &RemoteLog) -> String {
    format!("log {}", r.source())
}

/// Follows every `[[logs.remote]]` entry, each on a task of its own.
pub fn spawn(
    remotes: &[RemoteLog],
    executor: &ExecutorConfig,
    poll: Duration,
    max_chars: usize,
    tx: Sender<Event>,
) -> Vec<tokio::task::JoinHandle<()>> {
    remotes
        .iter()
        .filter_map(|r| {
            let host = executor
                .hosts
                .iter()
                .find(|h| h.name.get_ref() == r.host.get_ref())?;
            let target = HostTarget::from_config(host);
            let opts = SshOptions::from_config(executor);
            Some(tokio::spawn(follow(
                r.clone(),
                target,
                opts,
                poll,
                max_chars,
                tx.clone(),
            )))
        })
        .collect()
}

async fn follow(
    r: RemoteLog,
    target: HostTarget,
    opts: SshOptions,
    poll: Duration,
    max_chars: usize,
    tx: Sender<Event>,
) {
    let name = link(&r);
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
    // Unknown at first: the loop starts at the end of the file (or its start, from_start).
    let mut mark: Option<Mark> = None;
    loop {
        let _ = tx
            .send(Event::Link {
                name: name.clone(),
                health: LinkHealth::Connecting,
            })
            .await;
        let why = match session(&r, &target, &opts, poll, max_chars, &mut mark, &tx).await {
            Ok(why) => {
                backoff.reset();
                why
            }
            Err(why) => why,
        };
        if tx.is_closed() {
            return;
        }
        let wait = backoff.next_wait();
        let _ = tx
            .send(Event::Link {
                name: name.clone(),
                health: LinkHealth::Down {
                    why,
                    retry_in: Some(wait),
                },
            })
            .await;
        tokio::time::sleep(wait).await;
    }
}

/// One SSH session: the remote loop started from `mark`, read until the link drops. Ok when
/// it had connected (the backoff starts over), Err when it never did.
async fn session(
    r: &RemoteLog,
    target: &HostTarget,
    opts: &SshOptions,
    poll: Duration,
    max_chars: usize,
    mark: &mut Option<Mark>,
    tx: &Sender<Event>,
) -> Result<String, String> {
    let session = ssh::connect(target, opts)
        .await
        .map_err(|e| e.to_string())?;
    let mut channel = session
        .channel_open_session()
        .await
        .map_err(|e| format!("no session channel: {e}"))?;
    let script = remote_loop(r.path.get_ref(), *mark, r.from_start, poll);
    channel
        .exec(true, script.as_bytes())
        .await
        .map_err(|e| format!("could not start the remote loop: {e}"))?;
    let _ = tx
        .send(Event::Link {
            name: link(r),
            health: LinkHealth::Up,
        })
        .await;
    let source = r.source();
    let mut reader = Reader::new(max_chars);
    loop {
        let Some(msg) = channel.wait().await else {
            return Ok("the SSH session ended".into());
        };
        let data = match msg {
            ChannelMsg::Data { data } => data,
            ChannelMsg::ExitStatus { exit_status } => {
                return Ok(format!("the remote loop ended ({exit_status})"));
            }
            ChannelMsg::Eof | ChannelMsg::Close => return Ok("the SSH session closed".into()),
            _ => continue,
        };
        let said = reader.push(&data);
        if let Some(m) = reader.mark() {
            *mark = Some(m);
        }
        let items: Vec<FeedItem> = said
            .into_iter()
            .map(|(level, text)| {
                FeedItem::Activity(ActivityReport {
                    ts: None,
                    level: level.unwrap_or_else(|| crate::feeds::logfiles::guess_level(&text)),
                    source: source.clone(),
                    message: text,
                    task_id: None,
                })
            })
            .collect();
        if !items.is_empty()
            && tx
                .send(Event::FeedBatch {
                    at: chrono::Utc::now(),
                    items,
                })
                .await
                .is_err()
        {
            return Ok("the app has gone".into());
        }
    }
}

/// The remote loop, in POSIX sh. `mark`: go on from there (the same file, found by its
/// inode if it was rotated meanwhile); none: from the end, or the start with `from_start`.
pub fn remote_loop(path: &str, mark: Option<Mark>, from_start: bool, poll: Duration) -> String {
    let (ino, off) = match mark {
        Some(m) => (m.inode.to_string(), m.offset.to_string()),
        None if from_start => ("start".into(), "0".into()),
        None => ("end".into(), "0".into()),
    };
    let secs = format!("{:.1}", poll.as_secs_f64().max(0.2));
    // `chavion-tail` in the command line names the loop for whoever looks with ps.
    format!(
        r#"exec sh -c '
f=$1; ino=$2; off=$3; every=$4; gone=
send() {{ # file inode from to
  n=$(($4 - $3)); [ "$n" -gt 0 ] || return 0
  printf "@@DATA %s %s %s\n" "$2" "$3" "$n"
  tail -c +$(($3 + 1)) "$1" | head -c "$n"
}}
while :; do
  set -- $(stat -c "%i %s" "$f" 2>/dev/null)
  if [ $# -ne 2 ]; then
    [ -n "$gone" ] || printf "@@MISSING\n"; gone=1; sleep "$every"; continue
  fi
  gone=; cur=$1; size=$2
  if [ "$ino" = end ]; then ino=$cur; off=$size; fi
  if [ "$ino" = start ]; then ino=$cur; off=0; fi
  if [ "$cur" != "$ino" ]; then
    old=$(find "$(dirname "$f")" -maxdepth 1 -inum "$ino" 2>/dev/null | head -n 1)
    if [ -n "$old" ]; then
      set -- $(stat -c "%s" "$old" 2>/dev/null) 0
      send "$old" "$ino" "$off" "$1"
    fi
    printf "@@ROTATED %s\n" "$cur"; ino=$cur; off=0; continue
  fi
  if [ "$size" -lt "$off" ]; then printf "@@TRUNCATED %s\n" "$ino"; off=0; fi
  if [ "$size" -gt "$off" ]; then send "$f" "$ino" "$off" "$size"; off=$size; fi
  sleep "$every"
done' chavion-tail {} {ino} {off} {secs}"#,
        shell_quote(path)
    )
}

/// What the remote loop says, read back: its chunks, split into lines with the offset
/// kept, and its notices in words.
pub struct Reader {
    buf: Vec<u8>,
    /// Bytes still owed to the current chunk.
    owed: u64,
    /// The chunk being read: its inode and the offset its next byte is at.
    at: Mark,
    lines: LineSplitter,
    /// Known only once a chunk has been read.
    known: bool,
}

impl Reader {
    pub fn new(max_chars: usize) -> Reader {
        Reader {
            buf: Vec::new(),
            owed: 0,
            at: Mark::default(),
            lines: LineSplitter::new(max_chars),
            known: false,
        }
    }

    /// Past the last whole line delivered: where a new session must start.
    pub fn mark(&self) -> Option<Mark> {
        self.known.then(|| Mark {
            inode: self.at.inode,
            offset: self.at.offset - self.lines.pending_len() as u64,
        })
    }

    /// Lines and notices in `data` (a notice carries its level; a line is guessed).
    pub fn push(&mut self, data: &[u8]) -> Vec<(Option<Level>, String)> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            if self.owed > 0 {
                let take = (self.owed as usize).min(self.buf.len());
                if take == 0 {
                    break;
                }
                let chunk: Vec<u8> = self.buf.drain(..take).collect();
                self.owed -= take as u64;
                self.at.offset += take as u64;
                out.extend(self.lines.push(&chunk).into_iter().map(|l| (None, l)));
                continue;
            }
            let Some(nl) = self.buf.iter().position(|b| *b == b'\n') else {
                break;
            };
            let header: Vec<u8> = self.buf.drain(..=nl).collect();
            let header = String::from_utf8_lossy(&header[..nl]).into_owned();
            out.extend(self.header(&header));
        }
        out
    }

    fn header(&mut self, header: &str) -> Option<(Option<Level>, String)> {
        let words: Vec<&str> = header.split_whitespace().collect();
        match words.as_slice() {
            ["@@DATA", ino, off, len] => {
                let (Ok(ino), Ok(off), Ok(len)) = (ino.parse(), off.parse(), len.parse()) else {
                    return Some(bad(header));
                };
                if !self.known || ino != self.at.inode || off != self.at.offset {
                    // Another file, or another place: what was pending belongs elsewhere.
                    self.lines = LineSplitter::new(self.lines_max());
                }
                self.at = Mark {
                    inode: ino,
                    offset: off,
                };
                self.known = true;
                self.owed = len;
                None
            }
            ["@@ROTATED", _] => Some((
                Some(Level::Warn),
                "rotated: a new file at the path, read from its start".into(),
            )),
            ["@@TRUNCATED", _] => Some((
                Some(Level::Warn),
                "truncated: read again from its start".into(),
            )),
            ["@@MISSING"] => Some((
                Some(Level::Warn),
                "the file is not there (yet); waiting for it".into(),
            )),
            _ => Some(bad(header)),
        }
    }

    fn lines_max(&self) -> usize {
        self.lines.max_chars()
    }
}

fn bad(header: &str) -> (Option<Level>, String) {
    (
        Some(Level::Warn),
        format!(
            "the remote loop said something unexpected: {}",
            crate::sanitize::clean(header, 200)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_become_lines_and_the_mark_stays_on_the_last_whole_line() {
        let mut r = Reader::new(500);
        assert_eq!(r.mark(), None);
        let said = r.push(b"@@DATA 7 100 11\none\ntwo\nthr");
        assert_eq!(said, [(None, "one".into()), (None, "two".into())]);
        // "thr" is pending: a new session must start at it.
        assert_eq!(
            r.mark(),
            Some(Mark {
                inode: 7,
                offset: 108
            })
        );
        let said = r.push(b"@@DATA 7 111 3\nee\n@@ROTATED 9\n");
        assert_eq!(said[0], (None, "three".into()));
        assert_eq!(said[1].0, Some(Level::Warn));
        assert_eq!(
            r.mark(),
            Some(Mark {
                inode: 7,
                offset: 114
            })
        );
        // Split anywhere, even inside a header, it reads the same.
        let mut r = Reader::new(500);
        let whole = b"@@DATA 9 0 6\nalpha\n@@DATA 9 6 5\nbeta\n";
        let mut lines = Vec::new();
        for piece in whole.chunks(3) {
            lines.extend(r.push(piece));
        }
        assert_eq!(lines, [(None, "alpha".into()), (None, "beta".into())]);
        assert_eq!(
            r.mark(),
            Some(Mark {
                inode: 9,
                offset: 11
            })
        );
    }

    #[test]
    fn the_path_is_quoted_for_the_remote_shell() {
        let s = remote_loop(
            "/var/log/it's here.log",
            None,
            false,
            Duration::from_secs(1),
        );
        assert!(
            s.contains(r#"chavion-tail '/var/log/it'\''s here.log' end 0 1.0"#),
            "{s}"
        );
    }
}
