//! The activity log at a million lines: appending, a filter's full rescan (in the slices the
//! loop runs between keys), drawing whole frames, paging up, and the memory it takes.
//! `cargo bench --bench log_view`; the numbers go in docs/PERFORMANCE.md.

use chrono::{TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::Path;
use std::time::{Duration, Instant};

use chavion_tui::app::model::activity::{Filter, LogLine, compile};
use chavion_tui::app::state::Pane;
use chavion_tui::app::{State, update};
use chavion_tui::config::{Config, keymap, theme};
use chavion_tui::event::Event;
use chavion_tui::platform::model::Level;

const LINES: usize = 1_000_000;

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0
}

fn line(i: usize) -> LogLine {
    let sources = ["celery", "THINKING", "redis", "web", "executor", "JUDGING"];
    LogLine {
        at: Utc
            .timestamp_opt(1_795_000_000 + i as i64 / 100, 0)
            .unwrap(),
        level: if i.is_multiple_of(97) {
            Level::Error
        } else if i.is_multiple_of(13) {
            Level::Warn
        } else {
            Level::Info
        },
        source: sources[i % sources.len()].into(),
        message: format!(
            "task {i} succeeded in 0.{:03}s on worker{}@vm: result={{'ok': true, 'n': {i}}}",
            i % 1000,
            i % 7
        ),
    }
}

/// The layout follows the terminal's size, as a real resize would tell it.
fn resize(state: &mut State, w: u16, h: u16) {
    update(
        state,
        Event::Resize {
            width: w,
            height: h,
        },
    );
}

fn draw_ms(state: &State, th: &theme::Theme, w: u16, h: u16, n: usize) -> (f64, f64) {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            term.draw(|f| chavion_tui::ui::draw(f, state, th)).unwrap();
            t.elapsed()
        })
        .collect();
    (pct(times.clone(), 0.5), pct(times, 0.99))
}

