//! The app loop: one task owns the state. It applies events as they come, drains bursts
//! before drawing, draws only when something visible changed, at most `max_fps` times a
//! second, each frame inside a synchronized update so slow links never show a torn frame.

use crossterm::event::{Event as TermEvent, EventStream};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::time::Instant;

use crate::actions;
use crate::app::{Effect, State, update};
use crate::config::Settings;
use crate::event::Event;
use crate::term;
use crate::wiring::{Options, Wiring, hand_over_new_lines};

/// Bound on one drain: keeps a flood from starving keys and frames.
const DRAIN_MAX: usize = 4096;
/// Seconds of events-per-second the fleet overview keeps for each context's sparkline.
const SPARK_SECONDS: usize = 60;

/// One context, wired: its own state, action context, feeds, store writer and recorder.
/// Keys reach only the context on screen, and its effects run with its own action context,
/// so nothing typed in one context can reach another.
struct House {
    settings: Settings,
    state: State,
    ctx: actions::Context,
    tx: tokio::sync::mpsc::Sender<Event>,
    persist_tx: tokio::sync::mpsc::Sender<crate::store::StoredLine>,
    persisted: u64,
    background: crate::wiring::Background,
    recorder: crate::recorder::Recorder,
    /// Events taken at the last overview, and each second's since, for the sparkline.
    counted: u64,
    spark: std::collections::VecDeque<u64>,
}

/// Where events come from: one context's channel as it is (no extra hop on the hot path),
/// or every context's, each tagged with its house, through one channel.
enum Inbox {
    One(tokio::sync::mpsc::Receiver<Event>),
    Many(tokio::sync::mpsc::Receiver<(usize, Event)>),
}

impl Inbox {
    fn new(mut receivers: Vec<tokio::sync::mpsc::Receiver<Event>>) -> Inbox {
        if receivers.len() == 1 {
            return Inbox::One(receivers.remove(0));
        }
        let (tx, rx) = tokio::sync::mpsc::channel(crate::wiring::CHANNEL);
        for (i, mut r) in receivers.into_iter().enumerate() {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(ev) = r.recv().await {
                    if tx.send((i, ev)).await.is_err() {
                        return;
                    }
                }
            });
        }
        Inbox::Many(rx)
    }

    async fn recv(&mut self) -> Option<(usize, Event)> {
        match self {
            Inbox::One(rx) => rx.recv().await.map(|e| (0, e)),
            Inbox::Many(rx) => rx.recv().await,
        }
    }

    fn try_recv(&mut self) -> Option<(usize, Event)> {
        match self {
            Inbox::One(rx) => rx.try_recv().ok().map(|e| (0, e)),
            Inbox::Many(rx) => rx.try_recv().ok(),
        }
    }
}

/// Each context gets its own wiring; /metrics (one port) is served by the first shown.
type Scrapes = Option<tokio::sync::mpsc::Receiver<crate::exporter::serve::Scrape>>;

fn build(all: Vec<Settings>, active: usize, opts: &mut Options) -> (Vec<House>, Inbox, Scrapes) {
    let names: Vec<String> = all.iter().map(|s| s.context.name.clone()).collect();
    let mut houses = Vec::new();
    let mut receivers = Vec::new();
    let mut scrapes = None;
    for (i, settings) in all.into_iter().enumerate() {
        let own = Options {
            demo: opts.demo,
            read_only: opts.read_only,
            crash_after: None,
            metrics: if i == active {
                opts.metrics.take()
            } else {
                None
            },
            metrics_public: opts.metrics_public,
            record: opts.record,
        };
        let Wiring {
            mut state,
            ctx,
            tx,
            rx,
            persist_tx,
            background,
            scrapes: served,
            recorder,
        } = Wiring::start(&settings, &own);
        state.session.contexts = names.clone();
        if i == active {
            scrapes = served;
        }
        receivers.push(rx);
        houses.push(House {
            persisted: state.activity.total,
            settings,
            state,
            ctx,
            tx,
            persist_tx,
            background,
            recorder,
            counted: 0,
            spark: std::collections::VecDeque::new(),
        });
    }
    (houses, Inbox::new(receivers), scrapes)
}

/// The fleet overview's rows, from every context's state; each second's events counted for
/// its sparkline. Sent to the context on screen while the overview is open.
fn overview(houses: &mut [House]) -> Vec<crate::event::ContextRow> {
    houses
        .iter_mut()
        .map(|h| {
            let now = h.state.counters.events;
            h.spark.push_back(now.saturating_sub(h.counted));
            h.counted = now;
            while h.spark.len() > SPARK_SECONDS {
                h.spark.pop_front();
            }
            crate::app::contexts_view::row_of(
                &h.state,
                &h.settings.context,
                h.spark.iter().copied().collect(),
            )
        })
        .collect()
}

