//! One run: connect, exec the wrapped command, stream its output, and end it for certain.
//! Cancel sends TERM to the session's process group, KILL after the grace period, then
//! closes; a local deadline past the remote `timeout` is the backstop for a silent host.

use russh::{ChannelMsg, Disconnect, Sig};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::plan::{PGID_MARK, RunPlan};
use super::ssh::{self, SshError, SshOptions};
use crate::lines::LineSplitter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunUpdate {
    /// Logged in; the command is running.
    Started,
    Output(Vec<(Stream, String)>),
    Ended(RunEnd),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Exit(u32),
    Signal(String),
    /// The channel closed without saying how the command ended.
    Unknown(String),
    /// The host delivered neither TERM nor KILL (OpenSSH does not signal root sessions),
    /// so the run's process group was killed over a second channel.
    Swept,
    NotStarted(SshError),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    pub status: Status,
    pub duration: Duration,
    pub cancelled: bool,
    pub timed_out: bool,
}

impl RunEnd {
    /// In words, for the pane, the shell and the audit trail.
    pub fn summary(&self) -> String {
        let took = format!("after {:.1} s", self.duration.as_secs_f64());
        let how = if self.cancelled {
            "cancelled; "
        } else if self.timed_out {
            "timed out; "
        } else {
            ""
        };
        match &self.status {
            Status::Exit(c) => format!("{how}exit status {c} {took}"),
            Status::Signal(s) => format!("{how}killed by SIG{s} {took}"),
            Status::Unknown(w) => format!("{how}{w} {took}"),
            Status::Swept => format!(
                "{how}the host delivered no signal (OpenSSH does not signal a root login), so the run's process group was killed (KILL) over a second channel {took}"
            ),
            Status::NotStarted(e) => format!("not run: {e}"),
        }
    }

    /// What `chavion-tui exec` exits with: the remote code, 128+n for a signal as a shell
    /// would say it, and 255 (as ssh does) when it never ran.
    pub fn exit_code(&self) -> i32 {
        match &self.status {
            Status::Exit(c) => (*c).min(255) as i32,
            Status::Signal(s) => 128 + signal_number(s),
            Status::Swept => 128 + 9,
            Status::Unknown(_) | Status::NotStarted(_) => 255,
        }
    }

    pub fn succeeded(&self) -> bool {
        self.status == Status::Exit(0)
    }
}

fn signal_number(name: &str) -> i32 {
    match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ABRT" => 6,
        "KILL" => 9,
        "SEGV" => 11,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        _ => 0,
    }
}

/// Set to true to cancel a run.
pub type Cancel = watch::Receiver<bool>;

/// The first and last lines of a run, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    pub head: Vec<String>,
    pub tail: VecDeque<String>,
    pub lines: u64,
}

impl Transcript {
    const KEEP: usize = 20;

    pub fn add(&mut self, stream: Stream, line: &str) {
        let tagged = match stream {
            Stream::Out => line.to_string(),
            Stream::Err => format!("[stderr] {line}"),
        };
        self.lines += 1;
        if self.head.len() < Self::KEEP {
            self.head.push(tagged);
            return;
        }
        if self.tail.len() >= Self::KEEP {
            self.tail.pop_front();
        }
        self.tail.push_back(tagged);
    }

    pub fn text(&self) -> String {
        let skipped = self.lines - (self.head.len() + self.tail.len()) as u64;
        let mut out = self.head.join("\n");
        if skipped > 0 {
            out.push_str(&format!("\n… [{skipped} lines not kept] …"));
        }
        for l in &self.tail {
            out.push('\n');
            out.push_str(l);
        }
        out
    }
}

