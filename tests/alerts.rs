//! Issue 18's alert rules against a real redis-server and real Celery 5.7 workers: a worker
//! killed, then a burst of failures; each alert fires after its `for` and resolves.

mod common;

use chavion_tui::app::state::State;
use common::Sandbox;
use common::room::Room;
use common::servers::{CeleryWorker, RedisServer};

fn firing(s: &State) -> Vec<(String, String)> {
    s.alerts
        .firing()
        .iter()
        .map(|a| (s.alerts.rules[a.rule].name.clone(), a.subject.clone()))
        .collect()
}

const RULES: &str = "[[alerts]]\nname = \"worker offline\"\nrule = \"worker_offline\"\nfor_secs = 3\nseverity = \"critical\"\n\
                     [[alerts]]\nname = \"failing\"\nrule = \"failure_ratio\"\nthreshold = 0.5\nwindow_secs = 600\nmin_tasks = 6\nseverity = \"warning\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_and_a_burst_of_failures_each_fire_and_resolve() {
    let sb = Sandbox::new("alerts");
    let redis = RedisServer::start();
    let url = redis.url();
    let worker = CeleryWorker::start(&url, true, &sb.dir);
    let mut room = Room::start(&url, RULES, false);
    room.until("the worker online", |s| {
        s.workers
            .get("thinking@localhost")
            .is_some_and(|w| w.online)
    })
    .await;

    // A burst of failures: 6 of 6 failed, over the 50 % threshold once 6 ended.
    let out = std::process::Command::new(common::servers::python())
        .args(["client.py", "thinking.fail", "[]", "--count", "6"])
        .current_dir(common::servers::peers_dir())
        .env("CHAVION_BROKER", &url)
        .output()
        .unwrap();
    assert!(out.status.success());
    room.until("the failure ratio firing", |s| {
        firing(s).contains(&("failing".into(), "thinking.fail".into()))
    })
    .await;
    let line = room
        .state
        .activity
        .lines
        .iter()
        .find(|l| l.message.starts_with("FIRING failing"))
        .expect("said in the log");
    assert!(line.message.contains("6 of 6 failed"), "{}", line.message);

    // Kill the worker: offline at once (its worker-offline event), firing 3 s later.
    drop(worker);
    room.until("the worker offline", |s| {
        s.workers
            .get("thinking@localhost")
            .is_some_and(|w| !w.online)
    })
    .await;
    assert!(
        !firing(&room.state)
            .iter()
            .any(|(r, _)| r == "worker offline"),
        "pending first"
    );
    room.until("the offline alert firing", |s| {
        firing(s).contains(&("worker offline".into(), "thinking@localhost".into()))
    })
    .await;
    let a = room
        .state
        .alerts
        .firing()
        .into_iter()
        .find(|a| a.subject == "thinking@localhost")
        .cloned()
        .unwrap();
    assert!(
        a.fired.unwrap() - a.since >= chrono::Duration::seconds(3),
        "it waited its `for`: {a:?}"
    );

    // Back: resolved.
    let _again = CeleryWorker::start(&url, true, &sb.dir);
    room.until("the offline alert resolved", |s| {
        !firing(s).iter().any(|(r, _)| r == "worker offline")
    })
    .await;
    assert!(
        room.state
            .alerts
            .history
            .iter()
            .any(|r| r.rule == "worker offline"
                && r.change == chavion_tui::app::model::alerts::Change::Resolved)
    );
}

/// An acknowledgement in one control room is audited, and the other control room on the
/// same Redis marks the alert acknowledged too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_is_shared_with_the_other_control_rooms() {
    use crossterm::event::KeyCode;
    let redis = RedisServer::start();
    let url = redis.url();
    let rule = "[[alerts]]\nname = \"backlog\"\nrule = \"queue_depth\"\nthreshold = 0.0\nseverity = \"warning\"\n";
    let mut here = Room::start(&url, rule, false);
    let mut there = Room::start(&url, rule, false);
    redis.cli(&["lpush", "thinking", "waiting"]);
    for room in [&mut here, &mut there] {
        room.until("the backlog firing", |s| {
            firing(s).contains(&("backlog".into(), "thinking".into()))
        })
        .await;
    }
    here.command("alerts").await;
    assert_eq!(here.state.ui.view, chavion_tui::app::state::View::Alerts);
    here.key(KeyCode::Char('a')).await;
    let acked = |s: &State| s.alerts.firing().first().and_then(|a| a.acked.clone());
    assert!(acked(&here.state).is_some(), "acknowledged here at once");
    there
        .until("the acknowledgement from the other room", |s| {
            acked(s).is_some()
        })
        .await;
    assert_eq!(
        acked(&there.state),
        acked(&here.state),
        "by the same operator"
    );
}

