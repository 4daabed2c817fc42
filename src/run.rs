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

// Long, on purpose: the loop itself; the wiring and the stop live in wiring.rs.
pub async fn run(settings: Settings, opts: Options) -> std::io::Result<()> {
    let Wiring {
        mut state,
        ctx,
        tx,
        mut rx,
        persist_tx,
        background,
        mut scrapes,
        mut recorder,
    } = Wiring::start(&settings, &opts);
    let cfg = &settings.config;
    let mut persisted = state.activity.total;
    let (mut terminal, _guard) = term::enter()?;
    let size = terminal.size()?;
    update(
        &mut state,
        Event::Resize {
            width: size.width,
            height: size.height,
        },
    );
    let mut input = EventStream::new();
    let frame_gap = Duration::from_millis(1000 / u64::from(*cfg.ui.max_fps.get_ref()).max(1));
    let mut dirty = true;
    let mut last_draw = Instant::now() - frame_gap;
    let theme = settings.theme;
    tracing::info!(
        demo = opts.demo,
        read_only = opts.read_only,
        "control room up"
    );

    let crash_at = opts.crash_after.map(|d| Instant::now() + d);
    'main: loop {
        let next_frame = last_draw + frame_gap;
        let first = tokio::select! {
            biased;
            key = input.next() => match key {
                Some(Ok(TermEvent::Key(k))) => Event::Key(k),
                Some(Ok(TermEvent::Resize(w, h))) => Event::Resize { width: w, height: h },
                Some(Ok(_)) => continue,
                // The terminal went away (a dropped SSH link): nothing left to draw on.
                Some(Err(e)) => Event::Shutdown { why: format!("terminal input failed: {e}") },
                None => Event::Shutdown { why: "terminal closed".into() },
            },
            // Before the feeds: a scrape is rare and cheap, and a flood must not starve it.
            Some(scrape) = crate::metrics::serve::next_scrape(&mut scrapes) => {
                crate::metrics::serve::answer_scrape(scrape, &state);
                continue;
            }
            ev = rx.recv() => match ev {
                Some(ev) => ev,
                None => break,
            },
            _ = tokio::time::sleep_until(crash_at.unwrap_or(next_frame)), if crash_at.is_some() => {
                panic!("crash requested by --crash-after-ms (test hook)");
            }
            _ = tokio::time::sleep_until(next_frame), if dirty => {
                draw(&mut terminal, &state, &theme)?;
                last_draw = Instant::now();
                dirty = false;
                continue;
            }
            // Last: background work (a filter's rescan), one bounded slice at a time, only
            // when keys, feeds and the next frame have all had their turn.
            _ = std::future::ready(()), if state.activity.pending_work() => Event::Work,
        };
        let mut pending = Some(first);
        let mut drained = 0;
        while let Some(mut ev) = pending.take() {
            recorder.note(&mut ev);
            let out = update(&mut state, ev);
            dirty |= out.redraw;
            persisted = hand_over_new_lines(&state, persisted, &persist_tx);
            for effect in out.effects {
                match effect {
                    Effect::Quit => break 'main,
                    Effect::Copy { text } => copy_to_clipboard(&mut terminal, &text),
                    Effect::Bell => write_between_frames(&mut terminal, "\x07"),
                    other => actions::spawn(other, ctx.clone(), tx.clone()),
                }
            }
            if drained < DRAIN_MAX {
                pending = rx.try_recv().ok();
                drained += 1;
            }
        }
    }
    // Runs still going are cancelled and waited for (each recorded as it ends), with the
    // screen saying so; bounded by the longest grace period plus the sweep.
    let live_runs = ctx.runs.lock().map(|r| r.len()).unwrap_or(0);
    if live_runs > 0 {
        let said = Event::ActionDone {
            what: "quit".into(),
            outcome: Ok(format!(
                "stopping {live_runs} run(s): TERM, then KILL; each is recorded"
            )),
        };
        update(&mut state, said);
        let _ = draw(&mut terminal, &state, &theme);
        let limit = Duration::from_secs(*cfg.executor.kill_grace_secs.get_ref() + 10);
        actions::exec::stop_all(&ctx, limit, async || {
            let _ = rx.recv().await;
        })
        .await;
    }
    // The tasks and workers changed since the last save, saved before the store closes.
    if let Some(save) = crate::app::history::last(&mut state) {
        actions::perform(save, &ctx).await;
    }
    // For the record (and bench/compare.sh): what this control room took in.
    tracing::info!(
        events = state.counters.events,
        shed = state.counters.shed,
        malformed = state.counters.malformed,
        "took in"
    );
    background.stop(ctx, persist_tx).await;
    recorder.stop();
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
