//! Actions perform effects in their own tasks and report back as events, so the app loop
//! never waits on the network. Every dangerous action leaves one audit record, in the store
//! and on the `chavion:audit` channel, where every other operator's control room shows it.

pub mod dispatch;

use tokio::sync::mpsc::Sender;

use crate::app::Effect;
use crate::event::Event;
use crate::feeds::redis::{control, sampler};
use crate::feeds::wire::TaskRequest;
use crate::store::{AuditRecord, Store, digest, now_ms, operator};
use dispatch::Delivery;

#[derive(Clone)]
pub struct Context {
    pub redis_url: String,
    pub pidbox_channel: String,
    pub audit_channel: String,
    pub read_only: bool,
    pub target: dispatch::Target,
    pub store: Option<Store>,
    /// This control room, so it can tell its own audit broadcasts from other operators'.
    pub instance: String,
}

pub fn spawn(effect: Effect, ctx: Context, tx: Sender<Event>) {
    tokio::spawn(async move {
        if let Some(done) = perform(effect, &ctx).await {
            let _ = tx.send(done).await;
        }
    });
}

pub async fn perform(effect: Effect, ctx: &Context) -> Option<Event> {
    // `update` already refuses these under --read-only; this is the second lock on the door.
    if ctx.read_only && effect.is_dangerous() {
        let why = "refused: chavion-tui was started with --read-only".to_string();
        audit(ctx, effect_name(&effect), "", b"", &why, "").await;
        return Some(Event::ActionDone {
            what: effect_name(&effect).into(),
            outcome: Err(why),
        });
    }
    match effect {
        Effect::Quit => None,
        Effect::Revoke { task_id, terminate } => {
            let what = format!(
                "{} {}",
                if terminate { "terminate" } else { "revoke" },
                crate::app::update::short_id(&task_id)
            );
            let outcome =
                control::revoke(&ctx.redis_url, &ctx.pidbox_channel, &task_id, terminate).await;
            let payload = format!("{task_id} terminate={terminate}");
            audit(
                ctx,
                if terminate { "terminate" } else { "revoke" },
                &task_id,
                payload.as_bytes(),
                &words(&outcome),
                "",
            )
            .await;
            Some(Event::ActionDone { what, outcome })
        }
        Effect::Dispatch { agent, request } => {
            let outcome = dispatch_audited(ctx, &agent, &request).await;
            Some(Event::Dispatched {
                agent,
                request: Box::new(request),
                outcome,
            })
        }
    }
}

fn effect_name(e: &Effect) -> &'static str {
    match e {
        Effect::Quit => "quit",
        Effect::Revoke {
            terminate: true, ..
        } => "terminate",
        Effect::Revoke { .. } => "revoke",
        Effect::Dispatch { .. } => "dispatch",
    }
}

fn words(outcome: &Result<String, String>) -> String {
    match outcome {
        Ok(m) => m.clone(),
        Err(e) => format!("failed: {e}"),
    }
}

/// The one dispatch path, for the TUI and the `dispatch` command alike.
pub async fn dispatch_audited(
    ctx: &Context,
    agent: &str,
    req: &TaskRequest,
) -> Result<Delivery, String> {
    let entry = dispatch::entry(&ctx.target, req);
    let outcome = dispatch::dispatch(&ctx.target, ctx.store.as_ref(), req).await;
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
    };
    if let Some(store) = &ctx.store
        && let Err(e) = store.record(&record).await
    {
        tracing::error!("audit record not stored: {e}");
    }
    let note = serde_json::json!({"instance": ctx.instance, "record": record});
    let publish = async {
        let mut conn = sampler::connect(&ctx.redis_url).await.ok()?;
        redis::cmd("PUBLISH")
            .arg(&ctx.audit_channel)
            .arg(note.to_string())
            .query_async::<i64>(&mut conn)
            .await
            .ok()
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), publish).await;
}
