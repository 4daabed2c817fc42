//! `chavion-tui replay`: a recording played back through the same `update` and `draw`.
//! The state starts empty and read-only; the events recorded from `from - warmup` are
//! applied without drawing, then the rest at the chosen pace. Effects are dropped: nothing
//! a replay does reaches the world. `--snapshot` prints the state at `--to` as JSON.

pub mod screen;

use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::app::{State, update};
use crate::config::Settings;
use crate::event::Event;
use crate::platform::model::{CeleryEvent, FeedItem, TaskEventKind};
use crate::recorder::playback::Playback;

/// Failures this close together make a burst (an alarm the replay can jump to).
const BURST: usize = 3;
const BURST_WITHIN_MS: i64 = 60_000;

/// A recording being played: the state it has rebuilt so far and what comes next.
pub struct Replayer {
    settings: Settings,
    dir: PathBuf,
    warmup_ms: i64,
    to_ms: i64,
    playback: Playback,
    next: Option<(i64, Event)>,
    pub state: State,
    /// The recorded time of the last event applied.
    pub at_ms: i64,
    alarms: Alarms,
}

/// What the replay watches to stop at the next alarm.
#[derive(Default)]
struct Alarms {
    ports_down: usize,
    workers_offline: usize,
    failures: VecDeque<i64>,
}

impl Replayer {
    /// An empty, read-only state, and the recording in `dir` from `from_ms - warmup_ms` up
    /// to `to_ms`; nothing applied yet (`seek(from_ms)` applies the warm-up).
    pub fn new(
        settings: &Settings,
        dir: PathBuf,
        from_ms: i64,
        warmup_ms: i64,
        to_ms: i64,
    ) -> Replayer {
        let state = fresh_state(settings);
        let mut r = Replayer {
            settings: settings.clone(),
            playback: Playback::open(&dir, i64::MIN, to_ms),
            dir,
            warmup_ms,
            to_ms,
            next: None,
            state,
            at_ms: i64::MIN,
            alarms: Alarms::default(),
        };
        r.rewind(from_ms);
        r
    }

    /// Starts again, empty, from `from_ms - warmup`.
    fn rewind(&mut self, from_ms: i64) {
        self.state = fresh_state(&self.settings);
        let start = from_ms.saturating_sub(self.warmup_ms);
        let warnings = std::mem::take(&mut self.playback.warnings);
        self.playback = Playback::open(&self.dir, start, self.to_ms);
        self.playback.warnings = warnings;
        self.pull();
        self.at_ms = start;
        self.alarms = Alarms::default();
    }

    /// The next event, and the port map and agents it was recorded under.
    fn pull(&mut self) {
        self.next = self.playback.next();
        if let Some(meta) = self.playback.take_meta() {
            let mut settings = self.settings.clone();
            meta.apply_to(&mut settings.config);
            use_map(&mut self.state, &settings);
            self.settings = settings;
        }
    }

    /// When the next event was recorded, if any is left.
    pub fn next_at(&self) -> Option<i64> {
        self.next.as_ref().map(|(at, _)| *at)
    }

    /// What could not be read, in words.
    pub fn warnings(&self) -> &[String] {
        &self.playback.warnings
    }

    /// Applies the next event; returns whether it drew something and what alarm it raised.
    pub fn step(&mut self) -> Option<(bool, Option<String>)> {
        let (at, ev) = self.next.take()?;
        self.pull();
        self.at_ms = at;
        let failed = failures_in(&ev);
        let judged = matches!(
            ev,
            Event::Probe { .. } | Event::Tick(_) | Event::FeedBatch { .. } | Event::Feed { .. }
        );
        let out = update(&mut self.state, ev);
        let alarm = self.alarm(at, failed, judged);
        Some((out.redraw, alarm))
    }

    /// Applies every event recorded up to `until_ms` (at most `limit`); whether any drew.
    pub fn run_until(&mut self, until_ms: i64, limit: usize) -> (bool, Option<String>) {
        let mut redraw = false;
        for _ in 0..limit {
            match self.next_at() {
                Some(at) if at <= until_ms => {}
                _ => break,
            }
            if let Some((drew, alarm)) = self.step() {
                redraw |= drew;
                if alarm.is_some() {
                    return (true, alarm);
                }
            }
        }
        (redraw, None)
    }

    /// To `target_ms`: forward by applying, backward by starting again and applying.
    pub fn seek(&mut self, target_ms: i64) {
        if target_ms < self.at_ms {
            self.rewind(target_ms);
        }
        while self.next_at().is_some_and(|at| at <= target_ms) {
            self.step();
        }
        self.at_ms = self.at_ms.max(target_ms.min(self.to_ms));
    }

    /// The next alarm after now (a port down, a worker offline, a failure burst), or the
    /// end; returns what it was.
    pub fn next_alarm(&mut self) -> Option<String> {
        while self.next.is_some() {
            if let Some((_, Some(alarm))) = self.step() {
                return Some(alarm);
            }
        }
        None
    }