fn main() {
    let km = keymap::build("default", Path::new("/nonexistent"), vec![]).unwrap();
    let mut cfg = Config::default();
    *cfg.activity.max_lines.get_mut() = LINES;
    cfg.activity.max_bytes = toml::Spanned::new(0..0, usize::MAX);
    let mut state = State::new(&cfg, km, Utc::now());
    state.ui.focus = Pane::Activity;
    let th = theme::load(
        "dark",
        Path::new("/nonexistent"),
        theme::ColorMode::TrueColor,
    )
    .unwrap();
    let rss0 = rss_mb();

    let t = Instant::now();
    for i in 0..LINES {
        state.activity.push(line(i));
    }
    let push = t.elapsed();
    println!(
        "append {LINES} lines: {:.0} ms ({:.2} M lines/s); RSS {:.0} MB → {:.0} MB ({} bytes counted)",
        push.as_secs_f64() * 1000.0,
        LINES as f64 / push.as_secs_f64() / 1e6,
        rss0,
        rss_mb(),
        state.activity.bytes
    );

    for (w, h) in [(80u16, 24u16), (250, 70)] {
        resize(&mut state, w, h);
        let (p50, p99) = draw_ms(&state, &th, w, h, 200);
        println!("draw {w}×{h}, 1M lines, following: p50 {p50:.3} ms, p99 {p99:.3} ms");
    }

    // Paging up through the middle of the million: update + draw per page.
    resize(&mut state, 250, 70);
    let mut term = Terminal::new(TestBackend::new(250, 70)).unwrap();
    let key = |c| {
        Event::Key(crossterm::event::KeyEvent::new(
            c,
            crossterm::event::KeyModifiers::NONE,
        ))
    };
    let pages: Vec<Duration> = (0..500)
        .map(|_| {
            let t = Instant::now();
            update(&mut state, key(crossterm::event::KeyCode::PageUp));
            term.draw(|f| chavion_tui::ui::draw(f, &state, &th))
                .unwrap();
            t.elapsed()
        })
        .collect();
    println!(
        "page up (update + draw 250×70): p50 {:.3} ms, p99 {:.3} ms",
        pct(pages.clone(), 0.5),
        pct(pages, 0.99)
    );
    state.activity.resume_follow();

    for text in [
        "level:error",
        "worker3@vm",
        "!succeeded",
        "source:redis n': 4\\d{5}\\b",
    ] {
        state.activity.set_filter(Filter::parse(text).unwrap());
        let mut slices = Vec::new();
        let t = Instant::now();
        while state.activity.pending_work() {
            let s = Instant::now();
            state.activity.work();
            slices.push(s.elapsed());
        }
        let total = t.elapsed();
        println!(
            "filter `{text}` over 1M lines: {:.0} ms in {} slices (slice p50 {:.2} ms, max {:.2} ms), {} kept",
            total.as_secs_f64() * 1000.0,
            slices.len(),
            pct(slices.clone(), 0.5),
            pct(slices, 1.0),
            state.activity.visible_len()
        );
    }
    state.activity.set_filter(None);

    state.activity.search = Some(compile("worker3").unwrap());
    let (p50, p99) = draw_ms(&state, &th, 250, 70, 200);
    println!("draw 250×70 with search highlights: p50 {p50:.3} ms, p99 {p99:.3} ms");
    let t = Instant::now();
    state.activity.show(10);
    let found = state.activity.search_from_cursor(false);
    println!(
        "search back from line 10 to the previous match: {:.2} ms (found {:?})",
        t.elapsed().as_secs_f64() * 1000.0,
        found
    );
    state.activity.wrap = true;
    let (p50, p99) = draw_ms(&state, &th, 80, 24, 200);
    println!("draw 80×24 wrapped: p50 {p50:.3} ms, p99 {p99:.3} ms");
    state.activity.wrap = false;
    state.activity.search = None;

    // Issue 9's frame: a million lines and 50 000 tasks kept.
    let ch = chavion_tui::platform::route::Channels::new(
        "chavion:agents:*",
        "chavion:activity",
        0,
        "",
        true,
    );
    for k in 0..5_000u64 {
        let events: Vec<_> = (0..10)
            .map(|i| {
                let n = k * 10 + i;
                serde_json::json!({
                    "hostname": format!("{}@vm", ["cognitive", "thinking", "judging", "executing", "evolving"][(n % 5) as usize]),
                    "utcoffset": 0, "pid": 41, "clock": n, "uuid": format!("{n:08x}-0000-4000-8000-000000000000"),
                    "timestamp": 1795000000.0 + n as f64 / 1000.0, "type": "task-received",
                    "name": format!("agent.task{}", n % 17), "args": "()", "kwargs": "{}", "retries": 0
                })
            })
            .collect();
        let env = chavion_tui::platform::wire::kombu_event_envelope(
            &serde_json::json!(events),
            "w@vm",
            "task.multi",
            "t",
        );
        let mut items = Vec::new();
        chavion_tui::platform::route::route(&ch, "/0.celeryev/task.multi", &env, &mut items);
        update(
            &mut state,
            Event::FeedBatch {
                at: Utc::now(),
                items,
            },
        );
    }
    println!("tasks kept: {}", state.tasks.by_id.len());
    state.activity.resume_follow();
    for (w, h) in [(80u16, 24u16), (250, 70)] {
        resize(&mut state, w, h);
        let (p50, p99) = draw_ms(&state, &th, w, h, 200);
        println!("draw dashboard {w}×{h}, 1M lines + 50k tasks: p50 {p50:.3} ms, p99 {p99:.3} ms");
    }
    state.ui.view = chavion_tui::app::state::View::Tasks;
    let (p50, p99) = draw_ms(&state, &th, 250, 70, 200);
    println!(
        "draw Tasks view 250×70, 50k tasks, newest first (the default): p50 {p50:.3} ms, p99 {p99:.3} ms"
    );
    // The other orders pick their screenful out of all 50 000 each frame; a filter makes
    // the newest-first view count its matches through all of them.
    state.ui.task_sort = chavion_tui::app::state::TaskSort::Name;
    let (p50, p99) = draw_ms(&state, &th, 250, 70, 200);
    println!("draw Tasks view 250×70, 50k tasks, by name: p50 {p50:.3} ms, p99 {p99:.3} ms");
    state.ui.task_sort = chavion_tui::app::state::TaskSort::Newest;
    state.ui.filter = "agent:think".into();
    let (p50, p99) = draw_ms(&state, &th, 250, 70, 200);
    println!(
        "draw Tasks view 250×70, 50k tasks, newest first, filtered to a fifth: p50 {p50:.3} ms, p99 {p99:.3} ms"
    );
    state.ui.filter.clear();
    println!("RSS at the end: {:.0} MB", rss_mb());
}
