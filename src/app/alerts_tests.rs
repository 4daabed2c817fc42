//! The alert rules on the clock: pending, firing after `for`, resolved; flapping damped.

use crate::app::State;
use crate::app::state::MAX_WORKERS;
use crate::app::ui_state::View;
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::path::Path;

use crate::app::model::alerts::Change;
use crate::app::update;
use crate::config::Config;
use crate::config::keymap;
use crate::event::Event;
use crate::platform::model::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 22, 0, 0).unwrap()
}

fn state() -> State {
    let km = keymap::build("default", Path::new("/nonexistent"), vec![]).unwrap();
    let mut cfg = Config::default();
    cfg.ports.clear();
    State::new(&cfg, km, t0())
}

fn at(s: &mut State, secs: i64) {
    update(s, Event::Tick(t0() + Duration::seconds(secs)));
}

fn heartbeat(s: &mut State, host: &str, secs: i64) {
    update(
        s,
        Event::Feed {
            at: t0() + Duration::seconds(secs),
            item: Box::new(FeedItem::Celery(CeleryEvent::Worker(WorkerEvent {
                kind: WorkerEventKind::Heartbeat,
                hostname: host.into(),
                timestamp: (t0() + Duration::seconds(secs)).timestamp() as f64,
                freq: 2.0,
                active: 0,
                processed: 0,
                loadavg: [0.0; 3],
                sw_ver: None,
            }))),
        },
    );
}

fn queue_depth(s: &mut State, queue: &str, depth: u64) {
    update(
        s,
        Event::Feed {
            at: t0(),
            item: Box::new(FeedItem::Queues(vec![QueueSample {
                queue: queue.into(),
                depth,
                reserved: 0,
            }])),
        },
    );
}

fn firing(s: &State) -> Vec<(String, String)> {
    s.alerts
        .firing()
        .iter()
        .map(|a| (s.alerts.rules[a.rule].name.clone(), a.subject.clone()))
        .collect()
}

#[test]
fn a_worker_offline_fires_after_five_minutes_and_resolves_when_it_is_back() {
    let mut s = state();
    heartbeat(&mut s, "w1@h", 0);
    at(&mut s, 3);
    assert!(s.alerts.active.is_empty(), "online");
    // Offline after 4 s of silence (2 × freq): pending, not firing.
    at(&mut s, 60);
    assert_eq!(s.alerts.active.len(), 1);
    assert!(firing(&s).is_empty());
    at(&mut s, 60 + 299);
    assert!(firing(&s).is_empty(), "not yet: 299 s");
    at(&mut s, 60 + 300);
    assert_eq!(firing(&s)[0], ("worker offline".into(), "w1@h".into()));
    assert!(s.activity.lines.iter().any(|l| {
        l.level == Level::Error
            && l.message
                .starts_with("FIRING worker offline [critical]: w1@h")
    }));
    heartbeat(&mut s, "w1@h", 400);
    at(&mut s, 401);
    assert!(!firing(&s).iter().any(|(r, _)| r == "worker offline"));
    let changes: Vec<_> = s
        .alerts
        .history
        .iter()
        .filter(|r| r.rule == "worker offline")
        .map(|r| r.change)
        .collect();
    assert_eq!(changes, [Change::Fired, Change::Resolved]);
}

#[test]
fn a_condition_that_comes_and_goes_within_for_never_fires() {
    let mut s = state();
    heartbeat(&mut s, "w1@h", 0);
    for round in 0..5 {
        let base = round * 100;
        at(&mut s, base + 10); // offline
        heartbeat(&mut s, "w1@h", base + 50); // back
        at(&mut s, base + 51);
    }
    assert!(
        !s.alerts.history.iter().any(|r| r.rule == "worker offline"),
        "flapping is damped by `for`: {:?}",
        s.alerts.history
    );
}

