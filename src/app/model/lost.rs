//! The judgement on this control room's quiet dispatches (see `watch`, the list it keeps):
//! with task events flowing, one nobody has reported for `lost_after` is looked for in
//! Redis; where it was found decides what is said, and whether it is pushed again. Pure:
//! the lookups and pushes are effects, and the push passes the one gate.

use chrono::{DateTime, Duration, Utc};

use crate::app::common::{Outcome, guarded};
use crate::app::effect::Effect;
use crate::app::model::own_dispatches::REDELIVER_MAX;
use crate::app::state::State;

/// With task events flowing (a worker that ran a dispatch would have said so), each
/// dispatch that has been quiet for `lost_after` is looked for. Without them, silence means
/// nothing and nothing is judged.
pub fn look(state: &mut State, now: DateTime<Utc>) -> Vec<Effect> {
    let flowing = state
        .last_task_event
        .is_some_and(|at| now - at < Duration::minutes(5));
    if !flowing || state.session.read_only {
        return Vec::new();
    }
    let after = state.policy.lost_after;
    state
        .own_dispatches
        .due(now, after)
        .into_iter()
        .map(|(_, request)| Effect::Locate { request })
        .collect()
}

/// Where a quiet dispatch was found, and what follows from it.
pub fn located(state: &mut State, task_id: &str, place: crate::event::Place) -> Outcome {
    use crate::app::common::{log, short_id};
    use crate::event::Place;
    use crate::platform::model::Level;
    let now = state.now;
    // The gate (demo, read-only) is asked here only to choose the words; the effect itself
    // still passes `guarded` below, like every other.
    let redeliver =
        state.policy.redeliver_lost && state.gate().check(crate::gate::Act::Redeliver).is_ok();
    let Some(w) = state.own_dispatches.again(task_id, now) else {
        // Reported by a worker while it was being looked for.
        return Outcome::default();
    };
    let label = format!("{} [{}] to {}", w.request.name, short_id(task_id), w.agent);
    let (agent, request) = (w.agent.clone(), w.request.clone());
    let (level, message, effects) = match place {
        // A backlog, or Redis unreachable: ask again later.
        Place::Queued | Place::Unknown(_) => return Outcome::default(),
        Place::Unacked if w.told_unacked => return Outcome::default(),
        Place::Unacked => {
            w.told_unacked = true;
            (
                Level::Warn,
                format!(
                    "{label}: a worker took it and lost Redis before acking; kombu hands it back after the broker's visibility timeout (an hour unless the platform lowered it)"
                ),
                Vec::new(),
            )
        }
        Place::Nowhere if redeliver && w.redelivered < REDELIVER_MAX => {
            w.redelivered += 1;
            let n = w.redelivered;
            (
                Level::Warn,
                format!(
                    "{label}: no worker has reported it and it is neither queued nor held unacked: lost in the broker; pushing it again, same id (celery.redeliver_lost, {n} of {REDELIVER_MAX})"
                ),
                vec![Effect::Redeliver { agent, request }],
            )
        }
        Place::Nowhere => {
            state.own_dispatches.forget(task_id);
            if let Some(t) = state.tasks.by_id.get_mut(task_id) {
                t.lost = true;
            }
            (
                Level::Error,
                format!(
                    "{label}: no worker has reported it and it is neither queued nor held unacked: a worker popped it as Redis died, or it ran while the events were lost. Dispatch it again if it did not run"
                ),
                Vec::new(),
            )
        }
    };
    log(state, now, level, "dispatch", message);
    let mut out = Outcome::redraw();
    for effect in effects {
        out.effects.extend(guarded(state, effect).effects);
    }
    out
}
