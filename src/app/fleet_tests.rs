//! The fleet's rooms, pure: the task filter's grammar, the task detail's links and
//! timeline, the worker selection and detail refresh, and the orders' aim and confirmation.

use crate::app::State;
use crate::app::ui_state::{Mode, PendingOrder, View};
use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;

use crate::app::model::tasks::{Filter, links, timeline};
use crate::app::{Effect, update};
use crate::config::Config;
use crate::config::keymap;
use crate::event::Event;
use crate::orders::{Aim, Order};
use crate::platform::model::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 22, 0, 0).unwrap()
}

fn state() -> State {
    let km = keymap::build("default", Path::new("/nonexistent"), vec![]).unwrap();
    State::new(&Config::default(), km, t0())
}

fn key(s: &mut State, c: KeyCode) -> crate::app::Outcome {
    update(s, Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        key(s, KeyCode::Char(c));
    }
}

fn command(s: &mut State, line: &str) -> crate::app::Outcome {
    key(s, KeyCode::Char(':'));
    typed(s, line);
    key(s, KeyCode::Enter)
}

fn task(s: &mut State, kind: TaskEventKind, uuid: &str, at: f64, fields: TaskFields) {
    update(
        s,
        Event::Feed {
            at: t0(),
            item: Box::new(FeedItem::Celery(CeleryEvent::Task(TaskEvent {
                kind,
                uuid: uuid.into(),
                hostname: "w1@h".into(),
                timestamp: at,
                fields,
            }))),
        },
    );
}

fn worker(s: &mut State, host: &str) {
    update(
        s,
        Event::Feed {
            at: t0(),
            item: Box::new(FeedItem::Celery(CeleryEvent::Worker(WorkerEvent {
                kind: WorkerEventKind::Online,
                hostname: host.into(),
                timestamp: t0().timestamp() as f64,
                freq: 2.0,
                active: 0,
                processed: 0,
                loadavg: [0.0; 3],
                sw_ver: None,
            }))),
        },
    );
}

fn received(name: &str, args: &str, kwargs: &str) -> TaskFields {
    TaskFields {
        name: Some(name.into()),
        args: Some(args.into()),
        kwargs: Some(kwargs.into()),
        ..TaskFields::default()
    }
}

fn ids(s: &State, filter: &str) -> Vec<String> {
    let f = Filter::parse(filter, s.now, true).unwrap();
    let mut out: Vec<String> = s
        .tasks
        .by_id
        .values()
        .filter(|t| f.matches(s, t))
        .map(|t| t.uuid.clone())
        .collect();
    out.sort();
    out
}

#[test]
fn the_filter_reaches_args_kwargs_results_exceptions_times_with_not_and_or() {
    let mut s = state();
    let base = t0().timestamp() as f64;
    task(
        &mut s,
        TaskEventKind::Received,
        "a",
        base - 3600.0,
        received("deploy", "('web', 3)", "{'env': 'prod', 'force': True}"),
    );
    task(
        &mut s,
        TaskEventKind::Received,
        "b",
        base - 60.0,
        received("deploy", "('api', 1)", "{'env': 'staging'}"),
    );
    task(
        &mut s,
        TaskEventKind::Received,
        "c",
        base - 30.0,
        received("plan", "()", "{}"),
    );
    task(
        &mut s,
        TaskEventKind::Succeeded,
        "c",
        base - 29.0,
        TaskFields {
            result: Some("'ok: 42'".into()),
            ..Default::default()
        },
    );
    task(
        &mut s,
        TaskEventKind::Failed,
        "b",
        base - 50.0,
        TaskFields {
            exception: Some("TimeoutError('api')".into()),
            ..Default::default()
        },
    );
    assert_eq!(ids(&s, "args:web"), ["a"]);
    assert_eq!(ids(&s, "kwargs:env=prod"), ["a"]);
    assert_eq!(ids(&s, "kwargs:ENV=staging"), ["b"]);
    assert_eq!(ids(&s, "kwargs:force=true"), ["a"]);
    assert!(ids(&s, "kwargs:env=dev").is_empty());
    assert_eq!(ids(&s, "result:42"), ["c"]);
    assert_eq!(ids(&s, "exception:timeout"), ["b"]);
    assert_eq!(ids(&s, "!state:success"), ["a", "b"]);
    assert_eq!(ids(&s, "name:plan OR exception:timeout"), ["b", "c"]);
    assert_eq!(ids(&s, "deploy !args:api"), ["a"]);
    assert_eq!(ids(&s, "received:<-15m"), ["a"]);
    assert_eq!(ids(&s, "received:>-15m"), ["b", "c"]);
    assert_eq!(
        ids(&s, "received:>21:30"),
        ["b", "c"],
        "21:30 UTC on the screen's clock"
    );
    assert_eq!(ids(&s, "prod"), ["a"], "a bare word reaches the kwargs");
    for (bad, says) in [
        ("colour:red", "is not a field"),
        ("received:14:05", "say > or <"),
        ("received:>soon", "expected HH:MM"),
        ("OR state:fail", "OR needs a term"),
        ("state:fail OR", "OR needs a term"),
        ("!", "needs a term"),
        ("kwargs:=x", "needs a key"),
        ("state:", "needs a value"),
    ] {
        let why = Filter::parse(bad, s.now, true).unwrap_err();
        assert!(why.0.contains(says), "{bad}: {why}");
    }
}

