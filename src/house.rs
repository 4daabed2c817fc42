//! One control room's runtime, written once: `House::start` wires a context (its state,
//! feeds, action context, store writer and recorder), `House::step` takes one event through
//! it (recorded, applied by `update`, its new lines handed to the store, its effects sent to
//! the actions), and `House::stop` winds it down as one control room does. The TUI's loop,
//! `watch` and the test harness all step the same way; what a host must do itself (quit,
//! the clipboard, the bell, another context) comes back to it as `Local`.
//!
//! `Contexts` is the TUI's set of houses: the one on screen, switching between them, and
//! the fleet overview's rows, whose arithmetic (`Sparks`) is pure.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc;

use crate::actions;
use crate::app::{Effect, Outcome, State, update};
use crate::config::Settings;
use crate::event::{ContextRow, Event};
use crate::store::StoredLine;
use crate::wiring::{Background, Options, Wiring, hand_over_new_lines};

/// What a step leaves to its host, which owns the terminal (or the journal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    Quit,
    /// Text for the terminal's clipboard (OSC 52).
    Copy(String),
    Bell,
    /// The operator asked for another context.
    SwitchContext(String),
}

/// What one step did: whether the screen changed, and what is left to the host.
#[derive(Debug, Default)]
pub struct Stepped {
    pub redraw: bool,
    pub local: Vec<Local>,
}

/// One context, wired and running.
pub struct House {
    pub settings: Settings,
    pub state: State,
    pub ctx: actions::Context,
    pub tx: mpsc::Sender<Event>,
    persist_tx: mpsc::Sender<StoredLine>,
    persisted: u64,
    background: Background,
    pub recorder: crate::recorder::Recorder,
}

impl House {
    /// Everything a context runs, started (see `Wiring::start`); the events come on the
    /// receiver, and /metrics scrapes (when `opts` serves it) on the other.
    pub fn start(
        settings: Settings,
        opts: &Options,
    ) -> (
        House,
        mpsc::Receiver<Event>,
        Option<mpsc::Receiver<crate::exporter::serve::Scrape>>,
    ) {
        let wiring = Wiring::start(&settings, opts);
        House::of(settings, wiring)
    }

    /// A house around what is already wired (`Wiring::start`, or `Wiring::bare` for a test
    /// room that starts its own feeds).
    pub fn of(
        settings: Settings,
        wiring: Wiring,
    ) -> (
        House,
        mpsc::Receiver<Event>,
        Option<mpsc::Receiver<crate::exporter::serve::Scrape>>,
    ) {
        let Wiring {
            state,
            ctx,
            tx,
            rx,
            persist_tx,
            background,
            scrapes,
            recorder,
        } = wiring;
        let house = House {
            persisted: state.activity.total,
            settings,
            state,
            ctx,
            tx,
            persist_tx,
            background,
            recorder,
        };
        (house, rx, scrapes)
    }

    /// One event through the house: noted by the recorder, applied, the new activity lines
    /// handed to the store writer. The effects are returned, not performed (`step` sends
    /// them on; the test harness performs them in turn).
    pub fn apply(&mut self, mut ev: Event) -> Outcome {
        self.recorder.note(&mut ev);
        let out = update(&mut self.state, ev);
        self.persisted = hand_over_new_lines(&self.state, self.persisted, &self.persist_tx);
        out
    }

    /// One event through the house, its effects sent to the actions (each in a task of its
    /// own, its result coming back as an event); what only the host can do is returned.
    pub fn step(&mut self, ev: Event) -> Stepped {
        let out = self.apply(ev);
        let mut local = Vec::new();
        for effect in out.effects {
            match effect {
                Effect::Quit => local.push(Local::Quit),
                Effect::Copy { text } => local.push(Local::Copy(text)),
                Effect::Bell => local.push(Local::Bell),
                Effect::SwitchContext { name } => local.push(Local::SwitchContext(name)),
                other => actions::spawn(other, self.ctx.clone(), self.tx.clone()),
            }
        }
        Stepped {
            redraw: out.redraw,
            local,
        }
    }

