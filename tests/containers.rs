//! Issue 20: the agents' containers, against a real dockerd (Debian's docker.io) with an
//! image imported from busybox-static. Compose-labelled containers for the agents: one
//! running and printing, one that exits 3, one crashing in a loop under `--restart always`,
//! one killed for memory; the control room's state, tiles and Containers view say each as
//! an operator would, a restart from the TUI really restarts, read-only refuses, logs
//! follow across a restart, and a dockerd killed and started again is followed.

mod common;

use chavion_tui::app::State;
use common::docker::Dockerd;
use common::room::Room;

fn config(d: &Dockerd) -> String {
    format!(
        "socketio = []\nports = []\n[docker]\nurl = \"{}\"\nproject = \"chavion\"\nlogs_since_secs = 60\n",
        d.url()
    )
}

fn room(d: &Dockerd, read_only: bool) -> Room {
    room_with(d, read_only, "")
}

/// A room on `d`'s Engine, `extra` added to its `[docker]` table.
fn room_with(d: &Dockerd, read_only: bool, extra: &str) -> Room {
    let text = format!("{}{extra}", config(d));
    let mut room = Room::bare(&text, read_only);
    let settings = chavion_tui::config::settings_from_str(&text).unwrap();
    let feed = chavion_tui::clients::docker::Settings::of(&settings.config).unwrap();
    room.tasks.push(chavion_tui::feeds::docker::spawn(
        feed,
        room.tx.clone(),
        room.ctx.docker_looking.clone(),
    ));
    room
}

fn summary(s: &State, name: &str) -> Option<String> {
    s.docker
        .rows
        .values()
        .find(|r| r.c.name == name)
        .map(|r| r.c.summary())
}

fn started_at(d: &Dockerd, name: &str) -> String {
    d.run(&["inspect", name, "--format", "{{.State.StartedAt}}"])
}