/// `chavion-tui watch`, the real binary: no screen, the same rules, a line each for what
/// fires and resolves; SIGTERM stops it cleanly.
#[test]
fn watch_prints_what_fires_and_resolves_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::new("watch");
    let redis = RedisServer::start();
    let url = redis.url();
    let config = sb.path("config/chavion-tui/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "socketio = []\nports = []\n[redis]\nurl = \"{url}\"\n[celery]\nenable_events_secs = 1\n\
             [[alerts]]\nname = \"worker offline\"\nrule = \"worker_offline\"\nfor_secs = 1\nseverity = \"critical\"\n"
        ),
    )
    .unwrap();
    let worker = CeleryWorker::start(&url, true, &sb.dir);
    let mut watch = Stop(
        sb.command(&["watch"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let out = watch.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let next = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
        let mut seen = Vec::new();
        while std::time::Instant::now() < deadline {
            if let Ok(l) = lines.recv_timeout(std::time::Duration::from_millis(200)) {
                if l.contains(want) {
                    return l;
                }
                seen.push(l);
            }
        }
        panic!("never printed {want}; printed {seen:?}");
    };
    next("1 alert rule(s)");
    // Let the worker be seen, then stop it: FIRING after 1 s, then resolved when back.
    std::thread::sleep(std::time::Duration::from_secs(3));
    drop(worker);
    let fired = next("FIRING worker offline [critical]: thinking@localhost");
    assert!(fired.contains(" ERROR "), "{fired}");
    let _again = CeleryWorker::start(&url, true, &sb.dir);
    next("resolved worker offline: thinking@localhost");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &watch.0.id().to_string()])
        .status();
    next("stopping (shutting down: SIGTERM)");
    assert!(watch.0.wait().unwrap().success());
}

