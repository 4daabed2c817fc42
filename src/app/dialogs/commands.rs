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
    (
        &["alerts"],
        ":alerts",
        "the Alerts view: firing and pending alerts, and their history",
    ),
    (
        &["metrics"],
        ":metrics",
        "the Metrics view: the [[panels]] PromQL queries, read from [prometheus] url",
    ),
    (
        &["containers"],
        ":containers",
        "the Containers view: the agents' containers from the Docker Engine",
    ),
    (
        &["restart", "stop", "start"],
        ":restart [NAME | agent AGENT]",
        "restart (stop, start) the selected container, one by name, or all of an agent's",
    ),
    (
        &["kill"],
        ":kill [SIGNAL] [NAME | agent AGENT]",
        "send a container a signal (KILL unless said)",
    ),
    (
        &["logs"],
        ":logs [NAME]",
        "follow a container's stdout and stderr into the activity stream",
    ),
    (
        &["timeline"],
        ":timeline [-30m | 14:05]",
        "save what happened since then (state changes, failure bursts, actions, runs) as Markdown",
    ),
    (
        &["fleet"],
        ":fleet",
        "every context at once, one row each; Enter goes into one",
    ),
    (
        &["ctx"],
        ":ctx NAME",
        "show another context (--context NAME at start)",
    ),
    (&["tasks"], ":tasks", "the Tasks view"),
    (&["workers"], ":workers", "the Workers view"),
    (
        &["issues"],
        ":issues",
        "the Issues view: failures grouped by task and exception",
    ),
    (&["executor", "runbooks"], ":executor", "the Executor view"),
    (
        &["links"],
        ":links",
        "the Links view: every connection, its state, since when, its last error",
    ),
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

/// Tab on the `:` line: the line completed as far as it is unambiguous, and the
/// candidates when several remain. Commands first, then each command's own words: inspect
/// methods, grow/shrink, add/cancel, queue names, task names, `all`.
pub fn complete(state: &crate::app::state::State, line: &str) -> (String, Vec<String>) {
    let (head, word) = match line.rfind(' ') {
        Some(i) => (&line[..=i], &line[i + 1..]),
        None => ("", line),
    };
    let words: Vec<&str> = head.split_whitespace().collect();
    let owned: Vec<String> = match words.as_slice() {
        [] => COMMANDS
            .iter()
            .flat_map(|(n, _, _)| n.iter().map(|s| s.to_string()))
            .collect(),
        ["inspect"] => crate::platform::pidbox::Inspect::NAMED
            .iter()
            .map(|m| m.method().to_string())
            .collect(),
        ["inspect", _] | ["ratelimit", _, _] | ["timelimit", _, _, _] => vec!["all".into()],
        ["pool"] => vec!["grow".into(), "shrink".into()],
        ["consumer"] => vec!["add".into(), "cancel".into()],
        ["consumer", _] | ["purge"] | ["move"] | ["move", _] => {
            state.queues.iter().map(|q| q.name.clone()).collect()
        }
        ["ratelimit"] | ["timelimit"] | ["purge", _] | ["move", _, _] => task_names(state),
        ["ctx"] => state.session.contexts.clone(),
        _ => Vec::new(),
    };
    let mut found: Vec<String> = owned.into_iter().filter(|c| c.starts_with(word)).collect();
    found.sort();
    found.dedup();
    match found.as_slice() {
        [] => (line.to_string(), found),
        [one] => (format!("{head}{one} "), Vec::new()),
        many => {
            let common = many[1..].iter().fold(many[0].clone(), |acc, c| {
                acc.chars()
                    .zip(c.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a)
                    .collect()
            });
            // Every candidate starts with `word`, so their common prefix does too.
            (format!("{head}{common}"), found)
        }
    }
}

/// The task names this control room knows: registered on the workers it asked, and seen
/// in the Tasks view.
fn task_names(state: &crate::app::state::State) -> Vec<String> {
    let mut names: Vec<String> = state
        .inspected
        .values()
        .flat_map(|i| i.detail.registered.iter().map(|(n, _)| n.clone()))
        .collect();
    names.extend(state.agents.iter().flat_map(|a| a.tasks.iter().cloned()));
    names
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

    #[test]
    fn tab_completes_commands_and_their_words() {
        let km =
            crate::config::keymap::build("default", std::path::Path::new("/x"), vec![]).unwrap();
        let s = crate::app::state::State::new(
            &crate::config::Config::default(),
            km,
            chrono::Utc::now(),
        );
        assert_eq!(complete(&s, "shut").0, "shutdown ");
        assert_eq!(complete(&s, "inspect st").0, "inspect stats ");
        assert_eq!(complete(&s, "inspect stats a").0, "inspect stats all ");
        assert_eq!(complete(&s, "pool g").0, "pool grow ");
        let (line, several) = complete(&s, "e");
        assert_eq!(line, "e");
        assert!(several.contains(&"exec".to_string()) && several.contains(&"executor".to_string()));
        let (line, _) = complete(&s, "exe");
        assert_eq!(line, "exec", "the common prefix");
        assert_eq!(complete(&s, "nosuch").0, "nosuch");
    }
}
