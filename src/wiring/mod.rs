//! The wiring: everything a control room runs, built in one place from the settings — the
//! event channel, the initial state, the action context, the audit store opening in the
//! background, the feeds (Redis, Socket.IO, probes, the exposure audit, log files, the
//! journal), the outbox and the store writer, the clock and the signals. The TUI's loop
//! (`run`), the shell commands (`cli`) and the test harness (`tests/common/room.rs`) all
//! build from here, so a test room is the real wiring without a terminal.

use chrono::Utc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::actions;
use crate::actions::dispatch::Target;
use crate::app::State;
use crate::config::Settings;
use crate::event::Event;
use crate::feeds::redis::FeedConfig;
use crate::feeds::{demo, probes};
use crate::platform::route::Channels;
use crate::store::{SharedStore, StoredLine};

pub use crate::clients::broker::db_of as redis_db;
pub use history::{hand_over_new_lines, open_store, outbox, restore_history, restore_workers};
use history::{open_in_background, persist_activity};

pub mod checks;
mod history;

/// A control room, wired: its state, its action context, the event channel, the store
/// writer's channel, and everything running in the background.
pub struct Wiring {
    pub state: State,
    pub ctx: actions::Context,
    pub tx: mpsc::Sender<Event>,
    pub rx: mpsc::Receiver<Event>,
    /// Activity lines for the store writer (the loop hands over what `update` appended).
    pub persist_tx: mpsc::Sender<StoredLine>,
    pub background: Background,
    /// Scrapes of /metrics waiting for the loop to render them (none when not served).
    pub scrapes: Option<mpsc::Receiver<crate::exporter::serve::Scrape>>,
    /// The flight recorder's handle (off unless `Options::record`).
    pub recorder: crate::recorder::Recorder,
}

/// The tasks a control room runs beside its loop.
pub struct Background {
    tasks: Vec<JoinHandle<()>>,
    /// Socket.IO endpoints: closed properly, not aborted.
    sio_tasks: Vec<JoinHandle<()>>,
    writer: JoinHandle<()>,
}

impl Wiring {
    /// Everything the TUI runs, started: the demo fleet, or the live feeds, the outbox and
    /// the store. Nothing here waits on the network or the store.
    pub fn start(settings: &Settings, opts: &Options) -> Wiring {
        let (tx, rx) = mpsc::channel::<Event>(CHANNEL);
        let mut state = initial_state(settings, opts);
        let cfg = &settings.config;
        let mut tasks = Vec::new();
        let mut sio_tasks = Vec::new();
        // The demo fleet is not a platform: nothing it does may reach the operator's real
        // store. The store opens in the background (SQLite migrating, PostgreSQL perhaps
        // down for its whole connect timeout): the first frame does not wait for it, actions
        // do.
        let store = if opts.demo {
            SharedStore::ready(None)
        } else {
            let (settle, store) = SharedStore::opening();
            tasks.push(tokio::spawn(open_in_background(
                settings.store_url.clone(),
                *cfg.celery.max_tasks.get_ref(),
                settings.context.name.clone(),
                settle,
                tx.clone(),
            )));
            store
        };
        let mut ctx = action_context(settings, state.gate(), store.clone());
        // Its own audit broadcasts are told apart by the session's instance.
        ctx.instance = state.session.instance.clone();
        // Activity lines are copied to the store by a task of their own.
        let (persist_tx, persist_rx) = mpsc::channel::<StoredLine>(16_384);
        let writer = tokio::spawn(persist_activity(
            store,
            *cfg.store.activity_keep.get_ref(),
            settings.context.name.clone(),
            persist_rx,
        ));
        let (scrapes, also) = serve_metrics(opts, &mut state, &mut tasks);
        let recorder = start_recorder(settings, opts, &tx);
        if opts.demo {
            tasks.push(demo::spawn(cfg, channels(settings), tx.clone()));
            let agents = cfg
                .agents
                .iter()
                .map(|a| a.name.get_ref().clone())
                .collect();
            tasks.push(tokio::spawn(crate::feeds::demo_docker::run(
                agents,
                tx.clone(),
            )));
        } else {
            tasks.extend(live_feeds(settings, &ctx, &tx, also, recorder.is_on()));
            let (sio, links) = spawn_socketio(settings, &tx);
            sio_tasks = sio;
            ctx.socketio = links;
            tasks.push(tokio::spawn(outbox(ctx.clone(), tx.clone())));
        }
        tasks.push(tokio::spawn(signals(tx.clone())));
        tasks.push(tokio::spawn(clock(tx.clone())));
        Wiring {
            state,
            ctx,
            tx,
            rx,
            persist_tx,
            background: Background {
                tasks,
                sio_tasks,
                writer,
            },
            scrapes,
            recorder,
        }
    }
}