/// Runs `plan` to its end, sending output as it arrives. Never panics, never hangs past
/// the plan's timeout plus the grace period plus a few seconds.
// Long, on purpose: one select loop over the channel, the cancel and the deadlines; split, the escalation state would be scattered.
pub async fn execute(
    plan: &RunPlan,
    opts: &SshOptions,
    max_chars: usize,
    mut cancel: Cancel,
    tx: mpsc::Sender<RunUpdate>,
) -> RunEnd {
    let start = Instant::now();
    let end = |status, cancelled, timed_out| RunEnd {
        status,
        duration: start.elapsed(),
        cancelled,
        timed_out,
    };
    let session = tokio::select! {
        s = ssh::connect(&plan.host, opts) => match s {
            Ok(s) => s,
            Err(e) => return end(Status::NotStarted(e), false, false),
        },
        _ = cancelled(&mut cancel) => return end(Status::NotStarted(SshError::Cancelled), true, false),
    };
    let mut channel = match session.channel_open_session().await {
        Ok(c) => c,
        Err(e) => {
            let why = SshError::Session(format!("the host refused a session: {e}"));
            return end(Status::NotStarted(why), false, false);
        }
    };
    if let Err(e) = channel.exec(true, plan.remote.as_bytes()).await {
        let why = SshError::Session(format!("the host refused to run the command: {e}"));
        return end(Status::NotStarted(why), false, false);
    }
    // Runbooks are not interactive: a command that reads stdin sees its end at once.
    let _ = channel.eof().await;
    let _ = tx.send(RunUpdate::Started).await;

    let backstop = start + plan.timeout + plan.grace + Duration::from_secs(5);
    let (mut out, mut err) = (LineSplitter::new(max_chars), LineSplitter::new(max_chars));
    let (mut was_cancelled, mut timed_out) = (false, false);
    let mut status: Option<Status> = None;
    let mut pgid: Option<u32> = None;
    // After TERM: when to send KILL; after KILL: when to give up and close.
    let mut escalation: Option<(Sig, Instant)> = None;
    // The host never confirmed the end after TERM and KILL: the channel was closed on it.
    let mut gave_up = false;
    let far = start + Duration::from_secs(86_400 * 365);
    loop {
        let next = escalation.as_ref().map_or(far, |(_, at)| *at);
        tokio::select! {
            msg = channel.wait() => match msg {
                Some(ChannelMsg::Data { data }) => send_lines(&tx, Stream::Out, out.push(&data)).await,
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    let mut lines = err.push(&data);
                    if pgid.is_none()
                        && let Some(first) = lines.first()
                        && let Some(id) = first.strip_prefix(PGID_MARK)
                    {
                        pgid = id.trim().parse().ok();
                        lines.remove(0);
                    }
                    send_lines(&tx, Stream::Err, lines).await
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(Status::Exit(exit_status)),
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    status = Some(Status::Signal(sig_name(&signal_name)))
                }
                Some(ChannelMsg::Close) | None => break,
                Some(_) => {}
            },
            _ = cancelled(&mut cancel), if !was_cancelled => {
                was_cancelled = true;
                if escalation.is_none() {
                    let _ = channel.signal(Sig::TERM).await;
                    escalation = Some((Sig::KILL, Instant::now() + plan.grace));
                }
            }
            _ = tokio::time::sleep_until(backstop), if escalation.is_none() => {
                timed_out = true;
                let _ = channel.signal(Sig::TERM).await;
                escalation = Some((Sig::KILL, Instant::now() + plan.grace));
            }
            _ = tokio::time::sleep_until(next), if escalation.is_some() => {
                match escalation.take() {
                    Some((Sig::KILL, _)) => {
                        let _ = channel.signal(Sig::KILL).await;
                        escalation = Some((Sig::HUP, Instant::now() + Duration::from_secs(3)));
                    }
                    _ => {
                        let _ = channel.close().await;
                        gave_up = true;
                        break;
                    }
                }
            }
        }
    }
    let mut rest = Vec::new();
    rest.extend(out.finish().map(|l| (Stream::Out, l)));
    rest.extend(err.finish().map(|l| (Stream::Err, l)));
    if !rest.is_empty() {
        let _ = tx.send(RunUpdate::Output(rest)).await;
    }
    let swept = match pgid {
        Some(id) if was_cancelled || timed_out => sweep(&session, id).await,
        _ => false,
    };
    let _ = session
        .disconnect(Disconnect::ByApplication, "run ended", "en")
        .await;
    let status = status.unwrap_or_else(|| match (gave_up, swept) {
        // Signals went unanswered and the sweep found the group alive and killed it.
        (true, true) => Status::Swept,
        (true, false) => Status::Unknown("the host did not confirm the end; channel closed".into()),
        _ => Status::Unknown("the session closed without an exit status".into()),
    });
    // The remote `timeout` says 124 when it sent TERM and 137 when it had to KILL.
    if !was_cancelled
        && start.elapsed() >= plan.timeout
        && matches!(status, Status::Exit(124) | Status::Exit(137))
    {
        timed_out = true;
    }
    end(status, was_cancelled, timed_out)
}

/// Resolves once the run is cancelled. A dropped sender means the control room is going
/// away, and the run ends with it.
async fn cancelled(rx: &mut Cancel) {
    let _ = rx.wait_for(|c| *c).await;
}

/// After a cancel or a timeout, whatever is left of the run's process group is killed, on
/// a channel of its own: the host may not have delivered the signals (a root login), or
/// the link to the first channel may be stuck. True when the group was there and killed.
async fn sweep(session: &ssh::Session, pgid: u32) -> bool {
    const SWEPT: &str = "chavion-tui:swept";
    let go = async {
        let mut ch = session.channel_open_session().await.ok()?;
        ch.exec(
            true,
            format!("kill -KILL -{pgid} 2>/dev/null && echo {SWEPT}; true"),
        )
        .await
        .ok()?;
        let mut said = Vec::new();
        while let Some(msg) = ch.wait().await {
            match msg {
                ChannelMsg::Data { data } => said.extend_from_slice(&data),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        Some(String::from_utf8_lossy(&said).contains(SWEPT))
    };
    tokio::time::timeout(Duration::from_secs(5), go)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

async fn send_lines(tx: &mpsc::Sender<RunUpdate>, stream: Stream, lines: Vec<String>) {
    if !lines.is_empty() {
        let _ = tx
            .send(RunUpdate::Output(
                lines.into_iter().map(|l| (stream, l)).collect(),
            ))
            .await;
    }
}

fn sig_name(s: &Sig) -> String {
    match s {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(c) => return crate::sanitize::clean(c, 20),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transcript_keeps_head_and_tail() {
        let mut t = Transcript::default();
        for i in 0..100 {
            t.add(
                if i == 99 { Stream::Err } else { Stream::Out },
                &format!("l{i}"),
            );
        }
        let text = t.text();
        assert!(text.starts_with("l0\nl1\n"));
        assert!(text.contains("… [60 lines not kept] …"));
        assert!(text.ends_with("l98\n[stderr] l99"));
    }

    #[test]
    fn exit_codes_as_a_shell_would_say_them() {
        let e = |status| RunEnd {
            status,
            duration: Duration::from_millis(1500),
            cancelled: false,
            timed_out: false,
        };
        assert_eq!(e(Status::Exit(3)).exit_code(), 3);
        assert_eq!(e(Status::Signal("TERM".into())).exit_code(), 143);
        assert_eq!(
            e(Status::NotStarted(SshError::Auth("no".into()))).exit_code(),
            255
        );
        assert_eq!(e(Status::Exit(3)).summary(), "exit status 3 after 1.5 s");
    }
}
