//! What a run will do, decided before it is confirmed: the host, the user and the exact
//! line the remote shell receives. Pure, so the confirmation shows exactly what is sent.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::model::{ExecutorConfig, SshHost};
use crate::config::paths::expand_tilde;

#[derive(Debug, Clone, PartialEq)]
pub struct HostTarget {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub identity: Option<PathBuf>,
    pub agent: bool,
    pub known_hosts: PathBuf,
}

impl HostTarget {
    pub fn from_config(h: &SshHost) -> HostTarget {
        HostTarget {
            name: h.name.get_ref().clone(),
            address: h.address.clone(),
            port: *h.port.get_ref(),
            user: h.user.get_ref().clone(),
            identity: (!h.identity.is_empty()).then(|| expand_tilde(&h.identity)),
            agent: h.agent,
            known_hosts: expand_tilde(&h.known_hosts),
        }
    }

    /// `user@address:port`, as the confirmation shows it.
    pub fn login(&self) -> String {
        format!("{}@{}:{}", self.user, self.address, self.port)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    /// The runbook's name, or `adhoc`.
    pub runbook: String,
    pub host: HostTarget,
    /// The command as configured or typed.
    pub command: String,
    /// The exact line the remote login shell runs.
    pub remote: String,
    pub timeout: Duration,
    pub grace: Duration,
    pub destructive: bool,
}

/// Ad-hoc commands run under this timeout.
pub const ADHOC_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a run cannot be planned as asked: nothing runs, and the words say what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "no runbook `{0}`: none are configured (see [[executor.runbooks]] in assets/examples/platform.toml)"
    )]
    NoRunbooks(String),
    #[error("no runbook `{name}`; there are: {known}")]
    NoRunbook { name: String, known: String },
    #[error("runbook `{runbook}` does not run on `{host}`; it runs on: {hosts}")]
    NotItsHost {
        runbook: String,
        host: String,
        hosts: String,
    },
    #[error("runbook `{0}` names no host")]
    NoHost(String),
    #[error("no executor host `{0}` is configured")]
    UnknownHost(String),
    #[error(
        "ad-hoc commands are disabled: only runbooks may run (set executor.allow_adhoc = true to allow them)"
    )]
    AdhocDisabled,
    #[error("usage: :run HOST COMMAND")]
    NoCommand,
}

pub fn plan_runbook(
    cfg: &ExecutorConfig,
    runbook: &str,
    host: Option<&str>,
) -> Result<RunPlan, PlanError> {
    let Some(book) = cfg.runbooks.iter().find(|r| r.name.get_ref() == runbook) else {
        let known: Vec<&str> = cfg
            .runbooks
            .iter()
            .map(|r| r.name.get_ref().as_str())
            .collect();
        return Err(if known.is_empty() {
            PlanError::NoRunbooks(runbook.to_string())
        } else {
            PlanError::NoRunbook {
                name: runbook.to_string(),
                known: known.join(", "),
            }
        });
    };
    let hosts = book.hosts.get_ref();
    let name = match host {
        Some(h) if hosts.iter().any(|x| x == h) => h,
        Some(h) => {
            return Err(PlanError::NotItsHost {
                runbook: runbook.to_string(),
                host: h.to_string(),
                hosts: hosts.join(", "),
            });
        }
        None => hosts
            .first()
            .ok_or_else(|| PlanError::NoHost(runbook.to_string()))?,
    };
    let target = host_target(cfg, name)?;
    Ok(plan(
        runbook,
        target,
        book.command.get_ref(),
        Duration::from_secs(*book.timeout_secs.get_ref()),
        Duration::from_secs(*cfg.kill_grace_secs.get_ref()),
        book.destructive,
    ))
}

/// An ad-hoc command: refused unless `executor.allow_adhoc`, and always treated as
/// destructive, since nobody vetted it.
pub fn plan_adhoc(cfg: &ExecutorConfig, host: &str, command: &str) -> Result<RunPlan, PlanError> {
    if !cfg.allow_adhoc {
        return Err(PlanError::AdhocDisabled);
    }
    if command.trim().is_empty() {
        return Err(PlanError::NoCommand);
    }
    let target = host_target(cfg, host)?;
    Ok(plan(
        "adhoc",
        target,
        command,
        ADHOC_TIMEOUT,
        Duration::from_secs(*cfg.kill_grace_secs.get_ref()),
        true,
    ))
}