// Long, on purpose: the loop itself; the wiring and the stop live in wiring.rs.
pub async fn run(all: Vec<Settings>, active: usize, mut opts: Options) -> std::io::Result<()> {
    let theme = all[active].theme.clone();
    let max_fps = *all[active].config.ui.max_fps.get_ref();
    let (mut houses, mut inbox, mut scrapes) = build(all, active, &mut opts);
    let mut on = active;
    let (mut terminal, _guard) = term::enter()?;
    let size = terminal.size()?;
    for h in &mut houses {
        update(
            &mut h.state,
            Event::Resize {
                width: size.width,
                height: size.height,
            },
        );
    }
    let mut input = EventStream::new();
    let frame_gap = Duration::from_millis(1000 / u64::from(max_fps).max(1));
    let mut dirty = true;
    let mut last_draw = Instant::now() - frame_gap;
    let mut overview_at = Instant::now();
    tracing::info!(
        demo = opts.demo,
        read_only = opts.read_only,
        contexts = houses.len(),
        "control room up"
    );

    let crash_at = opts.crash_after.map(|d| Instant::now() + d);
    'main: loop {
        let next_frame = last_draw + frame_gap;
        let first = tokio::select! {
            biased;
            key = input.next() => (on, match key {
                Some(Ok(TermEvent::Key(k))) => Event::Key(k),
                Some(Ok(TermEvent::Resize(w, h))) => {
                    for (i, house) in houses.iter_mut().enumerate() {
                        if i != on {
                            update(&mut house.state, Event::Resize { width: w, height: h });
                        }
                    }
                    Event::Resize { width: w, height: h }
                }
                Some(Ok(_)) => continue,
                // The terminal went away (a dropped SSH link): nothing left to draw on.
                Some(Err(e)) => Event::Shutdown { why: format!("terminal input failed: {e}") },
                None => Event::Shutdown { why: "terminal closed".into() },
            }),
            // Before the feeds: a scrape is rare and cheap, and a flood must not starve it.
            Some(scrape) = crate::exporter::serve::next_scrape(&mut scrapes) => {
                crate::exporter::serve::answer_scrape(scrape, &houses[active].state);
                continue;
            }
            ev = inbox.recv() => match ev {
                Some(ev) => ev,
                None => break,
            },
            _ = tokio::time::sleep_until(crash_at.unwrap_or(next_frame)), if crash_at.is_some() => {
                panic!("crash requested by --crash-after-ms (test hook)");
            }
            _ = tokio::time::sleep_until(next_frame), if dirty => {
                draw(&mut terminal, &houses[on].state, &theme)?;
                last_draw = Instant::now();
                dirty = false;
                continue;
            }
            // Last: background work (a filter's rescan), one bounded slice at a time, only
            // when keys, feeds and the next frame have all had their turn.
            _ = std::future::ready(()), if houses[on].state.activity.pending_work() => (on, Event::Work),
        };
        let mut pending = Some(first);
        let mut drained = 0;
        while let Some((i, mut ev)) = pending.take() {
            let house = &mut houses[i];
            house.recorder.note(&mut ev);
            let out = update(&mut house.state, ev);
            dirty |= out.redraw && i == on;
            house.persisted = hand_over_new_lines(&house.state, house.persisted, &house.persist_tx);
            let mut switch_to = None;
            for effect in out.effects {
                match effect {
                    Effect::Quit => break 'main,
                    Effect::Copy { text } => copy_to_clipboard(&mut terminal, &text),
                    Effect::Bell => write_between_frames(&mut terminal, "\x07"),
                    Effect::SwitchContext { name } => switch_to = Some(name),
                    other => actions::spawn(other, house.ctx.clone(), house.tx.clone()),
                }
            }
            if let Some(name) = switch_to
                && let Some(to) = houses.iter().position(|h| h.settings.context.name == name)
            {
                // The view goes along: the overview shown from the overview, and so on.
                let view = houses[on].state.ui.view;
                on = to;
                houses[on].state.ui.view = view;
                dirty = true;
            }
            if drained < DRAIN_MAX {
                pending = inbox.try_recv();
                drained += 1;
            }
        }
        // With one context, only while the overview is on screen (it lists `default`);
        // with several, always: their sparklines need every second.
        let wanted =
            houses.len() > 1 || houses[on].state.ui.view == crate::app::state::View::Contexts;
        if wanted && overview_at.elapsed() >= Duration::from_secs(1) {
            overview_at = Instant::now();
            let rows = overview(&mut houses);
            dirty |= update(&mut houses[on].state, Event::Contexts(rows)).redraw;
        }
    }
    // Each context stops as one control room did: its runs, its history, its store.
    for mut house in houses {
        let live_runs = house.ctx.runs.lock().map(|r| r.len()).unwrap_or(0);
        if live_runs > 0 {
            let said = Event::ActionDone {
                what: "quit".into(),
                outcome: Ok(format!(
                    "stopping {live_runs} run(s): TERM, then KILL; each is recorded"
                )),
            };
            update(&mut house.state, said);
            let _ = draw(&mut terminal, &house.state, &theme);
            let limit =
                Duration::from_secs(*house.settings.config.executor.kill_grace_secs.get_ref() + 10);
            actions::exec::stop_all(&house.ctx, limit, async || {
                let _ = inbox.recv().await;
            })
            .await;
        }
        // The tasks and workers changed since the last save, saved before the store closes.
        if let Some(save) = crate::app::history::last(&mut house.state) {
            actions::perform(save, &house.ctx).await;
        }
        // For the record (and bench/compare.sh): what this control room took in.
        tracing::info!(
            events = house.state.counters.events,
            shed = house.state.counters.shed,
            malformed = house.state.counters.malformed,
            context = house.settings.context.name,
            "took in"
        );
        house.background.stop(house.ctx, house.persist_tx).await;
        house.recorder.stop();
    }
    terminal.show_cursor()?;
    tracing::info!("control room down");
    Ok(())
}

/// OSC 52 goes to the terminal itself, between frames, so it cannot split a frame's bytes.
fn copy_to_clipboard(terminal: &mut term::Term, text: &str) {
    write_between_frames(terminal, &crate::app::activity::osc52(text));
}

/// Bytes for the terminal itself (OSC 52, the bell), never on stdout behind the frame.
fn write_between_frames(terminal: &mut term::Term, bytes: &str) {
    use std::io::Write;
    let out = terminal.backend_mut();
    let _ = out.write_all(bytes.as_bytes());
    let _ = out.flush();
}

fn draw(
    terminal: &mut term::Term,
    state: &State,
    theme: &crate::config::theme::Theme,
) -> std::io::Result<()> {
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| crate::ui::draw(f, state, theme))?;
    crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}
