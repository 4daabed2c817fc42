//! Orders to the Celery fleet from the keyboard: the `:` commands (`:inspect`, `:pool`,
//! `:autoscale`, `:consumer`, `:ratelimit`, `:timelimit`, `:poolrestart`, `:shutdown`,
//! `:retry`, `:purge`, `:move`) and the retry key, each confirmed in a dialog, then handed
//! to the actions as one `Effect::Order`. A command goes to the selected worker, or to every
//! worker only when the operator typed `all`.

use crate::app::common::{flash, guarded, log, refused_early, short_id};
use crate::app::ui_state::{Flash, Mode, PendingOrder, View};
use crate::app::{Outcome, State};
use crate::kept::Task;
use crossterm::event::KeyEvent;

use crate::app::dialogs::confirmation::{Said, answer};
use crate::app::dialogs::order_words::{self, ParsedOrder};
use crate::app::effect::Effect;
use crate::app::model::tasks;
use crate::orders::{Aim, Order, RetryOrder};
use crate::platform::model::{Level, TaskEventKind};
use crate::platform::pidbox::{Control, Inspect};

/// How many answers to orders are kept for the worker detail to show.
const SAID_KEPT: usize = 50;

/// How many tasks a bulk retry's confirmation names before "and N more".
const SHOWN: usize = 5;

/// The commands this room takes; None for any other.
pub fn command(state: &mut State, cmd: &str, rest: &str) -> Option<Outcome> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let parsed = match cmd {
        "inspect" => return Some(inspect(state, &words)),
        "retry" => return Some(retry(state, rest)),
        _ => order_words::parse(cmd, &words)?,
    };
    Some(match parsed {
        Err(usage) => {
            flash(state, Level::Warn, usage.to_string());
            Outcome::redraw()
        }
        Ok(ParsedOrder::Control(cmd, all)) => control(state, cmd, all),
        Ok(ParsedOrder::Queue(order)) => queue_order(state, order),
    })
}

/// The workers known to be online, for an order to all: the silent ones are named.
fn online(state: &State) -> Vec<String> {
    state
        .workers
        .values()
        .filter(|w| w.online)
        .map(|w| w.hostname.clone())
        .collect()
}

fn control(state: &mut State, cmd: Control, all: bool) -> Outcome {
    if let Err(why) = cmd.check() {
        flash(state, Level::Warn, format!("refused: {why}"));
        return Outcome::redraw();
    }
    let aim = if all {
        Aim::All {
            known: online(state),
        }
    } else {
        match crate::app::views::workers::picked(state) {
            Some(w) => Aim::Worker(w.hostname.clone()),
            None => {
                flash(
                    state,
                    Level::Warn,
                    "refused: no worker selected; select one in the Workers view (or add `all` where the command allows it)".into(),
                );
                return Outcome::redraw();
            }
        }
    };
    // Shutdown is destructive: the worker's name is typed.
    let typed_word = match (&cmd, &aim) {
        (Control::Shutdown, Aim::Worker(w)) => Some(w.clone()),
        _ => None,
    };
    let mut lines = Vec::new();
    if let Aim::All { known } = &aim {
        lines.push(format!(
            "to every worker ({} known online: {})",
            known.len(),
            known.join(", ")
        ));
    }
    if cmd == Control::Shutdown {
        lines.push(
            "warm: it finishes its running tasks, then exits; nothing restarts it from here".into(),
        );
    }
    ask(state, Order::Control { cmd, aim }, lines, typed_word, None)
}

fn queue_order(state: &mut State, order: Order) -> Outcome {
    let queue = match &order {
        Order::Purge { queue, .. } => queue.clone(),
        Order::Move { from, to, .. } if from == to => {
            flash(
                state,
                Level::Warn,
                "refused: a queue cannot be moved into itself".into(),
            );
            return Outcome::redraw();
        }
        Order::Move { from, .. } => from.clone(),
        _ => return Outcome::default(),
    };
    let lines = vec![format!("waiting in {queue}: asking Redis…")];
    ask(state, order, lines, Some(queue.clone()), Some(queue))
}