#[test]
fn the_failure_ratio_is_per_task_name_over_its_window_once_enough_ended() {
    let mut s = state();
    let end = |s: &mut State, id: &str, name: &str, kind: TaskEventKind, secs: i64| {
        let fields = TaskFields {
            name: Some(name.into()),
            ..Default::default()
        };
        update(
            s,
            Event::Feed {
                at: t0() + Duration::seconds(secs),
                item: Box::new(FeedItem::Celery(CeleryEvent::Task(TaskEvent {
                    kind,
                    uuid: id.into(),
                    hostname: "w@h".into(),
                    timestamp: (t0() + Duration::seconds(secs)).timestamp() as f64,
                    fields,
                }))),
            },
        );
    };
    // 19 ended, 5 failed: under min_tasks (20), nothing.
    for i in 0..19 {
        let kind = if i < 5 {
            TaskEventKind::Failed
        } else {
            TaskEventKind::Succeeded
        };
        end(&mut s, &format!("a{i}"), "deploy", kind, 1);
    }
    // Another name, all fine.
    for i in 0..30 {
        end(
            &mut s,
            &format!("b{i}"),
            "plan",
            TaskEventKind::Succeeded,
            1,
        );
    }
    at(&mut s, 2);
    assert!(firing(&s).is_empty());
    end(&mut s, "a19", "deploy", TaskEventKind::Succeeded, 3);
    at(&mut s, 10);
    assert_eq!(firing(&s), [("task failure ratio".into(), "deploy".into())]);
    let a = s.alerts.firing()[0].detail.clone();
    assert_eq!(a, "5 of 20 failed in 10 min (25 %)");
    // Out of the window there is nothing to judge: it stays as it was, never resolved by
    // too small a sample.
    at(&mut s, 10 + 601);
    assert_eq!(firing(&s), [("task failure ratio".into(), "deploy".into())]);
    // Hovering just under the threshold (4.5 % of 5 %) is not enough to resolve: the
    // ratio must fall below 80 % of it. 1 failure and 21 successes: 4.5 %.
    end(&mut s, "c0", "deploy", TaskEventKind::Failed, 612);
    for i in 0..21 {
        end(
            &mut s,
            &format!("c{}", i + 1),
            "deploy",
            TaskEventKind::Succeeded,
            612,
        );
    }
    at(&mut s, 620);
    assert_eq!(firing(&s), [("task failure ratio".into(), "deploy".into())]);
    for i in 0..10 {
        end(
            &mut s,
            &format!("d{i}"),
            "deploy",
            TaskEventKind::Succeeded,
            621,
        );
    }
    at(&mut s, 630);
    assert!(firing(&s).is_empty(), "1 of 32 (3 %): resolved");
}

#[test]
fn a_backlog_and_stalled_task_events_each_fire_after_their_for() {
    let mut s = state();
    queue_depth(&mut s, "thinking", 150);
    at(&mut s, 1);
    let backlog = |s: &State| {
        s.alerts
            .active
            .values()
            .filter(|a| s.alerts.rules[a.rule].name == "queue backlog")
            .count()
    };
    assert_eq!(backlog(&s), 1, "pending for 20 min");
    at(&mut s, 1 + 1200);
    // No worker consumes it either: that fires too, after its own 2 min.
    assert_eq!(
        firing(&s),
        [
            ("queue unconsumed".into(), "thinking".into()),
            ("queue backlog".into(), "thinking".into())
        ]
    );
    // Task events stop while a worker is online and nothing waits: an idle platform is
    // quiet, not stalled.
    let mut s = state();
    heartbeat(&mut s, "w@h", 0);
    at(&mut s, 1);
    for t in (30..=300).step_by(30) {
        heartbeat(&mut s, "w@h", t);
        at(&mut s, t);
    }
    assert!(firing(&s).is_empty(), "idle is not stalled");
    // The same silence with work waiting: stalled after the 2 min window.
    let mut s = state();
    heartbeat(&mut s, "w@h", 0);
    queue_depth(&mut s, "thinking", 3);
    at(&mut s, 1);
    for t in (30..=150).step_by(30) {
        heartbeat(&mut s, "w@h", t);
    }
    at(&mut s, 119);
    assert!(firing(&s).is_empty());
    heartbeat(&mut s, "w@h", 122);
    at(&mut s, 122);
    assert_eq!(
        firing(&s),
        [("task events stalled".into(), "celery".into())]
    );
}

#[test]
fn the_bell_rings_once_per_alert_that_fires_only_when_asked_for() {
    let km = keymap::build("default", Path::new("/nonexistent"), vec![]).unwrap();
    let mut cfg = Config::default();
    cfg.ports.clear();
    cfg.ui.bell = true;
    let mut s = State::new(&cfg, km, t0());
    heartbeat(&mut s, "w1@h", 0);
    let rang = |s: &mut State, secs| {
        update(s, Event::Tick(t0() + Duration::seconds(secs)))
            .effects
            .contains(&crate::app::Effect::Bell)
    };
    assert!(!rang(&mut s, 60), "pending: no bell");
    assert!(rang(&mut s, 360), "fired: the bell");
    assert!(!rang(&mut s, 361), "once");
    // Off by default.
    let mut quiet = state();
    heartbeat(&mut quiet, "w1@h", 0);
    update(&mut quiet, Event::Tick(t0() + Duration::seconds(60)));
    assert!(
        !update(&mut quiet, Event::Tick(t0() + Duration::seconds(360)))
            .effects
            .contains(&crate::app::Effect::Bell)
    );
}

