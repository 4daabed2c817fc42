//! What an operator orders the Celery fleet to do, as plain data: the app builds an order
//! from a command and a confirmation, the actions carry it out. Pure; it sits low in the
//! house so both can name it.

use crate::gate::Act;
use crate::platform::pidbox::Control;

/// Who a command goes to: one worker, or every worker when the operator said "all". For
/// "all", the workers known to be online are carried, so those that stay silent are named.
#[derive(Debug, Clone, PartialEq)]
pub enum Aim {
    Worker(String),
    All { known: Vec<String> },
}

impl Aim {
    /// The operator's word: "all", or a worker's name.
    pub fn of(word: &str, known: Vec<String>) -> Aim {
        if word == "all" {
            Aim::All { known }
        } else {
            Aim::Worker(word.to_string())
        }
    }

    /// The request's destination: empty means every worker.
    pub fn destination(&self) -> Vec<String> {
        match self {
            Aim::Worker(w) => vec![w.clone()],
            Aim::All { .. } => Vec::new(),
        }
    }

    pub fn addressed(&self) -> Vec<String> {
        match self {
            Aim::Worker(w) => vec![w.clone()],
            Aim::All { known } => known.clone(),
        }
    }

    pub fn words(&self) -> String {
        match self {
            Aim::Worker(w) => w.clone(),
            Aim::All { .. } => "all workers".into(),
        }
    }
}

pub use crate::platform::pidbox::KillSignal;

/// A task to send again, with what the control room saw of it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RetryOrder {
    pub task_id: String,
    pub name: Option<String>,
    /// Python reprs, as the task's events carried them.
    pub args: Option<String>,
    pub kwargs: Option<String>,
    /// Its queue, when known (its task-sent event, or its agent's queue).
    pub queue: Option<String>,
    /// The exact message the operator was shown before confirming (the shell looks it up
    /// first): sent as it is, never looked up again.
    pub pinned: Option<Pinned>,
}

/// A task's exact message, as found before the confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct Pinned {
    pub message: String,
    /// Found in the store's outbox (else in kombu's `unacked`).
    pub from_store: bool,
}

/// What to do to a container, as the Engine's API names it.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerOp {
    Restart,
    Stop,
    Start,
    /// With the signal (KILL unless said).
    Kill(String),
}

impl ContainerOp {
    pub fn verb(&self) -> String {
        match self {
            ContainerOp::Restart => "restart".into(),
            ContainerOp::Stop => "stop".into(),
            ContainerOp::Start => "start".into(),
            ContainerOp::Kill(sig) => format!("kill (SIG{sig})"),
        }
    }
}

/// A container as the operator saw it when confirming: the order is refused for it if the
/// Engine says otherwise by then.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerAim {
    pub id: String,
    pub name: String,
    /// Its state in words, as shown ("running", "exited (3)").
    pub seen: String,
}

/// One confirmed order.
#[derive(Debug, Clone, PartialEq)]
pub enum Order {
    Control {
        cmd: Control,
        aim: Aim,
    },
    Retry {
        tasks: Vec<RetryOrder>,
    },
    Purge {
        queue: String,
        task: Option<String>,
    },
    Move {
        from: String,
        to: String,
        task: Option<String>,
    },
    /// To one container, or to every container of an agent, on the Docker host `host`
    /// (its URL without secrets).
    Container {
        op: ContainerOp,
        host: String,
        aims: Vec<ContainerAim>,
    },
}

impl Order {
    /// What it does to the platform, for the one gate.
    pub fn act(&self) -> Act {
        match self {
            Order::Control {
                cmd: Control::Shutdown,
                ..
            } => Act::Shutdown,
            Order::Control { .. } => Act::Control,
            Order::Retry { .. } => Act::Retry,
            Order::Purge { .. } => Act::Purge,
            Order::Move { .. } => Act::Move,
            Order::Container { op, .. } => match op {
                ContainerOp::Restart => Act::ContainerRestart,
                ContainerOp::Stop => Act::ContainerStop,
                ContainerOp::Start => Act::ContainerStart,
                ContainerOp::Kill(_) => Act::ContainerKill,
            },
        }
    }

    /// The order in a few words: "plain@h: grow the pool by 1", "purge thinking".
    pub fn words(&self) -> String {
        let only = |t: &Option<String>| {
            t.as_ref()
                .map(|t| format!(" (only {t})"))
                .unwrap_or_default()
        };
        match self {
            Order::Control { cmd, aim } => format!("{}: {}", aim.words(), cmd.words()),
            Order::Retry { tasks } => match tasks.as_slice() {
                [one] => format!("retry {}", one.task_id),
                many => format!("retry {} tasks", many.len()),
            },
            Order::Purge { queue, task } => format!("purge {queue}{}", only(task)),
            Order::Move { from, to, task } => format!("move {from} → {to}{}", only(task)),
            Order::Container { op, aims, .. } => match aims.as_slice() {
                [one] => format!("{} container {}", op.verb(), one.name),
                many => format!("{} {} containers", op.verb(), many.len()),
            },
        }
    }
}

/// A purge's queue and task name back from its words (`Order::words`), as the audit
/// channel carries them: `purge thinking`, `purge thinking (only t.a)`.
pub fn purge_of_words(words: &str) -> Option<(String, Option<String>)> {
    let rest = words.strip_prefix("purge ")?;
    match rest
        .strip_suffix(')')
        .and_then(|r| r.rsplit_once(" (only "))
    {
        Some((queue, task)) => Some((queue.to_string(), Some(task.to_string()))),
        None => Some((rest.to_string(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purge_is_read_back_from_its_words() {
        for task in [None, Some("t.a".to_string())] {
            let order = Order::Purge {
                queue: "thinking".into(),
                task: task.clone(),
            };
            assert_eq!(
                purge_of_words(&order.words()),
                Some(("thinking".to_string(), task))
            );
        }
        assert_eq!(purge_of_words("move a → b"), None);
    }

    #[test]
    fn all_is_said_in_words_and_one_worker_is_its_destination() {
        let one = Aim::of("w1@h", vec!["w1@h".into(), "w2@h".into()]);
        assert_eq!(one.destination(), vec!["w1@h"]);
        assert_eq!(one.addressed(), vec!["w1@h"]);
        let all = Aim::of("all", vec!["w1@h".into(), "w2@h".into()]);
        assert!(all.destination().is_empty());
        assert_eq!(all.addressed().len(), 2);
        assert_eq!(all.words(), "all workers");
    }

    #[test]
    fn each_order_passes_the_gate_as_what_it_is() {
        let shut = Order::Control {
            cmd: Control::Shutdown,
            aim: Aim::Worker("w@h".into()),
        };
        assert_eq!(shut.act(), Act::Shutdown);
        assert_eq!(shut.words(), "w@h: shut down");
        let purge = Order::Purge {
            queue: "thinking".into(),
            task: Some("t.a".into()),
        };
        assert_eq!(
            (purge.act(), purge.words().as_str()),
            (Act::Purge, "purge thinking (only t.a)")
        );
    }
}