impl Wiring {
    /// A control room with nothing running: its state, its action context (no store), the
    /// event channel, and a store writer with nowhere to write. The test harness adds the
    /// feeds it wants.
    pub fn bare(settings: &Settings, opts: &Options) -> Wiring {
        let (tx, rx) = mpsc::channel::<Event>(CHANNEL);
        let state = initial_state(settings, opts);
        let mut ctx = action_context(settings, state.gate(), SharedStore::ready(None));
        ctx.instance = state.session.instance.clone();
        let (persist_tx, persist_rx) = mpsc::channel::<StoredLine>(1024);
        let writer = tokio::spawn(persist_activity(
            SharedStore::ready(None),
            0,
            String::new(),
            persist_rx,
        ));
        Wiring {
            state,
            ctx,
            tx,
            rx,
            persist_tx,
            background: Background {
                tasks: Vec::new(),
                sio_tasks: Vec::new(),
                writer,
            },
            scrapes: None,
            recorder: crate::recorder::Recorder::off(),
        }
    }
}

/// The flight recorder for this platform, when asked for and configured; a second control
/// room on the same platform and host leaves it to the first, and says so.
fn start_recorder(
    settings: &Settings,
    opts: &Options,
    tx: &mpsc::Sender<Event>,
) -> crate::recorder::Recorder {
    use crate::recorder::{NotStarted, Recorder, format::Meta, writer::Keep};
    let cfg = &settings.config;
    if !opts.record || !cfg.recorder.enabled {
        return Recorder::off();
    }
    let mut platform = crate::recorder::platform_name(cfg.redis.url.get_ref(), opts.demo);
    // Two contexts are two recordings, even of one demo fleet.
    if opts.demo && settings.context.name != crate::config::contexts::DEFAULT {
        platform = format!("{platform}-{}", settings.context.name);
    }
    let data_dir = crate::config::paths::Paths::resolve(None).data_dir;
    let keep = Keep {
        dir: crate::recorder::dir_for(&data_dir, &platform),
        age: chrono::Duration::days(*cfg.recorder.keep_days.get_ref() as i64),
        bytes: cfg.recorder.keep_mib.get_ref().saturating_mul(1024 * 1024),
        segment_bytes: crate::recorder::format::SEGMENT_BYTES,
        segment_age: chrono::Duration::hours(1),
    };
    let meta = Meta::of(
        platform,
        channels(settings),
        env!("CARGO_PKG_VERSION").into(),
        &settings.config,
    );
    let said = |outcome| Event::ActionDone {
        what: "recorder".into(),
        outcome,
    };
    match Recorder::start(keep, meta, tx.clone()) {
        Ok(r) => r,
        Err(NotStarted::Taken) => {
            let _ = tx.try_send(said(Ok(
                "another control room on this host records this platform: this one leaves it to that one".into(),
            )));
            Recorder::off()
        }
        Err(NotStarted::Failed(why)) => {
            let _ = tx.try_send(said(Err(format!(
                "the flight recorder did not start: {why}"
            )
            .into())));
            Recorder::off()
        }
    }
}