    /// The effects performed one after another, each awaited, and those of the events they
    /// come back with, until none is left: the test harness's step, so a test reads the
    /// state after an action as it will stay. Runs, cancels, notifications, the asker and
    /// log-following report as they go, through the event channel, as in the TUI.
    pub async fn settle(&mut self, out: Outcome) {
        let mut effects: VecDeque<Effect> = out.effects.into();
        while let Some(effect) = effects.pop_front() {
            if effect.is_local() {
                continue;
            }
            if matches!(
                effect,
                Effect::Exec { .. }
                    | Effect::CancelRun { .. }
                    | Effect::Notify(_)
                    | Effect::DockerLooking(_)
                    | Effect::FollowLogs { .. }
                    | Effect::AskQueues { .. }
            ) {
                actions::spawn(effect, self.ctx.clone(), self.tx.clone());
                continue;
            }
            if let Some(done) = actions::perform(effect, &self.ctx).await {
                actions::follow_result(&self.ctx, &done, &self.tx);
                // As the loop does: what comes back is recorded before it is applied.
                effects.extend(self.apply(done).effects);
            }
        }
    }

    /// Runbook runs still going when the operator quits.
    pub fn live_runs(&self) -> usize {
        self.ctx.runs.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// Winds the context down as one control room does: its runs stopped and recorded
    /// (`wait` lets the host keep its events flowing meanwhile), its tasks and workers saved,
    /// what it took in logged, its feeds, store writer and recorder stopped.
    pub async fn stop(mut self, wait: impl AsyncFnMut()) {
        if self.live_runs() > 0 {
            let limit =
                Duration::from_secs(*self.settings.config.executor.kill_grace_secs.get_ref() + 10);
            actions::exec::stop_all(&self.ctx, limit, wait).await;
        }
        // The tasks and workers changed since the last save, saved before the store closes.
        if let Some(save) = crate::app::model::history::last(&mut self.state) {
            actions::perform(save, &self.ctx).await;
        }
        // For the record (and bench/compare.sh): what this control room took in.
        tracing::info!(
            events = self.state.counters.events,
            shed = self.state.counters.shed,
            malformed = self.state.counters.malformed,
            context = self.settings.context.name,
            "took in"
        );
        self.background.stop(self.ctx, self.persist_tx).await;
        self.recorder.stop();
    }
}

/// Seconds of events-per-second the fleet overview keeps for each context's sparkline.
pub const SPARK_SECONDS: usize = 60;

/// Each context's events a second, for the overview's sparklines: fed the running totals
/// once a second, it keeps the last `SPARK_SECONDS` differences. Pure arithmetic.
#[derive(Debug, Default, Clone)]
pub struct Sparks {
    counted: Vec<u64>,
    seconds: Vec<VecDeque<u64>>,
}

impl Sparks {
    /// The totals now, one per context, in order; returns each context's sparkline.
    pub fn sample(&mut self, totals: &[u64]) -> Vec<Vec<u64>> {
        self.counted.resize(totals.len(), 0);
        self.seconds.resize(totals.len(), VecDeque::new());
        for ((total, counted), seconds) in totals
            .iter()
            .zip(self.counted.iter_mut())
            .zip(self.seconds.iter_mut())
        {
            seconds.push_back(total.saturating_sub(*counted));
            *counted = *total;
            while seconds.len() > SPARK_SECONDS {
                seconds.pop_front();
            }
        }
        self.seconds
            .iter()
            .map(|s| s.iter().copied().collect())
            .collect()
    }
}

/// The TUI's contexts: a house each, the one on screen, and the overview's sparklines.
/// Keys reach only the house on screen, and its effects run with its own action context, so
/// nothing typed in one context can reach another.
pub struct Contexts {
    pub houses: Vec<House>,
    pub on: usize,
    sparks: Sparks,
}

impl Contexts {
    pub fn new(mut houses: Vec<House>, on: usize) -> Contexts {
        let names: Vec<String> = houses
            .iter()
            .map(|h| h.settings.context.name.clone())
            .collect();
        for h in &mut houses {
            h.state.session.contexts = names.clone();
        }
        Contexts {
            houses,
            on,
            sparks: Sparks::default(),
        }
    }