/// The watcher, killed if the test ends early.
struct Stop(std::process::Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A required port closed: the alert fires after its `for` and each notifier hears of it —
/// a JSON webhook, a Slack-shaped one, one answering 500 (retried, then given up), one that
/// never answers (cut by its timeout), and a command reading the alert on its stdin. Each
/// outcome is said in the activity log, and no webhook's secret path is. The port opens:
/// resolved, and told again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_required_port_fires_and_every_notifier_hears_of_it() {
    use common::http::{Answer, Recorder};
    let sb = Sandbox::new("notify");
    let redis = RedisServer::start();
    let url = redis.url();
    let (ok, slack, broken, silent) = (
        Recorder::start(Answer::Status(200)).await,
        Recorder::start(Answer::Status(200)).await,
        Recorder::start(Answer::Status(500)).await,
        Recorder::start(Answer::Never).await,
    );
    let closed = common::servers::free_port();
    let stdin_copy = sb.path("alert.json");
    let extra = format!(
        "[probes]\ninterval_secs = 1\nfail_after = 1\n\
         [[ports]]\nname = \"Executor\"\nhost = \"127.0.0.1\"\nport = {closed}\nexpect = \"required\"\n\
         [[alerts]]\nname = \"required port down\"\nrule = \"port_down\"\nfor_secs = 2\nseverity = \"critical\"\n\
         [[notify]]\nname = \"hook\"\nwebhook = \"{}\"\n\
         [[notify]]\nname = \"slack\"\nwebhook = \"{}\"\nformat = \"slack\"\nresolved = false\n\
         [[notify]]\nname = \"broken\"\nwebhook = \"{}\"\nretries = 1\n\
         [[notify]]\nname = \"silent\"\nwebhook = \"{}\"\ntimeout_secs = 1\nretries = 0\n\
         [[notify]]\nname = \"script\"\ncommand = [\"sh\", \"-c\", \"cat > '{}'\"]\n",
        ok.url("/hook/s3cret-token"),
        slack.url("/services/T0/B0/s3cret-token"),
        broken.url("/x/s3cret-token"),
        silent.url("/y?token=s3cret-token"),
        stdin_copy.display(),
    );
    let mut room = Room::start(&url, &extra, true);
    let settings = chavion_tui::config::settings_from_str(&format!(
        "{extra}\n[[ports]]\nname = \"Redis\"\nhost = \"127.0.0.1\"\nport = {}\n",
        redis.port
    ))
    .unwrap();
    room.tasks.extend(chavion_tui::feeds::probes::spawn(
        chavion_tui::feeds::probes::targets(&settings.config),
        room.tx.clone(),
    ));
    room.until("the port alert firing", |s| {
        firing(s).contains(&("required port down".into(), "Executor".into()))
    })
    .await;
    let notified = |s: &State, via: &str, words: &str| {
        s.activity
            .lines
            .iter()
            .any(|l| l.source == format!("notify {via}") && l.message.contains(words))
    };
    room.until("every notifier's outcome", |s| {
        notified(
            s,
            "hook",
            "FIRING required port down (Executor) sent to http://127.0.0.1",
        ) && notified(s, "slack", "sent")
            && notified(s, "script", "sent to sh: exit 0")
            && notified(
                s,
                "broken",
                "HTTP 500 Internal Server Error, after 2 attempt(s)",
            )
            && notified(s, "silent", "no answer within 1 s, after 1 attempt(s)")
    })
    .await;
    // Under --read-only (this room is): telling a person changes nothing on the platform.
    assert!(room.state.session.read_only);
    let said: Vec<&str> = room
        .state
        .activity
        .lines
        .iter()
        .map(|l| l.message.as_str())
        .collect();
    assert!(
        !said.iter().any(|m| m.contains("s3cret")),
        "a webhook's secret reached the log: {said:#?}"
    );
    let hook = ok.json();
    assert_eq!(hook.len(), 1);
    assert_eq!(hook[0]["status"], "firing");
    assert_eq!(hook[0]["rule"], "required port down");
    assert_eq!(hook[0]["severity"], "critical");
    assert_eq!(hook[0]["subject"], "Executor");
    assert!(
        hook[0]["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{closed} down")),
        "{hook:?}"
    );
    let text = slack.json()[0]["text"].as_str().unwrap().to_string();
    assert!(
        text.starts_with(":red_circle: FIRING required port down [critical]: Executor"),
        "{text}"
    );
    assert_eq!(broken.bodies.lock().unwrap().len(), 2, "tried twice");
    assert_eq!(silent.bodies.lock().unwrap().len(), 1, "tried once");
    let from_stdin: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stdin_copy).unwrap()).unwrap();
    assert_eq!(from_stdin["subject"], "Executor");
    assert_eq!(from_stdin["status"], "firing");

    // The port opens: resolved, told to those that want resolutions (not `slack`).
    let _open = std::net::TcpListener::bind(("127.0.0.1", closed)).unwrap();
    room.until("the port alert resolved", |s| {
        notified(s, "hook", "RESOLVED required port down (Executor) sent")
    })
    .await;
    assert_eq!(ok.json()[1]["status"], "resolved");
    assert_eq!(slack.json().len(), 1, "slack asked for no resolutions");
}

/// The demo's alerts are simulated: a notifier configured to a real receiver hears nothing
/// from a demo control room, and the log says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_never_notifies_anyone() {
    use chavion_tui::app::Effect;
    use chavion_tui::app::model::alerts::Notice;
    use common::http::{Answer, Recorder};
    let hook = Recorder::start(Answer::Status(200)).await;
    let text = format!(
        "socketio = []\nports = []\n[[notify]]\nname = \"hook\"\nwebhook = \"{}\"\n",
        hook.url("/hook")
    );
    let mut room = Room::bare(&text, false);
    room.ctx.gate = chavion_tui::gate::Gate {
        demo: true,
        read_only: false,
    };
    let notice = Notice {
        status: "firing",
        rule: "worker offline".into(),
        severity: "critical",
        subject: "thinking@demo".into(),
        detail: "no heartbeat".into(),
        since: "2026-12-01T00:00:00Z".into(),
        at: "2026-12-01T00:05:00Z".into(),
        source: "chavion-tui@demo".into(),
        text: "FIRING worker offline".into(),
        to: vec!["hook".into()],
    };
    chavion_tui::actions::spawn(
        Effect::Notify(Box::new(notice)),
        room.ctx.clone(),
        room.tx.clone(),
    );
    room.until("the refusal in the log", |s| {
        s.activity.lines.iter().any(|l| {
            l.source == "notify hook" && l.message == "not sent: the demo's alerts are simulated"
        })
    })
    .await;
    assert!(
        hook.bodies.lock().unwrap().is_empty(),
        "the receiver heard nothing"
    );
}
