//! Issue 19's TLS to managed services, against real servers on loopback with a private CA
//! made in the test: Redis over TLS (`rediss://`, as Memorystore serves it) and PostgreSQL
//! with `ssl = on` (as Cloud SQL requires). What is trusted connects; what is not is refused
//! in words; there is no switch to skip the check.

mod common;

use chavion_tui::event::LinkHealth;
use chavion_tui::store::Store;
use common::Sandbox;
use common::room::Room;
use common::servers::{Postgres, RedisServer};
use common::tls::private_ca;
use std::time::Duration;

fn link(room: &Room, name: &str) -> Option<LinkHealth> {
    room.state
        .links
        .iter()
        .find(|l| l.name == name)
        .map(|l| l.health.clone())
}

fn tls_room(url: &str, ca_file: Option<&std::path::Path>) -> Room {
    let ca = ca_file
        .map(|p| format!("ca_file = \"{}\"\n", p.display()))
        .unwrap_or_default();
    let config = format!(
        "socketio = []\nports = []\n[redis]\nurl = \"{url}\"\n{ca}[celery]\nsample_ms = 200\n"
    );
    let settings = chavion_tui::config::settings_from_str(&config).unwrap();
    let mut room = Room::bare(&config, true);
    room.tasks = chavion_tui::feeds::redis::spawn(
        chavion_tui::wiring::feed_config(&settings),
        room.tx.clone(),
    );
    room
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_private_ca_is_verified_and_an_untrusted_certificate_refused() {
    let sb = Sandbox::new("rediss");
    let (ca, cert, key) = private_ca(&sb, "30", "IP:127.0.0.1");
    let redis = RedisServer::start_tls(&cert, &key, &ca);
    let url = format!("rediss://127.0.0.1:{}/0", redis.port);

    // Trusting the private CA: the feed comes up and reads what is published over TLS.
    let mut room = tls_room(&url, Some(&ca));
    room.until("the feed and the sampler up over TLS", |s| {
        ["redis", "queues"].iter().all(|n| {
            s.links
                .iter()
                .any(|l| l.name == *n && l.health == LinkHealth::Up)
        })
    })
    .await;
    redis.cli(&[
        "publish",
        "chavion:agents:THINKING",
        r#"{"agent":"THINKING","state":"busy","detail":"over TLS"}"#,
    ]);
    room.until("the agent's report read over TLS", |s| {
        s.agents
            .iter()
            .any(|a| a.name == "THINKING" && a.detail.as_deref() == Some("over TLS"))
    })
    .await;

    // The system's roots do not include the private CA: refused, and said so in words.
    let mut untrusted = tls_room(&url, None);
    untrusted
        .until("the feed refused", |s| {
            s.links.iter().any(|l| {
                l.name == "redis"
                    && matches!(&l.health, LinkHealth::Down { why, .. } if why.contains("TLS refused"))
            })
        })
        .await;
    let Some(LinkHealth::Down { why, .. }) = link(&untrusted, "redis") else {
        panic!("the untrusted feed is not down");
    };
    assert!(
        why.contains("the server's certificate is not trusted"),
        "{why}"
    );
    untrusted.run_for(Duration::from_millis(500)).await;
    assert!(
        !untrusted.state.agents.iter().any(|a| a.detail.is_some()),
        "nothing was read over the untrusted link"
    );
}

#[test]
fn a_url_that_asks_to_skip_the_check_is_refused_before_anything_starts() {
    let config = "[redis]\nurl = \"rediss://127.0.0.1:6380/0#insecure\"\n";
    let said = chavion_tui::config::settings_from_str(config)
        .err()
        .expect("refused");
    let said = format!("{said:?}");
    assert!(said.contains("never done"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_verify_full_checks_the_name_and_verify_ca_the_issuer() {
    let sb = Sandbox::new("pg-tls");
    // The server's certificate names `localhost` only.
    let (ca, cert, key) = private_ca(&sb, "30", "DNS:localhost");
    let pg = Postgres::start_tls(&cert, &key);
    let url = |host: &str, mode: &str| {
        format!(
            "postgres://postgres@{host}:{}/t?sslmode={mode}&sslrootcert={}",
            pg.port,
            ca.display()
        )
    };

    // verify-full by the name on the certificate: the store opens (its migrations run) and
    // the connection is encrypted, as PostgreSQL itself reports.
    let good = url("localhost", "verify-full");
    let store = Store::open(&good).await.unwrap_or_else(|e| panic!("{e}"));
    store.activity_recent(1, "default").await.unwrap();
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&good).await.unwrap();
    let (ssl,): (bool,) =
        sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(ssl, "the connection is not encrypted");

    // The same server by another name: verify-full refuses it, verify-ca (issuer only)
    // takes it.
    let wrong = Store::open(&url("127.0.0.1", "verify-full"))
        .await
        .err()
        .expect("a certificate for another name must be refused")
        .to_string();
    assert!(wrong.contains("cannot open the audit store"), "{wrong}");
    assert!(wrong.contains("not valid for name"), "{wrong}");
    eprintln!("verify-full by another name: {wrong}");
    Store::open(&url("127.0.0.1", "verify-ca"))
        .await
        .unwrap_or_else(|e| panic!("verify-ca: {e}"));

    // The port probe checks it the same way.
    let probe = chavion_tui::feeds::probes::Target {
        url: url("localhost", "verify-full"),
        ..chavion_tui::feeds::probes::Target::adhoc(
            chavion_tui::config::model::ProbeKind::Postgres,
            "localhost",
            pg.port,
            Duration::from_secs(3),
        )
    };
    let outcome = chavion_tui::feeds::probes::probe(&probe).await;
    assert!(
        matches!(outcome, chavion_tui::event::ProbeOutcome::Up { .. }),
        "{outcome:?}"
    );
}
