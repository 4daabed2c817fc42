//! `update` against each kind of event. No I/O anywhere: state in, state out.

use crate::app::State;
use crate::app::state::{HISTORY, LogLine, PortStatus, RunPhase};
use crate::app::ui_state::{Form, FormField, Mode, Pane, TaskSort, View};
use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;

use super::{Effect, Outcome, update};
use crate::config::Config;
use crate::config::keymap;
use crate::event::{Event, LinkHealth, ProbeOutcome};
use crate::platform::model::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 22, 0, 0).unwrap()
}

fn state() -> State {
    let km = keymap::build("default", Path::new("/nonexistent"), vec![]).unwrap();
    State::new(&Config::default(), km, t0())
}

fn key(c: KeyCode) -> Event {
    Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn feed(at: DateTime<Utc>, item: FeedItem) -> Event {
    Event::Feed {
        at,
        item: Box::new(item),
    }
}

fn report(agent: &str, st: AgentState) -> FeedItem {
    FeedItem::Agent(AgentReport {
        agent: agent.into(),
        state: st,
        task_id: Some("abcdef0123".into()),
        detail: Some("planning".into()),
        model: None,
        ts: None,
    })
}

fn task(kind: TaskEventKind, uuid: &str, host: &str, fields: TaskFields) -> FeedItem {
    FeedItem::Celery(CeleryEvent::Task(TaskEvent {
        kind,
        uuid: uuid.into(),
        hostname: host.into(),
        timestamp: 1.8e9,
        fields,
    }))
}

fn heartbeat(kind: WorkerEventKind, host: &str, active: u64) -> FeedItem {
    FeedItem::Celery(CeleryEvent::Worker(WorkerEvent {
        kind,
        hostname: host.into(),
        timestamp: 1.8e9,
        freq: 2.0,
        active,
        processed: 7,
        loadavg: [0.1, 0.2, 0.3],
        sw_ver: Some("5.7.0".into()),
    }))
}

fn last_line(s: &State) -> &LogLine {
    s.activity.lines.back().expect("a line")
}

#[test]
fn tick_moves_the_clock_and_turns_silent_agents_offline() {
    let mut s = state();
    update(&mut s, feed(t0(), report("thinking", AgentState::Busy)));
    let out = update(&mut s, Event::Tick(t0() + Duration::seconds(10)));
    assert!(out.redraw);
    assert_eq!(s.now, t0() + Duration::seconds(10));
    assert_eq!(
        s.agents[1].state,
        AgentState::Busy,
        "10 s is within the 15 s default"
    );
    update(&mut s, Event::Tick(t0() + Duration::seconds(16)));
    assert_eq!(s.agents[1].state, AgentState::Offline);
    assert_eq!(s.agents[1].since, t0() + Duration::seconds(16));
    assert_eq!(last_line(&s).message, "offline: no heartbeat for 16s");
    assert_eq!(
        s.agents[0].state,
        AgentState::Unknown,
        "never heard from: unknown, not offline"
    );
}

#[test]
fn tick_expires_workers_after_twice_their_heartbeat_period() {
    let mut s = state();
    update(
        &mut s,
        feed(t0(), heartbeat(WorkerEventKind::Heartbeat, "judging@vm", 0)),
    );
    update(&mut s, Event::Tick(t0() + Duration::milliseconds(3900)));
    assert!(s.workers["judging@vm"].online);
    update(&mut s, Event::Tick(t0() + Duration::milliseconds(4100)));
    assert!(!s.workers["judging@vm"].online);
    assert_eq!(
        s.agents[2].state,
        AgentState::Offline,
        "the agent follows its last worker"
    );
    let tail: Vec<_> = s
        .activity
        .lines
        .iter()
        .rev()
        .take(2)
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(
        tail,
        [
            "offline: no Celery worker left",
            "worker judging@vm offline: heartbeat expired"
        ]
    );
    update(&mut s, Event::Tick(t0() + Duration::hours(2)));
    assert!(s.workers.is_empty(), "long-gone workers are forgotten");
}

#[test]
fn keys_open_and_close_help_and_quit_is_an_effect() {
    let mut s = state();
    assert!(update(&mut s, key(KeyCode::Char('?'))).redraw);
    assert_eq!(s.ui.mode, Mode::Help);
    let out = update(&mut s, key(KeyCode::Char('q')));
    assert_eq!(
        s.ui.mode,
        Mode::Normal,
        "q in help closes help, it does not quit"
    );
    assert!(out.effects.is_empty());
    update(&mut s, key(KeyCode::Char('?')));
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.ui.mode, Mode::Normal);
    assert_eq!(
        update(&mut s, key(KeyCode::Char('q'))).effects,
        vec![Effect::Quit]
    );
    assert_eq!(
        update(&mut s, key(KeyCode::Char('z'))),
        crate::app::Outcome::default(),
        "unbound keys change nothing"
    );
}

#[test]
fn keys_move_focus_zoom_and_back() {
    let mut s = state();
    assert_eq!(s.ui.focus, Pane::Agents);
    update(&mut s, key(KeyCode::Tab));
    assert_eq!(s.ui.focus, Pane::Queues);
    update(&mut s, key(KeyCode::BackTab));
    update(&mut s, key(KeyCode::BackTab));
    assert_eq!(s.ui.focus, Pane::Activity, "focus wraps around");
    update(&mut s, key(KeyCode::Enter));
    assert!(s.ui.zoomed);
    update(&mut s, key(KeyCode::Esc));
    assert!(!s.ui.zoomed);
    assert!(
        !update(&mut s, key(KeyCode::Esc)).redraw,
        "esc with nothing to undo is a no-op"
    );
}

#[test]
fn scrolling_the_log_pauses_follow_and_end_resumes_it() {
    let mut s = state();
    for i in 0..50 {
        update(
            &mut s,
            feed(
                t0(),
                FeedItem::Activity(ActivityReport {
                    ts: None,
                    level: Level::Info,
                    source: "x".into(),
                    message: format!("line {i}"),
                    task_id: None,
                }),
            ),
        );
    }
    s.ui.focus = Pane::Activity;
    update(&mut s, key(KeyCode::Up));
    assert!(!s.activity.follow);
    assert_eq!(s.activity.offset, 1);
    update(
        &mut s,
        feed(
            t0(),
            FeedItem::Activity(ActivityReport {
                ts: None,
                level: Level::Info,
                source: "x".into(),
                message: "new".into(),
                task_id: None,
            }),
        ),
    );
    assert_eq!(
        (s.activity.offset, s.activity.unseen),
        (2, 1),
        "a paused view stays put"
    );
    update(&mut s, key(KeyCode::End));
    assert!(s.activity.follow);
    assert_eq!((s.activity.offset, s.activity.unseen), (0, 0));
    update(&mut s, key(KeyCode::Char('s')));
    assert!(!s.activity.follow, "s toggles follow");
}

#[test]
fn resize_is_recorded() {
    let mut s = state();
    assert!(
        update(
            &mut s,
            Event::Resize {
                width: 250,
                height: 70
            }
        )
        .redraw
    );
    assert_eq!((s.ui.width, s.ui.height), (250, 70));
}