/// `:retry` (the selected task) or `:retry FILTER` (every failed or revoked task the
/// Tasks view's filter syntax picks).
fn retry(state: &mut State, filter: &str) -> Outcome {
    let f = match tasks::Filter::parse(filter, state.now, state.utc) {
        Ok(f) => f,
        Err(why) => {
            flash(state, Level::Warn, format!("refused: the filter: {why}"));
            return Outcome::redraw();
        }
    };
    let picked: Vec<&Task> = if filter.trim().is_empty() {
        tasks::selected(state).into_iter().collect()
    } else {
        let mut all: Vec<&Task> = state
            .tasks
            .by_id
            .values()
            .filter(|t| retriable(t) && f.matches(state, t))
            .collect();
        all.sort_by_key(|t| t.seq);
        all
    };
    // A task already sent again is left out: only the newest of a chain is retried.
    let (picked, already): (Vec<&Task>, Vec<&Task>) = picked
        .into_iter()
        .partition(|t| state.retries.retried_as(&t.uuid).is_none());
    let already_words = retried_words(state, &already);
    if picked.is_empty() {
        let why = nothing_to_retry(filter, already.len(), &already_words);
        flash(state, Level::Info, why);
        return Outcome::redraw();
    }
    if let [one] = picked.as_slice()
        && !retriable(one)
    {
        let why = format!(
            "refused: {} [{}] is {}; only a failed or revoked task is retried",
            one.fields.name.as_deref().unwrap_or("task"),
            short_id(&one.uuid),
            tasks::shown_state(one)
        );
        flash(state, Level::Info, why);
        return Outcome::redraw();
    }
    let orders: Vec<RetryOrder> = picked.iter().map(|t| order_of(state, t)).collect();
    let mut lines = retry_lines(&picked);
    if picked.len() > SHOWN {
        lines.push(format!("… and {} more", picked.len() - SHOWN));
    }
    if !already.is_empty() {
        lines.push(format!(
            "left out, {} already retried: {}{}",
            already.len(),
            already_words.join("; "),
            if already.len() > already_words.len() {
                "; …"
            } else {
                ""
            }
        ));
    }
    lines.push(
        "each is sent under a new id: its exact message when a copy is kept (the store's outbox, kombu's unacked), otherwise rebuilt from its name, args and kwargs as its events showed them (refused if they were cut off)".into(),
    );
    let typed_word = (orders.len() > 1).then(|| orders.len().to_string());
    ask(
        state,
        Order::Retry { tasks: orders },
        lines,
        typed_word,
        None,
    )
}

/// Why nothing is retried: nothing picked, or everything picked already retried.
fn nothing_to_retry(filter: &str, already: usize, words: &[String]) -> String {
    match (filter.trim().is_empty(), words.first()) {
        (_, Some(first)) if already == 1 => format!("refused: {first}; retry the newest instead"),
        (_, Some(_)) => format!(
            "refused: all {already} were already retried ({}, …); retry the newest instead",
            words.join("; ")
        ),
        (true, None) => {
            "no task selected: select one in the Tasks view, or :retry FILTER".to_string()
        }
        (false, None) => format!("no failed or revoked task matches `{}`", filter.trim()),
    }
}

/// The first `SHOWN` tasks a retry sends, as its confirmation lists them.
fn retry_lines(picked: &[&Task]) -> Vec<String> {
    picked
        .iter()
        .take(SHOWN)
        .map(|t| {
            format!(
                "{} [{}] {} {}",
                t.fields.name.as_deref().unwrap_or("task"),
                short_id(&t.uuid),
                tasks::shown_state(t),
                t.fields.args.as_deref().unwrap_or("")
            )
        })
        .collect()
}

