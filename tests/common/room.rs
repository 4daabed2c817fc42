//! A control room without a terminal: the real feeds, the real `update`, the real actions.
//! Tests read the `State` an operator's screen is drawn from.

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use chavion_tui::app::{Outcome, State};
use chavion_tui::config;
use chavion_tui::event::Event;
use chavion_tui::house::House;
use chavion_tui::wiring;

/// A house (the control room's one runtime step) with the feeds a test starts by hand;
/// `room.state`, `room.ctx`, `room.tx` and `room.recorder` are the house's.
pub struct Room {
    house: House,
    rx: mpsc::Receiver<Event>,
    /// Feeds and samplers the room runs, aborted on drop.
    pub tasks: Vec<JoinHandle<()>>,
}

impl std::ops::Deref for Room {
    type Target = House;
    fn deref(&self) -> &House {
        &self.house
    }
}

impl std::ops::DerefMut for Room {
    fn deref_mut(&mut self) -> &mut House {
        &mut self.house
    }
}

impl Room {
    /// `extra` is appended to a config that points everything at `redis_url`.
    pub fn start(redis_url: &str, extra: &str, read_only: bool) -> Room {
        let text = Room::config_for(redis_url, extra);
        let (settings, mut room) = Room::with_settings(&text, read_only);
        room.tasks =
            chavion_tui::feeds::redis::spawn(wiring::feed_config(&settings), room.tx.clone());
        room
    }

    /// As `start`, recording everything it takes in (the Redis feed's raw messages too) into
    /// `dir`, as the TUI's loop does. Returns the settings, for a replay of the recording.
    pub fn start_recording(
        redis_url: &str,
        extra: &str,
        dir: &std::path::Path,
    ) -> (config::Settings, Room) {
        use chavion_tui::recorder::{Recorder, format::Meta, writer::Keep};
        let text = Room::config_for(redis_url, extra);
        let (settings, mut room) = Room::with_settings(&text, false);
        let keep = Keep {
            dir: dir.to_path_buf(),
            age: chrono::Duration::days(7),
            bytes: 1 << 30,
            segment_bytes: 64 << 20,
            segment_age: chrono::Duration::hours(1),
        };
        let meta = Meta::of(
            "test".into(),
            wiring::feed_config(&settings).channels,
            "test".into(),
            &settings.config,
        );
        room.recorder = Recorder::start(keep, meta, room.tx.clone())
            .unwrap_or_else(|e| panic!("the recorder did not start: {e:?}"));
        let feed = chavion_tui::feeds::redis::FeedConfig {
            keep_wire: true,
            ..wiring::feed_config(&settings)
        };
        room.tasks = chavion_tui::feeds::redis::spawn(feed, room.tx.clone());
        room.tasks.extend(chavion_tui::feeds::probes::spawn(
            chavion_tui::feeds::probes::targets(&settings.config),
            room.tx.clone(),
        ));
        (settings, room)
    }

    fn config_for(redis_url: &str, extra: &str) -> String {
        let port = redis_url
            .rsplit(':')
            .next()
            .unwrap()
            .split('/')
            .next()
            .unwrap();
        format!(
            "[redis]\nurl = \"{redis_url}\"\n[celery]\nenable_events_secs = 1\nsample_ms = 200\n{extra}\n\
             [[ports]]\nname = \"Redis\"\nhost = \"127.0.0.1\"\nport = {port}\n"
        )
    }

    /// A control room that runs only its Socket.IO endpoints, from `config` (TOML).
    pub fn start_socketio(config: &str, read_only: bool) -> Room {
        let (settings, mut room) = Room::with_settings(config, read_only);
        (room.tasks, room.ctx.socketio) = wiring::spawn_socketio(&settings, &room.tx);
        room
    }