#[test]
fn a_malformed_filter_is_said_and_not_applied() {
    let mut s = state();
    key(&mut s, KeyCode::Char('t'));
    key(&mut s, KeyCode::Char('/'));
    typed(&mut s, "colour:red");
    key(&mut s, KeyCode::Enter);
    assert_eq!(
        s.ui.mode,
        Mode::Filter("colour:red".into()),
        "the prompt stays open"
    );
    assert!(s.ui.filter.is_empty());
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("`colour:` is not a field")
    );
}

#[test]
fn the_task_detail_shows_a_timeline_and_walks_the_workflow() {
    let mut s = state();
    let base = t0().timestamp() as f64;
    let root = TaskFields {
        name: Some("plan".into()),
        sending: Some(Box::new(Sending {
            root_id: Some("root".into()),
            ..Default::default()
        })),
        ..Default::default()
    };
    task(&mut s, TaskEventKind::Received, "root", base - 10.0, root);
    task(
        &mut s,
        TaskEventKind::Started,
        "root",
        base - 9.0,
        TaskFields::default(),
    );
    task(
        &mut s,
        TaskEventKind::Succeeded,
        "root",
        base - 8.0,
        TaskFields::default(),
    );
    for child in ["kid1", "kid2"] {
        let f = TaskFields {
            name: Some("step".into()),
            sending: Some(Box::new(Sending {
                root_id: Some("root".into()),
                parent_id: Some("root".into()),
                eta: Some("2026-11-23T22:05:00+00:00".into()),
                ..Default::default()
            })),
            ..Default::default()
        };
        task(&mut s, TaskEventKind::Received, child, base - 7.0, f);
    }
    let t = &s.tasks.by_id["root"];
    let kinds: Vec<_> = timeline(t).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        [
            TaskEventKind::Received,
            TaskEventKind::Started,
            TaskEventKind::Succeeded
        ]
    );
    let l = links(&s, t);
    assert_eq!(l, [("child", "kid1"), ("child", "kid2")]);
    assert_eq!(
        links(&s, &s.tasks.by_id["kid2"]),
        [("root", "root"), ("parent", "root")]
    );
    // From the Tasks view: open root's detail, select its second child, Enter opens it.
    key(&mut s, KeyCode::Char('t'));
    s.ui.task_pick = Some("root".into());
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.ui.mode, Mode::Detail);
    key(&mut s, KeyCode::Tab);
    key(&mut s, KeyCode::Tab);
    assert_eq!(s.ui.detail_link, Some(1));
    key(&mut s, KeyCode::Enter);
    assert_eq!(
        (s.ui.mode.clone(), s.ui.task_pick.as_deref()),
        (Mode::Detail, Some("kid2"))
    );
    // Its parent, back.
    key(&mut s, KeyCode::Tab);
    key(&mut s, KeyCode::Tab);
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.ui.task_pick.as_deref(), Some("root"));
    // With no link selected, Enter closes.
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.ui.mode, Mode::Normal);
}