/// The live platform's feeds besides Socket.IO: probes, the exposure audit, Redis (pub/sub,
/// sampler, enable_events), the services' log files and journals.
/// /metrics, when `--metrics` bound it: the server started, counting turned on. Returns
/// the scrapes for the loop, and the endpoint as an entry for the exposure audit's map
/// (internal, unless meant to be public).
#[allow(clippy::type_complexity)]
fn serve_metrics(
    opts: &Options,
    state: &mut State,
    tasks: &mut Vec<JoinHandle<()>>,
) -> (
    Option<mpsc::Receiver<crate::exporter::serve::Scrape>>,
    Option<(String, u16, bool)>,
) {
    let Some(listener) = opts.metrics.as_ref().and_then(|l| l.try_clone().ok()) else {
        return (None, None);
    };
    let also = listener.local_addr().ok().map(|a| {
        (
            "chavion-tui /metrics".to_string(),
            a.port(),
            !opts.metrics_public,
        )
    });
    let (task, rx) = crate::exporter::serve::spawn(listener);
    tasks.push(task);
    state.task_counts.on = true;
    (Some(rx), also)
}

/// `also`: one more entry for the exposure audit's port map (the /metrics endpoint).
fn live_feeds(
    settings: &Settings,
    ctx: &actions::Context,
    tx: &mpsc::Sender<Event>,
    also: Option<(String, u16, bool)>,
    keep_wire: bool,
) -> Vec<JoinHandle<()>> {
    let cfg = &settings.config;
    let mut tasks = probes::spawn(probes::targets(cfg), tx.clone());
    let mut mapped = crate::platform::exposure::port_map(cfg);
    mapped.extend(also);
    tasks.push(tokio::spawn(exposure_loop(mapped, tx.clone())));
    tasks.extend(crate::feeds::redis::spawn(
        crate::feeds::redis::FeedConfig {
            keep_wire,
            ..feed_config(settings)
        },
        tx.clone(),
    ));
    tasks.extend(crate::feeds::prometheus::spawn(cfg, tx.clone()));
    if let Some(docker) = &ctx.docker {
        tasks.push(crate::feeds::docker::spawn(
            (**docker).clone(),
            tx.clone(),
            ctx.docker_looking.clone(),
        ));
    }
    tasks.extend(crate::feeds::logfiles::spawn(
        &cfg.logs,
        *cfg.activity.max_line_chars.get_ref(),
        tx.clone(),
    ));
    tasks.extend(crate::feeds::remote_logs::spawn(
        &cfg.logs.remote,
        &cfg.executor,
        Duration::from_millis(*cfg.logs.poll_ms.get_ref()),
        *cfg.activity.max_line_chars.get_ref(),
        tx.clone(),
    ));
    for j in &cfg.logs.journal {
        tasks.push(crate::feeds::journal::spawn(
            j.unit.clone(),
            *cfg.activity.max_line_chars.get_ref(),
            tx.clone(),
        ));
    }
    tasks
}

impl Background {
    /// Stops it all: feeds aborted; Socket.IO sessions closed properly (Engine.IO `1`) once
    /// nobody can send through them, given half a second; the store writer given up to 2 s
    /// to write its last batch.
    pub async fn stop(self, ctx: actions::Context, persist_tx: mpsc::Sender<StoredLine>) {
        for t in self.tasks {
            t.abort();
        }
        drop(ctx);
        for t in self.sio_tasks {
            if tokio::time::timeout(Duration::from_millis(500), t)
                .await
                .is_err()
            {
                tracing::debug!("a Socket.IO endpoint did not close in time");
            }
        }
        drop(persist_tx);
        let _ = tokio::time::timeout(Duration::from_secs(2), self.writer).await;
    }
}

#[derive(Default)]
pub struct Options {
    pub demo: bool,
    pub read_only: bool,
    /// Test hook: panic in the app loop after this long, to prove the terminal survives.
    pub crash_after: Option<Duration>,
    /// Where /metrics is served (`--metrics`), bound before anything started.
    pub metrics: Option<std::net::TcpListener>,
    /// The operator said `--metrics-public`: a public /metrics is meant, not an exposure.
    pub metrics_public: bool,
    /// Run the flight recorder (when `recorder.enabled`): the TUI and `watch` do.
    pub record: bool,
}

