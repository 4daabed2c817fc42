//! Port probes and the exposure audit against real listeners on loopback, and the headless
//! `status` command with its JSON schema and exit codes.

mod common;

use std::process::Command;
use std::time::Duration;

use chavion_tui::config::model::ProbeKind;
use chavion_tui::event::ProbeOutcome;
use chavion_tui::feeds::exposure;
use chavion_tui::feeds::probes::{Target, probe};
use chavion_tui::platform::exposure::{Finding, audit};
use common::Sandbox;
use common::servers::{Postgres, RedisServer, SocketIoServer, free_port};

fn target(kind: ProbeKind, port: u16) -> Target {
    Target::adhoc(kind, "127.0.0.1", port, Duration::from_millis(1500))
}

fn up(o: &ProbeOutcome) -> bool {
    matches!(o, ProbeOutcome::Up { .. })
}

fn why(o: ProbeOutcome) -> String {
    match o {
        ProbeOutcome::Down { why } => why,
        other => panic!("expected down, got {other:?}"),
    }
}

struct Https {
    port: u16,
    child: std::process::Child,
}

impl Https {
    fn start(cert: &std::path::Path, key: &std::path::Path) -> Https {
        let mut cmd = Command::new("python3");
        cmd.arg(common::servers::peers_dir().join("https_server.py"))
            .arg(cert)
            .arg(key);
        let (child, port) = common::servers::spawn_printing_port(&mut cmd);
        Https { port, child }
    }
}

impl Drop for Https {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_probe_against_a_real_listener() {
    let redis = RedisServer::start();
    assert!(up(&probe(&target(ProbeKind::Redis, redis.port)).await));

    let pg = Postgres::start();
    let mut t = target(ProbeKind::Postgres, pg.port);
    assert_eq!(
        why(probe(&t).await),
        "no credentials: set `url = \"postgres://…\"` for this entry"
    );
    t.url = pg.url();
    assert!(
        up(&probe(&t).await),
        "SELECT 1 with the configured credentials"
    );
    t.url = format!(
        "postgres://postgres:s3cret@127.0.0.1:{}/no_such_db",
        pg.port
    );
    let w = why(probe(&t).await);
    assert!(w.contains("no_such_db") && !w.contains("s3cret"), "{w}");

    let sio = SocketIoServer::start();
    assert!(
        up(&probe(&target(ProbeKind::Socketio, sio.port)).await),
        "the Engine.IO open packet"
    );
    assert!(
        !up(&probe(&target(ProbeKind::Socketio, redis.port)).await),
        "Redis is not a Socket.IO server"
    );