#[test]
fn the_worker_detail_asks_on_open_every_five_seconds_and_never_while_closed() {
    let mut s = state();
    worker(&mut s, "a@h");
    worker(&mut s, "b@h");
    // Nobody looks: nothing is asked, whatever the clock does.
    let out = update(&mut s, Event::Tick(t0() + Duration::seconds(30)));
    assert!(
        !out.effects
            .iter()
            .any(|e| matches!(e, Effect::Inspect { .. }))
    );
    key(&mut s, KeyCode::Char('w'));
    assert_eq!(s.ui.worker_pick.as_deref(), Some("a@h"));
    key(&mut s, KeyCode::Down);
    let out = key(&mut s, KeyCode::Enter);
    assert_eq!(
        out.effects,
        vec![Effect::Inspect {
            worker: "b@h".into()
        }]
    );
    // A question is out: no second one on the next tick or on `r`.
    assert!(key(&mut s, KeyCode::Char('r')).effects.is_empty());
    update(
        &mut s,
        Event::Inspected {
            worker: "b@h".into(),
            outcome: Err("did not answer within 3 s".into()),
        },
    );
    assert!(
        s.activity
            .lines
            .iter()
            .any(|l| l.message == "worker b@h: did not answer within 3 s")
    );
    let soon = update(&mut s, Event::Tick(t0() + Duration::seconds(33)));
    assert!(soon.effects.is_empty(), "asked under 5 s ago");
    let later = update(&mut s, Event::Tick(t0() + Duration::seconds(36)));
    assert_eq!(
        later.effects,
        vec![Effect::Inspect {
            worker: "b@h".into()
        }]
    );
    update(
        &mut s,
        Event::Inspected {
            worker: "b@h".into(),
            outcome: Ok(Box::default()),
        },
    );
    assert!(s.inspected["b@h"].at.is_some() && s.inspected["b@h"].error.is_none());
    // Closed: the clock asks nothing more.
    key(&mut s, KeyCode::Esc);
    let out = update(&mut s, Event::Tick(t0() + Duration::seconds(60)));
    assert!(
        !out.effects
            .iter()
            .any(|e| matches!(e, Effect::Inspect { .. }))
    );
}

fn pending(s: &State) -> &PendingOrder {
    match &s.ui.mode {
        Mode::ConfirmOrder(p) => p,
        other => panic!("no confirmation: {other:?}"),
    }
}

#[test]
fn an_order_goes_to_the_selected_worker_or_to_all_only_when_said() {
    let mut s = state();
    worker(&mut s, "a@h");
    worker(&mut s, "b@h");
    // No worker selected yet: refused in words.
    command(&mut s, "pool grow 2");
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("no worker selected")
    );
    key(&mut s, KeyCode::Char('w'));
    key(&mut s, KeyCode::Down);
    command(&mut s, "pool grow 2");
    let p = pending(&s);
    assert_eq!(
        p.order,
        Order::Control {
            cmd: crate::platform::pidbox::Control::PoolGrow(2),
            aim: Aim::Worker("b@h".into())
        }
    );
    // The selection moves while the dialog is open: the order keeps its aim.
    s.ui.worker_pick = Some("a@h".into());
    let out = key(&mut s, KeyCode::Char('y'));
    let Some(Effect::Order(o)) = out.effects.first() else {
        panic!("{:?}", out.effects)
    };
    assert!(matches!(&**o, Order::Control { aim: Aim::Worker(w), .. } if w == "b@h"));
    command(&mut s, "ratelimit thinking.add 10/m all");
    assert!(
        matches!(&pending(&s).order, Order::Control { aim: Aim::All { known }, .. } if known.len() == 2)
    );
    key(&mut s, KeyCode::Esc);
    command(&mut s, "ratelimit thinking.add fast");
    assert!(s.flash.as_ref().unwrap().text.contains("is not a rate"));
    command(&mut s, "pool grow");
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains(":pool grow|shrink N")
    );
}