#[test]
fn agent_report_sets_state_task_and_heartbeat() {
    let mut s = state();
    let at = t0() + Duration::seconds(3);
    update(&mut s, feed(at, report("THINKING", AgentState::Busy)));
    let a = &s.agents[1];
    assert_eq!(
        (a.state, a.since, a.last_heartbeat),
        (AgentState::Busy, at, Some(at))
    );
    assert_eq!(a.task.as_deref(), Some("planning [abcdef01]"));
    assert_eq!(last_line(&s).message, "unknown → busy: planning");
    update(&mut s, feed(at, report("NEWCOMER", AgentState::Idle)));
    assert_eq!(s.agents.len(), 6, "an unconfigured agent gets a tile");
}

#[test]
fn activity_lines_keep_their_own_time_and_are_bounded() {
    let mut s = state();
    s.activity.capacity = 100;
    let ts = t0() - Duration::seconds(30);
    for i in 0..150 {
        update(
            &mut s,
            feed(
                t0(),
                FeedItem::Activity(ActivityReport {
                    ts: Some(ts),
                    level: Level::Warn,
                    source: "JUDGING".into(),
                    message: format!("m{i}"),
                    task_id: Some("0123456789".into()),
                }),
            ),
        );
    }
    assert_eq!(s.activity.lines.len(), 100);
    assert_eq!(s.activity.lines.front().unwrap().message, "m50 [01234567]");
    assert_eq!(last_line(&s).at, ts);
    assert_eq!(last_line(&s).level, Level::Warn);
}

#[test]
fn worker_events_bring_an_agent_online_and_offline() {
    let mut s = state();
    update(
        &mut s,
        feed(t0(), heartbeat(WorkerEventKind::Online, "cognitive@vm", 0)),
    );
    assert_eq!(s.agents[0].state, AgentState::Idle);
    assert_eq!(s.workers["cognitive@vm"].agent, Some(0));
    assert_eq!(s.workers["cognitive@vm"].sw_ver.as_deref(), Some("5.7.0"));
    update(
        &mut s,
        feed(t0(), heartbeat(WorkerEventKind::Offline, "cognitive@vm", 0)),
    );
    assert_eq!(s.agents[0].state, AgentState::Offline);
    assert_eq!(last_line(&s).message, "offline: no Celery worker left");
}

#[test]
fn task_lifecycle_drives_the_agent_tile_and_the_task_store() {
    let mut s = state();
    let host = "executing@vm";
    let fields = TaskFields {
        name: Some("executing.deploy".into()),
        args: Some("('main',)".into()),
        ..Default::default()
    };
    update(
        &mut s,
        feed(t0(), task(TaskEventKind::Received, "u-1", host, fields)),
    );
    update(
        &mut s,
        feed(
            t0(),
            task(TaskEventKind::Started, "u-1", host, TaskFields::default()),
        ),
    );
    assert_eq!(s.agents[3].state, AgentState::Busy);
    assert_eq!(s.agents[3].task.as_deref(), Some("executing.deploy [u-1]"));
    let failed = TaskFields {
        exception: Some("RuntimeError('boom')".into()),
        ..Default::default()
    };
    update(
        &mut s,
        feed(t0(), task(TaskEventKind::Failed, "u-1", host, failed)),
    );
    // One failure is a fact, not a state: idle, its last failure noted.
    assert_eq!(s.agents[3].state, AgentState::Idle);
    assert_eq!(s.agents[3].last_failure, Some(t0()));
    assert_eq!(s.agents[3].detail.as_deref(), Some("RuntimeError('boom')"));
    assert_eq!(last_line(&s).level, Level::Error);
    // A late "started" from another batch must not resurrect a finished task.
    update(
        &mut s,
        feed(
            t0(),
            task(TaskEventKind::Started, "u-1", host, TaskFields::default()),
        ),
    );
    let t = &s.tasks.by_id["u-1"];
    assert_eq!(t.state, TaskEventKind::Failed);
    assert_eq!(
        t.fields.args.as_deref(),
        Some("('main',)"),
        "fields from earlier events are kept"
    );
    assert_eq!(t.worker, host);
}

#[test]
fn task_store_is_a_ring() {
    let mut s = state();
    s.tasks.capacity = 3;
    for i in 0..5 {
        update(
            &mut s,
            feed(
                t0(),
                task(
                    TaskEventKind::Sent,
                    &format!("t{i}"),
                    "",
                    TaskFields::default(),
                ),
            ),
        );
    }
    assert_eq!(s.tasks.order, ["t2", "t3", "t4"]);
    assert_eq!(s.tasks.by_id.len(), 3);
}

#[test]
fn queue_samples_set_depth_and_history() {
    let mut s = state();
    for d in [3, 5] {
        update(
            &mut s,
            feed(
                t0(),
                FeedItem::Queues(vec![
                    QueueSample {
                        queue: "thinking".into(),
                        depth: d,
                        reserved: 0,
                    },
                    QueueSample {
                        queue: "celery".into(),
                        depth: 1,
                        reserved: 0,
                    },
                ]),
            ),
        );
    }
    let q = s.queues.iter().find(|q| q.name == "thinking").unwrap();
    assert_eq!(
        (q.depth, q.history.iter().copied().collect::<Vec<_>>()),
        (5, vec![3, 5])
    );
    assert!(
        s.queues.iter().any(|q| q.name == "celery"),
        "discovered queues get a row"
    );
}

#[test]
fn malformed_payload_becomes_a_counted_warning_with_its_raw_text() {
    let mut s = state();
    update(
        &mut s,
        feed(
            t0(),
            FeedItem::Malformed {
                source: "agents".into(),
                reason: "bad json".into(),
                raw: "{oops".into(),
            },
        ),
    );
    assert_eq!(s.counters.malformed, 1);
    let l = last_line(&s);
    assert_eq!(
        (l.level, l.source.as_str(), l.message.as_str()),
        (Level::Warn, "agents", "malformed payload (bad json): {oops")
    );
}

#[test]
fn a_batch_is_applied_whole() {
    let mut s = state();
    let out = update(
        &mut s,
        Event::FeedBatch {
            at: t0(),
            items: vec![
                report("JUDGING", AgentState::Idle),
                report("EVOLVING", AgentState::Busy),
            ],
        },
    );
    assert!(out.redraw);
    assert_eq!(
        (s.agents[2].state, s.agents[4].state),
        (AgentState::Idle, AgentState::Busy)
    );
    assert!(
        !update(
            &mut s,
            Event::FeedBatch {
                at: t0(),
                items: vec![]
            }
        )
        .redraw
    );
}

#[test]
fn link_changes_are_shown_and_logged_once() {
    let mut s = state();
    let down = LinkHealth::Down {
        why: "connection refused".into(),
        retry_in: Some(std::time::Duration::from_millis(1500)),
    };
    assert!(
        update(
            &mut s,
            Event::Link {
                name: "redis".into(),
                health: down.clone()
            }
        )
        .redraw
    );
    assert_eq!(
        last_line(&s).message,
        "link down: connection refused; retrying in 1.5s"
    );
    let lines = s.activity.lines.len();
    assert!(
        !update(
            &mut s,
            Event::Link {
                name: "redis".into(),
                health: down
            }
        )
        .redraw,
        "no change, no redraw"
    );
    assert_eq!(s.activity.lines.len(), lines);
    update(
        &mut s,
        Event::Link {
            name: "redis".into(),
            health: LinkHealth::Up,
        },
    );
    assert_eq!(s.links[0].health, LinkHealth::Up);
}

