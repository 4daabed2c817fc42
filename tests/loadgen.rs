//! chavion-loadgen against a real redis-server and the control room's real feed: every event
//! it says it sent arrives, decoded, with nothing malformed and nothing shed.

mod common;

use common::room::Room;
use common::servers::RedisServer;

const LOADGEN: &str = env!("CARGO_BIN_EXE_chavion-loadgen");

#[tokio::test]
async fn every_generated_event_arrives_decoded() {
    let redis = RedisServer::start();
    let mut room = Room::start(&redis.url(), "", true);
    room.until("the feed subscribed", |s| {
        s.links
            .iter()
            .any(|l| l.name == "redis" && l.health == chavion_tui::event::LinkHealth::Up)
    })
    .await;
    let before = room.state.counters.events;
    let out = tokio::process::Command::new(LOADGEN)
        .args([
            "--redis",
            &redis.url(),
            "--rate",
            "3000",
            "--seconds",
            "1",
            "--mix",
            "both",
        ])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.starts_with("sent 3000 events"), "{said}");
    room.until("all 3000 events applied", |s| {
        s.counters.events - before >= 3000
    })
    .await;
    assert_eq!(room.state.counters.malformed, 0);
    assert_eq!(room.state.counters.shed, 0);
    // The breakdown it printed, found in the state: every task (three events each) and
    // every activity line.
    let counts: Vec<u64> = said
        .lines()
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    let [task_events, agent_reports, activity_lines] = counts[..] else {
        panic!("{said}");
    };
    assert_eq!(task_events + agent_reports + activity_lines, 3000);
    room.until("every activity line", |s| {
        s.activity
            .lines
            .iter()
            .filter(|l| l.message.starts_with("loadgen message"))
            .count() as u64
            == activity_lines
    })
    .await;
    assert_eq!(room.state.tasks.by_id.len() as u64, task_events.div_ceil(3));
    assert!(
        room.state
            .tasks
            .by_id
            .values()
            .any(|t| t.worker == "thinking@loadgen")
    );
}

#[test]
fn it_refuses_anything_but_loopback() {
    let out = std::process::Command::new(LOADGEN)
        .args(["--redis", "redis://192.0.2.1:6379/0", "--seconds", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only publishes to a Redis on loopback"));
}
