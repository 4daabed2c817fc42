//! Whole-screen snapshots (ratatui TestBackend + insta) of the main screen and the help
//! overlay, plus a sweep over terminal sizes that must never panic. The state is built by
//! pushing real wire bytes through the real decoders, at fixed times.

use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use serde_json::json;
use std::path::Path;

use chavion_tui::app::{State, update};
use chavion_tui::config::theme::{self, ColorMode, Theme};
use chavion_tui::config::{Config, keymap};
use chavion_tui::event::{Event, LinkHealth, ProbeOutcome};
use chavion_tui::platform::model::{FeedItem, QueueSample};
use chavion_tui::platform::route::{Channels, route};
use chavion_tui::platform::wire;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 22, 0, 0).unwrap()
}

fn fleet() -> State {
    let km = keymap::build("default", Path::new("/nonexistent"), vec![]).unwrap();
    let mut s = State::new(&Config::default(), km, t0());
    s.utc = true;
    s.session.demo = true;
    let ch = Channels::new("chavion:agents:*", "chavion:activity", 0, "", true);
    let ts = t0().timestamp() as f64;
    let mut items = Vec::new();
    for (name, host) in [
        ("COGNITIVE", "cognitive@vm"),
        ("THINKING", "thinking@vm"),
        ("JUDGING", "judging@vm"),
        ("EXECUTING", "executing@vm"),
    ] {
        let hb = wire::worker_heartbeat(host, ts, 0, 12, [0.1, 0.1, 0.1]);
        route(
            &ch,
            "/0.celeryev/worker.heartbeat",
            &wire::kombu_event_envelope(&hb, host, "worker.heartbeat", "t"),
            &mut items,
        );
        let _ = name;
    }
    route(
        &ch,
        "chavion:agents:THINKING",
        &wire::agent_json(
            "THINKING",
            "busy",
            Some("9f2c41d0-aaaa"),
            "planning rollout",
            "Claude",
            ts,
        ),
        &mut items,
    );
    let batch = json!([
        {"type": "task-received", "uuid": "5d1e0c7a-bbbb", "name": "judging.risk_score", "args": "('deploy-42',)", "kwargs": "{}", "hostname": "judging@vm", "timestamp": ts},
        {"type": "task-started", "uuid": "5d1e0c7a-bbbb", "hostname": "judging@vm", "timestamp": ts},
        {"type": "task-received", "uuid": "77aa0000-cccc", "name": "executing.deploy", "hostname": "executing@vm", "timestamp": ts},
        {"type": "task-started", "uuid": "77aa0000-cccc", "hostname": "executing@vm", "timestamp": ts},
        {"type": "task-failed", "uuid": "77aa0000-cccc", "exception": "RuntimeError('health check 502')",
         "traceback": "Traceback (most recent call last):\n  File \"deploy.py\", line 12, in run\nRuntimeError: health check 502", "hostname": "executing@vm", "timestamp": ts}
    ]);
    route(
        &ch,
        "/0.celeryev/task.multi",
        &wire::kombu_event_envelope(&batch, "judging@vm", "task.multi", "t"),
        &mut items,
    );
    route(
        &ch,
        "chavion:activity",
        &wire::activity_json(
            "warn",
            "JUDGING",
            "risk score 0.62 above soft threshold",
            None,
            ts,
        ),
        &mut items,
    );
    route(
        &ch,
        "chavion:agents:EVOLVING",
        b"{\"agent\":\"EVOLVING\",\"state\":\"\\u001b[31mdancing\"}",
        &mut items,
    );
    items.push(FeedItem::Queues(vec![
        QueueSample {
            queue: "thinking".into(),
            depth: 4,
            reserved: 0,
        },
        QueueSample {
            queue: "judging".into(),
            depth: 1,
            reserved: 0,
        },
    ]));
    update(&mut s, Event::FeedBatch { at: t0(), items });
    for (q, d) in [("thinking", 9), ("judging", 0), ("cognitive", 2)] {
        update(
            &mut s,
            Event::Feed {
                at: t0(),
                item: Box::new(FeedItem::Queues(vec![QueueSample {
                    queue: q.into(),
                    depth: d,
                    reserved: 0,
                }])),
            },
        );
    }
    for i in 0..s.ports.len() {
        let outcome = match i {
            0..=6 if i != 4 => ProbeOutcome::Up {
                latency: std::time::Duration::from_micros(300 + 150 * i as u64),
                cert_days: (i == 1).then_some(5),
            },
            4 => ProbeOutcome::Down {
                why: "connection refused".into(),
            },
            _ => ProbeOutcome::Down {
                why: "connection refused".into(),
            },
        };
        update(
            &mut s,
            Event::Probe {
                at: t0(),
                index: i,
                outcome,
            },
        );
    }
    update(
        &mut s,
        Event::Link {
            name: "redis".into(),
            health: LinkHealth::Up,
        },
    );
    update(&mut s, Event::Tick(t0() + Duration::seconds(3)));
    s
}