#[test]
fn probe_results_update_the_port_row_and_log_flips() {
    let mut s = state();
    let up = ProbeOutcome::Up {
        latency: std::time::Duration::from_micros(1500),
        cert_days: None,
    };
    update(
        &mut s,
        Event::Probe {
            at: t0(),
            index: 5,
            outcome: up,
        },
    );
    assert_eq!(s.ports[5].status, PortStatus::Up { latency_ms: 1.5 });
    let lines = s.activity.lines.len();
    assert_eq!(lines, 0, "unknown → up at start-up is not news");
    let down = || Event::Probe {
        at: t0(),
        index: 5,
        outcome: ProbeOutcome::Down {
            why: "connection refused".into(),
        },
    };
    update(&mut s, down());
    assert_eq!(
        s.ports[5].status,
        PortStatus::Up { latency_ms: 1.5 },
        "one miss is damped"
    );
    assert!(s.activity.lines.is_empty());
    update(&mut s, down());
    assert_eq!(
        s.ports[5].status,
        PortStatus::Down {
            why: "connection refused".into()
        },
        "two in a row is down"
    );
    assert_eq!(
        last_line(&s).message,
        "Redis 127.0.0.1:6379 down: connection refused"
    );
    assert!(
        !update(
            &mut s,
            Event::Probe {
                at: t0(),
                index: 99,
                outcome: ProbeOutcome::Down { why: "x".into() }
            }
        )
        .redraw
    );
}

#[test]
fn shutdown_quits_and_says_why() {
    let mut s = state();
    assert_eq!(
        update(
            &mut s,
            Event::Shutdown {
                why: "SIGTERM".into()
            }
        )
        .effects,
        vec![Effect::Quit]
    );
    assert_eq!(last_line(&s).message, "shutting down: SIGTERM");
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, key(KeyCode::Char(c)));
    }
}

fn with_tasks() -> State {
    let mut s = state();
    for (id, name, kind) in [
        ("a-1", "thinking.plan", TaskEventKind::Started),
        ("b-2", "judging.risk", TaskEventKind::Failed),
        ("c-3", "thinking.reason", TaskEventKind::Succeeded),
    ] {
        let host = if name.starts_with("thinking") {
            "thinking@vm"
        } else {
            "judging@vm"
        };
        update(
            &mut s,
            feed(
                t0(),
                task(
                    TaskEventKind::Received,
                    id,
                    host,
                    TaskFields {
                        name: Some(name.into()),
                        ..Default::default()
                    },
                ),
            ),
        );
        update(
            &mut s,
            feed(t0(), task(kind, id, host, TaskFields::default())),
        );
    }
    s
}

#[test]
fn filter_is_typed_then_applied_and_selects_matching_tasks() {
    let mut s = with_tasks();
    update(&mut s, key(KeyCode::Char('/')));
    assert_eq!(
        (s.ui.view, &s.ui.mode),
        (View::Tasks, &Mode::Filter(String::new()))
    );
    typed(&mut s, "agent:thinx");
    update(&mut s, key(KeyCode::Backspace));
    typed(&mut s, "k state:su");
    assert_eq!(
        s.ui.mode,
        Mode::Filter("agent:think state:su".into()),
        "q and t are text here, not commands"
    );
    update(&mut s, key(KeyCode::Enter));
    assert_eq!(s.ui.filter, "agent:think state:su");
    let ids: Vec<_> = crate::app::model::tasks::visible(&s)
        .iter()
        .map(|t| t.uuid.clone())
        .collect();
    assert_eq!(ids, ["c-3"]);
    update(&mut s, key(KeyCode::Char('/')));
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(
        s.ui.filter, "agent:think state:su",
        "esc abandons the edit, not the filter"
    );
}

#[test]
fn sort_cycles_through_columns() {
    let mut s = with_tasks();
    update(&mut s, key(KeyCode::Char('t')));
    update(&mut s, key(KeyCode::Char('o')));
    assert_eq!(s.ui.task_sort, TaskSort::Name);
    let names: Vec<_> = crate::app::model::tasks::visible(&s)
        .iter()
        .map(|t| t.fields.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["judging.risk", "thinking.plan", "thinking.reason"]);
    update(&mut s, key(KeyCode::Char('o')));
    assert_eq!(s.ui.task_sort, TaskSort::State);
}

#[test]
fn terminate_asks_first_and_only_y_sends_it() {
    let mut s = with_tasks();
    update(&mut s, key(KeyCode::Char('t')));
    update(&mut s, key(KeyCode::Char('/')));
    typed(&mut s, "state:started");
    update(&mut s, key(KeyCode::Enter));
    let out = update(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Char('X'), KeyModifiers::SHIFT)),
    );
    assert!(out.effects.is_empty(), "nothing is sent before confirming");
    let Mode::Confirm(c) = &s.ui.mode else {
        panic!("{:?}", s.ui.mode)
    };
    assert_eq!(
        (c.task_id.as_str(), c.terminate, c.label.as_str()),
        ("a-1", true, "thinking.plan [a-1]")
    );
    assert!(
        update(&mut s, key(KeyCode::Char('z'))).effects.is_empty(),
        "other keys do nothing"
    );
    let out = update(&mut s, key(KeyCode::Char('y')));
    assert_eq!(
        out.effects,
        vec![Effect::Revoke {
            task_id: "a-1".into(),
            terminate: true,
            signal: crate::orders::KillSignal::Term,
        }]
    );
    assert_eq!(s.ui.mode, Mode::Normal);
    update(&mut s, key(KeyCode::Char('x')));
    let out = update(&mut s, key(KeyCode::Esc));
    assert!(out.effects.is_empty());
    assert_eq!(
        s.flash.as_ref().unwrap().text,
        "cancelled: nothing was sent"
    );
}

#[test]
fn read_only_refuses_before_asking() {
    let mut s = with_tasks();
    s.session.read_only = true;
    update(&mut s, key(KeyCode::Char('t')));
    let out = update(&mut s, key(KeyCode::Char('x')));
    assert!(out.effects.is_empty());
    assert_eq!(s.ui.mode, Mode::Normal);
    assert_eq!(
        s.flash.as_ref().unwrap().text,
        "refused: revoking a task is disabled because chavion-tui was started with --read-only"
    );
    assert_eq!(
        last_line(&s).level,
        Level::Warn,
        "the refusal is in the log too"
    );
}

#[test]
fn revoke_outside_the_tasks_view_says_where_to_go() {
    let mut s = with_tasks();
    let out = update(&mut s, key(KeyCode::Char('x')));
    assert!(out.effects.is_empty());
    assert!(s.flash.as_ref().unwrap().text.contains("press t"));
}

#[test]
fn enter_opens_a_task_and_esc_closes_it() {
    let mut s = with_tasks();
    update(&mut s, key(KeyCode::Char('t')));
    update(&mut s, key(KeyCode::Enter));
    assert_eq!(s.ui.mode, Mode::Detail);
    update(&mut s, key(KeyCode::Esc));
    assert_eq!((s.ui.mode.clone(), s.ui.view), (Mode::Normal, View::Tasks));
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.ui.view, View::Dashboard);
    update(&mut s, key(KeyCode::Char('w')));
    assert_eq!(s.ui.view, View::Workers);
}

#[test]
fn shed_messages_are_counted_and_said() {
    let mut s = state();
    update(
        &mut s,
        Event::Shed {
            feed: "redis".into(),
            count: 12,
        },
    );
    assert_eq!(s.counters.shed, 12);
    assert!(last_line(&s).message.starts_with("shed 12 messages"));
}

