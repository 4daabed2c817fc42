//! One suite for the audit store, run on embedded SQLite and on a real PostgreSQL.

mod common;

use chavion_tui::store::{AuditRecord, OutboxEntry, RunRecord, Store, StoredLine};
use common::Sandbox;
use common::servers::Postgres;

fn record(at_ms: i64, action: &str) -> AuditRecord {
    AuditRecord {
        at_ms,
        who: "ops".into(),
        ssh_client: "10.1.2.3 51234 22".into(),
        action: action.into(),
        target: "THINKING thinking.plan".into(),
        digest: chavion_tui::store::digest(b"payload"),
        outcome: "sent".into(),
        detail: "id=1".into(),
        context: "production".into(),
    }
}

fn entry(id: &str, created_ms: i64) -> OutboxEntry {
    OutboxEntry {
        task_id: id.into(),
        queue_key: "thinking".into(),
        message: "{\"m\":1}".into(),
        sent_event: "{}".into(),
        created_ms,
        attempts: 0,
        broker: BROKER.into(),
        context: "staging".into(),
    }
}

const BROKER: &str = "redis://127.0.0.1:6379/0 prefix=";

async fn suite(store: Store) {
    // Audit: kept, in order, filtered by time.
    store.record(&record(1_000, "dispatch")).await.unwrap();
    store.record(&record(2_000, "revoke")).await.unwrap();
    store.record(&record(3_000, "terminate")).await.unwrap();
    let all = store.audit_since(0).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        ["dispatch", "revoke", "terminate"]
    );
    assert_eq!(all[0], record(1_000, "dispatch"), "every field round-trips");
    assert_eq!(store.audit_since(2_000).await.unwrap().len(), 2);
    assert_eq!(
        all[0].digest,
        "239f59ed55e737c77147cf55ad0c1b030b6d7ee748a7426952f9b852d5a935e5"
    );

    // Outbox: idempotent on the id, pending until sent, oldest first.
    store.outbox_put(&entry("b", 20)).await.unwrap();
    store.outbox_put(&entry("a", 10)).await.unwrap();
    store.outbox_put(&entry("a", 99)).await.unwrap();
    // Meant for another broker: never handed to this one, but listed as waiting.
    let staging = OutboxEntry {
        broker: "redis://10.0.0.9:6379/0 prefix=".into(),
        ..entry("s", 5)
    };
    store.outbox_put(&staging).await.unwrap();
    let pending = store.outbox_pending(BROKER).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|e| (e.task_id.as_str(), e.created_ms))
            .collect::<Vec<_>>(),
        [("a", 10), ("b", 20)]
    );
    assert_eq!(pending[0].context, "staging", "the context round-trips");
    let waiting = store.outbox_waiting().await.unwrap();
    assert_eq!(
        waiting
            .iter()
            .map(|w| (w.task_id.as_str(), w.broker.as_str()))
            .collect::<Vec<_>>(),
        [
            ("s", "redis://10.0.0.9:6379/0 prefix="),
            ("a", BROKER),
            ("b", BROKER)
        ]
    );
    store
        .outbox_failed("a", "connection refused")
        .await
        .unwrap();
    assert_eq!(store.outbox_pending(BROKER).await.unwrap()[0].attempts, 1);
    store.outbox_sent("a", 30).await.unwrap();
    assert_eq!(
        store
            .outbox_pending(BROKER)
            .await
            .unwrap()
            .iter()
            .map(|e| e.task_id.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );

    // Activity: batched, trimmed to the newest `keep`, read back oldest first.
    let lines: Vec<StoredLine> = (0..25)
        .map(|i| StoredLine {
            at_ms: i,
            level: "INFO".into(),
            source: "x".into(),
            message: format!("m{i}"),
        })
        .collect();
    store
        .activity_append(&lines[..20], 10, "default")
        .await
        .unwrap();
    store
        .activity_append(&lines[20..], 10, "default")
        .await
        .unwrap();
    let back = store.activity_recent(100, "default").await.unwrap();
    assert_eq!(back.len(), 10, "bounded retention");
    assert_eq!(back.first().unwrap().message, "m15");
    assert_eq!(back.last().unwrap().message, "m24");
    assert_eq!(
        store
            .activity_recent(3, "default")
            .await
            .unwrap()
            .iter()
            .map(|l| l.message.as_str())
            .collect::<Vec<_>>(),
        ["m22", "m23", "m24"]
    );
    // Another context in the same store: its lines are its own, and trimming it leaves
    // the first context's alone.
    store
        .activity_append(&lines[..5], 2, "staging")
        .await
        .unwrap();
    let staging = store.activity_recent(100, "staging").await.unwrap();
    assert_eq!(
        staging
            .iter()
            .map(|l| l.message.as_str())
            .collect::<Vec<_>>(),
        ["m3", "m4"]
    );
    assert_eq!(
        store.activity_recent(100, "default").await.unwrap().len(),
        10
    );

    // Executor runs: a finished one with its status, and one that never ran (no status).
    let run = |started_ms: i64, exit_status: Option<i64>| RunRecord {
        started_ms,
        ended_ms: started_ms + 1500,
        who: "ops".into(),
        ssh_client: "10.0.0.9 50000 22".into(),
        runbook: "disk-memory".into(),
        host: "vm".into(),
        login: "chavion@127.0.0.1:22".into(),
        command: "exec timeout --kill-after=5s 30s sh -c 'df -h'".into(),
        exit_status,
        outcome: "exit status 0 after 1.5 s".into(),
        output: "Filesystem Size\n[stderr] oops".into(),
    };
    store.record_run(&run(5_000, Some(0))).await.unwrap();
    store.record_run(&run(6_000, None)).await.unwrap();
    let runs = store.runs_since(5_500).await.unwrap();
    assert_eq!(runs, vec![run(6_000, None)]);
    assert_eq!(store.runs_since(0).await.unwrap()[0], run(5_000, Some(0)));
    history(&store).await;
}

