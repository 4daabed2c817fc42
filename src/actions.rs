//! Actions perform effects in their own tasks and report back as `Event::ActionDone`, so
//! the app loop never waits on the network.

use tokio::sync::mpsc::Sender;

use crate::app::Effect;
use crate::event::Event;
use crate::feeds::redis::control;

#[derive(Debug, Clone)]
pub struct Context {
    pub redis_url: String,
    pub pidbox_channel: String,
    pub read_only: bool,
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
        return Some(Event::ActionDone {
            what: "action".into(),
            outcome: Err("refused: --read-only".into()),
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
            tracing::info!(%task_id, terminate, "revoke");
            let outcome =
                control::revoke(&ctx.redis_url, &ctx.pidbox_channel, &task_id, terminate).await;
            Some(Event::ActionDone { what, outcome })
        }
    }
}