#[test]
fn action_results_are_flashed_and_logged() {
    let mut s = state();
    update(
        &mut s,
        Event::ActionDone {
            what: "terminate a-1".into(),
            outcome: Ok("terminate sent to 1 worker(s)".into()),
        },
    );
    assert_eq!(
        s.flash.as_ref().unwrap().text,
        "terminate a-1: terminate sent to 1 worker(s)"
    );
    update(
        &mut s,
        Event::ActionDone {
            what: "revoke b-2".into(),
            outcome: Err("connection refused".into()),
        },
    );
    let f = s.flash.as_ref().unwrap();
    assert_eq!(
        (f.text.as_str(), f.level),
        ("revoke b-2 failed: connection refused", Level::Error)
    );
}

#[test]
fn queue_rates_come_from_depth_and_task_sent_events() {
    let mut s = state();
    let sample = |d| {
        FeedItem::Queues(vec![QueueSample {
            queue: "thinking".into(),
            depth: d,
            reserved: 2,
        }])
    };
    update(&mut s, feed(t0(), sample(10)));
    update(&mut s, feed(t0() + Duration::seconds(2), sample(6)));
    let q = s.queues.iter().find(|q| q.name == "thinking").unwrap();
    assert_eq!(
        (q.in_rate, q.out_rate, q.reserved),
        (Some(0.0), Some(2.0), 2),
        "no event known: out is what the depth lost, and nothing is seen coming in"
    );
    for i in 0..8 {
        update(
            &mut s,
            feed(
                t0(),
                task(
                    TaskEventKind::Sent,
                    &format!("s{i}"),
                    "",
                    TaskFields {
                        queue: Some("thinking".into()),
                        ..Default::default()
                    },
                ),
            ),
        );
    }
    update(&mut s, feed(t0() + Duration::seconds(4), sample(10)));
    let q = s.queues.iter().find(|q| q.name == "thinking").unwrap();
    assert_eq!(
        (q.in_rate, q.out_rate),
        (Some(4.0), Some(2.0)),
        "8 in over 2 s, depth +4: 2 out per second"
    );
    assert_eq!(s.agents[1].name, "THINKING");
    assert_eq!(
        s.tasks.by_id["s0"].agent,
        Some(1),
        "a sent task maps to its queue's agent"
    );
}

#[test]
fn a_worker_no_pattern_matches_is_mapped_by_the_queue_of_its_first_task() {
    let mut s = state();
    update(
        &mut s,
        feed(t0(), heartbeat(WorkerEventKind::Online, "gpu-box-7@vm", 0)),
    );
    assert_eq!(s.workers["gpu-box-7@vm"].agent, None);
    update(
        &mut s,
        feed(
            t0(),
            task(
                TaskEventKind::Sent,
                "q-1",
                "",
                TaskFields {
                    queue: Some("evolving".into()),
                    name: Some("evolving.retrain".into()),
                    ..Default::default()
                },
            ),
        ),
    );
    update(
        &mut s,
        feed(
            t0(),
            task(
                TaskEventKind::Received,
                "q-1",
                "gpu-box-7@vm",
                TaskFields::default(),
            ),
        ),
    );
    assert_eq!(
        s.workers["gpu-box-7@vm"].agent,
        Some(4),
        "EVOLVING owns the evolving queue"
    );
}

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn form(s: &State) -> &Form {
    match &s.ui.mode {
        Mode::Form(f) => f,
        other => panic!("not in the form: {other:?}"),
    }
}

#[test]
fn d_opens_the_form_on_the_selected_agent_and_completes_task_names() {
    let mut s = state();
    s.session.id_seed = 7;
    update(&mut s, key(KeyCode::Down));
    update(&mut s, key(KeyCode::Char('d')));
    assert_eq!(
        (form(&s).agent, form(&s).field),
        (1, FormField::Task),
        "THINKING, selected in the Agents pane"
    );
    typed(&mut s, "thinking.r");
    update(&mut s, key(KeyCode::Right));
    assert_eq!(
        form(&s).task,
        "thinking.reason",
        "→ completes from the agent's configured tasks"
    );
    update(&mut s, key(KeyCode::Tab));
    typed(&mut s, "[1, 2,");
    assert_eq!(
        crate::app::dialogs::forms::field_error(form(&s), FormField::Args).unwrap(),
        "args: invalid JSON at line 1, column 6: EOF while parsing a value"
    );
    update(&mut s, key(KeyCode::Enter));
    assert!(
        form(&s).error.as_deref().unwrap().contains("column 6"),
        "enter is refused with the position"
    );
    update(&mut s, key(KeyCode::Backspace));
    typed(&mut s, "]");
    update(&mut s, key(KeyCode::Tab));
    update(&mut s, key(KeyCode::Tab));
    typed(&mut s, "7");
    assert_eq!(form(&s).priority, 7);
    update(&mut s, key(KeyCode::Tab));
    typed(&mut s, "30");
    update(&mut s, key(KeyCode::Enter));
    let Mode::ConfirmDispatch(p) = &s.ui.mode else {
        panic!("{:?}", s.ui.mode)
    };
    assert_eq!(
        (
            p.agent.as_str(),
            p.request.name.as_str(),
            p.request.queue.as_str(),
            p.request.priority
        ),
        ("THINKING", "thinking.reason", "thinking", 7)
    );
    assert_eq!(p.request.args, serde_json::json!([1, 2]));
    assert_eq!(
        p.request.eta,
        Some(t0() + Duration::seconds(30)),
        "countdown from the state's clock"
    );
    assert!(
        p.preview.starts_with("LPUSH thinking\\x06\\x166\n"),
        "{}",
        p.preview
    );
    assert!(
        p.preview.contains(&p.request.id),
        "the preview is the exact message"
    );
    let id = p.request.id.clone();
    let out = update(&mut s, key(KeyCode::Char('y')));
    let Effect::Dispatch { agent, request } = &out.effects[0] else {
        panic!("{:?}", out.effects)
    };
    assert_eq!(
        (agent.as_str(), request.id.as_str()),
        ("THINKING", id.as_str())
    );
    assert_eq!(s.dispatches, 1, "the next dispatch gets a new id");
}

#[test]
fn esc_cancels_the_form_and_nothing_is_sent() {
    let mut s = state();
    update(&mut s, key(KeyCode::Char('d')));
    typed(&mut s, "qx");
    assert_eq!(
        form(&s).task,
        "qx",
        "letters are text in the form, not commands"
    );
    let out = update(&mut s, key(KeyCode::Esc));
    assert!(out.effects.is_empty());
    assert_eq!(s.ui.mode, Mode::Normal);
    assert_eq!(
        s.flash.as_ref().unwrap().text,
        "dispatch cancelled: nothing was sent"
    );
}

