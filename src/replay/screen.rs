//! The replay on the screen: the recorded events applied at `speed` times real time (or
//! one at a time), drawn by the same `draw` as the live control room, with the clock bar
//! in the title. Its own keys (space, `.`, `+`, `-`, `>`, `J`) are taken only outside
//! prompts and forms; every other key goes to `update`, so the views work as they do live,
//! and whatever effect a key asks for is dropped: nothing reaches the world.

use chrono::{DateTime, Utc};
use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEvent, KeyModifiers};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::time::Instant;

use super::Replayer;
use crate::app::ui_state::{Mode, ReplayClock};
use crate::app::{Effect, update};
use crate::event::Event;
use crate::term;

const HINT: &str = "space pause · . step · + - speed · > next alarm · J jump";
/// Events applied between two looks at the keyboard.
const SLICE: usize = 20_000;
const MAX_SPEED: f64 = 10_000.0;

/// Where the replay's clock stands against real time.
struct Pace {
    /// Recorded ms at `since`.
    base_ms: i64,
    since: Instant,
    speed: f64,
    paused: bool,
}

impl Pace {
    fn now_ms(&self) -> i64 {
        if self.paused {
            return self.base_ms;
        }
        self.base_ms + (self.since.elapsed().as_secs_f64() * 1000.0 * self.speed) as i64
    }

    fn restart(&mut self, at_ms: i64) {
        self.base_ms = at_ms;
        self.since = Instant::now();
    }
}

