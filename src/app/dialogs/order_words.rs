//! The fleet's `:` commands read into orders: `pool grow|shrink N`, `autoscale MAX MIN`,
//! `consumer add|cancel QUEUE`, `ratelimit`, `timelimit`, `poolrestart`, `shutdown`,
//! `purge`, `move`; a usage line in words when they do not read.

use crate::app::model::input_error::InputError;
use crate::orders::Order;
use crate::platform::pidbox::Control;

/// `cmd` with its words, read; None when `cmd` is not one of these.
pub(crate) fn parse(cmd: &str, words: &[&str]) -> Option<Result<ParsedOrder, InputError>> {
    let one = |c: Control| (c, false);
    let to_control =
        |r: Result<(Control, bool), InputError>| r.map(|(c, all)| ParsedOrder::Control(c, all));
    Some(match cmd {
        "purge" => purge(words),
        "move" => move_order(words),
        "pool" => to_control(pool(words).map(one)),
        "autoscale" => to_control(autoscale(words).map(one)),
        "consumer" => to_control(consumer(words).map(one)),
        "ratelimit" => to_control(ratelimit(words)),
        "timelimit" => to_control(timelimit(words)),
        "poolrestart" => to_control(bare(words, Control::PoolRestart)),
        "shutdown" => to_control(bare(words, Control::Shutdown)),
        _ => return None,
    })
}

/// A control command (with `all` for every worker), or an order on a queue.
pub(crate) enum ParsedOrder {
    Control(Control, bool),
    Queue(Order),
}

/// A trailing `all` sends the command to every worker.
fn trailing_all<'a>(words: &'a [&'a str]) -> (&'a [&'a str], bool) {
    match words.split_last() {
        Some((&"all", head)) => (head, true),
        _ => (words, false),
    }
}

fn pool(words: &[&str]) -> Result<Control, InputError> {
    let usage = || ":pool grow|shrink N (to the selected worker)".to_string();
    let [dir, n] = words else {
        return Err(usage().into());
    };
    let n: u32 = n.parse().map_err(|_| usage())?;
    match *dir {
        "grow" => Ok(Control::PoolGrow(n)),
        "shrink" => Ok(Control::PoolShrink(n)),
        _ => Err(usage().into()),
    }
}

fn autoscale(words: &[&str]) -> Result<Control, InputError> {
    let usage = || ":autoscale MAX MIN (to the selected worker)".to_string();
    let [max, min] = words else {
        return Err(usage().into());
    };
    Ok(Control::Autoscale {
        max: max.parse().map_err(|_| usage())?,
        min: min.parse().map_err(|_| usage())?,
    })
}

fn consumer(words: &[&str]) -> Result<Control, InputError> {
    match words {
        ["add", q] => Ok(Control::AddConsumer(q.to_string())),
        ["cancel", q] => Ok(Control::CancelConsumer(q.to_string())),
        _ => Err(":consumer add|cancel QUEUE (to the selected worker)".into()),
    }
}

fn ratelimit(words: &[&str]) -> Result<(Control, bool), InputError> {
    let (words, all) = trailing_all(words);
    match words {
        [task, rate] => Ok((
            Control::RateLimit {
                task: task.to_string(),
                rate: rate.to_string(),
            },
            all,
        )),
        _ => Err(":ratelimit TASK RATE [all] (RATE: N, N/s, N/m, N/h; 0 lifts it)".into()),
    }
}

fn timelimit(words: &[&str]) -> Result<(Control, bool), InputError> {
    let (words, all) = trailing_all(words);
    let usage = || ":timelimit TASK SOFT HARD [all] (seconds)".to_string();
    let [task, soft, hard] = words else {
        return Err(usage().into());
    };
    Ok((
        Control::TimeLimit {
            task: task.to_string(),
            soft: soft.parse().map_err(|_| usage())?,
            hard: hard.parse().map_err(|_| usage())?,
        },
        all,
    ))
}

fn bare(words: &[&str], cmd: Control) -> Result<(Control, bool), InputError> {
    if words.is_empty() {
        Ok((cmd, false))
    } else {
        Err(format!(
            ":{} takes nothing: it goes to the selected worker",
            cmd.method().replace('_', "")
        )
        .into())
    }
}

fn purge(words: &[&str]) -> Result<ParsedOrder, InputError> {
    match words {
        [queue] | [queue, _] => Ok(ParsedOrder::Queue(Order::Purge {
            queue: queue.to_string(),
            task: words.get(1).map(|t| t.to_string()),
        })),
        _ => Err(":purge QUEUE [TASK] (TASK: only that task's messages)".into()),
    }
}

fn move_order(words: &[&str]) -> Result<ParsedOrder, InputError> {
    match words {
        [from, to] | [from, to, _] => Ok(ParsedOrder::Queue(Order::Move {
            from: from.to_string(),
            to: to.to_string(),
            task: words.get(2).map(|t| t.to_string()),
        })),
        _ => Err(":move FROM TO [TASK]".into()),
    }
}