#[test]
fn only_a_firing_alert_is_acknowledged_and_the_ack_is_audited() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut s = state();
    heartbeat(&mut s, "w1@h", 0);
    at(&mut s, 60);
    s.ui.view = View::Alerts;
    let key = |s: &mut State, c| update(s, Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
    // Pending: refused in words, nothing audited.
    let out = key(&mut s, KeyCode::Char('a'));
    assert!(out.effects.is_empty());
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("only a firing alert")
    );
    at(&mut s, 360);
    let out = key(&mut s, KeyCode::Char('a'));
    assert_eq!(
        out.effects,
        vec![crate::app::Effect::Ack {
            target: "worker offline · w1@h".into()
        }]
    );
    assert_eq!(s.alerts.firing()[0].acked.as_deref(), Some("operator"));
}

#[test]
fn a_storm_fires_twenty_alerts_with_the_rest_folded_into_one() {
    let mut s = state();
    for i in 0..100 {
        heartbeat(&mut s, &format!("w{i:03}@h"), 0);
    }
    at(&mut s, 5);
    at(&mut s, 310);
    let fired = firing(&s);
    assert_eq!(
        fired.len(),
        crate::app::model::alerts::MAX_SUBJECTS,
        "{fired:?}"
    );
    let folded = s
        .alerts
        .firing()
        .into_iter()
        .find(|a| a.subject == crate::app::model::alerts::FOLDED)
        .expect("the rest folded into one");
    assert!(folded.detail.starts_with("81 more: "), "{}", folded.detail);
    // The named ones stay the same from tick to tick.
    let before = firing(&s);
    at(&mut s, 311);
    assert_eq!(firing(&s), before);
}

#[test]
fn a_fake_worker_with_an_endless_heartbeat_is_offline_after_two_minutes() {
    let mut s = state();
    update(
        &mut s,
        Event::Feed {
            at: t0(),
            item: Box::new(FeedItem::Celery(CeleryEvent::Worker(WorkerEvent {
                kind: WorkerEventKind::Online,
                hostname: "fake@x".into(),
                timestamp: t0().timestamp() as f64,
                freq: crate::platform::decode::heartbeat_period(Some(1e9)),
                active: 0,
                processed: 0,
                loadavg: [0.0; 3],
                sw_ver: None,
            }))),
        },
    );
    at(&mut s, 119);
    assert!(s.workers["fake@x"].online);
    at(&mut s, 121);
    assert!(!s.workers["fake@x"].online, "2 × 60 s at most");
}

#[test]
fn the_workers_map_stops_at_its_cap_and_counts_what_it_turns_away() {
    let mut s = state();
    for i in 0..MAX_WORKERS + 30 {
        heartbeat(&mut s, &format!("fake{i}@x"), 0);
    }
    assert_eq!(s.workers.len(), MAX_WORKERS);
    assert_eq!(s.counters.workers_turned_away, 30);
    // An offline one makes room for a newcomer.
    at(&mut s, 5);
    heartbeat(&mut s, "late@x", 5);
    assert!(s.workers.contains_key("late@x"));
}

fn redis_link(s: &mut State, secs: i64, up: bool) {
    at(s, secs);
    update(
        s,
        Event::Link {
            name: crate::event::links::REDIS.into(),
            health: if up {
                crate::event::LinkHealth::Up
            } else {
                crate::event::LinkHealth::Down {
                    why: "connection refused".into(),
                    retry_in: None,
                }
            },
        },
    );
}

#[test]
fn a_lost_feed_is_not_the_death_of_the_fleet() {
    let mut s = state();
    redis_link(&mut s, 0, true);
    heartbeat(&mut s, "w1@h", 0);
    redis_link(&mut s, 1, false);
    assert_eq!(s.feed_lost, Some(t0() + Duration::seconds(1)));
    for t in 2..400 {
        at(&mut s, t);
    }
    assert!(s.workers["w1@h"].online, "unknown, not offline");
    assert!(firing(&s).is_empty(), "no alert while nothing is heard");
    assert!(
        !s.activity
            .lines
            .iter()
            .any(|l| l.message.contains("offline")),
        "no state change is logged"
    );
    // Back: judged on live time from here, so a worker that died meanwhile goes offline
    // after 2 × freq of fresh silence, like any other.
    redis_link(&mut s, 400, true);
    assert_eq!(s.feed_lost, None);
    at(&mut s, 402);
    assert!(
        s.workers["w1@h"].online,
        "1 s of live silence before, 2 s after"
    );
    at(&mut s, 404);
    assert!(!s.workers["w1@h"].online, "now it is truly silent");
}
