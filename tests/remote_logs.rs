//! Issue 19's logs and ports from other hosts, over a real OpenSSH sshd with the executor's
//! strict host-key checking and nothing installed there. A remote file is rotated (renamed,
//! written once more, and a new one made), truncated, and the SSH session killed mid-way:
//! every line shows exactly once. Ports are checked from the SSH host (`probe_via`).

mod common;

use common::room::Room;
use common::sshd::SshServer;
use std::io::Write;
use std::time::Duration;

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// The lines from the remote file the activity log holds, in order.
fn seen(room: &Room) -> Vec<String> {
    room.state
        .activity
        .lines
        .iter()
        .filter(|l| l.source == "app" && l.message.starts_with("line-"))
        .map(|l| l.message.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_log_survives_rotation_truncation_and_a_dropped_link_without_loss_or_double() {
    let server = SshServer::start("remote-logs");
    let log = server.dir.join("app.log");
    append(&log, "line-1\nline-2\n");
    let config = format!(
        "{}\n[logs]\npoll_ms = 200\n[[logs.remote]]\nhost = \"test\"\npath = \"{}\"\nfrom_start = true\n",
        server.executor_toml(&server.client_key(), ""),
        log.display()
    );
    let settings = chavion_tui::config::settings_from_str(&config).unwrap();
    let mut room = Room::bare(&config, true);
    room.tasks = chavion_tui::feeds::remote_logs::spawn(
        &settings.config.logs.remote,
        &settings.config.executor,
        Duration::from_millis(200),
        500,
        room.tx.clone(),
    );
    room.until("what the file held", |s| {
        s.activity.lines.iter().any(|l| l.message == "line-2")
    })
    .await;
    append(&log, "line-3\n");
    room.until("a line added", |s| {
        s.activity.lines.iter().any(|l| l.message == "line-3")
    })
    .await;

    // Rotation, as logrotate does it: renamed, written once more by the service that still
    // holds it open, then a new file at the path.
    let rotated = server.dir.join("app.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    append(&rotated, "line-4\n");
    append(&log, "line-5 and some more text, so the file is long\n");
    room.until("the rotated file finished and the new one read", |s| {
        s.activity
            .lines
            .iter()
            .any(|l| l.message.starts_with("line-5"))
    })
    .await;

    // Truncation: shorter than where the reading stood.
    std::fs::write(&log, "").unwrap();
    append(&log, "line-6\n");
    room.until("the truncated file read again", |s| {
        s.activity.lines.iter().any(|l| l.message == "line-6")
    })
    .await;

    // The link drops: the session's sshd process is killed. Lines written meanwhile show
    // once it is back, from where it stood.
    let killed = std::process::Command::new("pkill")
        .args([
            "-KILL",
            "-u",
            common::sshd::USER,
            "-f",
            "sshd: chavion-sshtest",
        ])
        .status()
        .unwrap();
    assert!(killed.success(), "no SSH session to kill");
    append(&log, "line-7\nline-8\n");
    room.until(
        "the link back, and the lines written while it was down",
        |s| s.activity.lines.iter().any(|l| l.message == "line-8"),
    )
    .await;
    room.run_for(Duration::from_secs(2)).await;

    let lines = seen(&room);
    assert_eq!(
        lines,
        [
            "line-1",
            "line-2",
            "line-3",
            "line-4",
            "line-5 and some more text, so the file is long",
            "line-6",
            "line-7",
            "line-8"
        ],
        "each line once, in order"
    );
    let said: Vec<&str> = room
        .state
        .activity
        .lines
        .iter()
        .map(|l| l.message.as_str())
        .collect();
    assert!(said.iter().any(|m| m.starts_with("rotated:")), "{said:#?}");
    assert!(
        said.iter().any(|m| m.starts_with("truncated:")),
        "{said:#?}"
    );
    assert!(
        room.state
            .activity
            .lines
            .iter()
            .any(|l| l.source == "log app" && l.message.contains("down")),
        "the dropped link was said: {said:#?}"
    );
}

#[test]
fn a_remote_log_on_an_unknown_host_is_refused_before_anything_starts() {
    let said = chavion_tui::config::settings_from_str(
        "[[logs.remote]]\nhost = \"nowhere\"\npath = \"/var/log/x.log\"\n",
    )
    .err()
    .expect("refused");
    assert!(
        format!("{said:?}").contains("host `nowhere` is not an [[executor.hosts]] name"),
        "{said:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_are_checked_from_the_ssh_host_when_probe_via_names_it() {
    use chavion_tui::event::ProbeOutcome;
    use chavion_tui::feeds::probes::{probe, targets};
    let server = SshServer::start("probe-via");
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open_port = open.local_addr().unwrap().port();
    // A tiny HTTP service that answers 204 to every request.
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = http.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in http.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = std::io::Read::read(&mut stream, &mut buf);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let closed_port = common::servers::free_port();
    let config = format!(
        "{}\n[[ports]]\nname = \"Inside\"\nhost = \"127.0.0.1\"\nport = {open_port}\nprobe_via = \"test\"\n\
         [[ports]]\nname = \"Web\"\nhost = \"127.0.0.1\"\nport = {http_port}\nprobe = \"http\"\nstatus = 204\nprobe_via = \"test\"\n\
         [[ports]]\nname = \"Closed\"\nhost = \"127.0.0.1\"\nport = {closed_port}\nprobe_via = \"test\"\n",
        server.executor_toml(&server.client_key(), "")
    );
    let settings = chavion_tui::config::settings_from_str(&config).unwrap();
    let all = targets(&settings.config);
    assert!(all.iter().all(|t| t.via.is_some()));
    let outcomes: Vec<ProbeOutcome> = futures_util::future::join_all(all.iter().map(probe)).await;
    assert!(
        matches!(outcomes[0], ProbeOutcome::Up { .. }),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[1], ProbeOutcome::Up { .. }),
        "{outcomes:?}"
    );
    let ProbeOutcome::Down { why } = &outcomes[2] else {
        panic!("a closed port is down: {outcomes:?}");
    };
    assert!(why.contains("not reachable from test"), "{why}");
    // The check really went through the SSH host: sshd logged the tunnels it opened.
    let log = std::fs::read_to_string(server.dir.join("sshd.log")).unwrap_or_default();
    assert!(log.contains("direct-tcpip"), "{log}");
    drop(open);
}