fn theme(mode: ColorMode) -> Theme {
    theme::load("dark", Path::new("/nonexistent"), mode).unwrap()
}

fn render(state: &State, w: u16, h: u16, th: &Theme) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| chavion_tui::ui::draw(f, state, th)).unwrap();
    term
}

fn key(s: &mut State, c: KeyCode) {
    update(s, Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
}

#[test]
fn main_screen_80x24() {
    let mut s = fleet();
    update(
        &mut s,
        Event::Resize {
            width: 80,
            height: 24,
        },
    );
    insta::assert_snapshot!(render(&s, 80, 24, &theme(ColorMode::TrueColor)).backend());
}

#[test]
fn main_screen_160x48() {
    let mut s = fleet();
    update(
        &mut s,
        Event::Resize {
            width: 160,
            height: 48,
        },
    );
    insta::assert_snapshot!(render(&s, 160, 48, &theme(ColorMode::TrueColor)).backend());
}

#[test]
fn help_overlay_80x24() {
    let mut s = fleet();
    key(&mut s, KeyCode::Char('?'));
    insta::assert_snapshot!(render(&s, 80, 24, &theme(ColorMode::TrueColor)).backend());
}

#[test]
fn help_overlay_160x48() {
    let mut s = fleet();
    key(&mut s, KeyCode::Char('?'));
    insta::assert_snapshot!(render(&s, 160, 48, &theme(ColorMode::TrueColor)).backend());
}

#[test]
fn zoomed_ports_pane_80x24() {
    let mut s = fleet();
    key(&mut s, KeyCode::Tab);
    key(&mut s, KeyCode::Tab);
    key(&mut s, KeyCode::Enter);
    insta::assert_snapshot!(render(&s, 80, 24, &theme(ColorMode::TrueColor)).backend());
}

#[test]
fn every_size_from_tiny_to_huge_draws_without_panicking() {
    let mut s = fleet();
    let th = theme(ColorMode::Ansi16);
    for zoom in [false, true] {
        s.ui.zoomed = zoom;
        for w in (1..=260).step_by(13) {
            for h in (1..=75).step_by(4) {
                let term = render(&s, w, h, &th);
                assert_eq!(term.backend().buffer().area.width, w);
            }
        }
    }
    s.ui.mode = chavion_tui::app::state::Mode::Help;
    for (w, h) in [(1, 1), (20, 5), (30, 8), (80, 24), (250, 70)] {
        render(&s, w, h, &th);
    }
}

#[test]
fn selection_stays_visible_with_no_colour_at_all() {
    let mut s = fleet();
    key(&mut s, KeyCode::Tab); // queues
    let th = theme(ColorMode::None);
    let term = render(&s, 80, 24, &th);
    let buf = term.backend().buffer();
    let cells: Vec<_> = buf
        .content()
        .iter()
        .filter(|c| c.modifier.contains(Modifier::REVERSED))
        .collect();
    assert!(
        !cells.is_empty(),
        "the selected queue row must be in reverse video"
    );
    assert!(
        buf.content()
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset),
        "no colour may leak through"
    );
}

#[test]
fn hostile_text_never_reaches_the_buffer() {
    let s = fleet();
    let term = render(&s, 160, 48, &theme(ColorMode::TrueColor));
    let text = screen_text(&term);
    assert!(
        text.contains("malformed payload"),
        "the bad EVOLVING report shows as a warning"
    );
    assert!(!text.contains('\u{1b}'));
}

