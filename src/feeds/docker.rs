//! The Docker Engine feed: one task that follows the Engine's event stream (start, die,
//! oom, health_status, restart, destroy …) and lists everything only when it connects, so a
//! quiet Engine costs nothing. Each change is the container inspected again and sent as
//! `ContainerNews::Changed`. Stats are sampled only while someone looks at them (the
//! Containers view sets `looking`), and logs are followed only where asked. An Engine that
//! is absent is a calm `docker` link, retried every 30 s, never a storm.

use bollard::Docker;
use bollard::query_parameters::{EventsOptions, InspectContainerOptions, StatsOptions};
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::clients::docker::list_running;
use crate::clients::docker::{Settings, connect, filters, list, words};
use crate::event::{ContainerNews, Event, LinkHealth};
use crate::platform::containers::{from_inspect, usage};

/// The link's name in the status bar and the Ports pane.
pub const LINK: &str = crate::event::links::DOCKER;
/// Between two tries at an Engine that is not there: 2 s, doubling to 30 s.
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MOST: Duration = Duration::from_secs(30);
const STATS_EVERY: Duration = Duration::from_secs(2);
/// One container's stats answer at most.
const STATS_WITHIN: Duration = Duration::from_secs(4);

/// Follows the Engine until the control room stops: listing at connect, the event stream
/// after, stats while `looking`.
pub fn spawn(s: Settings, tx: mpsc::Sender<Event>, looking: Arc<AtomicBool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut said_down: Option<String> = None;
        let mut wait = RETRY_FIRST;
        loop {
            let why = match connect(&s).await {
                Ok(docker) => {
                    said_down = None;
                    wait = RETRY_FIRST;
                    follow(&s, &docker, &tx, &looking).await
                }
                Err(why) => why.to_string(),
            };
            if tx.is_closed() {
                return;
            }
            // A missing Engine is said once per reason, then tried again quietly.
            let quiet = said_down.as_deref() == Some(&why);
            if !quiet {
                let health = LinkHealth::Down {
                    why: format!("not reachable ({why})"),
                    retry_in: Some(wait),
                };
                if tx
                    .send(Event::Link {
                        name: LINK.into(),
                        health,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                said_down = Some(why);
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RETRY_MOST);
        }
    })
}

/// The logs of the containers `follow_logs` names, each followed in a task of its own.
fn follow_configured(
    s: &Settings,
    docker: &Docker,
    sources: Vec<(String, String)>,
    tx: &mpsc::Sender<Event>,
) -> Vec<JoinHandle<()>> {
    let mut followers = Vec::new();
    for (id, service) in sources {
        if s.follow_logs
            .iter()
            .any(|f| crate::glob::matches(f, &service))
        {
            followers.push(tokio::spawn(follow_logs(
                docker.clone(),
                id,
                service,
                s.logs_since,
                tx.clone(),
            )));
        }
    }
    followers
}

/// Stats in a task of their own, sampled only while someone looks: a slow answer (a
/// container dying under the question) never holds up the events.
fn spawn_stats(
    s: &Settings,
    docker: &Docker,
    tx: &mpsc::Sender<Event>,
    looking: &Arc<AtomicBool>,
) -> JoinHandle<()> {
    let (s, docker, tx) = (s.clone(), docker.clone(), tx.clone());
    let looking = looking.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(STATS_EVERY).await;
            if looking.load(Ordering::Relaxed) && sample(&s, &docker, &tx).await.is_err() {
                return;
            }
        }
    })
}

/// One connection's life: subscribed, the full listing, the followers and the stats
/// started, then each event as it comes. Returns why it ended.
async fn follow(
    s: &Settings,
    docker: &Docker,
    tx: &mpsc::Sender<Event>,
    looking: &Arc<AtomicBool>,
) -> String {
    // Subscribed before listing, so nothing that happens in between is missed.
    let filters = filters(s, &[("type", "container")]);
    let mut events = docker.events(Some(EventsOptions {
        filters: Some(filters),
        ..Default::default()
    }));
    let listed = match list(s, docker).await {
        Ok(l) => l,
        Err(why) => return why.to_string(),
    };
    // Every listed container, running or not: a follower waits for a stopped one to run.
    let sources: Vec<(String, String)> = listed
        .iter()
        .map(|c| {
            (
                c.id.clone(),
                c.service.clone().unwrap_or_else(|| c.name.clone()),
            )
        })
        .collect();
    let up = Event::Link {
        name: LINK.into(),
        health: LinkHealth::Up,
    };
    if tx.send(up).await.is_err()
        || tx
            .send(Event::Containers(ContainerNews::Listed(listed)))
            .await
            .is_err()
    {
        return "stopping".into();
    }
    let followers = follow_configured(s, docker, sources, tx);
    let stats = spawn_stats(s, docker, tx, looking);
    let why = loop {
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(msg)) => {
                    let Some(actor) = msg.actor else { continue };
                    let Some(id) = actor.id else { continue };
                    let action = crate::sanitize::clean(msg.action.as_deref().unwrap_or(""), 60);
                    let news = if action == "destroy" {
                        ContainerNews::Removed { id }
                    } else {
                        match docker.inspect_container(&id, None::<InspectContainerOptions>).await {
                            Ok(c) => ContainerNews::Changed { container: Box::new(from_inspect(&c)), action },
                            // Gone between the event and the question.
                            Err(_) => ContainerNews::Removed { id },
                        }
                    };
                    if tx.send(Event::Containers(news)).await.is_err() {
                        break "stopping".to_string();
                    }
                }
                Some(Err(e)) => break format!("the stream broke: {}", words(&e)),
                None => break "the stream ended".to_string(),
            },
        }
    };
    stats.abort();
    for f in followers {
        f.abort();
    }
    why
}

/// One stats sample of each running container.
async fn sample(s: &Settings, docker: &Docker, tx: &mpsc::Sender<Event>) -> Result<(), ()> {
    let Ok(all) = list_running(s, docker).await else {
        return Ok(());
    };
    // All at once, each bounded: the Engine takes a second per answer (it measures CPU
    // between two readings), and one container dying under the question must not hold up
    // the others.
    let asks = all.into_iter().map(|id| async move {
        let mut one = docker.stats(
            &id,
            Some(StatsOptions {
                stream: false,
                one_shot: false,
            }),
        );
        match tokio::time::timeout(STATS_WITHIN, one.next()).await {
            Ok(Some(Ok(st))) => Some((id, usage(&st))),
            _ => None,
        }
    });
    let samples: Vec<_> = futures_util::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect();
    tx.send(Event::Containers(ContainerNews::Stats(samples)))
        .await
        .map_err(|_| ())
}

/// Follows one container's logs into the activity stream (`clients::docker::follow_logs`),
/// each batch of lines one `FeedBatch`.
pub async fn follow_logs(
    docker: Docker,
    id: String,
    source: String,
    since: Duration,
    tx: mpsc::Sender<Event>,
) {
    crate::clients::docker::follow_logs(docker, id, source, since, move |items| {
        let tx = tx.clone();
        Box::pin(async move { crate::event::hand_on_lines(&tx, items).await })
    })
    .await
}