#[test]
fn the_command_line_dispatches_and_remembers() {
    let mut s = state();
    update(&mut s, key(KeyCode::Char(':')));
    typed(
        &mut s,
        "dispatch judging judging.risk_score {\"deploy\": 42}",
    );
    update(&mut s, key(KeyCode::Enter));
    let Mode::ConfirmDispatch(p) = &s.ui.mode else {
        panic!("{:?}", s.ui.mode)
    };
    assert_eq!(
        p.request.kwargs,
        serde_json::json!({"deploy": 42}),
        "an object is the kwargs"
    );
    assert_eq!(p.agent, "JUDGING");
    update(&mut s, key(KeyCode::Char('n')));
    update(&mut s, key(KeyCode::Char(':')));
    update(&mut s, key(KeyCode::Up));
    assert_eq!(
        s.ui.mode,
        Mode::Command("dispatch judging judging.risk_score {\"deploy\": 42}".into()),
        "history"
    );
    update(&mut s, ctrl('u'));
    typed(&mut s, "dispatch nobody x.y [1,");
    update(&mut s, key(KeyCode::Enter));
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .starts_with("refused: no agent `nobody`"),
        "{}",
        s.flash.as_ref().unwrap().text
    );
    update(&mut s, key(KeyCode::Char(':')));
    typed(&mut s, "dispatch thinking x.y [1,");
    update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        s.flash.as_ref().unwrap().text,
        "refused: args: invalid JSON at line 1, column 3: EOF while parsing a value"
    );
    update(&mut s, key(KeyCode::Char(':')));
    typed(&mut s, "q");
    assert_eq!(
        update(&mut s, key(KeyCode::Enter)).effects,
        vec![Effect::Quit]
    );
}

#[test]
fn read_only_refuses_dispatch_before_the_form_opens() {
    let mut s = state();
    s.session.read_only = true;
    let out = update(&mut s, key(KeyCode::Char('d')));
    assert!(out.effects.is_empty());
    assert_eq!(s.ui.mode, Mode::Normal);
    assert_eq!(
        s.flash.as_ref().unwrap().text,
        "refused: dispatching a task is disabled because chavion-tui was started with --read-only"
    );
    update(&mut s, key(KeyCode::Char(':')));
    typed(&mut s, "dispatch thinking thinking.plan");
    update(&mut s, key(KeyCode::Enter));
    assert_eq!(s.ui.mode, Mode::Normal);
    assert!(s.flash.as_ref().unwrap().text.contains("--read-only"));
}

/// The news that `thinking.plan` as `d-1` was dispatched to THINKING and went out as `how`.
fn dispatched_d1(how: crate::event::Delivery) -> Event {
    Event::Dispatched {
        agent: "THINKING".into(),
        request: Box::new(crate::platform::wire::TaskRequest {
            id: "d-1".into(),
            name: "thinking.plan".into(),
            queue: "thinking".into(),
            args: serde_json::json!([1]),
            kwargs: serde_json::json!({}),
            priority: 0,
            eta: None,
            expires: None,
            origin: "t".into(),
        }),
        outcome: Ok(how),
    }
}

#[test]
fn a_dispatch_shows_at_once_and_queued_locally_until_delivered() {
    use crate::event::Delivery;
    let mut s = state();
    update(
        &mut s,
        dispatched_d1(Delivery::QueuedLocally {
            why: "connection refused".into(),
        }),
    );
    let t = &s.tasks.by_id["d-1"];
    assert!(t.queued_locally);
    assert_eq!(
        (t.state, t.agent, t.fields.name.as_deref()),
        (TaskEventKind::Sent, Some(1), Some("thinking.plan"))
    );
    assert!(s.flash.as_ref().unwrap().text.contains("queued locally"));
    update(
        &mut s,
        Event::OutboxDelivered {
            task_id: "d-1".into(),
        },
    );
    assert!(!s.tasks.by_id["d-1"].queued_locally);
}

#[test]
fn history_from_the_store_goes_before_this_runs_lines() {
    let mut s = state();
    update(&mut s, Event::Shutdown { why: "now".into() });
    let old = vec![crate::store::StoredLine {
        at_ms: 1_000,
        level: "WARN".into(),
        source: "x".into(),
        message: "older".into(),
    }];
    update(
        &mut s,
        Event::StoreOpened {
            lines: old,
            tasks: Vec::new(),
            workers: Vec::new(),
        },
    );
    assert_eq!(s.activity.lines.front().unwrap().message, "older");
    assert_eq!(s.activity.lines.front().unwrap().level, Level::Warn);
    assert_eq!(
        s.activity.total, 1,
        "history is not counted as new (it is already stored)"
    );
}

#[test]
fn certificate_days_warn_under_21_and_alarm_under_7() {
    let mut s = state();
    let tls = |days| Event::Probe {
        at: t0(),
        index: 1,
        outcome: ProbeOutcome::Up {
            latency: std::time::Duration::from_millis(3),
            cert_days: Some(days),
        },
    };
    update(&mut s, tls(60));
    assert!(
        s.activity.lines.is_empty(),
        "plenty of time: nothing to say"
    );
    update(&mut s, tls(20));
    assert_eq!(
        (last_line(&s).level, last_line(&s).message.as_str()),
        (Level::Warn, "Nginx HTTPS certificate expires in 20 days")
    );
    update(&mut s, tls(19));
    assert_eq!(
        s.activity.lines.len(),
        1,
        "said once per threshold, not every probe"
    );
    update(&mut s, tls(5));
    assert_eq!(
        (last_line(&s).level, last_line(&s).message.as_str()),
        (Level::Error, "Nginx HTTPS certificate expires in 5 days")
    );
    assert_eq!(s.ports[1].cert_days, Some(5));
}

#[test]
fn the_demo_never_sends_anything_to_a_real_platform() {
    let mut s = state();
    s.session.demo = true;
    update(&mut s, key(KeyCode::Char(':')));
    typed(&mut s, "dispatch thinking thinking.plan [1]");
    update(&mut s, key(KeyCode::Enter));
    assert!(
        matches!(s.ui.mode, Mode::ConfirmDispatch(_)),
        "the form and the exact message are shown"
    );
    let out = update(&mut s, key(KeyCode::Char('y')));
    assert!(out.effects.is_empty(), "but nothing is sent");
    assert_eq!(
        s.flash.as_ref().unwrap().text,
        "refused: dispatching a task is not sent anywhere in the demo; the fleet is simulated"
    );
}

#[test]
fn a_protected_context_holds_every_action_until_its_name_is_typed() {
    let mut s = state();
    s.session.context = crate::config::contexts::ContextMeta {
        name: "production".into(),
        color: "red".into(),
        protected: true,
    };
    update(&mut s, key(KeyCode::Char(':')));
    typed(&mut s, "dispatch thinking thinking.plan [1]");
    update(&mut s, key(KeyCode::Enter));
    let out = update(&mut s, key(KeyCode::Char('y')));
    assert!(out.effects.is_empty(), "held: {:?}", out.effects);
    assert!(matches!(s.ui.mode, Mode::ConfirmContext(_)));
    // A wrong name: still held, and said why.
    typed(&mut s, "staging");
    let out = update(&mut s, key(KeyCode::Enter));
    assert!(out.effects.is_empty());
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("`staging` is not `production`"),
        "{:?}",
        s.flash
    );
    // The name: the dispatch goes, exactly as confirmed.
    typed(&mut s, "production");
    let out = update(&mut s, key(KeyCode::Enter));
    assert!(
        matches!(&out.effects[..], [Effect::Dispatch { agent, .. }] if agent == "THINKING"),
        "{:?}",
        out.effects
    );
    assert_eq!(s.ui.mode, Mode::Normal);
    // Esc drops a held action.
    update(&mut s, key(KeyCode::Char(':')));
    typed(&mut s, "dispatch thinking thinking.plan [2]");
    update(&mut s, key(KeyCode::Enter));
    update(&mut s, key(KeyCode::Char('y')));
    let out = update(&mut s, key(KeyCode::Esc));
    assert!(out.effects.is_empty());
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("not done: dispatching a task")
    );
}