    fn alarm(&mut self, at: i64, failed: usize, judged: bool) -> Option<String> {
        let mut said = None;
        for _ in 0..failed {
            self.alarms.failures.push_back(at);
        }
        while self
            .alarms
            .failures
            .front()
            .is_some_and(|t| at - t > BURST_WITHIN_MS)
        {
            self.alarms.failures.pop_front();
        }
        if failed > 0 && self.alarms.failures.len() >= BURST {
            said = Some(format!(
                "{} failures within a minute",
                self.alarms.failures.len()
            ));
            self.alarms.failures.clear();
        }
        if !judged {
            return said;
        }
        let down: Vec<&str> = self
            .state
            .ports
            .iter()
            .filter(|p| matches!(p.status, crate::app::state::PortStatus::Down { .. }))
            .map(|p| p.name.as_str())
            .collect();
        if down.len() > self.alarms.ports_down {
            said = Some(format!("port down: {}", down.join(", ")));
        }
        self.alarms.ports_down = down.len();
        let offline: Vec<&str> = self
            .state
            .workers
            .values()
            .filter(|w| !w.online)
            .map(|w| w.hostname.as_str())
            .collect();
        if offline.len() > self.alarms.workers_offline {
            said = Some(format!("worker offline: {}", offline.join(", ")));
        }
        self.alarms.workers_offline = offline.len();
        said
    }

    /// The state now, in the `status --json` schema, with the tasks and workers known.
    pub fn snapshot(&self) -> serde_json::Value {
        snapshot_of(&self.state, &self.settings, self.at_ms, self.warnings())
    }
}

/// What `chavion-tui replay` was asked.
pub struct Replay {
    pub from: String,
    pub to: String,
    pub speed: f64,
    pub step: bool,
    pub snapshot: bool,
    pub warmup: String,
}

/// `chavion-tui replay`: the recordings of this platform (or the demo's), from --from to
/// --to, on the screen or as a snapshot.
pub async fn command(settings: &Settings, demo: bool, ask: Replay) -> ExitCode {
    let now = chrono::Utc::now();
    let parse = |t: &str| crate::app::model::times::parse_time(t, now, true);
    let refuse = |why: String| {
        eprintln!("chavion-tui: refused: {why}");
        ExitCode::from(2)
    };
    let (from, to) = match (parse(&ask.from), parse(&ask.to)) {
        (Ok(f), Ok(t)) if f <= t => (f.timestamp_millis(), t.timestamp_millis()),
        (Ok(_), Ok(_)) => return refuse("--from comes after --to".into()),
        (Err(why), _) | (_, Err(why)) => return refuse(why.to_string()),
    };
    // `1h` of warm-up: the time `-1h` is from now.
    let warmup = match parse(&format!("-{}", ask.warmup.trim_start_matches('-'))) {
        Ok(t) => (now - t).num_milliseconds(),
        Err(why) => return refuse(format!("--warmup: {why}")),
    };
    if !(0.01..=10_000.0).contains(&ask.speed) {
        return refuse("--speed must be between 0.01 and 10000".into());
    }
    let platform = crate::recorder::platform_name(settings.config.redis.url.get_ref(), demo);
    let data_dir = crate::config::paths::Paths::resolve(None).data_dir;
    let dir = crate::recorder::dir_for(&data_dir, &platform);
    let Some((first, last)) = crate::recorder::playback::Playback::span(&dir) else {
        eprintln!(
            "chavion-tui: nothing recorded for {platform} in {} yet",
            crate::sanitize::clean(&dir.display().to_string(), 300)
        );
        eprint!("{}", recorded_platforms(&data_dir));
        return ExitCode::from(1);
    };
    if to < first || from > last {
        let at = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        eprintln!(
            "chavion-tui: the recordings of {platform} run from {} to {}: nothing between --from and --to",
            at(first),
            at(last)
        );
        return ExitCode::from(1);
    }
    // Before the first record there is nothing to see: start there.
    let from = from.max(first);
    let mut r = Replayer::new(settings, dir, from, warmup, to);
    if ask.snapshot {
        r.seek(to);
        for w in r.warnings() {
            eprintln!("chavion-tui: warning: {}", crate::sanitize::clean(w, 500));
        }
        println!("{}", crate::sanitize::json_pretty(&r.snapshot()));
        return ExitCode::SUCCESS;
    }
    let speed = ask.speed;
    let outcome = screen::run(r, from, speed, ask.step).await;
    crate::term::restore();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chavion-tui: {e}");
            ExitCode::from(1)
        }
    }
}

