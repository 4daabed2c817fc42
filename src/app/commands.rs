//! The `:` commands: one table, read by the command line's "unknown command" answer and by
//! the help overlay, so neither can drift from what the command line takes.

/// (names, usage, what it does). The first name is the one shown.
pub const COMMANDS: &[(&[&str], &str, &str)] = &[
    (
        &["dispatch", "d"],
        ":dispatch AGENT TASK [JSON]",
        "send a task (a JSON array is its args, an object its kwargs)",
    ),
    (
        &["emit"],
        ":emit ENDPOINT[/ns] EVENT [JSON]",
        "emit a Socket.IO event and show the ack",
    ),
    (
        &["exec"],
        ":exec RUNBOOK [HOST]",
        "run a runbook over SSH (asks first)",
    ),
    (
        &["run"],
        ":run HOST COMMAND",
        "an ad-hoc command over SSH (only with executor.allow_adhoc)",
    ),
    (
        &["at", "goto"],
        ":at 14:05 | -15m | RFC 3339",
        "jump the activity log to a time",
    ),
    (&["tasks"], ":tasks", "the Tasks view"),
    (&["workers"], ":workers", "the Workers view"),
    (&["executor", "runbooks"], ":executor", "the Executor view"),
    (
        &["dashboard", "home"],
        ":dashboard",
        "back to the dashboard",
    ),
    (&["help"], ":help", "this overlay"),
    (
        &["q", "quit"],
        ":q",
        "quit (asks first while runs are going)",
    ),
];

/// The names the command line knows, for its "unknown command" answer.
pub fn names() -> String {
    COMMANDS
        .iter()
        .map(|(names, _, _)| format!(":{}", names[0]))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_named_once() {
        let mut all: Vec<&str> = COMMANDS
            .iter()
            .flat_map(|(n, _, _)| n.iter().copied())
            .collect();
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "a name is listed twice");
        assert!(names().contains(":workers") && names().contains(":at"));
    }
}
