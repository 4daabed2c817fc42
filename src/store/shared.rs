//! The store as the control room's actions see it: opened in the background, so the first
//! frame never waits for SQLite to migrate or for a PostgreSQL server that is down.

use super::Store;
use tokio::sync::watch;

/// `None` while the store is opening; `Some(None)` when there is none (not configured, or it
/// failed to open); `Some(Some(store))` once it is open.
#[derive(Clone)]
pub struct SharedStore(watch::Receiver<Option<Option<Store>>>);

/// Settles a `SharedStore` once: dropping it unsettled means "no store".
pub struct Settle(watch::Sender<Option<Option<Store>>>);

impl SharedStore {
    /// A store that is already open (or already known to be absent).
    pub fn ready(store: Option<Store>) -> SharedStore {
        SharedStore(watch::channel(Some(store)).1)
    }

    /// A store still opening: `Settle::to` says how it ended.
    pub fn opening() -> (Settle, SharedStore) {
        let (tx, rx) = watch::channel(None);
        (Settle(tx), SharedStore(rx))
    }

    /// The store, waiting until the open has settled. Only actions wait here, never the loop.
    pub async fn get(&self) -> Option<Store> {
        let mut rx = self.0.clone();
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone().flatten(),
            // The opener went away without settling: there is no store.
            Err(_) => None,
        }
    }
}

impl Settle {
    pub fn to(self, store: Option<Store>) {
        let _ = self.0.send(Some(store));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_get_the_store_once_it_has_opened() {
        let (settle, shared) = SharedStore::opening();
        let waiter = tokio::spawn({
            let shared = shared.clone();
            async move { shared.get().await.is_some() }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "nothing to hand out before the open settles"
        );
        let dir = std::env::temp_dir().join(format!("shared-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(dir.join("a.db").to_str().unwrap())
            .await
            .unwrap();
        settle.to(Some(store));
        assert!(waiter.await.unwrap());
        assert!(shared.get().await.is_some(), "and to anyone who asks later");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn an_opener_that_gives_up_means_no_store() {
        let (settle, shared) = SharedStore::opening();
        drop(settle);
        assert!(shared.get().await.is_none());
        assert!(SharedStore::ready(None).get().await.is_none());
    }
}