/// The task history: upserts (a newer body wins), the newest first, trimming, workers by
/// when they were seen, and the search past memory (LIKE's wildcards taken literally).
async fn history(store: &Store) {
    use chavion_tui::store::HistoryRow;
    let row = |key: &str, at_ms: i64, name: &str, body: &str| HistoryRow {
        key: key.into(),
        at_ms,
        name: name.into(),
        body: body.into(),
    };
    let tasks: Vec<HistoryRow> = (0..1200)
        .map(|i| row(&format!("id-{i:04}"), i, "thinking.add", &format!("t{i}")))
        .collect();
    let workers = vec![row("w1@h", 5_000, "", "w1"), row("w2@h", 100, "", "w2")];
    store
        .history_put(&tasks, &workers, 1000, 0, "default")
        .await
        .unwrap();
    let newest = store.history_tasks(3, "default").await.unwrap();
    assert_eq!(newest, ["t1199", "t1198", "t1197"]);
    // Trimmed to the newest 1000, and the one at the cut.
    assert_eq!(
        store.history_tasks(5000, "default").await.unwrap().len(),
        1001
    );
    // The same task again, later: replaced, not doubled.
    let again = [
        row("id-1199", 2_000, "thinking.add", "t1199 ended"),
        row("50%_x", 1_500, "odd.name", "odd"),
    ];
    store
        .history_put(&again, &[], 1000, 1_000, "default")
        .await
        .unwrap();
    assert_eq!(
        store.history_tasks(1, "default").await.unwrap(),
        ["t1199 ended"]
    );
    // w2 was seen before the cut: forgotten.
    assert_eq!(
        store.history_workers(0, "default", 100).await.unwrap(),
        ["w1"]
    );
    // The same hostname on another context is another worker; its tasks are its own.
    store
        .history_put(
            &[row("id-s1", 9_000, "x", "s1")],
            &[row("w1@h", 9_000, "", "w1 on staging")],
            1000,
            0,
            "staging",
        )
        .await
        .unwrap();
    assert_eq!(
        store.history_workers(0, "staging", 100).await.unwrap(),
        ["w1 on staging"]
    );
    assert_eq!(
        store.history_workers(0, "default", 100).await.unwrap(),
        ["w1"]
    );
    assert_eq!(
        store.history_tasks(1, "default").await.unwrap(),
        ["t1199 ended"]
    );
    assert_eq!(store.history_tasks(5, "staging").await.unwrap(), ["s1"]);
    // Beyond memory: older than a time, by id or name; % and _ are letters here.
    let found = store
        .history_search("id-019", 1_000, 5, "default")
        .await
        .unwrap();
    assert!(found.is_empty(), "trimmed long ago: {found:?}");
    let found = store
        .history_search("add", 1_199, 2, "default")
        .await
        .unwrap();
    assert_eq!(found, ["t1198", "t1197"]);
    assert_eq!(
        store
            .history_search("50%_", i64::MAX, 5, "default")
            .await
            .unwrap(),
        ["odd"]
    );
    assert!(
        store
            .history_search("5%x", i64::MAX, 5, "default")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_suite_passes_on_sqlite_in_wal_mode() {
    let sb = Sandbox::new("store-sqlite");
    let path = sb.path("deep/dir/audit.db");
    let store = Store::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(store.describe(), "SQLite");
    suite(store.clone()).await;
    let Store::Sqlite(pool) = &store else {
        unreachable!()
    };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    // Reopening runs no migration twice and keeps the data.
    drop(store);
    let again = Store::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(again.audit_since(0).await.unwrap().len(), 3);
}

/// A control room and a shell command opening a new SQLite store at the same moment: both
/// open it (SQLite's migrations take no lock; the second finds the first's work done).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_opening_a_new_store_at_once_both_get_it() {
    let sb = Sandbox::new("store-race");
    for round in 0..5 {
        let path = sb.path(&format!("race{round}/audit.db"));
        let p = path.to_str().unwrap().to_string();
        let (a, b) = tokio::join!(Store::open(&p), Store::open(&p));
        let (a, b) = (a.unwrap(), b.unwrap());
        a.record(&record(1, "dispatch")).await.unwrap();
        assert_eq!(b.audit_since(0).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn the_suite_passes_on_a_real_postgresql() {
    let pg = Postgres::start();
    let store = Store::open(&pg.url()).await.unwrap();
    assert_eq!(store.describe(), "PostgreSQL");
    suite(store).await;
    let again = Store::open(&pg.url()).await.unwrap();
    assert_eq!(again.audit_since(0).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_wrong_password_is_never_printed() {
    let err = match Store::open("postgres://app:s3cret@127.0.0.1:1/x").await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("nothing listens on port 1"),
    };
    assert!(!err.contains("s3cret"), "{err}");
    assert!(err.contains("app:***@127.0.0.1:1"), "{err}");
}

/// Scrolling back past the top of the activity ring pages older lines in from the store,
/// through the real `update`, the real action and the real store.
#[tokio::test]
async fn scrolling_past_the_top_pages_older_history_in_from_the_store() {
    use chavion_tui::app::{Effect, update};
    use chavion_tui::event::Event;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    let sb = Sandbox::new("store-paging");
    let store = Store::open(sb.path("audit.db").to_str().unwrap())
        .await
        .unwrap();
    let lines: Vec<StoredLine> = (0..3000)
        .map(|i| StoredLine {
            at_ms: 1_795_000_000_000 + i * 1000,
            level: "INFO".into(),
            source: "celery".into(),
            message: format!("stored {i}"),
        })
        .collect();
    store
        .activity_append(&lines, 100_000, "default")
        .await
        .unwrap();

    let settings = chavion_tui::config::settings_from_str(
        "socketio = []\nports = []\n[activity]\nmax_lines = 100\n",
    )
    .unwrap();
    let opts = chavion_tui::wiring::Options {
        demo: false,
        read_only: false,
        crash_after: None,
        ..Default::default()
    };
    let mut state = chavion_tui::wiring::initial_state(&settings, &opts);
    let ctx = chavion_tui::wiring::action_context(
        &settings,
        state.gate(),
        chavion_tui::store::SharedStore::ready(Some(store.clone())),
    );
    let recent = store.activity_recent(100, "default").await.unwrap();
    update(
        &mut state,
        Event::StoreOpened {
            lines: recent,
            tasks: Vec::new(),
            workers: Vec::new(),
        },
    );
    assert_eq!(state.activity.lines.front().unwrap().message, "stored 2900");
    state.ui.focus = chavion_tui::app::state::Pane::Activity;
    let key = |c| Event::Key(KeyEvent::new(c, KeyModifiers::NONE));
    // Home goes to the oldest line in memory, and asks the store for the page before it.
    let out = update(&mut state, key(KeyCode::Home));
    let [effect @ Effect::LoadOlder { .. }] = out.effects.as_slice() else {
        panic!("expected a page request, got {:?}", out.effects);
    };
    let older = chavion_tui::actions::perform(effect.clone(), &ctx)
        .await
        .unwrap();
    update(&mut state, older);
    let log = &state.activity;
    // Twice max_lines while browsing: 100 more, the newest of the page, in front; then the
    // note that memory is full arrives at the bottom and pushes the oldest out.
    assert_eq!(log.lines.len(), 200);
    assert_eq!(log.lines.front().unwrap().message, "stored 2801");
    assert!(log.lines.back().unwrap().message.contains("memory is full"));
    assert_eq!(
        log.visible(log.cursor().unwrap()).unwrap().message,
        "stored 2900",
        "the view held still"
    );
    // End returns to the live tail, letting the paged history go.
    update(&mut state, key(KeyCode::End));
    assert_eq!(state.activity.lines.len(), 100);
    assert!(state.activity.follow);
}
