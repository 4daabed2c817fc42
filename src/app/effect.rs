//! What `update` asks the outside world to do. Every operator action becomes an `Effect`,
//! so read-only mode and the audit trail each have one place to live.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Leave the TUI and restore the terminal.
    Quit,
}