fn host_target(cfg: &ExecutorConfig, name: &str) -> Result<HostTarget, PlanError> {
    cfg.hosts
        .iter()
        .find(|h| h.name.get_ref() == name)
        .map(HostTarget::from_config)
        .ok_or_else(|| PlanError::UnknownHost(name.to_string()))
}

fn plan(
    runbook: &str,
    host: HostTarget,
    command: &str,
    timeout: Duration,
    grace: Duration,
    destructive: bool,
) -> RunPlan {
    RunPlan {
        runbook: runbook.into(),
        host,
        command: command.into(),
        remote: wrap(command, timeout, grace),
        timeout,
        grace,
        destructive,
    }
}

/// The first line on stderr names the run's process group, so a cancel can make sure of it.
pub const PGID_MARK: &str = "chavion-tui:pgid:";

/// The line the remote login shell runs. The shell is the session's leader, and its pid
/// (`$$`, said first, on stderr) is the id of the process group everything the run starts
/// belongs to; sshd delivers the operator's signals to that whole group.
///
/// - `timeout --foreground` bounds the command even when the control room is gone (no
///   signal will ever come from it); `--foreground` keeps it in the session's group, so
///   sshd's signals reach the command and the sweep below reaches everything.
/// - The shell traps TERM, HUP and INT (a trap, not an ignore: children start with the
///   default dispositions) so it outlives the command and sweeps after it: however the
///   command ended (done, timed out, signalled), whatever is left of the group gets TERM,
///   then KILL after the grace period. A child that ignores TERM, or outlived a `sh -c`
///   that died on TERM, never outlives the run.
/// - The sweeper keeps no stdout or stderr open, so it never holds the channel open.
pub fn wrap(command: &str, timeout: Duration, grace: Duration) -> String {
    let g = grace.as_secs().max(1);
    format!(
        "echo {PGID_MARK}$$ >&2; trap : TERM HUP INT; \
         timeout --foreground --kill-after={g}s {}s sh -c {} & c=$!; \
         while :; do wait $c; rc=$?; kill -0 $c 2>/dev/null || break; done; \
         kill -TERM -$$ 2>/dev/null; (sleep {g}; kill -KILL -$$) >/dev/null 2>&1 </dev/null & \
         exit $rc",
        timeout.as_secs(),
        shell_quote(command)
    )
}

pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_line_is_quoted_and_bounded() {
        let line = wrap(
            "echo 'it''s' \"$HOME\"; rm -rf /tmp/x",
            Duration::from_secs(60),
            Duration::from_secs(5),
        );
        assert!(
            line.contains(r#"timeout --foreground --kill-after=5s 60s sh -c 'echo '\''it'\'''\''s'\'' "$HOME"; rm -rf /tmp/x' & c=$!"#),
            "{line}"
        );
        assert!(line.starts_with("echo chavion-tui:pgid:$$ >&2; trap : TERM HUP INT;"));
        assert!(line.ends_with("exit $rc"), "{line}");
        // What the shell would hand `sh -c` is the command unchanged.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote("a'b \"c\" $d")))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a'b \"c\" $d");
    }

    #[test]
    fn the_wrapper_keeps_the_exit_status_and_sweeps_what_the_command_left() {
        // Run here as the leader of a session of its own, as sshd starts it.
        let marker = format!("chavion-wrap-{}", std::process::id());
        let line = wrap(
            &format!("(trap '' TERM; exec sleep 30 {marker}) & exit 3"),
            Duration::from_secs(20),
            Duration::from_secs(1),
        );
        let out = std::process::Command::new("setsid")
            .args(["-w", "sh", "-c", &line])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(out.code(), Some(3), "the command's own status");
        // The TERM-ignoring child is gone once the grace period has passed.
        let alive = || {
            std::process::Command::new("pgrep")
                .args(["-f", &marker])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!alive(), "a child that ignored TERM outlived the run");
    }
}
