//! The one gate every action that changes the world passes, for the TUI and the shell CLI
//! alike: `--demo` and `--read-only` are judged here and nowhere else, and a refusal says why
//! in plain words. It sits at the bottom of the house (no imports from the app, the actions
//! or the feeds), so every layer that acts can ask it.

use std::fmt;

/// How this process was started, as far as acting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gate {
    /// The simulated fleet: the configured Redis and hosts may be the real platform, so
    /// nothing is ever sent anywhere.
    pub demo: bool,
    /// The operator asked to only watch.
    pub read_only: bool,
}

/// Every kind of action that changes the platform. A new action adds a variant here, so the
/// gate cannot be forgotten: `Gate::check` is the only way to obtain a `Pass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Dispatch,
    Revoke,
    Terminate,
    Emit,
    /// A runbook over SSH.
    Exec,
    /// An ad-hoc command over SSH (`:run`).
    Run,
    /// Pushing a lost dispatch again.
    Redeliver,
    /// Changing a worker: its pool, autoscale range, consumers or limits.
    Control,
    /// Shutting a worker down.
    Shutdown,
    /// Sending a failed or revoked task again, under a new id.
    Retry,
    /// Removing the messages waiting in a queue.
    Purge,
    /// Moving waiting messages from one queue to another.
    Move,
    /// A container restarted, stopped, started or killed through the Docker Engine.
    ContainerRestart,
    ContainerStop,
    ContainerStart,
    ContainerKill,
    /// A dispatch that never left removed from the outbox: it will never be delivered.
    DropOutbox,
}

/// Every `Act`, for the lists said from it (`--read-only`'s help).
pub const EVERY_ACT: [Act; 17] = [
    Act::Dispatch,
    Act::Revoke,
    Act::Terminate,
    Act::Emit,
    Act::Exec,
    Act::Run,
    Act::Redeliver,
    Act::Control,
    Act::Shutdown,
    Act::Retry,
    Act::Purge,
    Act::Move,
    Act::ContainerRestart,
    Act::ContainerStop,
    Act::ContainerStart,
    Act::ContainerKill,
    Act::DropOutbox,
];

/// `--read-only`'s long help, from the gate's own table, so it never goes stale.
pub fn read_only_help() -> String {
    let words: Vec<&str> = EVERY_ACT.iter().map(|a| a.words()).collect();
    format!(
        "Refuse every action that changes the platform: {}. Each refusal is said and audited.",
        words.join(", ")
    )
}

impl Act {
    /// The action in words, for a refusal: "dispatching a task is disabled because …".
    pub fn words(self) -> &'static str {
        match self {
            Act::Dispatch => "dispatching a task",
            Act::Revoke => "revoking a task",
            Act::Terminate => "terminating a task",
            Act::Emit => "emitting to a Socket.IO endpoint",
            Act::Exec => "running a runbook over SSH",
            Act::Run => "running a command over SSH",
            Act::Redeliver => "pushing a lost dispatch again",
            Act::Control => "changing a worker",
            Act::Shutdown => "shutting a worker down",
            Act::Retry => "retrying a task",
            Act::Purge => "purging a queue",
            Act::Move => "moving queued messages",
            Act::ContainerRestart => "restarting a container",
            Act::ContainerStop => "stopping a container",
            Act::ContainerStart => "starting a container",
            Act::ContainerKill => "killing a container",
            Act::DropOutbox => "dropping a dispatch from the outbox",
        }
    }

    /// The audit trail's name for it.
    pub fn audit_name(self) -> &'static str {
        match self {
            Act::Dispatch => "dispatch",
            Act::Revoke => "revoke",
            Act::Terminate => "terminate",
            Act::Emit => "emit",
            Act::Exec => "exec",
            Act::Run => "run",
            Act::Redeliver => "redeliver",
            Act::Control => "control",
            Act::Shutdown => "shutdown",
            Act::Retry => "retry",
            Act::Purge => "purge",
            Act::Move => "move",
            Act::ContainerRestart => "container-restart",
            Act::ContainerStop => "container-stop",
            Act::ContainerStart => "container-start",
            Act::ContainerKill => "container-kill",
            Act::DropOutbox => "outbox-drop",
        }
    }
}

/// Why an action was not done, in words for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Gate {
    /// Ok when `act` may go ahead in this mode; otherwise the refusal, in words.
    pub fn check(self, act: Act) -> Result<(), Refusal> {
        let what = act.words();
        if self.read_only {
            return Err(Refusal(format!(
                "refused: {what} is disabled because chavion-tui was started with --read-only"
            )));
        }
        if self.demo {
            // The configured Redis and hosts may be the real platform: the demo never
            // reaches them.
            return Err(Refusal(format!(
                "refused: {what} is not sent anywhere in the demo; the fleet is simulated"
            )));
        }
        Ok(())
    }
}

/// A dispatch confirmed for broker `meant` may be delivered only to that broker: `here` is
/// the broker this process is connected to (both as `Target::broker_id` writes them).
pub fn same_broker(meant: &str, here: &str) -> Result<(), Refusal> {
    if meant == here {
        return Ok(());
    }
    let meant = if meant.is_empty() {
        "a broker nobody recorded (queued by an older version)"
    } else {
        meant
    };
    Err(Refusal(format!(
        "refused: this dispatch was confirmed for {meant}, and this control room is connected to {here}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Act; 17] = EVERY_ACT;

    #[test]
    fn a_dispatch_goes_only_to_the_broker_it_was_confirmed_for() {
        let a = "redis://127.0.0.1:6379/0 prefix=";
        let b = "redis://127.0.0.1:6380/0 prefix=";
        assert_eq!(same_broker(a, a), Ok(()));
        let no = same_broker(a, b).unwrap_err();
        assert!(no.0.contains(a) && no.0.contains(b), "{no}");
        assert!(same_broker("", b).unwrap_err().0.contains("older version"));
    }

    #[test]
    fn live_mode_lets_every_action_through() {
        for act in ALL {
            assert_eq!(Gate::default().check(act), Ok(()));
        }
    }

    #[test]
    fn demo_and_read_only_refuse_every_action_in_words() {
        for act in ALL {
            let demo = Gate {
                demo: true,
                read_only: false,
            }
            .check(act)
            .unwrap_err();
            assert!(
                demo.0.contains(act.words()) && demo.0.contains("demo"),
                "{demo}"
            );
            let ro = Gate {
                demo: false,
                read_only: true,
            }
            .check(act)
            .unwrap_err();
            assert!(ro.0.contains("--read-only"), "{ro}");
            let both = Gate {
                demo: true,
                read_only: true,
            }
            .check(act)
            .unwrap_err();
            assert!(both.0.contains("--read-only"), "{both}");
        }
    }
}