#[test]
fn ctx_completes_the_context_names_and_refuses_an_unknown_one() {
    let mut s = state();
    s.session.contexts = vec!["default".into(), "production".into(), "staging".into()];
    let (line, several) = crate::app::dialogs::commands::complete(&s, "ctx pro");
    assert_eq!(line, "ctx production ");
    assert!(several.is_empty());
    update(&mut s, key(KeyCode::Char(':')));
    typed(&mut s, "ctx nosuch");
    let out = update(&mut s, key(KeyCode::Enter));
    assert!(out.effects.is_empty());
    assert!(
        s.flash
            .as_ref()
            .unwrap()
            .text
            .contains("no context named `nosuch`"),
        "{:?}",
        s.flash
    );
    update(&mut s, key(KeyCode::Char(':')));
    typed(&mut s, "ctx staging");
    let out = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        out.effects,
        [Effect::SwitchContext {
            name: "staging".into()
        }]
    );
}

/// The shipped platform example: its hosts and runbooks.
fn state_with_runbooks() -> State {
    let text = include_str!("../../assets/examples/platform.toml");
    let (cfg, diags) = crate::config::parse_config(text, Path::new("example.toml"));
    assert!(diags.is_empty(), "{diags:?}");
    let km = keymap::build("default", Path::new("/nonexistent"), vec![]).unwrap();
    State::new(&cfg.unwrap().0, km, t0())
}

#[test]
fn with_redis_down_the_agents_tile_leads_to_the_runbooks_that_repair_it() {
    let mut s = state_with_runbooks();
    s.ui.agent_sel = 1; // THINKING
    // Redis up: `e` lists every runbook.
    update(&mut s, key(KeyCode::Char('e')));
    assert_eq!(s.ui.view, View::Executor);
    assert_eq!(s.executor.agent_filter, None);
    let all = s.executor.listed().len();
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.ui.view, View::Dashboard);
    update(
        &mut s,
        Event::Link {
            name: "redis".into(),
            health: LinkHealth::Down {
                why: "connection refused".into(),
                retry_in: None,
            },
        },
    );
    assert!(s.queue_path_down());
    update(&mut s, key(KeyCode::Char('e')));
    assert_eq!(s.executor.agent_filter.as_deref(), Some("THINKING"));
    let names: Vec<&str> = s
        .executor
        .listed()
        .iter()
        .map(|(_, r)| r.name.get_ref().as_str())
        .collect();
    assert_eq!(
        names,
        ["restart-thinking", "restart-celery", "purge-thinking-queue"]
    );
    assert!(names.len() < all);
    // Esc widens the list before it leaves the view.
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.executor.agent_filter, None);
    assert_eq!(s.ui.view, View::Executor);
}

#[test]
fn ctrl_c_in_a_run_tab_cancels_the_run_and_does_not_quit() {
    let mut s = state_with_runbooks();
    update(&mut s, key(KeyCode::Char('e')));
    // disk-memory: not destructive.
    while s.executor.listed()[s.executor.book_sel].1.name.get_ref() != "disk-memory" {
        update(&mut s, key(KeyCode::Down));
    }
    update(&mut s, key(KeyCode::Enter));
    let out = update(&mut s, key(KeyCode::Char('y')));
    let [Effect::Exec { id, plan }] = out.effects.as_slice() else {
        panic!("expected one run, got {:?}", out.effects);
    };
    assert_eq!(plan.runbook, "disk-memory");
    assert_eq!(plan.host.login(), "chavion@127.0.0.1:22");
    assert_eq!(s.executor.tab, 1, "the new run's tab is shown");
    let id = *id;
    update(
        &mut s,
        Event::Run {
            id,
            update: crate::executor::RunUpdate::Started,
        },
    );
    let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    let out = update(&mut s, ctrl_c.clone());
    assert_eq!(out.effects, vec![Effect::CancelRun { id }]);
    assert_eq!(s.executor.runs[0].phase, RunPhase::Cancelling);
    // On the runbook list it does not quit either: runs may be going in other tabs.
    update(&mut s, key(KeyCode::Tab));
    assert_eq!(s.executor.tab, 0);
    assert!(update(&mut s, ctrl_c).effects.is_empty());
    assert!(s.flash.as_ref().unwrap().text.contains("q quits"));
}

#[test]
fn a_queue_sample_that_changes_nothing_visible_draws_nothing() {
    let mut s = state();
    let sample = |depth| {
        FeedItem::Queues(vec![QueueSample {
            queue: "thinking".into(),
            depth,
            reserved: 0,
        }])
    };
    let mut at = t0();
    let mut step = |s: &mut State, depth| {
        at += Duration::seconds(1);
        update(s, feed(at, sample(depth))).redraw
    };
    step(&mut s, 0);
    assert!(step(&mut s, 0), "the second sample gives the first rate");
    // While the history fills, the flat sparkline grows by a column a sample: the clock's
    // frame each second shows that, no frame of its own.
    for _ in 0..HISTORY + 5 {
        assert!(!step(&mut s, 0), "the same sample again: no frame");
    }
    assert!(step(&mut s, 3), "a new depth: a frame");
    // After a change the sparkline moves on every sample until the old values scroll out.
    assert!(step(&mut s, 3));
    let fresh = FeedItem::Queues(vec![QueueSample {
        queue: "discovered".into(),
        depth: 0,
        reserved: 0,
    }]);
    assert!(
        update(&mut s, feed(at, fresh)).redraw,
        "a queue seen for the first time: a frame"
    );
}

#[test]
fn a_screenful_picked_out_is_the_top_of_the_full_sort_in_every_order() {
    let mut s = state();
    let kinds = [
        TaskEventKind::Received,
        TaskEventKind::Started,
        TaskEventKind::Succeeded,
        TaskEventKind::Failed,
    ];
    for i in 0..60 {
        let name = ["thinking.plan", "judging.risk", "evolving.ab"][i % 3];
        let host = ["thinking@vm", "judging@vm", "evolving@vm"][i % 3];
        let mut t = TaskEvent {
            kind: kinds[i % 4],
            uuid: format!("t-{i:02}"),
            hostname: host.into(),
            // Many equal timestamps: ties must still come out the same way every time.
            timestamp: 1.8e9 + (i / 7) as f64,
            fields: TaskFields {
                name: Some(name.into()),
                ..Default::default()
            },
        };
        if i % 5 == 0 {
            t.fields.runtime = Some((i % 4) as f64);
        }
        update(&mut s, feed(t0(), FeedItem::Celery(CeleryEvent::Task(t))));
    }
    for _ in 0..5 {
        let all: Vec<String> = crate::app::model::tasks::visible(&s)
            .iter()
            .map(|t| t.uuid.clone())
            .collect();
        assert_eq!(all.len(), 60);
        for upto in [0, 1, 5, 17, 59, 60, 100] {
            let (matching, top) = crate::app::model::tasks::visible_upto(&s, upto);
            let top: Vec<String> = top.iter().map(|t| t.uuid.clone()).collect();
            assert_eq!(matching, 60);
            assert_eq!(
                top,
                all[..upto.min(60)],
                "{:?}, first {upto}",
                s.ui.task_sort
            );
        }
        s.ui.task_sort = s.ui.task_sort.next();
    }
    s.ui.task_sort = TaskSort::Newest;
    let newest: Vec<String> = crate::app::model::tasks::visible(&s)
        .iter()
        .take(8)
        .map(|t| t.uuid.clone())
        .collect();
    // The newest second holds t-56..t-59; within it, arrival order.
    assert_eq!(
        newest,
        [
            "t-56", "t-57", "t-58", "t-59", "t-49", "t-50", "t-51", "t-52"
        ]
    );
}