    pub fn shown(&self) -> &House {
        &self.houses[self.on]
    }

    /// Puts `name` on screen, its view the one shown now (the overview stays the overview).
    /// False when there is no such context.
    pub fn switch_to(&mut self, name: &str) -> bool {
        let Some(to) = self
            .houses
            .iter()
            .position(|h| h.settings.context.name == name)
        else {
            return false;
        };
        let view = self.houses[self.on].state.ui.view;
        self.on = to;
        self.houses[to].state.ui.view = view;
        true
    }

    /// Whether the overview needs its rows each second: with one context only while it is
    /// on screen (it lists `default`); with several always, for their sparklines.
    pub fn overview_wanted(&self) -> bool {
        self.houses.len() > 1 || self.shown().state.ui.view == crate::app::state::View::Contexts
    }

    /// The overview's rows, one per context; called once a second, it moves the sparklines.
    pub fn overview(&mut self) -> Vec<ContextRow> {
        let totals: Vec<u64> = self
            .houses
            .iter()
            .map(|h| h.state.counters.events)
            .collect();
        let sparks = self.sparks.sample(&totals);
        self.houses
            .iter()
            .zip(sparks)
            .map(|(h, spark)| {
                crate::app::views::contexts::row_of(&h.state, &h.settings.context, spark)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparks_count_each_second_and_keep_a_minute() {
        let mut s = Sparks::default();
        assert_eq!(s.sample(&[10, 0]), vec![vec![10], vec![0]]);
        assert_eq!(s.sample(&[25, 3]), vec![vec![10, 15], vec![0, 3]]);
        for i in 0..100u64 {
            s.sample(&[25 + i * 2, 3]);
        }
        let lines = s.sample(&[1000, 3]);
        assert_eq!(lines[0].len(), SPARK_SECONDS);
        assert_eq!(lines[0].last(), Some(&(1000 - (25 + 99 * 2))));
        assert!(lines[1].iter().all(|&n| n == 0));
        // A counter that went back (a context restarted) counts nothing, never wraps.
        assert_eq!(s.sample(&[5, 3])[0].last(), Some(&0));
    }

    fn demo(name: &str, extra: &str) -> Settings {
        let mut settings = crate::config::settings_from_str(extra).expect("a test config");
        settings.context.name = name.into();
        settings
    }

    fn demo_house(name: &str) -> House {
        let opts = Options {
            demo: true,
            ..Default::default()
        };
        House::start(demo(name, ""), &opts).0
    }

    #[tokio::test]
    async fn a_step_applies_and_hands_the_host_what_is_its_own() {
        let mut house = demo_house("default");
        let size = Event::Resize {
            width: 100,
            height: 30,
        };
        assert!(house.step(size).redraw);
        let q = Event::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('q'),
        ));
        assert_eq!(house.step(q).local, vec![Local::Quit]);
        house.stop(async || {}).await;
    }

    #[tokio::test]
    async fn contexts_switch_by_name_keep_the_view_and_count_their_own_events() {
        let houses = vec![demo_house("staging"), demo_house("prod")];
        let mut all = Contexts::new(houses, 0);
        assert_eq!(all.shown().state.session.contexts, ["staging", "prod"]);
        assert!(
            all.overview_wanted(),
            "several contexts: sparklines every second"
        );
        all.houses[0].state.ui.view = crate::app::state::View::Contexts;
        assert!(!all.switch_to("nowhere"));
        assert_eq!(all.on, 0);
        assert!(all.switch_to("prod"));
        assert_eq!(all.on, 1);
        assert_eq!(all.shown().state.ui.view, crate::app::state::View::Contexts);
        // Events stepped into one house count for it alone.
        for _ in 0..3 {
            all.houses[1].step(Event::Tick(chrono::Utc::now()));
        }
        all.houses[1].state.counters.events += 7;
        let rows = all.overview();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["staging", "prod"]);
        assert_eq!(rows[0].spark, vec![all.houses[0].state.counters.events]);
        assert_eq!(rows[1].spark, vec![all.houses[1].state.counters.events]);
        assert!(rows[1].spark[0] >= 7);
        for h in all.houses {
            h.stop(async || {}).await;
        }
    }
}