    let closed = free_port();
    assert_eq!(
        why(probe(&target(ProbeKind::Tcp, closed)).await),
        "connection refused"
    );
    assert_eq!(
        why(probe(&target(ProbeKind::Http, closed)).await),
        "connection refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_status_and_a_certificate_expiring_in_five_days() {
    let sb = Sandbox::new("https");
    let (ca, c, k) = common::tls::private_ca(&sb, "5", "IP:127.0.0.1");
    let server = Https::start(&c, &k);
    let mut t = target(ProbeKind::Https, server.port);
    // Verification is never skipped: without its CA the self-signed certificate is refused.
    assert!(
        why(probe(&t).await).starts_with("TLS: "),
        "untrusted without its CA"
    );
    t.ca_file = ca.display().to_string();
    t.path = "/health".into();
    t.status = Some(200);
    assert!(up(&probe(&t).await));
    t.path = "/broken".into();
    assert_eq!(why(probe(&t).await), "HTTP 503 from /broken, expected 200");
    t.status = None;
    assert_eq!(why(probe(&t).await), "HTTP 503 from /broken");
    let mut tls = target(ProbeKind::Tls, server.port);
    tls.ca_file = ca.display().to_string();
    match probe(&tls).await {
        ProbeOutcome::Up {
            cert_days: Some(d), ..
        } => assert!((4..=5).contains(&d), "{d} days left"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_that_accepts_but_never_answers_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut t = target(ProbeKind::Http, port);
    t.timeout = Duration::from_millis(300);
    assert_eq!(why(probe(&t).await), "no answer in 300 ms");
    drop(listener);
}

#[test]
fn the_exposure_audit_sees_real_listeners_and_their_owner() {
    // Only listen on 0.0.0.0; no traffic is sent to it.
    let public = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let private = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (pp, lp) = (
        public.local_addr().unwrap().port(),
        private.local_addr().unwrap().port(),
    );
    let all = exposure::scan();
    let find = |port: u16| {
        all.iter()
            .find(|l| l.port == port)
            .unwrap_or_else(|| panic!("port {port} not in /proc/net/tcp"))
    };
    assert!(find(pp).public() && !find(lp).public());
    let me = format!("(pid {})", std::process::id());
    assert!(
        find(pp).owner.as_deref().is_some_and(|o| o.ends_with(&me)),
        "owner: {:?}",
        find(pp).owner
    );
    let map = vec![
        ("Redis".to_string(), pp, true),
        ("Executor".to_string(), lp, true),
    ];
    let findings = audit(&all, &map);
    let exposed: Vec<u16> = findings
        .iter()
        .filter_map(|f| {
            if let Finding::Exposed { listener, .. } = f {
                Some(listener.port)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(exposed, [pp], "only the one on a public address");
}

fn status(sb: &Sandbox, config: &str) -> (i32, serde_json::Value) {
    let file = sb.path("status.toml");
    std::fs::write(&file, config).unwrap();
    let out = sb.cmd(&["--config", file.to_str().unwrap(), "status", "--json"]);
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout))),
    )
}

#[test]
fn status_json_schema_and_exit_codes() {
    let sb = Sandbox::new("status");
    let redis = RedisServer::start();
    let closed = free_port();
    // No agents (none could be up without a worker), and a queue found by its binding.
    redis.cli(&[
        "sadd",
        "_kombu.binding.thinking",
        "thinking\x06\x16\x06\x16thinking",
    ]);
    let base = format!(
        "agents = []\n[redis]\nurl = \"{}\"\n[[socketio]]\nname = \"none\"\nurl = \"ws://127.0.0.1:{closed}\"\n",
        redis.url()
    );
    let entry = |name: &str, port: u16, expect: &str, probe: &str| {
        format!(
            "[[ports]]\nname = \"{name}\"\nport = {port}\nexpect = \"{expect}\"\nprobe = \"{probe}\"\n"
        )
    };

    // Everything required is up; the only problem is a Socket.IO channel: degraded, 1.
    let (code, doc) = status(
        &sb,
        &format!("{base}{}", entry("Redis", redis.port, "required", "redis")),
    );
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["schema"], "chavion-tui/status/1");
    assert_eq!(doc["status"], "degraded");
    assert_eq!(doc["exit_code"], 1);
    let port = &doc["ports"][0];
    assert_eq!(
        (
            port["name"].as_str(),
            port["up"].as_bool(),
            port["label"].as_str(),
            port["severity"].as_str(),
            port["probe"].as_str()
        ),
        (
            Some("Redis"),
            Some(true),
            Some("up"),
            Some("ok"),
            Some("redis")
        )
    );
    assert!(port["latency_ms"].as_f64().is_some());
    assert_eq!(doc["links"][0]["name"], "redis");
    assert_eq!(doc["links"][0]["up"], true);
    assert_eq!(doc["links"][1]["name"], "sio:none");
    assert_eq!(doc["links"][1]["why"], "connection refused");
    assert!(
        doc["queues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["name"] == "thinking" && q["depth"] == 0)
    );
    assert!(doc["exposure"].is_array());

    // An optional target down is degraded (1); a required one down is critical (2).
    let top = format!(
        "socketio = []\nagents = []\n[redis]\nurl = \"{}\"\n",
        redis.url()
    );
    let (code, doc) = status(
        &sb,
        &format!("{top}{}", entry("Redis", redis.port, "required", "redis")),
    );
    assert_eq!((code, doc["status"].as_str()), (0, Some("ok")), "{doc:#}");
    let (code, _) = status(
        &sb,
        &format!(
            "{top}{}{}",
            entry("Redis", redis.port, "required", "redis"),
            entry("Grafana", closed, "optional", "http")
        ),
    );
    assert_eq!(code, 1);
    let (code, doc) = status(
        &sb,
        &format!(
            "{top}{}{}",
            entry("Redis", redis.port, "required", "redis"),
            entry("Executor", closed, "required", "tcp")
        ),
    );
    assert_eq!(code, 2);
    assert_eq!(doc["status"], "critical");
    assert_eq!(doc["ports"][1]["label"], "DOWN");
    assert_eq!(doc["ports"][1]["why"], "connection refused");
    // Issue 18: the alert rule holds, pending (a one-shot check cannot wait out `for`).
    let alert = doc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule"] == "required port down")
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(
        (
            alert["subject"].as_str(),
            alert["firing"].as_bool(),
            alert["severity"].as_str()
        ),
        (Some("Executor"), Some(false), Some("critical"))
    );
    // A backlog rule with no wait fires at once, and its severity sets the exit code.
    let (code, doc) = status(
        &sb,
        &format!(
            "{top}{}[[alerts]]\nname = \"any backlog\"\nrule = \"queue_depth\"\nthreshold = 0.0\nseverity = \"critical\"\n",
            entry("Redis", redis.port, "required", "redis")
        ),
    );
    redis.cli(&["lpush", "thinking", "x"]);
    assert!(doc["alerts"].as_array().unwrap().is_empty(), "{doc:#}");
    assert_eq!(code, 0);
    let (code, doc) = status(
        &sb,
        &format!(
            "{top}{}[[alerts]]\nname = \"any backlog\"\nrule = \"queue_depth\"\nthreshold = 0.0\nseverity = \"critical\"\n",
            entry("Redis", redis.port, "required", "redis")
        ),
    );
    assert_eq!(doc["alerts"][0]["subject"], "thinking", "{doc:#}");
    assert_eq!(doc["alerts"][0]["firing"], true);
    assert_eq!(code, 2, "a firing critical alert is critical");
}

/// Issue 14: queue names discovered from kombu's bindings are anyone's text: `status`
/// prints them cleaned, so a binding cannot retitle or clear the terminal of whoever runs it.
#[test]
fn status_cleans_queue_names_found_in_redis() {
    let sb = Sandbox::new("status-names");
    let redis = RedisServer::start();
    let evil = "evil\u{1b}]0;owned\u{7}\u{1b}[2Jq";
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let _: i64 = redis::cmd("SADD")
        .arg(format!("_kombu.binding.{evil}"))
        .arg(format!("{evil}\u{6}\u{16}\u{6}\u{16}{evil}"))
        .query(&mut conn)
        .unwrap();
    let _: i64 = redis::cmd("LPUSH")
        .arg(evil)
        .arg("m")
        .query(&mut conn)
        .unwrap();
    let file = sb.path("status.toml");
    std::fs::write(
        &file,
        format!("ports = []\n[redis]\nurl = \"{}\"\n", redis.url()),
    )
    .unwrap();
    for args in [&["status"][..], &["status", "--json"][..]] {
        let mut all = vec!["--config", file.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = sb.cmd(&all);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(text.contains("evil"), "the queue is still listed: {text}");
    }
    // Its depth is still read from the real key.
    let (_, doc) = status(
        &sb,
        &format!("ports = []\n[redis]\nurl = \"{}\"\n", redis.url()),
    );
    let q = doc["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"].as_str().is_some_and(|n| n.starts_with("evil")))
        .expect("the queue")
        .clone();
    assert_eq!(q["depth"], 1, "{q}");
}
