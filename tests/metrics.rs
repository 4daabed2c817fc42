//! Issue 18's Prometheus metrics, end to end: `chavion-tui watch --metrics` (the real binary)
//! watches a real redis-server and a real Celery 5.7 worker, and a real Prometheus scrapes
//! it. PromQL through Prometheus's HTTP API gives back the workers, tasks and queues that
//! really happened, under celery-exporter's names.

mod common;

use common::Sandbox;
use common::servers::{CeleryWorker, Prometheus, RedisServer, free_port, peers_dir, python};
use std::time::{Duration, Instant};

/// The one value of an instant PromQL query, polled until `want` holds it (the scrape
/// lands a second or so after the fact).
async fn until_query(prom: &str, query: &str, want: impl Fn(f64) -> bool) -> f64 {
    let client = chavion_tui::http::client(Duration::from_secs(5)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = serde_json::Value::Null;
    loop {
        let reply = client
            .get(format!("{prom}/api/v1/query"))
            .query(&[("query", query)])
            .send()
            .await;
        if let Ok(r) = reply
            && let Ok(body) = r.json::<serde_json::Value>().await
        {
            let value = body["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok());
            if let Some(v) = value
                && want(v)
            {
                return v;
            }
            last = body;
        }
        assert!(Instant::now() < deadline, "{query}: last answer {last}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Each target of tests/fixtures/celery-mixin-panels.promql, asked of Prometheus as its
/// panel asks it (an instant query for a table or a stat, a range query for a graph), until
/// it has data.
async fn mixin_panels_have_data(prom: &str) {
    let client = chavion_tui::http::client(Duration::from_secs(5)).unwrap();
    let text = include_str!("fixtures/celery-mixin-panels.promql");
    let targets: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("instant: ")
                .map(|q| ("instant", q))
                .or_else(|| l.strip_prefix("range: ").map(|q| ("range", q)))
        })
        .collect();
    assert!(
        targets.len() > 30,
        "the fixture's targets: {}",
        targets.len()
    );
    for (kind, query) in targets {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = chrono::Utc::now().timestamp();
            let req = match kind {
                "instant" => client
                    .get(format!("{prom}/api/v1/query"))
                    .query(&[("query", query)]),
                _ => client.get(format!("{prom}/api/v1/query_range")).query(&[
                    ("query", query),
                    ("start", &(now - 300).to_string()),
                    ("end", &now.to_string()),
                    ("step", "1"),
                ]),
            };
            let body: serde_json::Value = match req.send().await {
                Ok(r) => r.json().await.unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
            let data = body["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty());
            if data {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the panel's {kind} target has no data: {query}\nlast answer: {body}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn send(broker: &str, args: &[&str]) {
    let out = std::process::Command::new(python())
        .arg("client.py")
        .args(args)
        .current_dir(peers_dir())
        .env("CHAVION_BROKER", broker)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_workers_tasks_and_true_queue_depths() {
    let sb = Sandbox::new("metrics");
    let redis = RedisServer::start();
    let url = redis.url();
    let config = sb.path("config/chavion-tui/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!(
            "socketio = []\nports = []\n[redis]\nurl = \"{url}\"\n[celery]\nenable_events_secs = 1\nsample_ms = 200\n"
        ),
    )
    .unwrap();
    let _worker = CeleryWorker::start(&url, true, &sb.dir);
    let port = free_port();
    let mut watch = common::Reaped(
        sb.command(&["watch", "--metrics", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    common::servers::wait_until("/metrics", 20, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    std::fs::create_dir_all(sb.path("prom")).unwrap();
    let prom = Prometheus::start(&format!("127.0.0.1:{port}"), &sb.path("prom"));
    let p = prom.url();

    // Real work: 4 that succeed, 3 that fail; 5 waiting where nobody consumes, 2 of them
    // in a priority sub-queue, which only a true depth counts.
    send(&url, &["thinking.add", "[1, 2]", "--count", "4"]);
    send(&url, &["thinking.fail", "[]", "--count", "3"]);
    send(
        &url,
        &[
            "thinking.add",
            "[1, 1]",
            "--queue",
            "cognitive",
            "--count",
            "3",
        ],
    );
    send(
        &url,
        &[
            "thinking.add",
            "[1, 1]",
            "--queue",
            "cognitive",
            "--priority",
            "9",
            "--count",
            "2",
        ],
    );

    until_query(&p, "celery_worker_up{hostname=\"localhost\"}", |v| v == 1.0).await;
    until_query(
        &p,
        "sum(celery_task_succeeded_total{name=\"thinking.add\",hostname=\"localhost\",queue_name=\"thinking\"})",
        |v| v == 4.0,
    )
    .await;
    until_query(
        &p,
        "sum(celery_task_failed_total{name=\"thinking.fail\",exception=\"RuntimeError\"})",
        |v| v == 3.0,
    )
    .await;
    until_query(
        &p,
        "sum(celery_task_received_total{name=\"thinking.fail\"})",
        |v| v == 3.0,
    )
    .await;
    until_query(
        &p,
        "sum(celery_task_runtime_count{name=\"thinking.add\"})",
        |v| v == 4.0,
    )
    .await;
    until_query(
        &p,
        "sum(celery_task_runtime_bucket{name=\"thinking.add\",le=\"+Inf\"})",
        |v| v == 4.0,
    )
    .await;
    until_query(&p, "celery_queue_length{queue_name=\"cognitive\"}", |v| {
        v == 5.0
    })
    .await;
    until_query(&p, "celery_queue_length{queue_name=\"thinking\"}", |v| {
        v == 0.0
    })
    .await;
    // The mixin's failure-rate expression works unchanged.
    until_query(
        &p,
        "sum(increase(celery_task_failed_total[1m])) >= 0",
        |v| v >= 0.0,
    )
    .await;
    until_query(&p, "chavion_link_up{link=\"redis\"}", |v| v == 1.0).await;
    until_query(&p, "chavion_events_total", |v| v > 0.0).await;
    until_query(
        &p,
        "chavion_agent_state{agent=\"THINKING\",state=\"offline\"}",
        |v| v == 0.0,
    )
    .await;

    // What Prometheus read is the endpoint's own text: check its shape once, directly.
    let text = chavion_tui::http::client(Duration::from_secs(5))
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("# TYPE celery_task_succeeded counter"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE celery_task_runtime histogram"),
        "{text}"
    );
    assert!(
        !text.contains(
            "celery_task_succeeded_total{name=\"thinking.add\",hostname=\"thinking@localhost\""
        ),
        "hostname is the host part"
    );
    assert!(text.trim_end().ends_with("# EOF"));

    // Issue 27: the families the community dashboards need. The worker's pool (-c 1) per
    // queue it consumes, and how long its tasks waited, sent to started.
    until_query(
        &p,
        "celery_active_process_count{queue_name=\"thinking\"}",
        |v| v == 1.0,
    )
    .await;
    until_query(
        &p,
        "sum(celery_task_queue_wait_time_count{name=\"thinking.add\",queue_name=\"thinking\"})",
        |v| v == 4.0,
    )
    .await;
    until_query(
        &p,
        "celery_active_process_count{queue_name=\"cognitive\"}",
        |v| v == 0.0,
    )
    .await;
    // Every panel of the celery-mixin's dashboards has data (tests/fixtures says which).
    // Rates and increases need the counters to move while Prometheus watches: more work.
    send(&url, &["thinking.add", "[1, 2]", "--count", "4"]);
    send(&url, &["thinking.fail", "[]", "--count", "2"]);
    until_query(
        &p,
        "sum(celery_task_runtime_count{name=\"thinking.add\"})",
        |v| v == 8.0,
    )
    .await;
    until_query(
        &p,
        "sum(celery_task_failed_total{name=\"thinking.fail\"})",
        |v| v == 5.0,
    )
    .await;
    mixin_panels_have_data(&p).await;
    let health = chavion_tui::http::client(Duration::from_secs(5))
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());

    // The other way: a control room reads that Prometheus for its Metrics pane, and its
    // Ports row for Prometheus is probed where Prometheus really is.
    metrics_pane_draws_a_real_query_range(&p, &url).await;
    let _ = watch.0.kill();
}

async fn metrics_pane_draws_a_real_query_range(prom: &str, redis_url: &str) {
    use chavion_tui::app::state::PortStatus;
    let extra = format!(
        "[prometheus]\nurl = \"{prom}\"\nevery_secs = 5\n\
         [[panels]]\ntitle = \"tasks succeeded\"\nquery = \"sum(celery_task_succeeded_total)\"\nrange_secs = 300\n\
         [[panels]]\ntitle = \"broken\"\nquery = \"sum(\"\n\
         [[ports]]\nname = \"Prometheus\"\nhost = \"127.0.0.1\"\nport = 1\nprobe = \"http\"\npath = \"/-/healthy\"\n"
    );
    let mut room = common::room::Room::start(redis_url, &extra, true);
    let settings =
        chavion_tui::config::settings_from_str(&format!("[redis]\nurl = \"{redis_url}\"\n{extra}"))
            .unwrap();
    room.tasks.extend(chavion_tui::feeds::prometheus::spawn(
        &settings.config,
        room.tx.clone(),
    ));
    room.tasks.extend(chavion_tui::feeds::probes::spawn(
        chavion_tui::feeds::probes::targets(&settings.config),
        room.tx.clone(),
    ));
    let latest = |s: &chavion_tui::app::State| {
        s.panels[0]
            .series
            .first()
            .and_then(|x| x.points.iter().rev().find(|v| v.is_finite()).copied())
    };
    room.until("the panel read from Prometheus", |s| latest(s) == Some(8.0))
        .await;
    room.until("the Prometheus row up at its real address", |s| {
        s.ports
            .iter()
            .any(|p| p.name == "Prometheus" && matches!(p.status, PortStatus::Up { .. }))
    })
    .await;
    let broken = room.state.panels[1].error.clone().unwrap_or_default();
    assert!(broken.contains("parse error"), "{broken}");
    room.command("metrics").await;
    let theme = chavion_tui::config::theme::load(
        "dark",
        std::path::Path::new("/nonexistent"),
        chavion_tui::config::theme::ColorMode::None,
    )
    .unwrap();
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    term.draw(|f| chavion_tui::ui::draw(f, &room.state, &theme))
        .unwrap();
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .chunks(100)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
        .collect();
    assert!(screen.contains("Metrics"), "{screen}");
    assert!(
        screen.contains("tasks succeeded  over 5m  sum(celery_task_succeeded_total)"),
        "{screen}"
    );
    assert!(
        screen.contains(" 8\n") || screen.contains(" 8 "),
        "{screen}"
    );
    assert!(screen.contains("⚠"), "the broken query says why: {screen}");
}

/// A public address is refused before anything starts, unless meant; so is a port in use.
#[test]
fn a_public_or_taken_metrics_address_is_refused_in_words() {
    let sb = Sandbox::new("metrics-refused");
    let out = sb.cmd(&["watch", "--metrics", "0.0.0.0:9808"]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("beyond this machine") && said.contains("--metrics-public"),
        "{said}"
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = sb.cmd(&["watch", "--metrics", &port]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen there"));
    let out = sb.cmd(&["status", "--metrics", "9808"]);
    assert_eq!(out.status.code(), Some(2));
}