#[test]
fn tasks_view_80x24_and_160x48() {
    let mut s = fleet();
    key(&mut s, KeyCode::Char('t'));
    insta::assert_snapshot!(
        "tasks_view_80x24",
        render(&s, 80, 24, &theme(ColorMode::TrueColor)).backend()
    );
    insta::assert_snapshot!(
        "tasks_view_160x48",
        render(&s, 160, 48, &theme(ColorMode::TrueColor)).backend()
    );
}

#[test]
fn task_detail_shows_exception_and_traceback() {
    let mut s = fleet();
    key(&mut s, KeyCode::Char('t'));
    key(&mut s, KeyCode::Char('/'));
    for c in "state:fail".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    key(&mut s, KeyCode::Enter);
    insta::assert_snapshot!(render(&s, 100, 30, &theme(ColorMode::TrueColor)).backend());
}

#[test]
fn terminate_confirmation_80x24() {
    let mut s = fleet();
    key(&mut s, KeyCode::Char('t'));
    update(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Char('X'), KeyModifiers::SHIFT)),
    );
    insta::assert_snapshot!(render(&s, 80, 24, &theme(ColorMode::TrueColor)).backend());
}

/// Issue 27: `x` on a task that has started says a revoke alone will not stop it, and
/// offers the terminate.
#[test]
fn revoke_of_a_running_task_80x24() {
    let mut s = fleet();
    key(&mut s, KeyCode::Char('t'));
    key(&mut s, KeyCode::Char('x'));
    insta::assert_snapshot!(render(&s, 80, 24, &theme(ColorMode::TrueColor)).backend());
}

/// Issue 27: work waits in a queue no live worker consumes: the queue row and the agent's
/// tile say "no consumer", in the warning style (EVOLVING has no worker in this fleet).
#[test]
fn a_queue_no_one_consumes_is_called_out_160x48() {
    let mut s = fleet();
    update(
        &mut s,
        Event::Feed {
            at: t0() + Duration::seconds(2),
            item: Box::new(FeedItem::Queues(vec![QueueSample {
                queue: "evolving".into(),
                depth: 14,
                reserved: 0,
            }])),
        },
    );
    let shown = render(&s, 160, 48, &theme(ColorMode::TrueColor));
    let text = screen_text(&shown);
    assert_eq!(text.matches("⊘ no consumer").count(), 2, "row and tile");
    insta::assert_snapshot!(shown.backend());
}

#[test]
fn workers_view_120x30() {
    let mut s = fleet();
    key(&mut s, KeyCode::Char('w'));
    insta::assert_snapshot!(render(&s, 120, 30, &theme(ColorMode::TrueColor)).backend());
}

#[test]
fn dispatch_form_with_a_live_json_error_80x24() {
    let mut s = fleet();
    key(&mut s, KeyCode::Char('d'));
    for c in "thinking.pl".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Tab);
    for c in "[\"a\", }".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    insta::assert_snapshot!(render(&s, 80, 24, &theme(ColorMode::TrueColor)).backend());
}

#[test]
fn dispatch_confirmation_shows_the_exact_message_100x40() {
    let mut s = fleet();
    s.session.id_seed = 42;
    key(&mut s, KeyCode::Char(':'));
    for c in "dispatch thinking thinking.plan [\"rollout\"]".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    insta::assert_snapshot!(render(&s, 100, 40, &theme(ColorMode::TrueColor)).backend());
}

/// The fleet, live (not the demo), with the shipped example's hosts and runbooks.
fn fleet_with_runbooks() -> State {
    let mut s = fleet();
    s.session.demo = false;
    let text = include_str!("../assets/examples/platform.toml");
    let (cfg, diags) = chavion_tui::config::parse_config(text, Path::new("example.toml"));
    assert!(diags.is_empty(), "{diags:?}");
    s.executor.config = std::sync::Arc::new(cfg.unwrap().0.executor);
    s
}

#[test]
fn executor_offers_an_agents_runbooks_when_redis_is_down_120x30() {
    let mut s = fleet_with_runbooks();
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
    key(&mut s, KeyCode::Down); // THINKING
    insta::assert_snapshot!(
        "dashboard_with_redis_down",
        render(&s, 120, 30, &theme(ColorMode::TrueColor)).backend()
    );
    key(&mut s, KeyCode::Char('e'));
    insta::assert_snapshot!(
        "runbooks_for_thinking",
        render(&s, 120, 30, &theme(ColorMode::TrueColor)).backend()
    );
}