#[test]
fn purge_move_shutdown_and_bulk_retry_want_a_word_typed() {
    let mut s = state();
    worker(&mut s, "a@h");
    key(&mut s, KeyCode::Char('w'));
    command(&mut s, "shutdown");
    assert_eq!(pending(&s).typed_word.as_deref(), Some("a@h"));
    assert!(
        key(&mut s, KeyCode::Char('y')).effects.is_empty(),
        "y is not enough"
    );
    key(&mut s, KeyCode::Esc);
    let out = command(&mut s, "purge thinking");
    assert_eq!(
        out.effects,
        vec![Effect::QueueDepths {
            queue: "thinking".into()
        }]
    );
    assert_eq!(pending(&s).typed_word.as_deref(), Some("thinking"));
    update(
        &mut s,
        Event::QueueDepths {
            queue: "thinking".into(),
            depths: Ok([5, 0, 2, 0]),
        },
    );
    assert_eq!(
        pending(&s).lines[0],
        "waiting in thinking: 7 (priority 0: 5, priority 3: 0, priority 6: 2, priority 9: 0)"
    );
    typed(&mut s, "thinkin");
    assert!(key(&mut s, KeyCode::Enter).effects.is_empty());
    assert!(pending(&s).wrong.is_some());
    typed(&mut s, "g");
    let out = key(&mut s, KeyCode::Enter);
    assert!(
        matches!(out.effects.first(), Some(Effect::Order(o)) if matches!(&**o, Order::Purge { queue, task: None } if queue == "thinking"))
    );
    command(&mut s, "move a a");
    assert!(s.flash.as_ref().unwrap().text.contains("into itself"));
    // Bulk retry: failed tasks only, the count typed.
    let base = t0().timestamp() as f64;
    for i in 0..7 {
        let id = format!("f{i}");
        task(
            &mut s,
            TaskEventKind::Received,
            &id,
            base,
            received("deploy", "(1,)", "{}"),
        );
        task(
            &mut s,
            TaskEventKind::Failed,
            &id,
            base,
            TaskFields::default(),
        );
    }
    task(
        &mut s,
        TaskEventKind::Received,
        "ok1",
        base,
        received("deploy", "(1,)", "{}"),
    );
    task(
        &mut s,
        TaskEventKind::Succeeded,
        "ok1",
        base,
        TaskFields::default(),
    );
    command(&mut s, "retry name:deploy");
    let p = pending(&s);
    let Order::Retry { tasks } = &p.order else {
        panic!()
    };
    assert_eq!(tasks.len(), 7, "the succeeded one is not retried");
    assert_eq!(p.typed_word.as_deref(), Some("7"));
    assert!(p.lines.iter().any(|l| l == "… and 2 more"));
    key(&mut s, KeyCode::Esc);
    command(&mut s, "retry name:nothing");
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("no failed or revoked task matches")
    );

    // Issue 27: once f0 was retried as f1 (and f1 failed too), a bulk retry sends f1 only.
    update(
        &mut s,
        Event::Retried {
            what: "retry".into(),
            lines: vec![(true, "f0 → f1".into())],
            links: vec![("f0".into(), "f1".into())],
        },
    );
    command(&mut s, "retry name:deploy");
    let p = pending(&s);
    let Order::Retry { tasks } = &p.order else {
        panic!()
    };
    assert_eq!(tasks.len(), 6, "f0 is left out");
    assert!(tasks.iter().all(|t| t.task_id != "f0"));
    assert!(
        p.lines
            .iter()
            .any(|l| l.contains("left out, 1 already retried: deploy [f0] already retried as [f1]")),
        "{:?}",
        p.lines
    );
    key(&mut s, KeyCode::Esc);
    // The one selected, already retried: said, with the newest of its chain.
    update(&mut s, Event::RetryLinks(vec![("f1".into(), "f2".into())]));
    command(&mut s, "retry f0");
    let said = &s.flash.as_ref().unwrap().text;
    assert!(
        said.contains("already retried as [f2]") && said.contains("retry the newest"),
        "{said}"
    );
}