/// The first few tasks already retried, each with the newest of its chain.
fn retried_words(state: &State, already: &[&Task]) -> Vec<String> {
    already
        .iter()
        .take(3)
        .map(|t| {
            format!(
                "{} [{}] already retried as [{}]",
                t.fields.name.as_deref().unwrap_or("task"),
                short_id(&t.uuid),
                short_id(state.retries.newest(&t.uuid))
            )
        })
        .collect()
}

/// The retry key: the selected task, from the Tasks view or its detail.
pub fn retry_key(state: &mut State) -> Outcome {
    retry(state, "")
}

fn retriable(t: &Task) -> bool {
    matches!(t.state, TaskEventKind::Failed | TaskEventKind::Revoked)
}

/// What a retry needs of a task: its name, args, kwargs and queue (its own, or its
/// agent's first).
fn order_of(state: &State, t: &Task) -> RetryOrder {
    let queue = t.fields.queue.clone().or_else(|| {
        t.agent
            .and_then(|i| state.agents.get(i))
            .and_then(|a| a.queues.first().cloned())
    });
    RetryOrder {
        task_id: t.uuid.clone(),
        name: t.fields.name.clone(),
        args: t.fields.args.clone(),
        kwargs: t.fields.kwargs.clone(),
        queue,
        pinned: None,
    }
}