pub const CHANNEL: usize = 8192;

const OUTBOX_EVERY: Duration = Duration::from_secs(2);

const OUTBOX_IDLE: Duration = Duration::from_secs(30);

/// Activity lines read back from the store at start-up.
const HISTORY_LINES: i64 = 500;

pub fn channels(settings: &Settings) -> Channels {
    let r = &settings.config.redis;
    let mut ch = Channels::new(
        &r.agent_channel,
        &r.activity_channel,
        redis_db(r.url.get_ref()),
        &r.global_keyprefix,
        r.fanout_prefix,
    );
    ch.audit = r.audit_channel.clone();
    ch
}

/// What the live Redis feed needs from the settings.
pub fn feed_config(settings: &Settings) -> FeedConfig {
    let cfg = &settings.config;
    let mut queues: Vec<String> = cfg
        .agents
        .iter()
        .flat_map(|a| a.queues.iter().cloned())
        .collect();
    queues.dedup();
    FeedConfig {
        url: cfg.redis.url.get_ref().clone(),
        channels: channels(settings),
        keyprefix: cfg.redis.global_keyprefix.clone(),
        db: redis_db(cfg.redis.url.get_ref()),
        queues,
        discover_queues: cfg.celery.discover_queues,
        sample_every: Duration::from_millis(*cfg.celery.sample_ms.get_ref()),
        enable_events_every: cfg
            .celery
            .enable_events
            .then(|| Duration::from_secs(*cfg.celery.enable_events_secs.get_ref())),
        keep_wire: false,
        moved: Default::default(),
    }
}

pub fn action_context(
    settings: &Settings,
    gate: crate::gate::Gate,
    store: SharedStore,
) -> actions::Context {
    let ch = channels(settings);
    let r = &settings.config.redis;
    actions::Context {
        redis_url: r.url.get_ref().clone(),
        pidbox_channel: ch.pidbox.clone(),
        audit_channel: ch.audit.clone(),
        gate,
        target: Target {
            redis_url: r.url.get_ref().clone(),
            keyprefix: r.global_keyprefix.clone(),
            celery_prefix: ch.celery_prefix,
            context: settings.context.name.clone(),
        },
        store,
        instance: format!("{:016x}", fastrand::u64(..)),
        result_backend: Some(settings.config.celery.result_backend.clone())
            .filter(|u| !u.is_empty()),
        socketio: Default::default(),
        executor: std::sync::Arc::new(settings.config.executor.clone()),
        runs: Default::default(),
        quitting: Default::default(),
        result_polls: Default::default(),
        outbox_wake: Default::default(),
        notifiers: std::sync::Arc::new(settings.config.notify.clone()),
        docker: docker_settings(settings).map(std::sync::Arc::new),
        docker_looking: Default::default(),
        docker_logs: Default::default(),
        asker: Default::default(),
        outbound: Default::default(),
    }
}

/// Starts every configured Socket.IO endpoint; returns their tasks and the handles that
/// operator actions emit through.
pub fn spawn_socketio(
    settings: &Settings,
    tx: &mpsc::Sender<Event>,
) -> (
    Vec<tokio::task::JoinHandle<()>>,
    crate::feeds::socketio::Links,
) {
    let mut links = crate::feeds::socketio::Links::default();
    let mut tasks = Vec::new();
    for cfg in &settings.config.socketio {
        let (task, cmds) = crate::feeds::socketio::client::spawn(
            crate::feeds::socketio::endpoint(cfg),
            tx.clone(),
        );
        tasks.push(task);
        links.endpoints.insert(cfg.name.clone(), cmds);
    }
    (tasks, links)
}