#[test]
fn executor_destructive_confirmation_100x30() {
    let mut s = fleet_with_runbooks();
    key(&mut s, KeyCode::Char(':'));
    for c in "exec purge-thinking-queue".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    for c in "v".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    insta::assert_snapshot!(render(&s, 100, 30, &theme(ColorMode::TrueColor)).backend());
}

/// The platform's `disk-memory` runbook started from the command line; its run's id.
fn disk_memory_run() -> (State, u64) {
    let mut s = fleet_with_runbooks();
    key(&mut s, KeyCode::Char(':'));
    for c in "exec disk-memory".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    key(&mut s, KeyCode::Char('y'));
    let id = s.executor.runs[0].id;
    (s, id)
}

#[test]
fn executor_run_tab_streams_both_streams_and_the_end_100x24() {
    use chavion_tui::executor::RunUpdate;
    use chavion_tui::executor::run::{RunEnd, Status, Stream};
    let (mut s, id) = disk_memory_run();
    let run = |s: &mut State, update_: RunUpdate| {
        update(
            s,
            Event::Run {
                id,
                update: update_,
            },
        );
    };
    run(&mut s, RunUpdate::Started);
    run(
        &mut s,
        RunUpdate::Output(vec![
            (
                Stream::Out,
                "Filesystem      Size  Used Avail Use% Mounted on".into(),
            ),
            (
                Stream::Out,
                "/dev/sda1        49G   31G   16G  67% /".into(),
            ),
            (Stream::Err, "df: /opt: No such file or directory".into()),
            (Stream::Out, "Mem:          24034    3120   18210".into()),
        ]),
    );
    run(
        &mut s,
        RunUpdate::Ended(RunEnd {
            status: Status::Exit(1),
            duration: std::time::Duration::from_millis(420),
            cancelled: false,
            timed_out: false,
        }),
    );
    insta::assert_snapshot!(render(&s, 100, 24, &theme(ColorMode::TrueColor)).backend());
}

/// Issue 14: a host-key refusal is wrapped in the run tab, never cut: the fingerprint and
/// the line to add are all there at 80 columns.
#[test]
fn executor_refusal_is_wrapped_in_its_tab_80x24() {
    use chavion_tui::executor::RunUpdate;
    use chavion_tui::executor::run::{RunEnd, Status};
    use chavion_tui::executor::ssh::SshError;
    let (mut s, id) = disk_memory_run();
    let line = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN8y+UM79/Wn+GyHpuEA6U5J5YGo0zt+qXQkYADE9TYJ";
    let why = format!(
        "host key refused: [127.0.0.1]:2222 is not in /home/ops/.ssh/known_hosts (its ssh-ed25519 key is SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU). Verify that fingerprint on the host, then add this line: {line}"
    );
    update(
        &mut s,
        Event::Run {
            id,
            update: RunUpdate::Ended(RunEnd {
                status: Status::NotStarted(SshError::HostKey(why)),
                duration: std::time::Duration::from_millis(30),
                cancelled: false,
                timed_out: false,
            }),
        },
    );
    let term = render(&s, 80, 24, &theme(ColorMode::TrueColor));
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .chunks(80)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("");
    let joined: String = screen
        .split_whitespace()
        .collect::<String>()
        .replace("┃", "");
    assert!(
        joined.contains("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"),
        "{screen}"
    );
    assert!(joined.contains(&line.replace(' ', "")), "{screen}");
    insta::assert_snapshot!(term.backend());
}

fn row(term: &Terminal<TestBackend>, y: u16) -> String {
    let buf = term.backend().buffer();
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect()
}

