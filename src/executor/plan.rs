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

pub fn plan_runbook(
    cfg: &ExecutorConfig,
    runbook: &str,
    host: Option<&str>,
) -> Result<RunPlan, String> {
    let Some(book) = cfg.runbooks.iter().find(|r| r.name.get_ref() == runbook) else {
        let known: Vec<&str> = cfg
            .runbooks
            .iter()
            .map(|r| r.name.get_ref().as_str())
            .collect();
        return Err(if known.is_empty() {
            format!(
                "no runbook `{runbook}`: none are configured (see [[executor.runbooks]] in assets/config.example.toml)"
            )
        } else {
            format!("no runbook `{runbook}`; there are: {}", known.join(", "))
        });
    };
    let hosts = book.hosts.get_ref();
    let name = match host {
        Some(h) if hosts.iter().any(|x| x == h) => h,
        Some(h) => {
            return Err(format!(
                "runbook `{runbook}` does not run on `{h}`; it runs on: {}",
                hosts.join(", ")
            ));
        }
        None => hosts
            .first()
            .ok_or_else(|| format!("runbook `{runbook}` names no host"))?,
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
pub fn plan_adhoc(cfg: &ExecutorConfig, host: &str, command: &str) -> Result<RunPlan, String> {
    if !cfg.allow_adhoc {
        return Err(
            "ad-hoc commands are disabled: only runbooks may run (set executor.allow_adhoc = true to allow them)"
                .into(),
        );
    }
    if command.trim().is_empty() {
        return Err("usage: :run HOST COMMAND".into());
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

fn host_target(cfg: &ExecutorConfig, name: &str) -> Result<HostTarget, String> {
    cfg.hosts
        .iter()
        .find(|h| h.name.get_ref() == name)
        .map(HostTarget::from_config)
        .ok_or_else(|| format!("no executor host `{name}` is configured"))
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

/// `exec` makes `timeout` the session's process, so the signals sshd delivers to the
/// session's process group reach it and everything it started; `timeout` itself is the
/// backstop that ends the run even if our link to the host is gone. The shell first says
/// its pid (which `exec` keeps, and which is the group's id): if `timeout` dies before its
/// children (a TERM landing while it is still starting them), the group is swept by id.
pub fn wrap(command: &str, timeout: Duration, grace: Duration) -> String {
    format!(
        "echo {PGID_MARK}$$ >&2; exec timeout --kill-after={}s {}s sh -c {}",
        grace.as_secs(),
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
        assert_eq!(
            line,
            r#"echo chavion-tui:pgid:$$ >&2; exec timeout --kill-after=5s 60s sh -c 'echo '\''it'\'''\''s'\'' "$HOME"; rm -rf /tmp/x'"#
        );
        // What the shell would hand `sh -c` is the command unchanged.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote("a'b \"c\" $d")))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a'b \"c\" $d");
    }
}