async fn exposure_loop(mapped: Vec<(String, u16, bool)>, tx: mpsc::Sender<Event>) {
    loop {
        let m = mapped.clone();
        // /proc reads are quick but blocking: keep them off the runtime's workers.
        if let Ok(findings) =
            tokio::task::spawn_blocking(move || crate::feeds::exposure::audit_here(&m)).await
            && tx.send(Event::Exposure { findings }).await.is_err()
        {
            return;
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

/// The State a control room starts with, before any event: shared by the TUI and tests.
pub fn initial_state(settings: &Settings, opts: &Options) -> State {
    // Who this run is, and what the config decides, are given at construction.
    let session = crate::app::state::Session {
        demo: opts.demo,
        read_only: opts.read_only,
        id_seed: fastrand::u64(..),
        origin: format!("chavion-tui@{}", crate::actions::dispatch::hostname()),
        instance: format!("{:016x}", fastrand::u64(..)),
        who: crate::store::operator().0,
        context: settings.context.clone(),
        contexts: vec![settings.context.name.clone()],
    };
    let save_dir = crate::config::paths::Paths::resolve(None)
        .data_dir
        .join("saved");
    let policy = crate::app::state::Policy::from_config(&settings.config, save_dir);
    let mut state = State::with(
        &settings.config,
        settings.keymap.clone(),
        Utc::now(),
        session,
        policy,
    );
    if !opts.demo
        && let Some((host, port)) =
            crate::clients::broker::host_port(settings.config.redis.url.get_ref())
    {
        state.redis_port = state
            .ports
            .iter()
            .position(|p| p.port == port && crate::redis_url::same_host(&p.host, &host));
    }
    state
}

async fn clock(tx: mpsc::Sender<Event>) {
    // Tick on the second boundary so the clock never shows a second twice or skips one.
    let sub = Utc::now().timestamp_subsec_millis() as u64;
    tokio::time::sleep(Duration::from_millis(1000 - sub.min(999))).await;
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        if tx.send(Event::Tick(Utc::now())).await.is_err() {
            return;
        }
    }
}

async fn signals(tx: mpsc::Sender<Event>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return;
    };
    let why = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP (terminal hung up)",
    };
    let _ = tx.send(Event::Shutdown { why: why.into() }).await;
}

/// The Docker Engine's settings, with an `ssh://NAME` URL resolved: the executor's host
/// NAME's remote socket forwarded to a local one, the forwarder started (once per process:
/// the TUI, the shell commands and the tests all come here).
pub fn docker_settings(settings: &Settings) -> Option<crate::clients::docker::Settings> {
    let mut s = crate::clients::docker::Settings::of(&settings.config)?;
    let Some(name) = s.url.strip_prefix("ssh://").map(str::to_string) else {
        return Some(s);
    };
    let cfg = &settings.config;
    let Some(host) = cfg
        .executor
        .hosts
        .iter()
        .find(|h| *h.name.get_ref() == name)
    else {
        // Refused by the config check; here only for a config built by hand.
        s.url = format!("ssh://{name} (no such [[executor.hosts]])");
        return Some(s);
    };
    // Per process, in a directory only this user can enter (as ssh-agent's sockets are).
    let dir = std::env::temp_dir().join(format!("chavion-tui-{}", std::process::id()));
    let local = crate::executor::forward::local_socket(&dir, &name);
    static FORWARDERS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let key = local.display().to_string();
    let started = FORWARDERS.lock().map(|f| f.contains(&key)).unwrap_or(false);
    if !started {
        match crate::executor::forward::spawn(
            crate::executor::plan::HostTarget::from_config(host),
            crate::executor::ssh::SshOptions::from_config(&cfg.executor),
            cfg.docker.remote_socket.clone(),
            &local,
        ) {
            Ok(_) => {
                if let Ok(mut f) = FORWARDERS.lock() {
                    f.push(key);
                }
            }
            Err(e) => tracing::warn!("docker over ssh: cannot bind {}: {e}", local.display()),
        }
    }
    s.url = format!("unix://{}", local.display());
    Some(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn db_comes_from_the_url_path() {
        assert_eq!(super::redis_db("redis://127.0.0.1:6379/0"), 0);
        assert_eq!(super::redis_db("redis://:pw@h:1/5"), 5);
        assert_eq!(super::redis_db("redis://h:1"), 0);
        assert_eq!(super::redis_db("rediss://h/3?x=1"), 3);
    }
}