fn screen(s: &State, w: u16, h: u16) -> String {
    let theme = chavion_tui::config::theme::load(
        "dark",
        std::path::Path::new("/nonexistent"),
        chavion_tui::config::theme::ColorMode::None,
    )
    .unwrap();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    term.draw(|f| chavion_tui::ui::draw(f, s, &theme)).unwrap();
    term.backend()
        .buffer()
        .content()
        .chunks(w as usize)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_agents_container_is_shown_as_it_is_and_a_confirmed_key_restarts_it() {
    let mut d = Dockerd::start("states");
    // PID 1 ignores SIGTERM unless it says otherwise: this one stops when asked.
    d.service(
        "chavion-thinking-1",
        "thinking",
        &[],
        "trap 'exit 0' TERM; while true; do echo alive; sleep 1; done",
    );
    d.service("chavion-judging-1", "judging", &[], "sleep 1; exit 3");
    d.service(
        "chavion-evolving-1",
        "evolving",
        &["--restart", "always"],
        "echo crashing >&2; sleep 1; exit 2",
    );
    d.service(
        "chavion-executing-1",
        "executing",
        &["--memory", "8m", "--memory-swap", "8m"],
        "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done",
    );
    d.service("chavion-redis-1", "redis", &[], "sleep 3600");
    let mut room = room(&d, false);
    room.until("every container as it is", |s| {
        summary(s, "chavion-thinking-1").as_deref() == Some("running")
            && summary(s, "chavion-judging-1").as_deref() == Some("exited (3)")
            && summary(s, "chavion-executing-1").as_deref() == Some("OOM-killed")
            && s.docker
                .rows
                .values()
                .any(|r| r.c.name == "chavion-evolving-1" && r.c.restarts >= 1)
    })
    .await;
    // Mapped to their agents by the Compose service label; the project's others listed too.
    let agent_of = |name: &str| {
        let r = room
            .state
            .docker
            .rows
            .values()
            .find(|r| r.c.name == name)
            .unwrap();
        r.agent.map(|i| room.state.agents[i].name.clone())
    };
    assert_eq!(agent_of("chavion-thinking-1").as_deref(), Some("THINKING"));
    assert_eq!(agent_of("chavion-judging-1").as_deref(), Some("JUDGING"));
    assert_eq!(agent_of("chavion-redis-1"), None);
    // The tiles say it: "exited (3)" beats "offline".
    let tiles = screen(&room.state, 160, 40);
    assert!(tiles.contains("exited (3)"), "{tiles}");
    assert!(tiles.contains("OOM-killed"), "{tiles}");

    // The Containers view: stats read while it is open.
    room.command("containers").await;
    room.until("CPU and memory of the running ones", |s| {
        s.docker
            .rows
            .values()
            .any(|r| r.c.name == "chavion-thinking-1" && r.usage.is_some())
    })
    .await;
    let view = screen(&room.state, 160, 40);
    assert!(
        view.contains("chavion-redis-1") && view.contains("restarting")
            || view.contains("chavion-evolving-1"),
        "{view}"
    );

    // Logs into the activity stream, across a restart.
    room.command("logs thinking").await;
    let alive = |s: &State| {
        s.activity
            .lines
            .iter()
            .filter(|l| l.source == "thinking" && l.message == "alive")
            .count()
    };
    room.until("its logs in the stream", |s| alive(s) >= 2)
        .await;

    // A restart from the TUI: confirmed, and the Engine really restarts it.
    let before = started_at(&d, "chavion-thinking-1");
    room.command("restart thinking").await;
    room.until("the restart reported by the Engine", |s| {
        s.activity.lines.iter().any(|l| {
            l.source == "THINKING"
                && l.message
                    .starts_with("container chavion-thinking-1: restart → running")
        })
    })
    .await;
    assert_ne!(
        started_at(&d, "chavion-thinking-1"),
        before,
        "StartedAt moved"
    );
    let seen = alive(&room.state);
    room.until("its logs after the restart", |s| alive(s) >= seen + 2)
        .await;
    let audit_line = room
        .state
        .activity
        .lines
        .iter()
        .rev()
        .find(|l| l.message.contains("restart done"))
        .map(|l| l.message.clone());
    assert!(audit_line.is_some(), "the order's answer is in the log");

    // An order on a container that changed since it was chosen is refused, in words.
    let order = chavion_tui::orders::Order::Container {
        op: chavion_tui::orders::ContainerOp::Restart,
        host: d.url(),
        aims: vec![chavion_tui::orders::ContainerAim {
            id: d.run(&["inspect", "chavion-judging-1", "--format", "{{.Id}}"]),
            name: "chavion-judging-1".into(),
            seen: "running".into(),
        }],
    };
    let lines = chavion_tui::actions::fleet::carry_out(&room.ctx, order)
        .await
        .unwrap();
    assert!(!lines[0].0);
    assert!(
        lines[0]
            .1
            .contains("has changed since you chose it: it was running, it is exited (3) now"),
        "{lines:?}"
    );
    assert_eq!(
        summary(&room.state, "chavion-judging-1").as_deref(),
        Some("exited (3)")
    );

    // dockerd killed: the link says so; started again: followed again.
    d.kill();
    room.until("the docker link down", |s| {
        s.links.iter().any(|l| {
            l.name == "docker" && matches!(l.health, chavion_tui::event::LinkHealth::Down { .. })
        })
    })
    .await;
    d.restart();
    room.until("the docker link back", |s| {
        s.links
            .iter()
            .any(|l| l.name == "docker" && l.health == chavion_tui::event::LinkHealth::Up)
    })
    .await;
    assert!(
        room.state
            .docker
            .rows
            .values()
            .any(|r| r.c.name == "chavion-judging-1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_and_an_absent_engine_is_one_calm_line() {
    let d = Dockerd::start("readonly");
    d.service(
        "chavion-thinking-1",
        "thinking",
        &[],
        "while true; do echo thinking hard; sleep 1; done",
    );
    // Logs followed from the start by config (`follow_logs`), read-only or not: reading
    // them changes nothing.
    let mut room = room_with(&d, true, "follow_logs = [\"think*\"]\n");
    room.until("the container", |s| {
        summary(s, "chavion-thinking-1").is_some()
    })
    .await;
    room.until("its logs, followed by config", |s| {
        s.activity
            .lines
            .iter()
            .any(|l| l.source == "thinking" && l.message == "thinking hard")
    })
    .await;
    let before = started_at(&d, "chavion-thinking-1");
    room.key(crossterm::event::KeyCode::Char(':')).await;
    room.keys("restart thinking").await;
    room.key(crossterm::event::KeyCode::Enter).await;
    let said = room
        .state
        .flash
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default();
    assert!(
        said.contains(
            "restarting a container is disabled because chavion-tui was started with --read-only"
        ),
        "{said}"
    );
    assert_eq!(started_at(&d, "chavion-thinking-1"), before);

    // No Engine at all: the link says why, once, and nothing else is logged about it.
    let text = "socketio = []\nports = []\n[docker]\nurl = \"unix:///nonexistent/docker.sock\"\n";
    let mut none = Room::bare(text, false);
    let settings = chavion_tui::config::settings_from_str(text).unwrap();
    none.tasks.push(chavion_tui::feeds::docker::spawn(
        chavion_tui::clients::docker::Settings::of(&settings.config).unwrap(),
        none.tx.clone(),
        none.ctx.docker_looking.clone(),
    ));
    none.until("the link down, calmly", |s| {
        s.links.iter().any(|l| l.name == "docker" && matches!(&l.health, chavion_tui::event::LinkHealth::Down { why, .. } if why.contains("not reachable")))
    })
    .await;
    none.run_for(std::time::Duration::from_secs(5)).await;
    let lines = none
        .state
        .activity
        .lines
        .iter()
        .filter(|l| l.message.contains("docker"))
        .count();
    assert!(lines <= 1, "one line, not a storm: {lines}");
}

/// The shell: the list as the screen shows it (and as JSON), and a restart that exits 0
/// once the Engine confirmed; read-only and the demo refuse before anything is sent.
#[test]
fn the_shell_lists_and_restarts_and_refuses_in_read_only_and_the_demo() {
    let d = Dockerd::start("cli");
    d.service(
        "chavion-thinking-1",
        "thinking",
        &[],
        "trap 'exit 0' TERM; while true; do sleep 1; done",
    );
    d.service("chavion-judging-1", "judging", &[], "exit 3");
    let sb = common::Sandbox::new("containers-cli");
    let file = sb.path("config/chavion-tui/config.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, config(&d)).unwrap();
    common::servers::wait_until("judging exited", 20, || {
        d.run(&[
            "inspect",
            "chavion-judging-1",
            "--format",
            "{{.State.Status}}",
        ]) == "exited"
    });
    let out = sb.cmd(&["containers", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = |name: &str| {
        listed["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(row("chavion-thinking-1")["agent"], "THINKING");
    assert_eq!(row("chavion-judging-1")["summary"], "exited (3)");
    let text = String::from_utf8_lossy(&sb.cmd(&["containers"]).stdout).to_string();
    assert!(
        text.contains("chavion-judging-1") && text.contains("exited (3)"),
        "{text}"
    );
    // Issue 27: `--docker URL` reaches the same Engine with the config's url turned off,
    // and a URL the config would refuse is refused from the flag before anything starts.
    let off = config(&d).replace(&format!("url = \"{}\"", d.url()), "url = \"\"");
    let off_file = sb.path("off.toml");
    std::fs::write(&off_file, off).unwrap();
    let off_path = off_file.to_str().unwrap();
    let out = sb.cmd(&[
        "--config",
        off_path,
        "--docker",
        &d.url(),
        "containers",
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["containers"], listed["containers"]);
    let out = sb.cmd(&[
        "--config",
        off_path,
        "--docker",
        "ftp://nowhere",
        "containers",
    ]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("--docker") && said.contains("docker.url is"),
        "{said}"
    );
    assert!(out.stdout.is_empty());

    // `status`: the docker link, and an agent's container that is not running is critical.
    let out = sb.cmd(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let link = status["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "docker")
        .cloned()
        .unwrap();
    assert_eq!(link["up"], true);
    let judging = status["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "chavion-judging-1")
        .cloned()
        .unwrap();
    assert_eq!(
        (judging["agent"].as_str(), judging["severity"].as_str()),
        (Some("JUDGING"), Some("alarm"))
    );
    let before = started_at(&d, "chavion-thinking-1");
    for refused in [
        vec!["--read-only", "containers", "restart", "thinking", "--yes"],
        vec!["--demo", "containers", "restart", "thinking", "--yes"],
    ] {
        let out = sb.cmd(&refused);
        assert_eq!(out.status.code(), Some(2), "{refused:?}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("restarting a container"));
    }
    assert_eq!(
        started_at(&d, "chavion-thinking-1"),
        before,
        "nothing was sent"
    );
    let out = sb.cmd(&["containers", "restart", "thinking", "--yes"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("chavion-thinking-1: restart done"));
    assert_ne!(started_at(&d, "chavion-thinking-1"), before);
}

/// `[docker] url = "ssh://test"`: the Engine on a host reached over the executor's SSH
/// (the test's own sshd, host key checked strictly), its socket forwarded with OpenSSH's
/// streamlocal forwarding, gives the same list as the local socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_over_ssh_gives_the_same_list_as_the_local_socket() {
    let ssh = common::sshd::SshServer::start("docker-ssh");
    let d = Dockerd::start_for("ssh", Some(common::sshd::USER));
    d.service("chavion-thinking-1", "thinking", &[], "sleep 3600");
    d.service("chavion-judging-1", "judging", &[], "exit 3");
    let local = chavion_tui::config::settings_from_str(&config(&d)).unwrap();
    let remote = chavion_tui::config::settings_from_str(&format!(
        "socketio = []\nports = []\n[docker]\nurl = \"ssh://test\"\nremote_socket = \"{}\"\nproject = \"chavion\"\n{}",
        d.socket().display(),
        ssh.executor_toml(&ssh.client_key(), "")
    ))
    .unwrap();
    let names = |all: Vec<chavion_tui::platform::containers::Container>| {
        let mut v: Vec<(String, String)> = all
            .into_iter()
            .map(|c| (c.summary(), c.name))
            .map(|(s, n)| (n, s))
            .collect();
        v.sort();
        v
    };
    let list = |s: chavion_tui::clients::docker::Settings| async move {
        let engine = chavion_tui::clients::docker::connect(&s).await?;
        chavion_tui::clients::docker::list(&s, &engine).await
    };
    common::servers::wait_until("judging exited", 20, || {
        d.run(&[
            "inspect",
            "chavion-judging-1",
            "--format",
            "{{.State.Status}}",
        ]) == "exited"
    });
    let here = names(
        list(chavion_tui::wiring::docker_settings(&local).unwrap())
            .await
            .unwrap(),
    );
    let over_ssh = chavion_tui::wiring::docker_settings(&remote).unwrap();
    assert!(
        over_ssh.url.starts_with("unix://"),
        "forwarded to a local socket: {}",
        over_ssh.url
    );
    let there = names(list(over_ssh).await.unwrap());
    assert_eq!(here.len(), 2);
    assert_eq!(there, here);
}
