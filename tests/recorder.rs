//! Issue 17's flight recorder, end to end: a live session against a real redis-server and
//! a real Celery 5.7 worker (tasks that succeed, fail and retry, a port that closes, a
//! worker that dies) recorded by a control room built from the real wiring, then replayed
//! through the same `update`: the state at the end equals the live one, the Tasks view
//! draws the same, a torn tail is skipped with a warning, and a full disk stops the
//! recorder (saying so) while the control room carries on.

mod common;

use chavion_tui::app::State;
use chavion_tui::event::LinkHealth;
use chavion_tui::replay::Replayer;
use common::room::Room;
use common::servers::{CeleryWorker, RedisServer, peers_dir, python};
use ratatui::{Terminal, backend::TestBackend};
use std::time::Duration;

fn send(url: &str, task: &str, args: &str, count: u32) {
    let out = std::process::Command::new(python())
        .args(["client.py", task, args, "--count", &count.to_string()])
        .current_dir(peers_dir())
        .env("CHAVION_BROKER", url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn done(state: &State, name: &str) -> usize {
    state
        .tasks
        .by_id
        .values()
        .filter(|t| t.fields.name.as_deref() == Some(name) && t.state.is_final())
        .count()
}

/// What the Tasks view draws (and the title bar above it), row by row.
fn tasks_view(state: &State, settings: &chavion_tui::config::Settings) -> Vec<String> {
    let mut state = state.clone();
    state.ui.view = chavion_tui::app::ui_state::View::Tasks;
    state.ui.width = 160;
    state.ui.height = 30;
    let mut term = Terminal::new(TestBackend::new(160, 30)).unwrap();
    term.draw(|f| chavion_tui::ui::draw(f, &state, &settings.theme))
        .unwrap();
    let buf = term.backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect()
        })
        .collect()
}

