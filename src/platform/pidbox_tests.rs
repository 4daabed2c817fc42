//! Every reply captured from celery 5.7.0 (tests/fixtures/pidbox/) is parsed.

use serde_json::{Value, json};

use super::pidbox::*;

/// (request body, replies) of one capture: each reply is `{"HOSTNAME": said}`.
fn capture(method: &str) -> (Value, Vec<(String, Value)>) {
    let path = format!(
        "{}/tests/fixtures/pidbox/{method}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let mut request = Value::Null;
    let mut replies = Vec::new();
    for line in text.lines() {
        if let Some(body) = line.strip_prefix("request ") {
            request = serde_json::from_str(body).unwrap();
        } else if let Some(body) = line.strip_prefix("reply ") {
            let v: Value = serde_json::from_str(body).unwrap();
            for (host, said) in v.as_object().unwrap() {
                replies.push((host.clone(), said.clone()));
            }
        }
    }
    (request, replies)
}

/// The detail of whichever captured worker said something non-empty (the capture's workers
/// share the tasks as their prefetch falls).
fn busiest(method: Inspect, held: impl Fn(&WorkerDetail) -> usize) -> WorkerDetail {
    ["thinking@localhost", "plain@localhost"]
        .into_iter()
        .map(|h| detail_of(method, h))
        .max_by_key(|d| held(d))
        .unwrap()
}

fn detail_of(method: Inspect, host: &str) -> WorkerDetail {
    let (_, replies) = capture(method.method());
    let said = &replies.iter().find(|(h, _)| h == host).unwrap().1;
    let mut d = WorkerDetail::default();
    d.apply(method, said);
    d
}

#[test]
fn the_captured_requests_are_the_methods_we_send() {
    for m in Inspect::NAMED.into_iter().chain([Inspect::QueryTask]) {
        let (req, _) = capture(m.method());
        assert_eq!(req["method"], m.method());
        assert_eq!(req["reply_to"]["exchange"], "reply.celery.pidbox");
    }
    let (req, _) = capture("rate_limit");
    let ours = Control::RateLimit {
        task: "thinking.add".into(),
        rate: "10/m".into(),
    };
    assert_eq!(req["arguments"], ours.arguments());
    let (req, _) = capture("time_limit");
    assert_eq!(req["arguments"]["task_name"], "thinking.sleep");
    assert_eq!(req["arguments"]["soft"], 1);
    assert_eq!(req["arguments"]["hard"], 2);
    let (req, _) = capture("autoscale");
    assert_eq!(
        req["arguments"],
        Control::Autoscale { max: 3, min: 1 }.arguments()
    );
    let (req, _) = capture("pool_grow");
    assert_eq!(req["arguments"], Control::PoolGrow(1).arguments());
}

#[test]
fn stats_gives_the_pool_the_broker_and_the_usage() {
    let d = detail_of(Inspect::Stats, "thinking@localhost");
    assert_eq!(d.pool, "celery.concurrency.prefork:TaskPool");
    assert!(d.concurrency.is_some());
    assert!(!d.processes.is_empty());
    assert_eq!(d.max_tasks_per_child, "N/A");
    assert_eq!(d.autoscale.map(|(max, min, _)| (max, min)), Some((3, 1)));
    assert!(d.prefetch.is_some());
    assert!(d.broker.starts_with("redis://127.0.0.1:"), "{}", d.broker);
    assert!(d.uptime_s.is_some() && d.pid.is_some());
    assert!(d.rusage.is_some_and(|(u, _, rss)| u > 0.0 && rss > 0));
    let plain = detail_of(Inspect::Stats, "plain@localhost");
    assert_eq!(plain.autoscale, None);
    assert_eq!(plain.totals, vec![("thinking.sleep".to_string(), 1)]);
}

#[test]
fn queues_registered_conf_and_the_held_tasks_are_read() {
    let q = detail_of(Inspect::ActiveQueues, "thinking@localhost");
    assert_eq!(
        q.queues,
        vec![Consumed {
            name: "thinking".into(),
            exchange: "thinking".into(),
            routing_key: "thinking".into()
        }]
    );
    let r = detail_of(Inspect::Registered, "thinking@localhost");
    assert!(r.registered.iter().any(|(n, _)| n == "thinking.add"));
    let c = detail_of(Inspect::Conf, "thinking@localhost");
    assert!(
        c.conf
            .iter()
            .any(|(k, v)| k == "task_default_queue" && v == "thinking")
    );
    let a = busiest(Inspect::Active, |d| d.active.len());
    assert_eq!(a.active.len(), 1);
    assert_eq!(a.active[0].name, "thinking.sleep");
    assert!(a.active[0].started.is_some() && a.active[0].worker_pid.is_some());
    let s = busiest(Inspect::Scheduled, |d| d.scheduled.len());
    assert_eq!(s.scheduled.len(), 1);
    assert_eq!(s.scheduled[0].name, "thinking.add");
    assert!(
        s.scheduled[0]
            .eta
            .as_deref()
            .is_some_and(|e| e.starts_with("20"))
    );
    let v = detail_of(Inspect::Revoked, "plain@localhost");
    assert_eq!(v.revoked, vec!["11111111-1111-1111-1111-111111111111"]);
    let rs = detail_of(Inspect::Reserved, "plain@localhost");
    assert!(rs.reserved.is_empty() && rs.answered == vec![Inspect::Reserved]);
}

#[test]
fn registered_entries_carry_their_limits() {
    assert_eq!(
        registered_entry("thinking.add [rate_limit=10/m time_limit=5]"),
        ("thinking.add".into(), "rate_limit=10/m time_limit=5".into())
    );
    assert_eq!(registered_entry("a.b"), ("a.b".into(), String::new()));
}

#[test]
fn control_answers_are_ok_or_refused_and_the_silent_are_named() {
    let (_, replies) = capture("pool_grow");
    let everyone = [
        "thinking@localhost".to_string(),
        "plain@localhost".into(),
        "gone@h".into(),
    ];
    let roll = Roll::of(&replies, &everyone);
    let of = |w: &str| roll.answers.iter().find(|(h, _)| h == w).unwrap().1.clone();
    assert_eq!(of("plain@localhost"), Answer::Ok("pool will grow".into()));
    assert!(matches!(of("thinking@localhost"), Answer::Refused(e) if e.contains("autoscale")));
    assert_eq!(roll.silent, vec!["gone@h"]);
    assert!(!roll.all_ok());
    let words = roll.words(3);
    assert!(
        words.contains("gone@h did not answer within 3 s"),
        "{words}"
    );
    let (_, restart) = capture("pool_restart");
    assert!(
        Roll::of(&restart, &[])
            .answers
            .iter()
            .all(|(_, a)| matches!(a, Answer::Refused(e) if e.contains("not enabled")))
    );
    let (_, shut) = capture("shutdown");
    assert!(
        shut.is_empty(),
        "a worker told to shut down does not answer"
    );
    assert_eq!(Roll::of(&[], &[]).words(3), "no worker answered within 3 s");
}

#[test]
fn a_reply_cannot_smuggle_escapes_onto_the_screen() {
    let said = json!({"error": "bad\u{1b}[2Jthing"});
    let Answer::Refused(e) = Answer::of(&said) else {
        panic!()
    };
    assert!(!e.contains('\u{1b}'), "{e:?}");
    let mut d = WorkerDetail::default();
    d.apply(
        Inspect::ActiveQueues,
        &json!([{"name": "q\u{7}\u{1b}]0;x", "exchange": {"name": "e"}, "routing_key": "r"}]),
    );
    assert!(d.queues[0].name.chars().all(|c| !c.is_control()));
}

#[test]
fn commands_a_worker_would_misread_are_refused_in_words() {
    let bad = [
        Control::PoolGrow(0),
        Control::Autoscale { max: 1, min: 2 },
        Control::AddConsumer("two words".into()),
        Control::RateLimit {
            task: "t".into(),
            rate: "fast".into(),
        },
        Control::RateLimit {
            task: "t".into(),
            rate: "10/d".into(),
        },
        Control::TimeLimit {
            task: "t".into(),
            soft: 10.0,
            hard: 5.0,
        },
    ];
    for c in bad {
        assert!(c.check().is_err(), "{c:?}");
    }
    for c in [
        Control::PoolShrink(2),
        Control::RateLimit {
            task: "thinking.add".into(),
            rate: "10/m".into(),
        },
        Control::RateLimit {
            task: "t".into(),
            rate: "0".into(),
        },
        Control::TimeLimit {
            task: "t".into(),
            soft: 1.0,
            hard: 2.0,
        },
    ] {
        assert_eq!(c.check(), Ok(()), "{c:?}");
    }
}
