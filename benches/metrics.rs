//! /metrics under load (criterion): a control room that took 50 000 tasks from 200 workers
//! (40 task names, 4 queues, one in ten failing): the snapshot the loop copies for a scrape,
//! the encoding the server does off the loop, and the scrape end to end over HTTP through
//! the real server. Also the feed path's extra cost while /metrics is served: one task event
//! counted. `cargo bench --bench metrics`.

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use chavion_tui::app::model::task_counts::Labels;
use chavion_tui::app::{State, update};
use chavion_tui::config;
use chavion_tui::event::Event;
use chavion_tui::platform::model::{
    CeleryEvent, FeedItem, TaskEvent, TaskEventKind, TaskFields, WorkerEvent, WorkerEventKind,
};
use chavion_tui::wiring;

const TASKS: usize = 50_000;
const WORKERS: usize = 200;

fn busy_room() -> State {
    let settings = config::settings_from_str("socketio = []\nports = []\n").unwrap();
    let mut state = wiring::initial_state(&settings, &wiring::Options::default());
    state.task_counts.on = true;
    let now = Utc::now();
    let ts = now.timestamp() as f64;
    let workers = (0..WORKERS).map(|w| {
        FeedItem::Celery(CeleryEvent::Worker(WorkerEvent {
            kind: WorkerEventKind::Heartbeat,
            hostname: format!("agent{w}@host{w}"),
            timestamp: ts,
            freq: 2.0,
            active: (w % 4) as u64,
            processed: 0,
            loadavg: [0.1; 3],
            sw_ver: Some("5.7.0".into()),
        }))
    });
    update(
        &mut state,
        Event::FeedBatch {
            at: now,
            items: workers.collect(),
        },
    );
    for chunk in (0..TASKS).collect::<Vec<_>>().chunks(1000) {
        let mut items = Vec::new();
        for &i in chunk {
            let host = format!("agent{}@host{}", i % WORKERS, i % WORKERS);
            let failed = i % 10 == 0;
            for kind in [
                TaskEventKind::Received,
                TaskEventKind::Started,
                if failed {
                    TaskEventKind::Failed
                } else {
                    TaskEventKind::Succeeded
                },
            ] {
                items.push(FeedItem::Celery(CeleryEvent::Task(TaskEvent {
                    kind,
                    uuid: format!("{i:08x}-0000-4000-8000-000000000000"),
                    hostname: host.clone(),
                    timestamp: ts,
                    fields: TaskFields {
                        name: Some(format!("agent.task{}", (i / WORKERS) % 40)),
                        queue: Some(format!("queue{}", i % 4)),
                        runtime: (kind == TaskEventKind::Succeeded)
                            .then_some((i % 97) as f64 / 10.0),
                        exception: failed.then(|| "RuntimeError('planned')".into()),
                        ..TaskFields::default()
                    },
                })));
            }
        }
        update(&mut state, Event::FeedBatch { at: now, items });
    }
    state
}

fn benches(c: &mut Criterion) {
    let state = busy_room();
    let text = chavion_tui::exporter::render(&state);
    println!(
        "exposition: {} bytes, {} samples, {} series counted",
        text.len(),
        text.lines().filter(|l| !l.starts_with('#')).count(),
        state.task_counts.series.len()
    );
    let mut g = c.benchmark_group("metrics");
    g.sample_size(20);
    g.bench_function("snapshot, on the loop (50k tasks, 200 workers)", |b| {
        b.iter(|| black_box(chavion_tui::exporter::Snapshot::of(black_box(&state))))
    });
    g.bench_function("encode, off the loop (50k tasks, 200 workers)", |b| {
        b.iter_batched(
            || chavion_tui::exporter::Snapshot::of(&state),
            |snap| black_box(snap.render()).len(),
            criterion::BatchSize::LargeInput,
        )
    });

    // The worst a hostile publisher can make it (issue 26): every label cap reached, every
    // value at its longest (cut at 64 characters), failures under as many exceptions.
    let mut worst = busy_room();
    worst.task_counts.fill_to_the_caps();
    let worst_text = chavion_tui::exporter::render(&worst);
    println!(
        "worst case at the caps: {} bytes, {} samples",
        worst_text.len(),
        worst_text.lines().filter(|l| !l.starts_with('#')).count()
    );
    g.bench_function("snapshot and encode, at the caps", |b| {
        b.iter(|| black_box(chavion_tui::exporter::render(black_box(&worst))).len())
    });

    // A scrape end to end: HTTP in, the loop renders, HTTP out (a second scrape within a
    // second shares the first's text).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = chavion_tui::exporter::serve::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = chavion_tui::http::client(std::time::Duration::from_secs(10)).unwrap();
    rt.block_on(async {
        let (_server, mut scrapes) = chavion_tui::exporter::serve::spawn(listener);
        let state = std::sync::Arc::new(state);
        let loop_state = state.clone();
        tokio::spawn(async move {
            while let Some(s) = scrapes.recv().await {
                chavion_tui::exporter::serve::answer_scrape(s, &loop_state);
            }
        });
    });
    let url = format!("http://127.0.0.1:{port}/metrics");
    g.bench_function(
        "scrape over HTTP (50k tasks, 200 workers; cached within 1 s)",
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    let r = client.get(&url).send().await.unwrap();
                    assert!(r.status().is_success());
                    r.bytes().await.unwrap().len()
                })
            })
        },
    );

    // The feed path's extra while /metrics is served: one event counted.
    let mut tally = chavion_tui::app::model::task_counts::Tally::default();
    g.throughput(Throughput::Elements(1));
    g.bench_function("count one task event", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            tally.count(
                TaskEventKind::Succeeded,
                black_box(Labels {
                    name: Some("agent.task7"),
                    hostname: "agent7@host7",
                    queue: Some("queue3"),
                    exception: None,
                    runtime: Some((i % 50) as f64 / 10.0),
                    wait: None,
                }),
            )
        })
    });
    g.finish();
}

criterion_group!(metrics, benches);
criterion_main!(metrics);
