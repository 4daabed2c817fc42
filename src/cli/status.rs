//! `chavion-tui status`: every probe, feed link and queue checked once, for cron and
//! Nagios-style checks. This gathers (the network, /proc); `app::status::StatusReport`
//! judges, with the screen's judgement. Exit 0 all well; 1 degraded (an optional target
//! down, a warning); 2 a required target down, Redis unreachable, an internal service
//! exposed, or a certificate about to expire.

use std::process::ExitCode;
use std::time::Duration;

use crate::config::Settings;
use crate::wiring;

pub async fn status(settings: &Settings, json: bool) -> ExitCode {
    let report = report_of(settings).await;
    if json {
        println!("{}", crate::sanitize::json_pretty(&report));
    } else {
        print!("{}", report.text());
    }
    ExitCode::from(report.exit_code)
}

/// `status --all-contexts`: every context checked at once, each reported under its name;
/// the exit code is the worst of them.
pub async fn status_all(all: &[Settings], json: bool) -> ExitCode {
    let reports = futures_util::future::join_all(all.iter().map(report_of)).await;
    let worst = reports.iter().map(|r| r.exit_code).max().unwrap_or(0);
    if json {
        let contexts: Vec<serde_json::Value> = all
            .iter()
            .zip(&reports)
            .map(|(s, r)| {
                let mut v = serde_json::to_value(r).expect("the report serializes");
                v["context"] = serde_json::Value::String(s.context.name.clone());
                v
            })
            .collect();
        let out = serde_json::json!({ "contexts": contexts, "exit_code": worst });
        println!("{}", crate::sanitize::json_pretty(&out));
    } else {
        for (s, r) in all.iter().zip(&reports) {
            println!("== context {} ==", s.context.name);
            print!("{}", r.text());
            println!();
        }
    }
    ExitCode::from(worst)
}

/// One context checked once: probes, Redis, Socket.IO, Docker and the exposure audit, all
/// at once, then the one report.
async fn report_of(settings: &Settings) -> crate::app::reports::status::StatusReport {
    use crate::app::reports::status::StatusReport;
    use crate::app::{State, update};
    use crate::clients::probe as probes;
    use crate::event::Event;

    let cfg = &settings.config;
    let mut state = State::new(cfg, settings.keymap.clone(), chrono::Utc::now());
    // Every probe at once; each is bounded by its own timeout.
    let handles: Vec<_> = probes::targets(cfg)
        .into_iter()
        .map(|t| tokio::spawn(async move { (t.index, probes::probe(&t).await) }))
        .collect();
    let redis = tokio::spawn(queue_sample(
        cfg.redis.url.get_ref().clone(),
        wiring::feed_config(settings).queues,
    ));
    // Each Socket.IO link is judged as the screen judges it: the real client connects
    // every namespace with its auth, not just the Engine.IO handshake.
    let sio: Vec<_> = cfg
        .socketio
        .iter()
        .map(|e| {
            tokio::spawn(wiring::checks::socketio_link(
                crate::clients::socketio::endpoint(e),
            ))
        })
        .collect();
    // The Docker Engine, listed once, when configured.
    let docker = crate::wiring::docker_settings(settings).map(|s| {
        tokio::spawn(async move {
            let engine = crate::clients::docker::connect(&s).await?;
            crate::clients::docker::list(&s, &engine).await
        })
    });
    let feed = wiring::feed_config(settings);
    let fleet = tokio::spawn(fleet_sample(
        (feed.url, feed.keyprefix, feed.channels.pidbox),
        settings.store_url.clone(),
        settings.context.name.clone(),
    ));
    let mapped = crate::platform::exposure::port_map(cfg);
    let exposure = tokio::task::spawn_blocking(move || wiring::checks::exposure_here(&mapped));

    let at = chrono::Utc::now();
    for h in handles {
        if let Ok((index, outcome)) = h.await {
            update(&mut state, Event::Probe { at, index, outcome });
        }
    }
    let (links, queue_rows) = links_of(redis, sio, docker, &mut state).await;
    if let Ok(findings) = exposure.await {
        update(&mut state, Event::Exposure { findings });
    }
    let sample = fleet.await.unwrap_or_default();
    let fleet_sampled = matches!(sample.answered, Some(Ok(_)));
    crate::app::reports::status_fleet::apply(&mut state, sample, at);
    // The queues as sampled, then the alert rules judged once on what was found.
    update(
        &mut state,
        Event::Feed {
            at,
            item: Box::new(crate::platform::model::FeedItem::Queues(queue_rows.clone())),
        },
    );
    crate::app::model::alerts::judge_once(&mut state, at);
    StatusReport::build(&state, &cfg.ports, &links, &queue_rows, fleet_sampled, at)
}