/// Issue 14: at 80×24 the status bar leads with Redis, the queue sampler, task events and
/// the mode, whatever order the links reported in; the Workers view keeps its counts.
#[test]
fn at_80_columns_nothing_essential_is_cut() {
    let mut s = fleet();
    s.links.clear();
    for (name, health) in [
        (
            "sio:chavion.com",
            LinkHealth::Down {
                why: "connection refused by 127.0.0.1:5002".into(),
                retry_in: None,
            },
        ),
        (
            "sio:dashboard",
            LinkHealth::Down {
                why: "connection refused by 127.0.0.1:5004".into(),
                retry_in: None,
            },
        ),
        ("queues", LinkHealth::Up),
        ("redis", LinkHealth::Up),
    ] {
        update(
            &mut s,
            Event::Link {
                name: name.into(),
                health,
            },
        );
    }
    let term = render(&s, 80, 24, &theme(ColorMode::TrueColor));
    let status = row(&term, 23);
    assert!(status.starts_with(" ● redis  ● queues "), "{status}");
    assert!(status.contains("task events"), "{status}");
    assert!(status.contains("NORMAL"), "{status}");
    key(&mut s, KeyCode::Char('w'));
    let term = render(&s, 80, 24, &theme(ColorMode::TrueColor));
    let header = (0..24)
        .map(|y| row(&term, y))
        .find(|r| r.contains("processed"))
        .expect("a header with processed");
    for column in [
        "worker",
        "agent",
        "state",
        "active",
        "processed",
        "heartbeat",
    ] {
        assert!(header.contains(column), "{column} missing: {header}");
    }
}