fn inspect(state: &mut State, words: &[&str]) -> Outcome {
    let names = || {
        Inspect::NAMED
            .iter()
            .map(|m| m.method())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match words {
        // The selected worker's detail, asked now.
        [] => {
            if crate::app::views::workers::picked(state).is_none() {
                flash(
                    state,
                    Level::Warn,
                    "no worker selected: select one in the Workers view, or :inspect METHOD all"
                        .into(),
                );
                return Outcome::redraw();
            }
            state.ui.view = View::Workers;
            state.ui.mode = Mode::Normal;
            crate::app::views::workers::act(state, crate::config::keymap::Action::Zoom)
                .unwrap_or_default()
        }
        [method, "all"] => match Inspect::parse(method).filter(|m| *m != Inspect::QueryTask) {
            Some(method) => Outcome {
                redraw: true,
                effects: vec![Effect::InspectAll {
                    method,
                    known: online(state),
                }],
            },
            None => {
                flash(
                    state,
                    Level::Warn,
                    format!("not an inspect method; one of {}", names()),
                );
                Outcome::redraw()
            }
        },
        _ => {
            flash(
                state,
                Level::Warn,
                format!(
                    ":inspect (the selected worker's detail) or :inspect METHOD all; METHOD is one of {}",
                    names()
                ),
            );
            Outcome::redraw()
        }
    }
}

/// Opens the confirmation, unless the gate refuses at once (read-only refuses here; the
/// demo shows the dialog and refuses at `y`, as for a dispatch).
pub fn ask(
    state: &mut State,
    order: Order,
    lines: Vec<String>,
    typed_word: Option<String>,
    depth_of: Option<String>,
) -> Outcome {
    if let Some(no) = refused_early(state, order.act(), false) {
        return no;
    }
    let mut lines = lines;
    let effects = match (&depth_of, state.gate().demo) {
        (Some(queue), false) => vec![Effect::QueueDepths {
            queue: queue.clone(),
        }],
        (Some(queue), true) => {
            // The demo never reaches Redis, not even to read a depth.
            if let Some(first) = lines.first_mut() {
                *first = format!("waiting in {queue}: not read (the demo's queues are simulated)");
            }
            Vec::new()
        }
        _ => Vec::new(),
    };
    let from_detail = state.ui.mode == Mode::WorkerDetail;
    state.ui.mode = Mode::ConfirmOrder(Box::new(PendingOrder {
        order,
        lines,
        typed_word,
        typed: String::new(),
        wrong: None,
        depth_of,
        from_detail,
    }));
    Outcome {
        redraw: true,
        effects,
    }
}

pub fn confirm_key(state: &mut State, mut p: PendingOrder, key: KeyEvent) -> Outcome {
    // Back where the order was given: the worker's detail shows its answer.
    let back = if p.from_detail {
        Mode::WorkerDetail
    } else {
        Mode::Normal
    };
    let cancel = |state: &mut State, back: Mode| {
        state.ui.mode = back;
        flash(state, Level::Info, "cancelled: nothing was sent".into());
        Outcome::redraw()
    };
    let go = |state: &mut State, p: PendingOrder, back: Mode| {
        state.ui.mode = back;
        guarded(state, Effect::Order(Box::new(p.order)))
    };
    let word = p.typed_word.clone();
    match answer(word.as_deref(), &mut p.typed, &key) {
        Said::Yes => return go(state, p, back),
        Said::No => return cancel(state, back),
        Said::Mistyped => {
            p.wrong = Some(format!(
                "`{}` is not `{}`: type it exactly, or Esc",
                p.typed,
                word.unwrap_or_default()
            ))
        }
        Said::Typing => {}
        Said::Other if word.is_none() => return Outcome::default(),
        Said::Other => {}
    }
    state.ui.mode = Mode::ConfirmOrder(Box::new(p));
    Outcome::redraw()
}

/// A queue's depths arrived for the open purge or move dialog.
pub fn depths(
    state: &mut State,
    queue: &str,
    depths: Result<[u64; 4], crate::event::Failure>,
) -> Outcome {
    let Mode::ConfirmOrder(p) = &mut state.ui.mode else {
        return Outcome::default();
    };
    if p.depth_of.as_deref() != Some(queue) {
        return Outcome::default();
    }
    let said = match depths {
        Ok(n) => {
            let steps: Vec<String> = crate::platform::wire::PRIORITY_STEPS
                .iter()
                .zip(n)
                .map(|(s, c)| format!("priority {s}: {c}"))
                .collect();
            format!(
                "waiting in {queue}: {} ({})",
                n.iter().sum::<u64>(),
                steps.join(", ")
            )
        }
        Err(why) => format!("waiting in {queue}: unknown ({why})"),
    };
    if let Some(line) = p.lines.first_mut() {
        *line = said;
    }
    Outcome::redraw()
}

/// An order (or an inspect of every worker) finished: its summary in the status bar, each
/// worker's or task's line in the activity log.
pub fn ordered(
    state: &mut State,
    what: &str,
    outcome: Result<Vec<(bool, String)>, crate::event::Failure>,
) -> Outcome {
    let now = state.now;
    match outcome {
        Err(why) => {
            let level = match why {
                crate::event::Failure::Refused(_) => Level::Warn,
                crate::event::Failure::Failed(_) => Level::Error,
            };
            flash(state, level, format!("{what}: {why}"));
        }
        Ok(lines) => {
            let bad = lines.iter().filter(|(ok, _)| !ok).count();
            for (ok, line) in &lines {
                let level = if *ok { Level::Info } else { Level::Warn };
                log(state, now, level, "fleet", format!("{what}: {line}"));
            }
            // One line names its worker, queue or task itself.
            let text = match lines.as_slice() {
                [(_, one)] => one.clone(),
                _ if bad == 0 => format!("{what}: {} ok", lines.len()),
                _ => format!(
                    "{what}: {} of {} not ok (see the activity log)",
                    bad,
                    lines.len()
                ),
            };
            let level = if bad == 0 { Level::Info } else { Level::Warn };
            state
                .fleet_said
                .extend(lines.iter().map(|(ok, l)| (now, *ok, l.clone())));
            while state.fleet_said.len() > SAID_KEPT {
                state.fleet_said.pop_front();
            }
            state.flash = Some(Flash {
                text,
                level,
                at: now,
            });
        }
    }
    Outcome::redraw()
}