type Handle<T> = tokio::task::JoinHandle<T>;

/// Each link as checked (Redis with the queues it sampled, Socket.IO, Docker with the
/// containers it listed, applied to `state`), down with why when a check failed.
async fn links_of(
    redis: Handle<Result<Vec<crate::platform::model::QueueSample>, String>>,
    sio: Vec<Handle<(String, crate::event::LinkHealth)>>,
    docker: Option<
        Handle<
            Result<
                Vec<crate::platform::containers::Container>,
                crate::clients::docker::DockerError,
            >,
        >,
    >,
    state: &mut crate::app::State,
) -> (
    Vec<(String, crate::event::LinkHealth)>,
    Vec<crate::platform::model::QueueSample>,
) {
    use crate::app::update;
    use crate::event::{Event, LinkHealth};
    let mut links = Vec::new();
    let mut queue_rows = Vec::new();
    let down = |why: String| LinkHealth::Down {
        why,
        retry_in: None,
    };
    match redis.await {
        Ok(Ok(samples)) => {
            links.push(("redis".to_string(), LinkHealth::Up));
            queue_rows = samples;
        }
        Ok(Err(why)) => links.push(("redis".to_string(), down(why))),
        Err(e) => links.push(("redis".to_string(), down(e.to_string()))),
    }
    for h in sio {
        if let Ok(link) = h.await {
            links.push(link);
        }
    }
    if let Some(h) = docker {
        let name = wiring::checks::DOCKER_LINK.to_string();
        let listed = h
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|why| format!("not reachable ({why})")));
        match listed {
            Ok(all) => {
                links.push((name, LinkHealth::Up));
                let news = crate::event::ContainerNews::Listed(all);
                update(state, Event::Containers(news));
            }
            Err(why) => links.push((name, down(why))),
        }
    }
    (links, queue_rows)
}

/// The queues' depths, sampled once: the configured ones and those Redis knows of.
async fn queue_sample(
    url: String,
    configured: Vec<String>,
) -> Result<Vec<crate::platform::model::QueueSample>, String> {
    use crate::clients::broker::{connect, queues, reason};
    let mut conn = connect(&url).await.map_err(|e| reason(&e))?;
    let mut names: std::collections::BTreeSet<String> = configured.into_iter().collect();
    if let Ok(found) = queues::discover(&mut conn, "").await {
        names.extend(found);
    }
    queues::sample(&mut conn, "", &names, true)
        .await
        .map(|(s, _)| s)
        .map_err(|e| reason(&e))
}

/// How long `status` waits for the workers to answer: Celery's `inspect` waits 1 s; twice
/// that leaves room for a busy broker.
const FLEET_WITHIN: Duration = Duration::from_secs(2);

/// The fleet, sampled once: every worker asked over the pidbox which queues it consumes
/// (those that answer within `FLEET_WITHIN` are alive), and the workers the store's history
/// knows of, so that one that stays silent is named.
async fn fleet_sample(
    (url, keyprefix, pidbox): (String, String, String),
    store_url: Option<String>,
    context: String,
) -> crate::app::reports::status::FleetSample {
    let known = async {
        match wiring::open_store(store_url.as_deref()).await {
            Ok(Some(store)) => wiring::restore_workers(&store, &context).await,
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!("status: the store's worker history not read: {e}");
                Vec::new()
            }
        }
    };
    let asked = crate::clients::broker::pidbox::call(
        &url,
        &keyprefix,
        &pidbox,
        "active_queues",
        serde_json::json!({}),
        &[],
        FLEET_WITHIN,
    );
    let (known, asked) = tokio::join!(known, asked);
    let answered = asked.map(|replies| {
        replies
            .into_iter()
            .map(|(host, said)| {
                let queues = crate::clients::broker::pidbox::queues_of(&said);
                (host, queues)
            })
            .collect()
    });
    crate::app::reports::status::FleetSample {
        known,
        answered: Some(answered.map_err(|e| crate::event::Failure::Failed(e.to_string()))),
    }
}