mod lost_dispatches {
    use super::*;
    use crate::event::{Delivery, Place};

    /// A control room with task events flowing (another task's event at t0) that has just
    /// dispatched `d-1`, delivered as `how`.
    fn dispatched(how: Delivery, redeliver: bool) -> State {
        let mut s = state();
        s.policy.redeliver_lost = redeliver;
        update(
            &mut s,
            feed(
                t0(),
                task(
                    TaskEventKind::Succeeded,
                    "other",
                    "w@vm",
                    TaskFields::default(),
                ),
            ),
        );
        update(&mut s, Event::Tick(t0()));
        update(&mut s, dispatched_d1(how));
        s
    }

    /// Where the lookup for `d-1` found it.
    fn found(s: &mut State, place: Place) -> Outcome {
        update(
            s,
            Event::Located {
                task_id: "d-1".into(),
                place,
            },
        )
    }

    fn tick_at(s: &mut State, secs: i64) -> Vec<Effect> {
        update(s, Event::Tick(t0() + Duration::seconds(secs))).effects
    }

    fn locates(effects: &[Effect]) -> usize {
        effects
            .iter()
            .filter(|e| matches!(e, Effect::Locate { request } if request.id == "d-1"))
            .count()
    }

    #[test]
    fn a_quiet_dispatch_is_looked_for_once_after_lost_after_and_not_while_looking() {
        let mut s = dispatched(Delivery::Sent, false);
        assert_eq!(locates(&tick_at(&mut s, 59)), 0);
        assert_eq!(locates(&tick_at(&mut s, 60)), 1);
        assert_eq!(locates(&tick_at(&mut s, 61)), 0, "one lookup at a time");
        // Still queued: a backlog. Looked for again one period later.
        found(&mut s, Place::Queued);
        assert_eq!(locates(&tick_at(&mut s, 119)), 0);
        assert_eq!(locates(&tick_at(&mut s, 121)), 1);
    }

    #[test]
    fn a_worker_reporting_it_ends_the_watch() {
        let mut s = dispatched(Delivery::Sent, false);
        update(
            &mut s,
            feed(
                t0(),
                task(
                    TaskEventKind::Received,
                    "d-1",
                    "thinking@vm",
                    TaskFields::default(),
                ),
            ),
        );
        assert!(s.own_dispatches.by_id.is_empty());
        assert_eq!(locates(&tick_at(&mut s, 600)), 0);
    }

    #[test]
    fn nothing_is_judged_without_task_events_flowing() {
        let mut s = dispatched(Delivery::Sent, false);
        // Five minutes and more without a task event from anyone.
        assert_eq!(locates(&tick_at(&mut s, 301)), 0);
        s.last_task_event = None;
        assert_eq!(locates(&tick_at(&mut s, 400)), 0);
    }

    #[test]
    fn one_queued_locally_is_followed_from_when_the_outbox_delivers_it() {
        let mut s = dispatched(
            Delivery::QueuedLocally {
                why: "connection refused".into(),
            },
            false,
        );
        assert_eq!(locates(&tick_at(&mut s, 100)), 0, "not in Redis yet");
        update(
            &mut s,
            Event::OutboxDelivered {
                task_id: "d-1".into(),
            },
        );
        assert_eq!(locates(&tick_at(&mut s, 159)), 0);
        assert_eq!(locates(&tick_at(&mut s, 160)), 1);
    }

    #[test]
    fn held_unacked_is_said_once_and_followed_on() {
        let mut s = dispatched(Delivery::Sent, false);
        for secs in [60, 121] {
            assert_eq!(locates(&tick_at(&mut s, secs)), 1);
            found(&mut s, Place::Unacked);
        }
        let said = s
            .activity
            .lines
            .iter()
            .filter(|l| l.message.contains("visibility timeout"))
            .count();
        assert_eq!(said, 1);
        assert_eq!(s.own_dispatches.by_id.len(), 1);
    }

    #[test]
    fn lost_by_default_is_reported_and_marked_and_nothing_is_pushed() {
        let mut s = dispatched(Delivery::Sent, false);
        tick_at(&mut s, 60);
        let out = found(&mut s, Place::Nowhere);
        assert!(out.effects.is_empty());
        assert!(s.tasks.by_id["d-1"].lost);
        assert!(s.own_dispatches.by_id.is_empty());
        let line = s.activity.lines.back().unwrap();
        assert_eq!(line.level, Level::Error);
        assert!(
            line.message
                .starts_with("thinking.plan [d-1] to THINKING: no worker has reported it")
        );
    }

    #[test]
    fn lost_with_redeliver_on_is_pushed_again_at_most_three_times() {
        let mut s = dispatched(Delivery::Sent, true);
        let mut pushes = 0;
        for round in 1..=4 {
            assert_eq!(
                locates(&tick_at(&mut s, 60 * round + round)),
                1,
                "round {round}"
            );
            let out = found(&mut s, Place::Nowhere);
            pushes += out
                .effects
                .iter()
                .filter(|e| matches!(e, Effect::Redeliver { agent, request } if agent == "THINKING" && request.id == "d-1"))
                .count();
        }
        assert_eq!(pushes, 3);
        assert!(s.tasks.by_id["d-1"].lost, "then it is reported lost");
        assert!(s.own_dispatches.by_id.is_empty());
    }

    #[test]
    fn read_only_never_looks() {
        let mut s = dispatched(Delivery::Sent, true);
        s.session.read_only = true;
        assert_eq!(locates(&tick_at(&mut s, 600)), 0);
    }
}

#[test]
fn a_link_retrying_for_the_same_reason_waits_for_the_clocks_frame() {
    let mut s = state();
    let link = |s: &mut State, health| {
        update(
            s,
            Event::Link {
                name: "sio:dashboard".into(),
                health,
            },
        )
        .redraw
    };
    let down = |why: &str, secs| LinkHealth::Down {
        why: why.into(),
        retry_in: Some(std::time::Duration::from_millis(secs)),
    };
    assert!(
        link(&mut s, down("connection refused", 500)),
        "first failure: at once"
    );
    assert!(!link(&mut s, LinkHealth::Connecting));
    assert!(
        !link(&mut s, down("connection refused", 1300)),
        "same reason, new wait"
    );
    assert!(
        link(&mut s, down("timed out", 2000)),
        "a new reason: at once"
    );
    assert!(!link(&mut s, LinkHealth::Connecting));
    assert!(link(&mut s, LinkHealth::Up), "back up: at once");
    assert!(
        link(&mut s, down("timed out", 500)),
        "down from up: at once"
    );
}

/// Issue 14: every action lands on the thing the operator aimed at.
mod aiming {
    use super::*;

    /// Task `id` received `secs` after the others began: later ones are newer.
    fn arrive(s: &mut State, id: &str, secs: i64) {
        let item = FeedItem::Celery(CeleryEvent::Task(TaskEvent {
            kind: TaskEventKind::Received,
            uuid: id.into(),
            hostname: "thinking@vm".into(),
            timestamp: 1.8e9 + secs as f64,
            fields: TaskFields {
                name: Some("thinking.plan".into()),
                ..Default::default()
            },
        }));
        update(s, feed(t0() + Duration::seconds(secs), item));
    }

    fn picked(s: &State) -> Option<String> {
        crate::app::model::tasks::selected(s).map(|t| t.uuid.clone())
    }

