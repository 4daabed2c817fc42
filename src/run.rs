//! The app loop: one task owns the state. It applies events as they come, drains bursts
//! before drawing, draws only when something visible changed, at most `max_fps` times a
//! second, each frame inside a synchronized update so slow links never show a torn frame.

use crossterm::event::{Event as TermEvent, EventStream};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::time::Instant;

use crate::app::State;
use crate::config::Settings;
use crate::event::Event;
use crate::house::{Contexts, House, Local};
use crate::term;
use crate::wiring::Options;

/// Bound on one drain: keeps a flood from starving keys and frames.
const DRAIN_MAX: usize = 4096;

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

fn build(all: Vec<Settings>, active: usize, opts: &mut Options) -> (Contexts, Inbox, Scrapes) {
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
        let (house, rx, served) = House::start(settings, &own);
        if i == active {
            scrapes = served;
        }
        receivers.push(rx);
        houses.push(house);
    }
    (
        Contexts::new(houses, active),
        Inbox::new(receivers),
        scrapes,
    )
}

/// The loop itself: keys, feeds, scrapes and frames; each step is the house's.
pub async fn run(all: Vec<Settings>, active: usize, mut opts: Options) -> std::io::Result<()> {
    let theme = all[active].theme.clone();
    let max_fps = *all[active].config.ui.max_fps.get_ref();
    let (mut rooms, mut inbox, mut scrapes) = build(all, active, &mut opts);
    let (mut terminal, _guard) = term::enter()?;
    let size = terminal.size()?;
    for h in &mut rooms.houses {
        h.step(Event::Resize {
            width: size.width,
            height: size.height,
        });
    }
    let mut input = EventStream::new();
    let frame_gap = Duration::from_millis(1000 / u64::from(max_fps).max(1));
    let mut dirty = true;
    let mut last_draw = Instant::now() - frame_gap;
    let mut overview_at = Instant::now();
    tracing::info!(
        demo = opts.demo,
        read_only = opts.read_only,
        contexts = rooms.houses.len(),
        "control room up"
    );

    let crash_at = opts.crash_after.map(|d| Instant::now() + d);
    loop {
        let next_frame = last_draw + frame_gap;
        let on = rooms.on;
        let first = tokio::select! {
            biased;
            key = input.next() => match from_terminal(key, &mut rooms) {
                Some(ev) => (on, ev),
                None => continue,
            },
            // Before the feeds: a scrape is rare and cheap, and a flood must not starve it.
            Some(scrape) = crate::exporter::serve::next_scrape(&mut scrapes) => {
                crate::exporter::serve::answer_scrape(scrape, &rooms.houses[active].state);
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
                draw(&mut terminal, &rooms.shown().state, &theme)?;
                last_draw = Instant::now();
                dirty = false;
                continue;
            }
            // Last: background work (a filter's rescan), one bounded slice at a time, only
            // when keys, feeds and the next frame have all had their turn.
            _ = std::future::ready(()), if rooms.shown().state.activity.pending_work() => (on, Event::Work),
        };
        let (redraw, quit) = drain(&mut rooms, &mut inbox, first, &mut terminal);
        dirty |= redraw;
        if quit {
            break;
        }
        if rooms.overview_wanted() && overview_at.elapsed() >= Duration::from_secs(1) {
            overview_at = Instant::now();
            let rows = rooms.overview();
            dirty |= rooms.houses[rooms.on].step(Event::Contexts(rows)).redraw;
        }
    }
    stop(rooms, &mut inbox, &mut terminal, &theme).await;
    terminal.show_cursor()?;
    tracing::info!("control room down");
    Ok(())
}

/// One event and up to `DRAIN_MAX` more already waiting, each stepped through its house,
/// so a burst is applied in one go and drawn once; what a step leaves to the host is done
/// here. Returns whether the screen changed, and whether to quit.
fn drain(
    rooms: &mut Contexts,
    inbox: &mut Inbox,
    first: (usize, Event),
    terminal: &mut term::Term,
) -> (bool, bool) {
    let mut dirty = false;
    let mut pending = Some(first);
    let mut drained = 0;
    while let Some((i, ev)) = pending.take() {
        let stepped = rooms.houses[i].step(ev);
        dirty |= stepped.redraw && i == rooms.on;
        for local in stepped.local {
            match local {
                Local::Quit => return (dirty, true),
                Local::Copy(text) => copy_to_clipboard(terminal, &text),
                Local::Bell => write_between_frames(terminal, "\x07"),
                Local::SwitchContext(name) => dirty |= rooms.switch_to(&name),
            }
        }
        if drained < DRAIN_MAX {
            pending = inbox.try_recv();
            drained += 1;
        }
    }
    (dirty, false)
}

/// What the terminal said, as an event for the context on screen (a resize reaches every
/// context); None for what means nothing here.
fn from_terminal(key: Option<std::io::Result<TermEvent>>, rooms: &mut Contexts) -> Option<Event> {
    Some(match key {
        Some(Ok(TermEvent::Key(k))) => Event::Key(k),
        Some(Ok(TermEvent::Resize(w, h))) => {
            let on = rooms.on;
            for (i, house) in rooms.houses.iter_mut().enumerate() {
                if i != on {
                    house.step(Event::Resize {
                        width: w,
                        height: h,
                    });
                }
            }
            Event::Resize {
                width: w,
                height: h,
            }
        }
        Some(Ok(_)) => return None,
        // The terminal went away (a dropped SSH link): nothing left to draw on.
        Some(Err(e)) => Event::Shutdown {
            why: format!("terminal input failed: {e}"),
        },
        None => Event::Shutdown {
            why: "terminal closed".into(),
        },
    })
}

/// Each context stops as one control room did: its runs (said on screen first), its
/// history, its store; the events keep flowing meanwhile, so runs can report their end.
async fn stop(
    rooms: Contexts,
    inbox: &mut Inbox,
    terminal: &mut term::Term,
    theme: &crate::config::theme::Theme,
) {
    for mut house in rooms.houses {
        let live_runs = house.live_runs();
        if live_runs > 0 {
            let said = Event::ActionDone {
                what: "quit".into(),
                outcome: Ok(format!(
                    "stopping {live_runs} run(s): TERM, then KILL; each is recorded"
                )),
            };
            house.step(said);
            let _ = draw(terminal, &house.state, theme);
        }
        house
            .stop(async || {
                let _ = inbox.recv().await;
            })
            .await;
    }
}

/// OSC 52 goes to the terminal itself, between frames, so it cannot split a frame's bytes.
fn copy_to_clipboard(terminal: &mut term::Term, text: &str) {
    write_between_frames(terminal, &crate::app::model::activity::osc52(text));
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
