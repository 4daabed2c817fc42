//! The Socket.IO client against a real Flask-SocketIO 5.7 server (threading mode), started
//! by the harness on a free loopback port.

mod common;

use crossterm::event::KeyCode;
use serde_json::json;
use std::time::Duration;

use chavion_tui::app::State;
use chavion_tui::app::state::Mode;
use chavion_tui::event::LinkHealth;
use chavion_tui::platform::model::{AgentState, TaskEventKind};
use common::room::Room;
use common::servers::SocketIoServer;

fn config(url: &str, token: &str) -> String {
    format!(
        "[redis]\nurl = \"redis://127.0.0.1:1/0\"\n[[socketio]]\nname = \"dash\"\nurl = \"{url}\"\nnamespaces = [\"/\", \"/dash\"]\ntoken = \"{token}\"\n\
         [socketio.events]\nagent_state = \"agent_state\"\nactivity = \"activity\"\ntask_update = \"task_update\"\nqueue_depth = \"queue_depth\"\n"
    )
}

fn health(s: &State) -> Option<&LinkHealth> {
    s.links
        .iter()
        .find(|l| l.name == "sio:dash")
        .map(|l| &l.health)
}

fn up(s: &State) -> bool {
    health(s) == Some(&LinkHealth::Up)
}

fn enc(v: &serde_json::Value) -> String {
    v.to_string()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn has_line(s: &State, text: &str) -> bool {
    s.activity.lines.iter().any(|l| l.message.contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_right_panes_and_unmapped_ones_show_raw() {
    let server = SocketIoServer::start();
    let mut room = Room::start_socketio(&config(&server.url(), "secret"), false);
    room.until("both namespaces connected", up).await;
    let emit = |event: &str, ns: &str, data: serde_json::Value| {
        server.http(&format!(
            "/emit?event={event}&ns={}&data={}",
            enc(&json!(ns)).trim_matches('"').replace("%22", ""),
            enc(&data)
        ))
    };
    emit(
        "agent_state",
        "/dash",
        json!({"agent": "JUDGING", "state": "busy", "detail": "from the dashboard"}),
    );
    room.until("the agent tile", |s| {
        s.agents[2].state == AgentState::Busy
            && s.agents[2].detail.as_deref() == Some("from the dashboard")
    })
    .await;
    emit(
        "activity",
        "/",
        json!({"level": "warn", "source": "DASH", "message": "hello from socket.io"}),
    );
    room.until("the activity line", |s| has_line(s, "hello from socket.io"))
        .await;
    emit(
        "queue_depth",
        "/",
        json!([{"queue": "thinking", "depth": 13}]),
    );
    room.until("the queue depth", |s| {
        s.queues
            .iter()
            .any(|q| q.name == "thinking" && q.depth == 13)
    })
    .await;
    emit(
        "task_update",
        "/dash",
        json!({"task_id": "sio-1", "state": "SUCCESS", "name": "dash.report", "result": "done"}),
    );
    room.until("the task", |s| {
        s.tasks.by_id.get("sio-1").is_some_and(|t| {
            t.state == TaskEventKind::Succeeded && t.fields.result.as_deref() == Some("done")
        })
    })
    .await;
    emit("tick", "/dash", json!({"n": 8}));
    room.until("the unmapped event as raw activity", |s| {
        s.activity
            .lines
            .iter()
            .any(|l| l.source == "sio:dash/dash" && l.message == "tick [{\"n\":8}]")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_auth_is_shown_in_words_and_the_open_namespace_still_works() {
    let server = SocketIoServer::start();
    let mut room = Room::start_socketio(&config(&server.url(), "wrong"), false);
    room.until("the refusal", |s| matches!(health(s), Some(LinkHealth::Degraded { why }) if why == "auth refused by /dash: unauthorized")).await;
    server.http(&format!(
        "/emit?event=activity&ns=/&data={}",
        enc(&json!({"message": "root still open"}))
    ));
    room.until("an event on /", |s| has_line(s, "root still open"))
        .await;
    let err = room
        .ctx
        .socketio
        .emit_with_ack("dash", "/dash", "cmd", json!({}), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "namespace /dash refused us: unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_makes_the_round_trip_and_a_missing_one_times_out() {
    let server = SocketIoServer::start();
    let mut room = Room::start_socketio(&config(&server.url(), "secret"), false);
    room.until("connected", up).await;
    let ack = room
        .ctx
        .socketio
        .emit_with_ack(
            "dash",
            "/dash",
            "cmd",
            json!({"x": 1}),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(ack, json!({"ok": true, "echo": {"x": 1}, "ns": "/dash"}));
    let err = room
        .ctx
        .socketio
        .emit_with_ack(
            "dash",
            "/",
            "no_such_handler",
            json!(1),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no ack after 1 s");
    let err = room
        .ctx
        .socketio
        .emit_with_ack(
            "dash",
            "/",
            "cmd",
            json!("x".repeat(1_100_000)),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    // The frame: `42` + ack id 3 + `["cmd","` + the string + `"]`.
    let frame = 2 + 1 + r#"["cmd",""#.len() + 1_100_000 + 2;
    assert_eq!(
        err.to_string(),
        format!("payload of {frame} bytes exceeds the server's maxPayload of 1000000")
    );

    // The operator's way: :emit, confirm, and the ack shown in the status bar.
    room.key(KeyCode::Char(':')).await;
    room.keys("emit dash/dash cmd {\"from\": \"the TUI\"}")
        .await;
    room.key(KeyCode::Enter).await;
    assert!(
        matches!(room.state.ui.mode, Mode::ConfirmEmit(_)),
        "{:?}",
        room.state.ui.mode
    );
    room.key(KeyCode::Char('y')).await;
    let flash = room.state.flash.as_ref().unwrap().text.clone();
    assert_eq!(
        flash,
        r#"emit cmd to dash: ack: {"echo":{"from":"the TUI"},"ns":"/dash","ok":true}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_emit() {
    let server = SocketIoServer::start();
    let mut room = Room::start_socketio(&config(&server.url(), "secret"), true);
    room.until("connected", up).await;
    room.key(KeyCode::Char(':')).await;
    room.keys("emit dash cmd {}").await;
    room.key(KeyCode::Enter).await;
    assert_eq!(room.state.ui.mode, Mode::Normal, "refused before asking");
    assert_eq!(
        room.state.flash.as_ref().unwrap().text,
        "refused: emitting to a Socket.IO endpoint is disabled because chavion-tui was started with --read-only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_side_disconnect_is_shown_and_recovered() {
    let server = SocketIoServer::start();
    let mut room = Room::start_socketio(&config(&server.url(), "secret"), false);
    room.until("connected", up).await;
    server.http("/kick?ns=/dash");
    // Issue 14: one namespace dropped by the server leaves the link and `/` up; it is
    // marked, said once, and asked for again on its own backoff.
    room.until("the disconnect, in words", |s| {
        has_line(
            s,
            "/dash disconnected by the server; the other namespaces stay connected",
        )
    })
    .await;
    room.until("/dash connected again", |s| {
        has_line(s, "/dash connected again")
    })
    .await;
    room.until("up again", up).await;
    assert!(
        !room
            .state
            .activity
            .lines
            .iter()
            .any(|l| l.message.contains("link down")),
        "the link never went down for one namespace"
    );
    server.http(&format!(
        "/emit?event=activity&ns=/&data={}",
        enc(&json!({"message": "root never left"}))
    ));
    room.until("an event on / after it all", |s| {
        has_line(s, "root never left")
    })
    .await;
}

/// Issue 14: `status` judges a Socket.IO link as the screen does, namespaces and auth
/// included, not by the Engine.IO handshake alone.
#[test]
fn status_reports_a_refused_namespace_as_the_screen_does() {
    let server = SocketIoServer::start();
    let sb = common::Sandbox::new("sio-status");
    let dir = sb.path("config/chavion-tui");
    std::fs::create_dir_all(&dir).unwrap();
    // `status --json`'s sio:dash link with this token.
    let link_with = |token: &str| {
        let cfg = format!("ports = []\n{}", config(&server.url(), token));
        std::fs::write(dir.join("config.toml"), cfg).unwrap();
        let out = sb.cmd(&["status", "--json"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "sio:dash")
            .expect("the sio:dash link")
            .clone()
    };
    let link = link_with("wrong");
    assert_eq!(link["up"], false, "{link}");
    assert_eq!(link["why"], "auth refused by /dash: unauthorized", "{link}");
    let link = link_with("secret");
    assert_eq!(link["up"], true, "{link}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_pinging_is_noticed() {
    let server = SocketIoServer::start();
    let mut room = Room::start_socketio(&config(&server.url(), "secret"), false);
    room.until("connected", up).await;
    server.pause(true);
    room.until("the silence noticed", |s| matches!(health(s), Some(LinkHealth::Down { why, .. }) if why == "no ping from the server in 2 s")).await;
    server.pause(false);
    room.until("connected again", up).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_and_restarted_server_is_picked_up_again() {
    let mut server = SocketIoServer::start();
    let mut room = Room::start_socketio(&config(&server.url(), "secret"), false);
    room.until("connected", up).await;
    server.kill();
    room.until("the link down", |s| {
        matches!(health(s), Some(LinkHealth::Down { .. }))
    })
    .await;
    server.restart();
    room.until("reconnected, every namespace", up).await;
    server.http(&format!(
        "/emit?event=activity&ns=/dash&data={}",
        enc(&json!({"message": "after the restart"}))
    ));
    room.until("events flow again", |s| has_line(s, "after the restart"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_events_and_oversized_frames() {
    let server = SocketIoServer::start();
    let mut room = Room::start_socketio(&config(&server.url(), "secret"), false);
    room.until("connected", up).await;
    server.http("/emit_binary");
    room.until("the binary event, attachment in place", |s| {
        has_line(
            s,
            "blob [{\"bytes\":\"<4 bytes: deadbeef>\",\"name\":\"frame\"}]",
        )
    })
    .await;
    server.http("/emit_big?n=2000000");
    let frame = 2 + r#"["big",""#.len() + 2_000_000 + 2;
    let warning = format!("oversized frame: {frame} bytes (limit 1000000), dropped");
    room.until("a warning for the oversized frame", |s| {
        s.activity
            .lines
            .iter()
            .any(|l| l.message.contains(&warning))
    })
    .await;
    assert!(up(&room.state), "the connection is kept");
    server.http(&format!(
        "/emit?event=activity&ns=/&data={}",
        enc(&json!({"message": "still here"}))
    ));
    room.until("later events still arrive", |s| has_line(s, "still here"))
        .await;
    assert!(room.state.counters.malformed >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_goes_through_rustls_and_an_untrusted_certificate_is_refused_in_words() {
    let sb = common::Sandbox::new("wss");
    let (cert, key) = (sb.path("cert.pem"), sb.path("key.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let server = SocketIoServer::start_tls(&cert, &key);
    let url = format!("wss://127.0.0.1:{}", server.port);
    let mut room = Room::start_socketio(&config(&url, "secret"), false);
    // Verification is never weakened: a self-signed certificate is not in the system roots.
    room.until("a TLS refusal, in words", |s| matches!(health(s), Some(LinkHealth::Down { why, .. }) if why.starts_with("TLS: ") && why.contains("certificate"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_closes_cleanly_when_the_control_room_lets_go() {
    let server = SocketIoServer::start();
    let settings =
        chavion_tui::config::settings_from_str(&config(&server.url(), "secret")).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let (mut tasks, links) = chavion_tui::wiring::spawn_socketio(&settings, &tx);
    loop {
        let ev = rx.recv().await.unwrap();
        if matches!(
            &ev,
            chavion_tui::event::Event::Link {
                health: LinkHealth::Up,
                ..
            }
        ) {
            break;
        }
    }
    drop(links);
    // It sends Engine.IO `1` and ends, rather than hanging on or being killed.
    let task = tasks.pop().unwrap();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the endpoint task ended")
        .unwrap();
    let mut said = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let chavion_tui::event::Event::Link {
            health: LinkHealth::Down { why, .. },
            ..
        } = ev
        {
            said.push(why);
        }
    }
    assert_eq!(said, ["closed by the control room"]);
}