    #[test]
    fn the_selection_stays_on_its_task_while_new_ones_arrive_above_it() {
        let mut s = state();
        for i in 0..5 {
            arrive(&mut s, &format!("t{i}"), i);
        }
        update(&mut s, key(KeyCode::Char('t')));
        assert_eq!(picked(&s).as_deref(), Some("t4"), "the newest, at the top");
        update(&mut s, key(KeyCode::Down));
        update(&mut s, key(KeyCode::Down));
        assert_eq!(picked(&s).as_deref(), Some("t2"));
        // Newer tasks push in above it: row 2 is now another task, the selection is not.
        for i in 5..9 {
            arrive(&mut s, &format!("t{i}"), i);
        }
        assert_eq!(picked(&s).as_deref(), Some("t2"));
        let t2 = s.tasks.by_id.get("t2").unwrap();
        assert_eq!(crate::app::model::tasks::row_of(&s, t2), 6);
        // And `x` aims at t2, not at whatever is in the row it used to stand in.
        update(&mut s, key(KeyCode::Char('x')));
        let Mode::Confirm(c) = &s.ui.mode else {
            panic!("{:?}", s.ui.mode)
        };
        assert_eq!(c.task_id, "t2");
        // A move goes from where the task stands now.
        update(&mut s, key(KeyCode::Esc));
        update(&mut s, key(KeyCode::Up));
        assert_eq!(picked(&s).as_deref(), Some("t3"));
    }

    #[test]
    fn the_selection_follows_its_task_through_a_change_of_sort() {
        let mut s = with_tasks();
        update(&mut s, key(KeyCode::Char('t')));
        while picked(&s).as_deref() != Some("b-2") {
            update(&mut s, key(KeyCode::Down));
        }
        update(&mut s, key(KeyCode::Char('o')));
        assert_eq!(s.ui.task_sort, TaskSort::Name);
        assert_eq!(picked(&s).as_deref(), Some("b-2"));
    }

    #[test]
    fn an_evicted_selection_is_reported_and_nothing_else_is_aimed_at() {
        let mut s = state();
        s.tasks.capacity = 3;
        for i in 0..3 {
            arrive(&mut s, &format!("t{i}"), i);
        }
        update(&mut s, key(KeyCode::Char('t')));
        update(&mut s, key(KeyCode::End));
        assert_eq!(picked(&s).as_deref(), Some("t0"));
        arrive(&mut s, "t3", 3);
        assert_eq!(picked(&s), None, "no neighbour stands in for it");
        assert_eq!(crate::app::model::tasks::pick_gone(&s), Some("t0"));
        let out = update(&mut s, key(KeyCode::Char('x')));
        assert!(out.effects.is_empty());
        assert_eq!(s.ui.mode, Mode::Normal);
        assert!(
            s.flash.as_ref().unwrap().text.contains("no longer kept"),
            "{:?}",
            s.flash
        );
        update(&mut s, key(KeyCode::Enter));
        assert_eq!(s.ui.mode, Mode::Normal, "no detail of another task");
    }

    #[test]
    fn revoking_a_task_that_already_ended_is_refused_in_words() {
        let mut s = with_tasks();
        update(&mut s, key(KeyCode::Char('t')));
        while picked(&s).as_deref() != Some("c-3") {
            update(&mut s, key(KeyCode::Down));
        }
        let out = update(&mut s, key(KeyCode::Char('x')));
        assert!(out.effects.is_empty());
        assert_eq!(s.ui.mode, Mode::Normal);
        assert_eq!(
            s.flash.as_ref().unwrap().text,
            "refused: thinking.reason [c-3] already ended (SUCCESS); revoking it changes nothing"
        );
    }

    #[test]
    fn the_state_filter_finds_what_the_rows_show() {
        let mut s = with_tasks();
        s.tasks.by_id.get_mut("b-2").unwrap().terminated = true;
        s.ui.filter = "state:term".into();
        let ids: Vec<_> = crate::app::model::tasks::visible(&s)
            .iter()
            .map(|t| t.uuid.clone())
            .collect();
        assert_eq!(ids, ["b-2"]);
    }
}

/// Issue 14: a dispatch's result-backend poll stops once its end is known from the events.
#[test]
fn a_dispatch_that_ends_stops_its_result_poll() {
    let mut s = state();
    update(&mut s, dispatched_d1(crate::event::Delivery::Sent));
    assert!(s.results_awaited.contains("d-1"));
    let out = update(
        &mut s,
        feed(
            t0(),
            task(TaskEventKind::Started, "d-1", "w@vm", TaskFields::default()),
        ),
    );
    assert!(
        !out.effects
            .iter()
            .any(|e| matches!(e, Effect::ResultKnown { .. })),
        "started is not the end"
    );
    let out = update(
        &mut s,
        feed(
            t0(),
            task(
                TaskEventKind::Succeeded,
                "d-1",
                "w@vm",
                TaskFields::default(),
            ),
        ),
    );
    assert_eq!(
        out.effects,
        vec![Effect::ResultKnown {
            task_id: "d-1".into()
        }]
    );
    assert!(s.results_awaited.is_empty());
}

#[test]
fn timeline_saves_from_the_time_said_to_now_and_refuses_nonsense() {
    let mut s = state();
    s.now = t0();
    let run = |s: &mut State, line: &str| {
        update(s, key(KeyCode::Char(':')));
        for c in line.chars() {
            update(s, key(KeyCode::Char(c)));
        }
        update(s, key(KeyCode::Enter)).effects
    };
    let effects = run(&mut s, "timeline -30m");
    assert_eq!(
        effects,
        vec![Effect::SaveTimeline {
            from_ms: (t0() - chrono::Duration::minutes(30)).timestamp_millis(),
            to_ms: t0().timestamp_millis(),
        }]
    );
    assert!(run(&mut s, "timeline yesterday").is_empty());
    assert!(s.flash.as_ref().unwrap().text.contains("expected HH:MM"));
}

#[test]
fn an_agent_is_failing_when_most_of_its_recent_tasks_fail_not_after_one() {
    let mut s = state();
    let host = "executing@vm";
    let run = |s: &mut State, id: &str, secs: i64, fail: bool| {
        let at = t0() + chrono::Duration::seconds(secs);
        update(
            s,
            feed(
                at,
                task(TaskEventKind::Started, id, host, TaskFields::default()),
            ),
        );
        let end = if fail {
            TaskEventKind::Failed
        } else {
            TaskEventKind::Succeeded
        };
        update(s, feed(at, task(end, id, host, TaskFields::default())));
    };
    run(&mut s, "a", 0, true);
    assert_eq!(s.agents[3].state, AgentState::Idle);
    run(&mut s, "b", 1, false);
    run(&mut s, "c", 2, false);
    run(&mut s, "d", 3, true);
    assert_eq!(
        s.agents[3].state,
        AgentState::Idle,
        "2 of 4: not more than half"
    );
    run(&mut s, "e", 4, true);
    assert_eq!(
        s.agents[3].state,
        AgentState::Error,
        "3 of 5 failed: failing"
    );
    // Five minutes on, the rate has no tasks behind it: not failing any more.
    update(
        &mut s,
        Event::Tick(t0() + chrono::Duration::seconds(4 + 301)),
    );
    assert_eq!(s.agents[3].state, AgentState::Idle);
    assert!(s.agents[3].last_failure.is_some(), "the fact stays");
}
