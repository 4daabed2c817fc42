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
    (
        &["inspect"],
        ":inspect | :inspect METHOD all",
        "the selected worker's detail, or one inspect method asked of every worker",
    ),
    (
        &["pool"],
        ":pool grow|shrink N",
        "grow or shrink the selected worker's pool",
    ),
    (
        &["autoscale"],
        ":autoscale MAX MIN",
        "the selected worker's autoscale range",
    ),
    (
        &["consumer"],
        ":consumer add|cancel QUEUE",
        "the selected worker starts or stops consuming a queue",
    ),
    (
        &["ratelimit"],
        ":ratelimit TASK RATE [all]",
        "rate limit a task (N, N/s, N/m, N/h; 0 lifts it)",
    ),
    (
        &["timelimit"],
        ":timelimit TASK SOFT HARD [all]",
        "soft and hard time limits for a task, in seconds",
    ),
    (
        &["poolrestart"],
        ":poolrestart",
        "restart the selected worker's pool (if it allows it)",
    ),
    (
        &["shutdown"],
        ":shutdown",
        "shut the selected worker down (type its name)",
    ),
    (
        &["retry"],
        ":retry [FILTER]",
        "retry the selected task, or every failed or revoked task the filter picks",
    ),
    (
        &["purge"],
        ":purge QUEUE [TASK]",
        "empty a queue, all four priorities (type its name)",
    ),
    (
        &["move"],
        ":move FROM TO [TASK]",
        "move waiting messages to another queue (type FROM)",
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