/// The replay's loop, keys to frames, in one place like run::run.
pub async fn run(mut r: Replayer, from_ms: i64, speed: f64, step: bool) -> std::io::Result<()> {
    r.seek(from_ms);
    let (mut terminal, _guard) = term::enter()?;
    let size = terminal.size()?;
    update(
        &mut r.state,
        Event::Resize {
            width: size.width,
            height: size.height,
        },
    );
    let mut pace = Pace {
        base_ms: r.at_ms,
        since: Instant::now(),
        speed: speed.clamp(0.01, MAX_SPEED),
        paused: step,
    };
    let mut prompt: Option<String> = None;
    let mut note = match r.warnings().first() {
        Some(w) => format!("{w} ({} warning(s))", r.warnings().len()),
        None => HINT.to_string(),
    };
    let mut input = EventStream::new();
    let frame_gap = Duration::from_millis(33);
    let mut dirty = true;
    loop {
        show_clock(&mut r, &pace, &prompt, &note);
        if dirty {
            draw(&mut terminal, &r)?;
            dirty = false;
        }
        let due = if pace.paused || r.next_at().is_none() {
            Instant::now() + Duration::from_secs(3600)
        } else {
            Instant::now() + frame_gap
        };
        tokio::select! {
            biased;
            key = input.next() => {
                let key = match key {
                    Some(Ok(TermEvent::Key(k))) => k,
                    Some(Ok(TermEvent::Resize(w, h))) => {
                        update(&mut r.state, Event::Resize { width: w, height: h });
                        dirty = true;
                        continue;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => break,
                };
                dirty = true;
                if prompt.is_some() {
                    if let Some(said) = prompt_key(&mut r, &mut pace, &mut prompt, key) {
                        note = said;
                    }
                    continue;
                }
                if matches!(r.state.ui.mode, Mode::Normal) && let Some(said) = replay_key(&mut r, &mut pace, &mut prompt, key) {
                    note = said;
                    continue;
                }
                let out = update(&mut r.state, Event::Key(key));
                if out.effects.iter().any(|e| matches!(e, Effect::Quit)) {
                    break;
                }
            }
            _ = tokio::time::sleep_until(due) => {
                let (drew, said) = advance(&mut r, &mut pace);
                dirty |= drew;
                if let Some(said) = said {
                    note = said;
                }
            }
        }
    }
    terminal.show_cursor()?;
    Ok(())
}

/// A key while `J` asks for a time: Enter jumps there (said), Esc drops it, the rest types
/// through the one line editor.
fn prompt_key(
    r: &mut Replayer,
    pace: &mut Pace,
    prompt: &mut Option<String>,
    key: crossterm::event::KeyEvent,
) -> Option<String> {
    let text = prompt.as_mut()?;
    match key.code {
        KeyCode::Enter => {
            let typed = prompt.take().unwrap_or_default();
            Some(match jump_target(&typed, r.at_ms, r.to_ms, r.state.utc) {
                Ok(t) => {
                    r.seek(t);
                    pace.restart(r.at_ms);
                    format!("jumped to {}", typed.trim())
                }
                Err(why) => why.to_string(),
            })
        }
        KeyCode::Esc => {
            *prompt = None;
            None
        }
        _ => {
            crate::app::dialogs::line_edit::edit(text, &key);
            None
        }
    }
}

/// The recording played on to the pace's clock: whether anything changed on screen, and
/// what to say (an alarm passed, the end reached).
fn advance(r: &mut Replayer, pace: &mut Pace) -> (bool, Option<String>) {
    let (mut drew, alarm) = r.run_until(pace.now_ms(), SLICE);
    let mut said = None;
    if let Some(alarm) = alarm.filter(|_| pace.speed < MAX_SPEED) {
        said = Some(format!("alarm: {alarm}"));
        drew = true;
    }
    if r.next_at().is_none() && !pace.paused {
        pace.base_ms = r.at_ms;
        pace.paused = true;
        said = Some("end of the recording".into());
        drew = true;
    }
    (drew, said)
}

/// The replay's own keys; None when `key` is not one of them.
fn replay_key(
    r: &mut Replayer,
    pace: &mut Pace,
    prompt: &mut Option<String>,
    key: KeyEvent,
) -> Option<String> {
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    Some(match key.code {
        KeyCode::Char(' ') => {
            pace.paused = !pace.paused;
            pace.restart(r.at_ms);
            if pace.paused { "paused" } else { "playing" }.into()
        }
        KeyCode::Char('.') => {
            pace.paused = true;
            match r.step() {
                Some(_) => {
                    pace.base_ms = r.at_ms;
                    "one event on".into()
                }
                None => "end of the recording".into(),
            }
        }
        KeyCode::Char('+') => {
            pace.restart(
                pace.now_ms()
                    .min(r.next_at().unwrap_or(i64::MAX))
                    .max(r.at_ms),
            );
            pace.speed = (pace.speed * 2.0).min(MAX_SPEED);
            format!("speed ×{}", pace.speed)
        }
        KeyCode::Char('-') => {
            pace.restart(r.at_ms);
            pace.speed = (pace.speed / 2.0).max(0.01);
            format!("speed ×{}", pace.speed)
        }
        KeyCode::Char('>') => {
            let said = r.next_alarm();
            pace.base_ms = r.at_ms;
            pace.paused = true;
            match said {
                Some(a) => format!("alarm: {a} (paused; space plays on)"),
                None => "no alarm until the end of the recording".into(),
            }
        }
        KeyCode::Char('J') => {
            *prompt = Some(String::new());
            String::new()
        }
        _ => return None,
    })
}

fn show_clock(r: &mut Replayer, pace: &Pace, prompt: &Option<String>, note: &str) {
    // Playing, the clock runs on between events (a quiet minute passes as a minute);
    // never past the next event, which is not applied yet, nor past the end.
    let shown = if pace.paused {
        r.at_ms
    } else {
        let cap = r.next_at().unwrap_or(r.to_ms).min(r.to_ms);
        pace.now_ms().min(cap).max(r.at_ms)
    };
    let at = DateTime::from_timestamp_millis(shown.max(0)).unwrap_or(r.state.now);
    r.state.ui.replay = Some(ReplayClock {
        at,
        to: DateTime::from_timestamp_millis(r.to_ms).unwrap_or(at),
        speed: pace.speed,
        paused: pace.paused,
        note: match prompt {
            Some(text) => format!("jump to (14:05, -5m, +5m): {text}▏"),
            None => note.to_string(),
        },
    });
}

/// `-5m` (back from the replay's clock) or `+5m` (on); `14:05` or `14:05:30`, the most
/// recent such time within the recording (up to its end, `end_ms`), wherever the replay's
/// clock is; or an RFC 3339 time.
pub fn jump_target(
    text: &str,
    at_ms: i64,
    end_ms: i64,
    utc: bool,
) -> Result<i64, crate::app::model::input_error::InputError> {
    let at: DateTime<Utc> = DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    let t = text.trim();
    if let Some(on) = t.strip_prefix('+') {
        let back = crate::app::model::times::parse_time(&format!("-{on}"), at, utc)?;
        return Ok((at + (at - back)).timestamp_millis());
    }
    let base = if t.starts_with('-') {
        at
    } else {
        DateTime::from_timestamp_millis(end_ms.max(at_ms)).unwrap_or(at)
    };
    crate::app::model::times::parse_time(t, base, utc).map(|t| t.timestamp_millis())
}

fn draw(terminal: &mut term::Term, r: &Replayer) -> std::io::Result<()> {
    let theme = &r.settings.theme;
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| crate::ui::draw(f, &r.state, theme))?;
    crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jump_reads_times_relative_to_the_replay_clock() {
        let at: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let ms = at.timestamp_millis();
        let end = ms + 3_600_000;
        assert_eq!(jump_target("-5m", ms, end, true), Ok(ms - 300_000));
        assert_eq!(jump_target("+90s", ms, end, true), Ok(ms + 90_000));
        assert_eq!(jump_target("09:30", ms, end, true), Ok(ms - 30 * 60_000));
        assert!(jump_target("soon", ms, end, true).is_err());
        // Issue 27: a bare time after the replay's clock but within the recording is that
        // time, not the day before.
        assert_eq!(jump_target("10:56", ms, end, true), Ok(ms + 56 * 60_000));
    }
}