#[test]
fn read_only_refuses_every_order_before_it_asks() {
    let mut s = state();
    s.session.read_only = true;
    worker(&mut s, "a@h");
    key(&mut s, KeyCode::Char('w'));
    for line in [
        "pool grow 1",
        "autoscale 3 1",
        "consumer add q",
        "ratelimit t 1/s all",
        "timelimit t 1 2",
        "poolrestart",
        "shutdown",
        "purge q",
        "move a b",
    ] {
        let out = command(&mut s, line);
        assert!(out.effects.is_empty(), "{line}");
        assert_eq!(s.ui.mode, Mode::Normal, "{line}");
        assert!(
            s.flash.as_ref().unwrap().text.contains("--read-only"),
            "{line}"
        );
    }
}

#[test]
fn an_orders_report_goes_to_the_log_line_by_line() {
    let mut s = state();
    update(
        &mut s,
        Event::Ordered {
            what: "a@h: grow the pool by 1".into(),
            outcome: Ok(vec![
                (true, "a@h: ok: pool will grow".into()),
                (false, "b@h: did not answer within 3 s".into()),
            ]),
        },
    );
    assert!(s.flash.as_ref().unwrap().text.contains("1 of 2 not ok"));
    let lines: Vec<_> = s
        .activity
        .lines
        .iter()
        .map(|l| (l.level, l.message.clone()))
        .collect();
    assert!(lines.contains(&(
        Level::Warn,
        "a@h: grow the pool by 1: b@h: did not answer within 3 s".into()
    )));
}

#[test]
fn an_order_given_over_the_worker_detail_comes_back_to_it() {
    let mut s = state();
    worker(&mut s, "a@h");
    key(&mut s, KeyCode::Char('w'));
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.ui.mode, Mode::WorkerDetail);
    command(&mut s, "pool grow 1");
    assert!(matches!(s.ui.mode, Mode::ConfirmOrder(_)));
    key(&mut s, KeyCode::Char('y'));
    assert_eq!(
        s.ui.mode,
        Mode::WorkerDetail,
        "back to the detail to read the answer"
    );
    update(
        &mut s,
        Event::Ordered {
            what: "a@h: grow the pool by 1".into(),
            outcome: Ok(vec![(true, "a@h: ok: pool will grow".into())]),
        },
    );
    assert_eq!(
        s.fleet_said.back().map(|x| x.2.as_str()),
        Some("a@h: ok: pool will grow")
    );
    // Another command leaves the detail.
    command(&mut s, "tasks");
    assert_eq!((s.ui.mode.clone(), s.ui.view), (Mode::Normal, View::Tasks));
}

fn failed_on(s: &mut State, id: &str, name: &str, exc: &str, worker: &str, secs_ago: i64) {
    let at = (t0() - Duration::seconds(secs_ago)).timestamp() as f64;
    let fields = TaskFields {
        name: Some(name.into()),
        args: Some("()".into()),
        kwargs: Some("{}".into()),
        ..Default::default()
    };
    let ev = |kind, fields| Event::Feed {
        at: t0() - Duration::seconds(secs_ago),
        item: Box::new(FeedItem::Celery(CeleryEvent::Task(TaskEvent {
            kind,
            uuid: id.into(),
            hostname: worker.into(),
            timestamp: at,
            fields,
        }))),
    };
    update(s, ev(TaskEventKind::Received, fields));
    let failure = TaskFields {
        exception: Some(exc.into()),
        traceback: Some(format!("Traceback (most recent call last):\n  ...\n{exc}")),
        ..Default::default()
    };
    update(s, ev(TaskEventKind::Failed, failure));
}

