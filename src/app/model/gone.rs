//! Tasks known to be gone although no Celery event says so. A purge removes what waits in a
//! queue without a word to anyone: the tasks this control room saw sent there and never
//! received stay "pending" for ever unless marked **purged**. A worker killed with tasks in
//! hand never reports them: once it has been away longer than the broker's visibility
//! timeout (when kombu would have handed its unacked messages back) and no one took them
//! again, they are **lost with worker X**. Any later event of a task clears the mark.

use chrono::{DateTime, Utc};

use crate::app::common::log;
use crate::app::state::State;
use crate::kept::Gone;
use crate::platform::model::{AuditNote, Level, TaskEventKind};

/// Purge announcements applied at most this many times a second.
pub const SCANS_PER_SEC: usize = 10;

/// An operator's purge, as a control room announced it on the audit channel (this one's
/// included): each task seen sent to that queue (and of that name, for a purge of one task
/// name) and never received is marked purged.
pub fn purged(state: &mut State, note: &AuditNote, at: DateTime<Utc>) {
    if note.action != "purge" || !note.outcome.starts_with("removed") {
        return;
    }
    let Some((queue, only)) = crate::orders::purge_of_words(&note.target) else {
        return;
    };
    // Anyone who can PUBLISH can announce a purge: each is a scan of the kept tasks, so at
    // most a few a second are applied; the rest are counted as shed.
    while state
        .purge_scans
        .front()
        .is_some_and(|t| at - *t >= chrono::Duration::seconds(1))
    {
        state.purge_scans.pop_front();
    }
    if state.purge_scans.len() >= SCANS_PER_SEC {
        state.counters.shed += 1;
        return;
    }
    state.purge_scans.push_back(at);
    let mut n = 0;
    for t in state.tasks.by_id.values_mut() {
        let waiting = t.state == TaskEventKind::Sent && t.gone.is_none() && !t.queued_locally;
        if waiting
            && t.fields.queue.as_deref() == Some(queue.as_str())
            && only
                .as_deref()
                .is_none_or(|name| t.fields.name.as_deref() == Some(name))
        {
            t.gone = Some(Gone::Purged {
                by: note.who.clone(),
            });
            n += 1;
        }
    }
    if n > 0 {
        log(
            state,
            at,
            Level::Info,
            "tasks",
            format!(
                "{n} task(s) waiting in {queue} marked purged (by {})",
                note.who
            ),
        );
    }
}

/// On the tick: each worker away longer than the visibility timeout settles once: the tasks
/// it had received or started, and that no one took again, are marked lost with it.
pub fn settle_lost(state: &mut State, now: DateTime<Utc>) {
    let timeout = state.policy.visibility_timeout;
    let due: Vec<String> = state
        .workers
        .values()
        .filter(|w| !w.online && !w.restored && !w.settled && now - w.last_heartbeat > timeout)
        .map(|w| w.hostname.clone())
        .collect();
    if due.is_empty() {
        return;
    }
    for h in &due {
        if let Some(w) = state.workers.get_mut(h) {
            w.settled = true;
        }
    }
    let mut n = 0;
    for t in state.tasks.by_id.values_mut() {
        if matches!(t.state, TaskEventKind::Received | TaskEventKind::Started)
            && t.gone.is_none()
            && due.contains(&t.worker)
        {
            t.gone = Some(Gone::LostWithWorker {
                worker: t.worker.clone(),
            });
            n += 1;
        }
    }
    if n > 0 {
        log(
            state,
            now,
            Level::Warn,
            "tasks",
            format!(
                "{n} task(s) lost with worker(s) {}: held when it went away, not handed back within the visibility timeout ({} s)",
                due.join(", "),
                timeout.num_seconds()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> AuditNote {
        AuditNote {
            instance: "elsewhere".into(),
            who: "mallory".into(),
            from: String::new(),
            action: "purge".into(),
            target: "purge thinking".into(),
            outcome: "removed 1+0+0+0".into(),
        }
    }

    #[test]
    fn a_flood_of_purge_announcements_costs_a_few_scans_a_second() {
        let km =
            crate::config::keymap::build("default", std::path::Path::new("/nonexistent"), vec![])
                .unwrap();
        let now = chrono::Utc::now();
        let mut state = State::new(&crate::config::Config::default(), km, now);
        let (t, _) = state.tasks.upsert("t1", |_| now);
        t.fields.queue = Some("thinking".into());
        for _ in 0..1_000 {
            purged(&mut state, &note(), now);
        }
        assert_eq!(state.purge_scans.len(), SCANS_PER_SEC);
        assert_eq!(state.counters.shed, 1_000 - SCANS_PER_SEC as u64);
        assert!(matches!(
            state.tasks.by_id["t1"].gone,
            Some(Gone::Purged { .. })
        ));
        // A second later, announcements are applied again.
        purged(&mut state, &note(), now + chrono::Duration::seconds(1));
        assert_eq!(state.purge_scans.len(), 1);
    }
}