/// Issue 14: hints on screen come from the active keymap: a remapped key is named right,
/// and the help overlay lists the views' keys and every `:` command.
#[test]
fn hints_follow_a_remapped_key_and_help_lists_views_and_commands() {
    let mut s = fleet();
    let remap = chavion_tui::config::settings_from_str(
        "[[keymap.normal]]\non = \"o\"\nrun = \"none\"\n[[keymap.normal]]\non = \"S\"\nrun = \"sort\"\n",
    )
    .unwrap();
    s.keymap = remap.keymap;
    key(&mut s, KeyCode::Char('t'));
    let term = render(&s, 100, 24, &theme(ColorMode::TrueColor));
    let title = row(&term, 1);
    assert!(title.contains("sort: newest (S)"), "{title}");
    assert!(!title.contains("(o)"), "{title}");
    key(&mut s, KeyCode::Char('?'));
    s.ui.help_scroll = 0;
    // The whole overlay, a screenful at a time.
    let text: String = (0..6u16)
        .map(|page| {
            s.ui.help_scroll = page * 30;
            let term = render(&s, 120, 60, &theme(ColorMode::TrueColor));
            (0..60)
                .map(|y| row(&term, y))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    for want in [
        "Tasks view",
        "details of the selected task",
        "Executor view",
        "next / previous tab",
        ":workers",
        ":executor",
        ":at 14:05",
        ":help",
    ] {
        assert!(text.contains(want), "help lacks `{want}`");
    }
}

/// Issue 16: a worker's detail, from the replies captured from celery 5.7.0
/// (tests/fixtures/pidbox/), and an order's confirmation that wants a name typed.
#[test]
fn worker_detail_and_shutdown_confirmation_100x36() {
    use chavion_tui::platform::pidbox::{Inspect, WorkerDetail};
    let mut s = fleet();
    key(&mut s, KeyCode::Char('w'));
    let host = s.ui.worker_pick.clone().expect("a worker is selected");
    let mut detail = WorkerDetail::default();
    for m in Inspect::DETAIL {
        let path = format!(
            "{}/tests/fixtures/pidbox/{}.txt",
            env!("CARGO_MANIFEST_DIR"),
            m.method()
        );
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines().filter_map(|l| l.strip_prefix("reply ")) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(said) = v.get("thinking@localhost") {
                detail.apply(m, said);
            }
        }
    }
    key(&mut s, KeyCode::Enter);
    update(
        &mut s,
        Event::Inspected {
            worker: host.clone(),
            outcome: Ok(Box::new(detail)),
        },
    );
    let screen = render(&s, 100, 36, &theme(ColorMode::TrueColor));
    let text = format!("{:?}", screen.backend());
    for shown in [
        "prefork:TaskPool",
        "autoscale",
        "queues consumed (1)",
        "thinking",
    ] {
        assert!(text.contains(shown), "{shown} missing");
    }
    insta::assert_snapshot!(screen.backend());
    key(&mut s, KeyCode::Esc);
    key(&mut s, KeyCode::Char(':'));
    for c in "shutdown".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    for c in "wrong".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    insta::assert_snapshot!(
        "shutdown_confirmation_80x24",
        render(&s, 80, 24, &theme(ColorMode::TrueColor)).backend()
    );
}

/// Issue 18's Issues view: the demo's failure, grouped.
#[test]
fn issues_view_120x30() {
    let mut s = fleet();
    key(&mut s, KeyCode::Char('i'));
    let screen = render(&s, 120, 30, &theme(ColorMode::TrueColor));
    let text = format!("{:?}", screen.backend());
    assert!(
        text.contains("FAILING") && text.contains("RuntimeError"),
        "{text}"
    );
    insta::assert_snapshot!(screen.backend());
}

/// The Metrics view: two panels as Prometheus answered them, one series with a gap, one
/// query refused (its words shown beside its title).
#[test]
fn metrics_view_100x20() {
    use chavion_tui::event::{PanelRead, PanelSeries};
    let text = "[prometheus]\nurl = \"http://127.0.0.1:9090\"\n\
                [[panels]]\ntitle = \"tasks failed /s\"\nquery = \"sum(rate(celery_task_failed_total[5m]))\"\nunit = \"/s\"\n\
                [[panels]]\ntitle = \"queue depth\"\nquery = \"celery_queue_length\"\nrange_secs = 600\n";
    let settings = chavion_tui::config::settings_from_str(text).unwrap();
    let km = keymap::build("default", Path::new("/nonexistent"), vec![]).unwrap();
    let mut s = State::new(&settings.config, km, t0());
    s.utc = true;
    let points: Vec<f64> = (0..61)
        .map(|i| {
            if i == 30 {
                f64::NAN
            } else {
                ((i % 12) + 1) as f64 * 0.25
            }
        })
        .collect();
    update(
        &mut s,
        Event::Panels {
            at: t0(),
            reads: vec![
                PanelRead {
                    index: 0,
                    outcome: Ok(vec![PanelSeries {
                        label: String::new(),
                        points,
                    }]),
                },
                PanelRead {
                    index: 1,
                    outcome: Err("bad_data: unknown function".into()),
                },
            ],
        },
    );
    s.ui.view = chavion_tui::app::state::View::Metrics;
    let screen = render(&s, 100, 20, &theme(ColorMode::TrueColor));
    let shown = format!("{:?}", screen.backend());
    assert!(
        shown.contains("tasks failed /s") && shown.contains("0.250/s"),
        "{shown}"
    );
    assert!(shown.contains("⚠ bad_data: unknown function"), "{shown}");
    insta::assert_snapshot!(screen.backend());
}

/// The Containers view and a container's detail, from the Engine's own inspect JSON: an
/// agent's container running, one exited (3), one OOM-killed, and one of the project with
/// no agent; the detail shows env names, never values.
#[test]
fn containers_view_and_detail_120x30() {
    use chavion_tui::event::ContainerNews;
    use chavion_tui::platform::containers::from_inspect;
    let mut s = fleet();
    let c = |name: &str, service: &str, state: &str, exit: i64, oom: bool| {
        let v = serde_json::json!({
            "Id": format!("{name}0000"), "Name": format!("/{name}"), "RestartCount": 0,
            "Path": "python", "Args": ["-m", service],
            "State": {"Status": state, "OOMKilled": oom, "ExitCode": exit,
                      "StartedAt": "2026-11-23T19:00:00Z",
                      "FinishedAt": if state == "running" { "0001-01-01T00:00:00Z" } else { "2026-11-23T21:58:00Z" }},
            "Config": {"Image": format!("chavion/{service}:1.4"), "Env": ["OPENAI_API_KEY=sk-secret", "MODE=prod"],
                       "Labels": {"com.docker.compose.project": "chavion", "com.docker.compose.service": service}},
            "NetworkSettings": {"Ports": {"8000/tcp": null}},
        });
        from_inspect(&serde_json::from_value(v).unwrap())
    };
    update(
        &mut s,
        Event::Containers(ContainerNews::Listed(vec![
            c("chavion-thinking-1", "thinking", "running", 0, false),
            c("chavion-judging-1", "judging", "exited", 3, false),
            c("chavion-evolving-1", "evolving", "exited", 137, true),
            c("chavion-redis-1", "redis", "running", 0, false),
        ])),
    );
    update(
        &mut s,
        Event::Key(KeyEvent::new(KeyCode::Char('C'), KeyModifiers::SHIFT)),
    );
    let screen = render(&s, 120, 30, &theme(ColorMode::TrueColor));
    let shown = format!("{:?}", screen.backend());
    assert!(
        shown.contains("exited (3)") && shown.contains("OOM-killed"),
        "{shown}"
    );
    insta::assert_snapshot!("containers_view_120x30", screen.backend());
    key(&mut s, KeyCode::Enter);
    let detail = render(&s, 120, 30, &theme(ColorMode::TrueColor));
    let shown = format!("{:?}", detail.backend());
    assert!(
        shown.contains("OPENAI_API_KEY") && !shown.contains("sk-secret"),
        "{shown}"
    );
    insta::assert_snapshot!("container_detail_120x30", detail.backend());
}

/// The demo fleet seen from context `name` among `all`, at `size`.
fn in_context(name: &str, color: &str, protected: bool, all: &[&str], size: (u16, u16)) -> State {
    let mut s = fleet();
    s.session.context = chavion_tui::config::contexts::ContextMeta {
        name: name.into(),
        color: color.into(),
        protected,
    };
    s.session.contexts = all.iter().map(|c| c.to_string()).collect();
    update(
        &mut s,
        Event::Resize {
            width: size.0,
            height: size.1,
        },
    );
    s
}

/// Issue 19: the fleet overview with three contexts (one down, one failing), seen from the
/// protected production context, whose badge the title bar shows.
#[test]
fn fleet_overview_of_three_contexts_100x16() {
    use chavion_tui::event::ContextRow;
    let mut s = in_context(
        "production",
        "red",
        true,
        &["default", "staging", "production"],
        (100, 16),
    );
    let row = |name: &str, color: &str, live: bool, failures: usize| ContextRow {
        name: name.into(),
        color: color.into(),
        protected: name == "production",
        agents_up: if live { 5 } else { 0 },
        agents: 5,
        workers_online: if live { 4 } else { 0 },
        waiting: 12,
        failures_5m: failures,
        ports_down: usize::from(!live),
        alerts_firing: usize::from(failures > 0),
        live,
        spark: vec![3, 5, 8, 13, 8, 5, 3],
    };
    update(
        &mut s,
        Event::Contexts(vec![
            row("default", "", true, 0),
            row("staging", "yellow", false, 0),
            row("production", "red", true, 7),
        ]),
    );
    let mut ui = s.clone();
    update(
        &mut ui,
        Event::Key(KeyEvent::new(KeyCode::Char(':'), KeyModifiers::NONE)),
    );
    for c in "fleet".chars() {
        key(&mut ui, KeyCode::Char(c));
    }
    key(&mut ui, KeyCode::Enter);
    insta::assert_snapshot!(render(&ui, 100, 16, &theme(ColorMode::TrueColor)).backend());
}

/// Issue 19: with several contexts, every confirmation names the one it acts in.
#[test]
fn a_confirmation_names_its_context() {
    let mut s = in_context(
        "staging",
        "yellow",
        false,
        &["default", "staging"],
        (100, 30),
    );
    key(&mut s, KeyCode::Char('t'));
    key(&mut s, KeyCode::Char('x'));
    assert!(
        matches!(s.ui.mode, chavion_tui::app::state::Mode::Confirm(_)),
        "a revoke waits for its confirmation"
    );
    let term = render(&s, 100, 30, &theme(ColorMode::TrueColor));
    let buf = term.backend().buffer();
    let last: String = (0..100)
        .map(|x| buf[(x, 29)].symbol().to_string())
        .collect();
    assert!(last.contains("this acts in context staging"), "{last}");
}

/// The context badge's colour follows the terminal's colour depth like the theme's: with
/// no colour at all (NO_COLOR, `--color none`) it is drawn without one, still reversed.
#[test]
fn the_context_badge_has_no_colour_when_the_terminal_has_none() {
    let s = in_context(
        "production",
        "red",
        true,
        &["default", "production"],
        (100, 20),
    );
    let term = render(&s, 100, 20, &theme(ColorMode::None));
    let buf = term.backend().buffer();
    let top: String = (0..100).map(|x| buf[(x, 0)].symbol().to_string()).collect();
    let at = top.find("⎈").expect("the badge is drawn");
    let x = top[..at].chars().count() as u16;
    let cell = &buf[(x, 0)];
    assert_eq!(cell.fg, ratatui::style::Color::Reset, "{top}");
    assert!(cell.modifier.contains(Modifier::REVERSED));
    let coloured = render(&s, 100, 20, &theme(ColorMode::TrueColor));
    assert_eq!(
        coloured.backend().buffer()[(x, 0)].fg,
        ratatui::style::Color::Red
    );
}

/// The Links view (`:links`): every connection with its state, since when and its last
/// error; a link that recovered still shows what it last said, with its time.
#[test]
fn links_view_100x20() {
    let mut s = fleet();
    let at = |secs| Event::Tick(t0() + Duration::seconds(secs));
    let link = |name: &str, health| Event::Link {
        name: name.into(),
        health,
    };
    update(&mut s, at(1));
    update(
        &mut s,
        link(
            "docker",
            LinkHealth::Down {
                why: "not reachable (connection refused)".into(),
                retry_in: Some(std::time::Duration::from_secs(4)),
            },
        ),
    );
    update(
        &mut s,
        link(
            "sio:dashboard",
            LinkHealth::Down {
                why: "closed".into(),
                retry_in: None,
            },
        ),
    );
    update(&mut s, at(30));
    update(&mut s, link("sio:dashboard", LinkHealth::Up));
    update(
        &mut s,
        link(
            "prometheus",
            LinkHealth::Degraded {
                why: "panel p95: no data".into(),
            },
        ),
    );
    update(&mut s, at(95));
    key(&mut s, KeyCode::Char(':'));
    for c in "links".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    key(&mut s, KeyCode::Down);
    assert_eq!(s.ui.view, chavion_tui::app::state::View::Links);
    assert_eq!(
        s.ui.link_pick.as_deref(),
        Some("prometheus"),
        "second row: degraded"
    );
    insta::assert_snapshot!(render(&s, 100, 20, &theme(ColorMode::TrueColor)).backend());
}

/// A key bound in a view's own section means that there, and the main screen's binding
/// everywhere else; the help overlay lists the section.
#[test]
fn a_views_own_keymap_section_wins_in_that_view_only() {
    let mut s = fleet();
    let dir = tempfile_dir();
    std::fs::write(
        dir.join("default.toml"),
        "[[keymap.links]]\non = \"t\"\nrun = \"top\"\ndesc = \"First link\"\n",
    )
    .unwrap();
    s.keymap = keymap::build("default", &dir, vec![]).unwrap();
    for secs in [1, 2, 3] {
        update(
            &mut s,
            Event::Link {
                name: format!("link{secs}"),
                health: LinkHealth::Up,
            },
        );
    }
    s.ui.view = chavion_tui::app::state::View::Links;
    key(&mut s, KeyCode::Down);
    assert_eq!(
        s.ui.link_pick.as_deref(),
        Some("link2"),
        "link1, link2, link3, redis"
    );
    key(&mut s, KeyCode::Char('t'));
    assert_eq!(
        s.ui.view,
        chavion_tui::app::state::View::Links,
        "t is Top here"
    );
    assert_eq!(s.ui.link_pick.as_deref(), Some("link1"));
    key(&mut s, KeyCode::Char('?'));
    let help = render(&s, 120, 80, &theme(ColorMode::TrueColor));
    let text = screen_text(&help);
    assert!(
        text.contains("Links view (other keys"),
        "the section is listed"
    );
    assert!(text.contains("First link"));
    key(&mut s, KeyCode::Esc);
    // Elsewhere `t` is still the main screen's: the Tasks view.
    s.ui.view = chavion_tui::app::state::View::Dashboard;
    key(&mut s, KeyCode::Char('t'));
    assert_eq!(s.ui.view, chavion_tui::app::state::View::Tasks);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("chavion-keymap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every cell's symbol of a drawn screen, row after row, as one string.
fn screen_text(term: &Terminal<TestBackend>) -> String {
    term.backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect()
}