/// The platforms that have recordings, each with the span recorded and how to choose it.
fn recorded_platforms(data_dir: &std::path::Path) -> String {
    let root = data_dir.join("recordings");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .take(200)
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let mut out = String::new();
    for name in names {
        let Some((first, last)) =
            crate::recorder::playback::Playback::span(&crate::recorder::dir_for(data_dir, &name))
        else {
            continue;
        };
        let choose = choose_platform(&name);
        out.push_str(&format!(
            "  {:<28} {} to {}   {choose}\n",
            crate::sanitize::clean(&name, 60),
            at(first),
            at(last)
        ));
    }
    if out.is_empty() {
        "No platform has recordings yet: a running control room records (recorder.enabled).\n"
            .into()
    } else {
        format!("These platforms have recordings; choose one:\n{out}")
    }
}

/// How to choose a platform's recordings, from its directory's name (`host-port-db`, `demo`,
/// `sentinel-master-db`).
fn choose_platform(name: &str) -> String {
    if name == "demo" {
        return "chavion-tui --demo replay …".into();
    }
    if let Some((master, _db)) = name
        .strip_prefix("sentinel-")
        .and_then(|rest| rest.rsplit_once('-'))
    {
        return format!(
            "--redis sentinel://… with redis.master_name = \"{}\"",
            crate::sanitize::clean(master, 60)
        );
    }
    let mut parts = name.rsplitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(db), Some(port), Some(host))
            if db.parse::<u32>().is_ok() && port.parse::<u16>().is_ok() =>
        {
            format!(
                "--redis redis://{}:{port}/{db} replay …",
                crate::sanitize::clean(host, 60)
            )
        }
        _ => "(its --redis URL names that host, port and database)".into(),
    }
}

fn failures_in(ev: &Event) -> usize {
    let failed = |i: &FeedItem| matches!(i, FeedItem::Celery(CeleryEvent::Task(t)) if t.kind == TaskEventKind::Failed);
    match ev {
        Event::FeedBatch { items, .. } => items.iter().filter(|i| failed(i)).count(),
        Event::Feed { item, .. } => usize::from(failed(item)),
        _ => 0,
    }
}

/// The port map and agents of `settings` in force in `state`: rows and tiles built afresh
/// when they differ from those on screen (a recording made under another config), the
/// workers' and tasks' agents found again by name.
fn use_map(state: &mut State, settings: &Settings) {
    let mut fresh = fresh_state(settings);
    let same_ports = state.ports.len() == fresh.ports.len()
        && state
            .ports
            .iter()
            .zip(&fresh.ports)
            .all(|(a, b)| (&a.name, &a.host, a.port) == (&b.name, &b.host, b.port));
    if !same_ports {
        state.ports = std::mem::take(&mut fresh.ports);
        state.redis_port = fresh.redis_port;
    }
    let names = |s: &State| s.agents.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
    let (old, new) = (names(state), names(&fresh));
    if old != new {
        let remap = |i: usize| old.get(i).and_then(|n| new.iter().position(|m| m == n));
        state.agents = fresh.agents;
        for w in state.workers.values_mut() {
            w.agent = w.agent.and_then(remap);
        }
        for t in state.tasks.by_id.values_mut() {
            t.agent = t.agent.and_then(remap);
        }
    }
}

/// The state a replay starts from: the configured agents and ports, nothing heard yet,
/// read-only, with no store behind it.
pub fn fresh_state(settings: &Settings) -> State {
    let opts = crate::wiring::Options {
        read_only: true,
        ..Default::default()
    };
    let mut state = crate::wiring::initial_state(settings, &opts);
    state.history_store = false;
    state
}

/// `status --json`'s report of `state`, plus its tasks (id, name, state, worker) newest
/// first.
pub fn snapshot_of(
    state: &State,
    settings: &Settings,
    at_ms: i64,
    warnings: &[String],
) -> serde_json::Value {
    use crate::app::reports::status::StatusReport;
    let at: DateTime<Utc> = DateTime::from_timestamp_millis(at_ms).unwrap_or(state.now);
    let links: Vec<_> = state
        .links
        .iter()
        .map(|l| (l.name.clone(), l.health.clone()))
        .collect();
    let queues: Vec<_> = state
        .queues
        .iter()
        .map(|q| crate::platform::model::QueueSample {
            queue: q.name.clone(),
            depth: q.depth,
            reserved: q.reserved,
        })
        .collect();
    let live = state.feed_lost.is_none();
    let report = StatusReport::build(state, &settings.config.ports, &links, &queues, live, at);
    let mut value = serde_json::to_value(&report).expect("the report serializes");
    let tasks: Vec<serde_json::Value> = state
        .tasks
        .newest
        .values()
        .filter_map(|id| state.tasks.by_id.get(id))
        .map(|t| {
            serde_json::json!({
                "id": t.uuid,
                "name": t.fields.name,
                "state": t.state.label(),
                "worker": t.worker,
            })
        })
        .collect();
    value["tasks"] = tasks.into();
    value["replay"] = serde_json::json!({
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "warnings": warnings,
    });
    value
}
