//! The audit trail's writing: every action one record (in the store, and announced on the
//! audit channel for the other control rooms), the one dispatch path that audits what it
//! pushes, and the outbox's deliveries audited as records of their own.

use super::Context;
use super::dispatch::{self, Delivery};
use crate::clients::broker;
use crate::platform::wire::TaskRequest;
use crate::store::{AuditRecord, digest, now_ms, operator};

/// The one dispatch path, for the TUI and the `dispatch` command alike.
pub async fn dispatch_audited(
    ctx: &Context,
    agent: &str,
    req: &TaskRequest,
) -> Result<Delivery, crate::event::Failure> {
    // Built once: the bytes pushed are the bytes whose digest is audited.
    let entry = dispatch::entry(&ctx.target, req);
    let store = ctx.store.get().await;
    let outcome = dispatch::dispatch(&ctx.target, store.as_ref(), &entry, &req.queue).await;
    if let Ok(Delivery::QueuedLocally { .. }) = &outcome {
        ctx.outbox_wake.notify_one();
    }
    let said = match &outcome {
        Ok(Delivery::Sent) => "sent".to_string(),
        Ok(Delivery::AlreadySent) => "already sent".to_string(),
        Ok(Delivery::QueuedLocally { why }) => format!("queued locally ({why})"),
        Err(e) => format!("failed: {e}"),
    };
    let detail = format!(
        "id={} queue={} priority={} args={} kwargs={}",
        req.id,
        entry.queue_key.replace('\x06', "").replace('\x16', "/"),
        req.priority,
        req.args,
        req.kwargs
    );
    audit(
        ctx,
        "dispatch",
        &format!("{agent} {}", req.name),
        entry.message.as_bytes(),
        &said,
        &detail,
    )
    .await;
    outcome
        .map_err(|e| e.to_string())
        .map_err(crate::event::Failure::from)
}

/// One pass over the outbox, audited: each delivery is its own record, linked to its
/// dispatch by the task id and the message's digest (the same bytes), and an entry's first
/// failure is recorded too.
pub async fn drain_audited(
    ctx: &Context,
    store: &crate::store::Store,
) -> Result<dispatch::Drained, dispatch::DispatchError> {
    let drained = dispatch::drain_outbox(&ctx.target, store).await?;
    for (e, (_, fresh)) in drained.entries.iter().zip(&drained.delivered) {
        let outcome = if *fresh {
            format!(
                "delivered from the outbox after {} failed attempt(s)",
                e.attempts
            )
        } else {
            "delivered: found already in the queue".to_string()
        };
        audit(
            ctx,
            "deliver",
            &outbox_target(e),
            e.message.as_bytes(),
            &outcome,
            &outbox_detail(e),
        )
        .await;
    }
    if let Some((e, why)) = &drained.first_failure {
        audit(
            ctx,
            "deliver",
            &outbox_target(e),
            e.message.as_bytes(),
            &format!("failed: {why} (kept in the outbox, tried again)"),
            &outbox_detail(e),
        )
        .await;
    }
    Ok(drained)
}

/// An outbox entry's task name, as its message's headers carry it.
fn outbox_target(e: &crate::store::OutboxEntry) -> String {
    let name = serde_json::from_str::<serde_json::Value>(&e.message)
        .ok()
        .and_then(|m| m["headers"]["task"].as_str().map(String::from))
        .unwrap_or_else(|| "task".into());
    crate::sanitize::clean(&name, 200)
}

fn outbox_detail(e: &crate::store::OutboxEntry) -> String {
    let queued = chrono::DateTime::from_timestamp_millis(e.created_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    format!(
        "id={} queue={} queued locally at {queued}",
        e.task_id,
        e.queue_key.replace('\x06', "").replace('\x16', "/"),
    )
}

/// Records one action: in the store (if any) and on the audit channel (best effort: an
/// unreachable Redis must not stop the record being kept).
pub async fn audit(
    ctx: &Context,
    action: &str,
    target: &str,
    payload: &[u8],
    outcome: &str,
    detail: &str,
) {
    let (who, ssh_client) = operator();
    let record = AuditRecord {
        at_ms: now_ms(),
        who,
        ssh_client,
        action: action.into(),
        target: target.into(),
        digest: digest(payload),
        outcome: outcome.into(),
        detail: detail.into(),
        context: ctx.target.context.clone(),
    };
    if let Some(store) = ctx.store.get().await
        && let Err(e) = store.record(&record).await
    {
        tracing::error!("audit record not stored: {e}");
    }
    if ctx.gate.demo {
        // The configured Redis may be the real platform: the demo never publishes there.
        return;
    }
    let note = serde_json::json!({"instance": ctx.instance, "record": record});
    let publish = async {
        let mut conn = broker::connect(&ctx.redis_url).await.ok()?;
        redis::cmd("PUBLISH")
            .arg(&ctx.audit_channel)
            .arg(note.to_string())
            .query_async::<i64>(&mut conn)
            .await
            .ok()
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), publish).await;
}
