//! What `update` asks the outside world to do. Every operator action becomes an `Effect`,
//! so read-only mode and the audit trail each have one place to live.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Leave the TUI and restore the terminal.
    Quit,
    /// Revoke a task on every worker (pidbox broadcast); `terminate` kills it if running.
    Revoke { task_id: String, terminate: bool },
}

impl Effect {
    /// Effects that change the platform: refused under `--read-only`, confirmed, audited.
    pub fn is_dangerous(&self) -> bool {
        matches!(self, Effect::Revoke { .. })
    }
}
