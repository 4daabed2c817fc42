//! Issue 19's Redis Sentinel, end to end: a real master, a replica and three sentinels on
//! loopback, a real Celery worker connected through the sentinels (kombu's transport), and
//! a control room given kombu's `sentinel://` URL. The master is killed with SIGKILL; the
//! sentinels promote the replica; the control room's feed and sampler follow, task events
//! show again, a dispatch made while there was no master runs exactly once, nothing is
//! subscribed twice, and the Ports pane names the new master.

mod common;

use chavion_tui::app::state::State;
use chavion_tui::event::LinkHealth;
use chavion_tui::store::Store;
use common::Sandbox;
use common::room::Room;
use common::servers::{CeleryWorker, Sentinels};
use ratatui::{Terminal, backend::TestBackend};
use std::time::{Duration, Instant};

fn link_up(state: &State, name: &str) -> bool {
    state
        .links
        .iter()
        .any(|l| l.name == name && l.health == LinkHealth::Up)
}

fn master_at(state: &State, port: u16) -> bool {
    state
        .master
        .as_ref()
        .is_some_and(|(m, _)| m.addr == format!("127.0.0.1:{port}"))
}

/// Task ids the worker ran `thinking.mark` for, from its own ledger: one line per first run.
fn marks(worker: &CeleryWorker) -> Vec<String> {
    worker
        .runs()
        .into_iter()
        .filter(|r| r.starts_with("thinking.mark"))
        .collect()
}

fn screen(state: &State, theme: &chavion_tui::config::theme::Theme) -> String {
    let mut state = state.clone();
    state.ui.width = 200;
    state.ui.height = 50;
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    term.draw(|f| chavion_tui::ui::draw(f, &state, theme))
        .unwrap();
    let buf = term.backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_is_a_blip_the_feed_follows_and_a_dispatch_runs_once() {
    let sb = Sandbox::new("sentinel");
    let mut redis = Sentinels::start(&sb.dir);
    let (old, new) = (redis.master.port, redis.replica.port);
    let store = Store::open(sb.path("audit.db").to_str().unwrap())
        .await
        .unwrap();
    let config = format!(
        "socketio = []\nports = []\n[redis]\nurl = \"{}\"\nmaster_name = \"{}\"\n\
         [celery]\nsample_ms = 200\nenable_events_secs = 1\n[probes]\ninterval_secs = 1\n",
        redis.url(),
        Sentinels::MASTER_NAME
    );
    let settings = chavion_tui::config::settings_from_str(&config).unwrap();
    let theme = settings.theme.clone();
    let mut room = Room::start_full(&config, store.clone());
    room.tasks.extend(chavion_tui::feeds::probes::spawn(
        chavion_tui::feeds::probes::targets(&settings.config),
        room.tx.clone(),
    ));
    std::fs::create_dir_all(sb.path("w")).unwrap();
    let worker = CeleryWorker::start(&redis.url(), true, &sb.path("w"));
    room.until("the master named and the worker online", |s| {
        master_at(s, old) && s.workers.values().any(|w| w.online)
    })
    .await;
    // Each sentinel is a row of the port map, probed like a Redis (it answers PING).
    room.until("the three sentinels up in the port map", |s| {
        redis.ports.iter().all(|p| {
            s.ports.iter().any(|r| {
                r.port == *p && matches!(r.status, chavion_tui::app::state::PortStatus::Up { .. })
            })
        })
    })
    .await;

    room.command("dispatch thinking thinking.mark [\"before\"]")
        .await;
    room.until("the first dispatch reported by the worker", |s| {
        s.own_dispatches.by_id.is_empty() && s.last_task_event.is_some()
    })
    .await;
    let subscribed_before = redis.master.cli(&["pubsub", "numpat"]).trim().to_string();

    // The master dies hard. A dispatch is made at once, while there is no master.
    redis.master.kill();
    let killed = Instant::now();
    room.command("dispatch thinking thinking.mark [\"during\"]")
        .await;
    room.until("the sentinels' failover seen", |s| master_at(s, new))
        .await;
    let seen = killed.elapsed();
    room.until("the feed and the sampler on the new master", |s| {
        link_up(s, chavion_tui::event::links::REDIS)
            && link_up(s, chavion_tui::event::links::QUEUES)
    })
    .await;
    let followed = killed.elapsed();
    eprintln!("failover seen after {seen:?}; feed and sampler up again after {followed:?}");
    assert_eq!(
        redis.master_port(),
        Some(new),
        "the sentinels promoted the replica"
    );

    // Task events from the worker show again: a dispatch after the failover, reported.
    room.command("dispatch thinking thinking.mark [\"after\"]")
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while marks(&worker).len() < 3 && Instant::now() < deadline {
        room.run_for(Duration::from_millis(200)).await;
    }
    room.until("every dispatch reported by the worker", |s| {
        s.own_dispatches.by_id.is_empty()
    })
    .await;
    let runs = marks(&worker);
    // The one made without a master waits in the outbox, so it may run after "after".
    let mut tokens: Vec<&str> = runs
        .iter()
        .filter_map(|r| r.split_whitespace().nth(1))
        .collect();
    tokens.sort();
    assert_eq!(
        tokens,
        ["after", "before", "during"],
        "each dispatch ran exactly once: {runs:?}"
    );
    assert!(
        !runs.iter().any(|r| r.starts_with("thinking.mark.again")),
        "{runs:?}"
    );
    // The outbox is empty: the dispatch made without a master was delivered, once.
    let pending = store
        .outbox_pending(&room.ctx.target.broker_id())
        .await
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");

    // Nothing subscribed twice: the new master has the same pattern subscriptions as the old
    // one had (this control room's and the worker's), now and a little later.
    let numpat = || redis.replica.cli(&["pubsub", "numpat"]).trim().to_string();
    room.until("the subscriptions moved", |_| numpat() == subscribed_before)
        .await;
    room.run_for(Duration::from_secs(3)).await;
    assert_eq!(numpat(), subscribed_before);

    // The activity log says what happened, and the Ports pane names the new master.
    assert!(
        room.state
            .activity
            .lines
            .iter()
            .any(|l| l.message.contains(&format!(
                "failover: master mymaster moved from 127.0.0.1:{old} to 127.0.0.1:{new}"
            ))),
        "{:#?}",
        room.state
            .activity
            .lines
            .iter()
            .map(|l| &l.message)
            .collect::<Vec<_>>()
    );
    let shown = screen(&room.state, &theme);
    let row = shown
        .lines()
        .find(|l| l.contains("Master"))
        .unwrap_or_else(|| panic!("no Master row:\n{shown}"));
    assert!(row.contains(&format!("127.0.0.1:{new}")), "{row}");
    assert!(row.contains("master"), "{row}");
    assert!(
        row.contains(&format!("failed over from 127.0.0.1:{old}")),
        "{row}"
    );
    for p in &redis.ports {
        assert!(
            shown.contains(&format!("127.0.0.1:{p}")),
            "sentinel {p} not shown:\n{shown}"
        );
    }
}

#[test]
fn a_sentinel_url_without_a_master_name_is_refused_before_anything_starts() {
    let sb = Sandbox::new("sentinel-refused");
    let config = sb.path("config/chavion-tui/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        "[redis]\nurl = \"sentinel://:s3cret@127.0.0.1:1;sentinel://127.0.0.1:2\"\n",
    )
    .unwrap();
    // `status` could not judge: 3, with the reason in its JSON.
    let out = sb.cmd(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("redis.master_name"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
    let out = sb.cmd(&["audit"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "refused before anything starts: {out:?}"
    );
}