    /// Everything a live control room runs: the Redis feeds, the Socket.IO endpoints and the
    /// outbox, from `config` (TOML), with `store` for the outbox and the audit trail.
    pub fn start_full(config: &str, store: chavion_tui::store::Store) -> Room {
        let (settings, mut room) = Room::with_settings(config, false);
        room.ctx.store = chavion_tui::store::SharedStore::ready(Some(store));
        room.tasks =
            chavion_tui::feeds::redis::spawn(wiring::feed_config(&settings), room.tx.clone());
        let (sio, links) = wiring::spawn_socketio(&settings, &room.tx);
        room.tasks.extend(sio);
        room.ctx.socketio = links;
        room.tasks.push(tokio::spawn(wiring::outbox(
            room.ctx.clone(),
            room.tx.clone(),
        )));
        room
    }

    /// A control room with no feeds at all, from `config` (TOML): for the executor.
    pub fn bare(config: &str, read_only: bool) -> Room {
        Room::with_settings(config, read_only).1
    }

    /// What every room starts with: the settings from `config`, the initial state, the action
    /// context, the event channel, and no tasks yet.
    fn with_settings(config: &str, read_only: bool) -> (config::Settings, Room) {
        let settings =
            config::settings_from_str(config).unwrap_or_else(|d| panic!("test config: {d:?}"));
        let opts = wiring::Options {
            demo: false,
            read_only,
            crash_after: None,
            ..Default::default()
        };
        let wiring = wiring::Wiring::bare(&settings, &opts);
        let (house, rx, _) = House::of(settings.clone(), wiring);
        let room = Room {
            house,
            rx,
            tasks: Vec::new(),
        };
        (settings, room)
    }

    /// Applies events as they come for `d` (the soak's clock, not a measurement).
    pub async fn run_for(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            self.step(Duration::from_millis(50)).await;
        }
    }

    /// The clock moves on, and the next event (if one comes within `wait`) is applied.
    async fn step(&mut self, wait: Duration) {
        self.tick().await;
        if let Ok(Some(ev)) = tokio::time::timeout(wait, self.rx.recv()).await {
            self.apply(ev).await;
        }
    }

    /// Applies events as they come until `pred` holds (a bound on waiting, not a timing).
    pub async fn until(&mut self, what: &str, pred: impl Fn(&State) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.tick().await;
            if pred(&self.state) {
                return;
            }
            if Instant::now() > deadline {
                let tail: Vec<String> = self
                    .state
                    .activity
                    .lines
                    .iter()
                    .rev()
                    .take(15)
                    .map(|l| format!("{} {}", l.source, l.message))
                    .collect();
                panic!(
                    "never saw {what}; links {:?}; last activity (newest first): {tail:#?}",
                    self.state.links
                );
            }
            if let Ok(Some(ev)) =
                tokio::time::timeout(Duration::from_millis(100), self.rx.recv()).await
            {
                self.apply(ev).await;
            }
        }
    }

    /// The clock moves on; what the tick asks for (looking for a quiet dispatch) is done.
    async fn tick(&mut self) {
        self.apply(Event::Tick(Utc::now())).await;
    }

    async fn apply(&mut self, ev: Event) {
        let out = self.house.apply(ev);
        self.perform(out).await;
    }

    /// Performs the effects, and those of the events they come back with, as the loop does.
    pub async fn perform(&mut self, out: Outcome) {
        self.house.settle(out).await;
    }

    pub async fn key(&mut self, code: KeyCode) {
        self.key_with(code, KeyModifiers::NONE).await;
    }

    pub async fn key_with(&mut self, code: KeyCode, mods: KeyModifiers) {
        let out = self.house.apply(Event::Key(KeyEvent::new(code, mods)));
        self.perform(out).await;
    }

    pub async fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c)).await;
        }
    }

    /// `:LINE`, Enter, then `y` to the confirmation, as an operator would.
    pub async fn command(&mut self, line: &str) {
        self.key(KeyCode::Char(':')).await;
        self.keys(line).await;
        self.key(KeyCode::Enter).await;
        self.key(KeyCode::Char('y')).await;
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