#[test]
fn failures_are_grouped_by_task_and_exception_type_with_where_and_since_when() {
    let mut s = state();
    for i in 0..5 {
        let w = if i % 2 == 0 { "w1@h" } else { "w2@h" };
        failed_on(
            &mut s,
            &format!("a{i}"),
            "deploy",
            "TimeoutError('api')",
            w,
            60 * i,
        );
    }
    failed_on(&mut s, "b0", "deploy", "KeyError('x')", "w1@h", 30);
    failed_on(
        &mut s,
        "c0",
        "deploy.failover",
        "TimeoutError('x')",
        "w3@h",
        30,
    );
    // An old failure of `plan`, and a success of it since: recovered.
    failed_on(&mut s, "p0", "plan", "RuntimeError('boom')", "w1@h", 3600);
    task(
        &mut s,
        TaskEventKind::Received,
        "p1",
        (t0() - Duration::seconds(60)).timestamp() as f64,
        received("plan", "()", "{}"),
    );
    task(
        &mut s,
        TaskEventKind::Succeeded,
        "p1",
        (t0() - Duration::seconds(59)).timestamp() as f64,
        TaskFields::default(),
    );
    let g = crate::app::model::failures::groups(&s);
    let keys: Vec<_> = g.iter().map(|g| g.key()).collect();
    assert_eq!(
        keys,
        [
            "deploy TimeoutError",
            "deploy KeyError",
            "deploy.failover TimeoutError",
            "plan RuntimeError"
        ]
    );
    let first = &g[0];
    assert_eq!((first.in_window, first.total), (5, 5));
    assert_eq!(
        first.workers,
        vec![("w1@h".to_string(), 3), ("w2@h".to_string(), 2)]
    );
    assert_eq!(
        first.per_minute.iter().sum::<u64>(),
        5,
        "one a minute over the last five"
    );
    assert_eq!(
        first.per_minute[crate::app::model::failures::BUCKETS - 1],
        1,
        "the newest minute last"
    );
    assert!(first.sample.ends_with("TimeoutError('api')"));
    assert!(!first.recovered);
    let plan = &g[3];
    assert!(
        plan.recovered,
        "no failure for an hour, and a success since"
    );
    assert_eq!(plan.in_window, 1);
}

#[test]
fn the_issues_view_lists_a_groups_tasks_exactly_and_retries_them_all() {
    let mut s = state();
    for i in 0..3 {
        failed_on(
            &mut s,
            &format!("a{i}"),
            "deploy",
            "TimeoutError('api')",
            "w1@h",
            10 * i,
        );
    }
    failed_on(
        &mut s,
        "near",
        "deploy.failover",
        "TimeoutError('x')",
        "w1@h",
        5,
    );
    failed_on(&mut s, "other", "deploy", "KeyError('k')", "w1@h", 100);
    key(&mut s, KeyCode::Char('i'));
    assert_eq!(s.ui.view, View::Issues);
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.ui.view, View::Tasks);
    let mut listed: Vec<_> = crate::app::model::tasks::visible(&s)
        .iter()
        .map(|t| t.uuid.clone())
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        ["a0", "a1", "a2"],
        "exactly the group: not deploy.failover, not KeyError"
    );
    key(&mut s, KeyCode::Char('i'));
    assert_eq!(s.ui.view, View::Issues);
    key(&mut s, KeyCode::Char('R'));
    let p = pending(&s);
    let Order::Retry { tasks } = &p.order else {
        panic!()
    };
    let mut ids: Vec<_> = tasks.iter().map(|t| t.task_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["a0", "a1", "a2"]);
    assert_eq!(p.typed_word.as_deref(), Some("3"));
}

#[test]
fn the_demo_shows_a_purge_dialog_without_reading_redis_and_refuses_it() {
    let mut s = state();
    s.session.demo = true;
    let out = command(&mut s, "purge thinking");
    assert!(out.effects.is_empty(), "not even a depth is read");
    assert!(pending(&s).lines[0].contains("not read (the demo's queues are simulated)"));
    typed(&mut s, "thinking");
    let out = key(&mut s, KeyCode::Enter);
    assert!(out.effects.is_empty());
    assert!(s.flash.as_ref().unwrap().text.contains("demo"));
}