// Long, on purpose: one recorded session, then each thing checked against it in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_session_replays_to_the_live_state() {
    let dir = tempfile_dir("recorded");
    let redis = RedisServer::start();
    let url = redis.url();
    let port_open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = port_open.local_addr().unwrap().port();
    let extra = format!(
        "[probes]\ninterval_secs = 1\nfail_after = 1\n\
         [[ports]]\nname = \"Executor\"\nhost = \"127.0.0.1\"\nport = {port}\nexpect = \"required\"\n"
    );
    let rec = dir.join("recordings");
    let (settings, mut room) = Room::start_recording(&url, &extra, &rec);
    let worker = CeleryWorker::start(&url, true, &dir);
    room.until("the worker online", |s| {
        s.workers.values().any(|w| w.online)
    })
    .await;

    send(&url, "thinking.add", "[2, 3]", 4);
    send(&url, "thinking.fail", "[]", 2);
    send(&url, "thinking.flaky", "[]", 1);
    room.until("every task ended", |s| {
        done(s, "thinking.add") == 4
            && done(s, "thinking.fail") == 2
            && done(s, "thinking.flaky") == 1
    })
    .await;
    assert!(
        room.state
            .tasks
            .by_id
            .values()
            .any(|t| t.fields.name.as_deref() == Some("thinking.flaky")
                && t.fields.retries.unwrap_or(0) > 0),
        "the flaky task was retried"
    );
    // A dispatch from this control room, confirmed as an operator would.
    room.command("dispatch thinking thinking.add [2, 40]").await;
    room.until("the dispatch ran", |s| done(s, "thinking.add") == 5)
        .await;
    drop(port_open);
    room.until("the port down", |s| {
        s.ports.iter().any(|p| {
            p.port == port && matches!(p.status, chavion_tui::app::state::PortStatus::Down { .. })
        })
    })
    .await;
    drop(worker);
    room.until("the worker offline", |s| {
        s.workers.values().all(|w| !w.online)
    })
    .await;
    room.run_for(Duration::from_millis(500)).await;
    room.recorder.flush();
    // Every record is stamped before now; the last tick (state.now) may come before a batch
    // that arrived after it, which the live state holds too.
    let end_ms = chrono::Utc::now().timestamp_millis();

    // The replay, from the first record to the end, through the same update.
    let mut replay = Replayer::new(&settings, rec.clone(), i64::MIN, 0, end_ms);
    replay.seek(end_ms);
    assert!(replay.warnings().is_empty(), "{:?}", replay.warnings());
    let live = chavion_tui::replay::snapshot_of(&room.state, &settings, end_ms, &[]);
    let again = replay.snapshot();
    for key in [
        "ports",
        "links",
        "queues",
        "agents",
        "tasks",
        "workers",
        "alerts",
        "exit_code",
    ] {
        assert_eq!(live[key], again[key], "{key} differs after the replay");
    }
    assert_eq!(live["tasks"].as_array().unwrap().len(), 8, "{live:#}");

    assert_eq!(room.state.counters.events, replay.state.counters.events);
    // Row for row the same, but for the status bar: a replay says READ-ONLY there.
    let (mut seen, mut replayed) = (
        tasks_view(&room.state, &settings),
        tasks_view(&replay.state, &settings),
    );
    let bar = replayed.pop().unwrap();
    seen.pop();
    assert_eq!(seen, replayed, "the Tasks view draws the same");
    assert!(bar.contains("READ-ONLY"), "{bar}");
    // The raw messages were recorded, not the decoded ones: wire records are in there.
    let mut warnings = Vec::new();
    let segs = chavion_tui::recorder::segments::list(&rec);
    let (mut wire, mut dispatched) = (0, Vec::new());
    for seg in &segs {
        let mut reader = chavion_tui::recorder::segments::Reader::open(&seg.path).unwrap();
        while let Some(block) = reader.next_block(&mut warnings) {
            for r in block {
                match r {
                    chavion_tui::recorder::format::Record::Wire { .. } => wire += 1,
                    chavion_tui::recorder::format::Record::Event {
                        event: chavion_tui::recorder::record::Recorded::Dispatched { request, .. },
                        ..
                    } => dispatched.push(request.id),
                    _ => {}
                }
            }
        }
    }
    assert!(wire > 0, "no wire records");
    // The dispatch's outcome was recorded, and its task is in the replayed state.
    assert_eq!(dispatched.len(), 1, "{dispatched:?}");
    assert!(replay.state.tasks.by_id.contains_key(&dispatched[0]));

    // A torn tail (a crash mid-write) and garbage after it: skipped with a warning, and
    // everything before it still replays.
    let last = &segs.last().unwrap().path;
    let mut bytes = std::fs::read(last).unwrap();
    bytes.extend_from_slice(&[0x40, 0, 0, 0, 0x10, 0, 0, 0, 1, 2, 3]);
    std::fs::write(last, &bytes).unwrap();
    let mut torn = Replayer::new(&settings, rec.clone(), i64::MIN, 0, end_ms);
    torn.seek(end_ms);
    assert_eq!(torn.warnings().len(), 1, "{:?}", torn.warnings());
    assert!(
        torn.warnings()[0].contains("cut short"),
        "{:?}",
        torn.warnings()
    );
    assert_eq!(torn.snapshot()["tasks"], live["tasks"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_recorder_and_not_the_control_room() {
    let dir = tempfile_dir("full");
    let small = dir.join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(
        mounted.success(),
        "mounting a small tmpfs (the harness runs as root)"
    );
    let _unmount = Unmount(small.clone());
    let redis = RedisServer::start();
    let url = redis.url();
    let (_settings, mut room) = Room::start_recording(&url, "", &small.join("rec"));
    room.until("the feed up", |s| {
        s.links
            .iter()
            .any(|l| l.name == "redis" && l.health == LinkHealth::Up)
    })
    .await;
    // Incompressible payloads, so the disk fills fast.
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut seed = 1u64;
    for _ in 0..200 {
        let noise: String = (0..4000)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                char::from(b'a' + (seed >> 59) as u8 % 26)
            })
            .collect();
        let _: i64 = redis::cmd("PUBLISH")
            .arg("chavion:activity")
            .arg(format!(
                "{{\"level\":\"info\",\"source\":\"x\",\"message\":\"{noise}\"}}"
            ))
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    room.until("the recorder stopped, saying why", |s| {
        s.links.iter().any(|l| {
            l.name == "recorder"
                && matches!(&l.health, LinkHealth::Down { why, .. } if why.contains("No space left"))
        })
    })
    .await;
    // And the control room still takes in what comes.
    let before = room.state.activity.total;
    let _: i64 = redis::cmd("PUBLISH")
        .arg("chavion:activity")
        .arg("{\"level\":\"info\",\"source\":\"x\",\"message\":\"still here\"}")
        .query_async(&mut conn)
        .await
        .unwrap();
    room.until("a line after the disk filled", |s| {
        s.activity.total > before && s.activity.lines.iter().any(|l| l.message == "still here")
    })
    .await;
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "chavion-recorder-{name}-{}-{}",
        std::process::id(),
        fastrand_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fastrand_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
