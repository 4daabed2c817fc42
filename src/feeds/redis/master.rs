//! Following the master behind Redis Sentinel. One task per control room asks the sentinels
//! which node is the master, then listens on a sentinel for `+switch-master`. When the
//! master moves it says so (`Event::Master`: the Ports pane names the node) and wakes every
//! Redis link (`Moved`), so the feed and the sampler leave the old node and connect to the
//! new one at once, rather than when their next retry comes round. A link that loses its
//! connection asks the sentinels again anyway (see `super::client`): this only makes it
//! quicker, and says who the master is.

use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc::Sender;
use tokio::sync::watch;

use crate::clients::broker::{ANSWER_WITHIN, CONNECT_WITHIN, reason, sentinel_nodes};
use crate::event::{Event, LinkHealth, MasterNews};
use crate::redis_url::SentinelUrl;

pub const LINK: &str = crate::event::links::SENTINEL;
/// Between one sentinel and the next when none answers: they are few, and a failover is
/// exactly when an operator wants to know.
const NEXT_SENTINEL: Duration = Duration::from_millis(500);

/// Wakes a Redis link when the master moves. A broker without sentinels never moves.
#[derive(Debug, Clone, Default)]
pub struct Moved(Option<watch::Receiver<String>>);

impl Moved {
    /// The next move's new address; never, without sentinels.
    pub async fn next(&mut self) -> String {
        match &mut self.0 {
            Some(rx) => match rx.changed().await {
                Ok(()) => rx.borrow_and_update().clone(),
                // The follower stopped (the app is ending): nothing more will move.
                Err(_) => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }
}

/// Starts following, for a `sentinel://` URL; returns what wakes the links, and the task.
pub fn spawn(url: &str, tx: Sender<Event>) -> (Moved, Option<tokio::task::JoinHandle<()>>) {
    let Ok(s) = crate::redis_url::sentinel(url) else {
        return (Moved::default(), None);
    };
    let (moved_tx, moved_rx) = watch::channel(String::new());
    let task = tokio::spawn(follow(s, tx, moved_tx));
    (Moved(Some(moved_rx)), Some(task))
}

async fn follow(s: SentinelUrl, tx: Sender<Event>, moved: watch::Sender<String>) {
    let nodes = sentinel_nodes(&s);
    let mut known: Option<String> = None;
    let health = |health| Event::Link {
        name: LINK.to_string(),
        health,
    };
    for i in (0..nodes.len()).cycle() {
        let _ = tx.send(health(LinkHealth::Connecting)).await;
        let why = match listen(&s, &nodes[i], &tx, &moved, &mut known).await {
            Ok(why) | Err(why) => why,
        };
        let (host, port) = &s.nodes[i];
        let why = format!("sentinel {host}:{port}: {why}");
        if tx
            .send(health(LinkHealth::Down {
                why,
                retry_in: Some(NEXT_SENTINEL),
            }))
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(NEXT_SENTINEL).await;
    }
}

/// One sentinel: who the master is, then every `+switch-master` for ours, until it fails.
async fn listen(
    s: &SentinelUrl,
    node: &redis::ConnectionInfo,
    tx: &Sender<Event>,
    moved: &watch::Sender<String>,
    known: &mut Option<String>,
) -> Result<String, String> {
    let client = redis::Client::open(node.clone()).map_err(|e| reason(&e))?;
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe("+switch-master").await?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(&s.master_name)
            .query_async(&mut conn)
            .await?;
        Ok::<_, redis::RedisError>((pubsub, addr))
    };
    let (pubsub, addr) = match tokio::time::timeout(CONNECT_WITHIN, connect).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return Err(reason(&e)),
        Err(_) => return Err(format!("no answer within {} s", CONNECT_WITHIN.as_secs())),
    };
    let Some((host, port)) = addr else {
        return Err(format!(
            "knows no master named `{}`",
            crate::sanitize::clean(&s.master_name, 60)
        ));
    };
    let _ = tx
        .send(Event::Link {
            name: LINK.to_string(),
            health: LinkHealth::Up,
        })
        .await;
    tell(tx, moved, known, &s.master_name, &host, port).await;
    let (mut sink, mut stream) = pubsub.split();
    let mut ping = tokio::time::interval(super::PING_EVERY);
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else { return Ok("connection closed".into()) };
                let text: String = msg.get_payload().unwrap_or_default();
                // `<name> <old ip> <old port> <new ip> <new port>`
                let parts: Vec<&str> = text.split_whitespace().collect();
                if let [name, _, _, host, port] = parts[..]
                    && name == s.master_name
                    && let Ok(port) = port.parse()
                {
                    tell(tx, moved, known, name, host, port).await;
                }
            }
            _ = ping.tick() => {
                match tokio::time::timeout(ANSWER_WITHIN, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(reason(&e)),
                    Err(_) => return Err(format!("no answer to PING within {} s", ANSWER_WITHIN.as_secs())),
                }
            }
        }
    }
}

/// Says where the master is, when that is news, and wakes the links if it moved.
async fn tell(
    tx: &Sender<Event>,
    moved: &watch::Sender<String>,
    known: &mut Option<String>,
    name: &str,
    host: &str,
    port: u16,
) {
    let addr = crate::sanitize::clean(&format!("{host}:{port}"), 80);
    if known.as_deref() == Some(addr.as_str()) {
        return;
    }
    let previous = known.replace(addr.clone());
    if previous.is_some() {
        moved.send_replace(addr.clone());
    }
    let _ = tx
        .send(Event::Master {
            at: chrono::Utc::now(),
            news: MasterNews {
                name: crate::sanitize::clean(name, 60),
                addr,
                previous,
            },
        })
        .await;
}
