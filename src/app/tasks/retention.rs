//! Retention while the service runs: at start, then hourly.
//!
//! Takes: the store, the reloader (for the limits of the config in force), the service's clock
//! and the shutdown signal. Gives: pruned items and tombstones, logged. Guarantees: each prune runs off the async
//! threads (`spawn_blocking`); a failed prune is logged and retried next hour.

use crate::clock::Clock;
use crate::reload::Reloader;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often retention runs (its first round runs at once).
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// Prunes at start, then every [`INTERVAL`], with `[service] retention` and `max_items` of the
/// config in force, until `stop` changes.
pub async fn run(
    store: Store,
    reloader: Arc<Reloader>,
    clock: Clock,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        prune_once(&store, &reloader, &clock).await;
        tokio::select! {
            _ = stop.changed() => break,
            _ = clock.sleep(INTERVAL) => {}
        }
    }
}

/// One round of retention, logged.
async fn prune_once(store: &Store, reloader: &Reloader, clock: &Clock) {
    let c = reloader.current();
    let now = clock.now();
    let store = store.clone();
    let r = tokio::task::spawn_blocking(move || {
        store.prune(now, c.service.retention, c.service.max_items)
    })
    .await;
    match r {
        Ok(Ok(s)) if s.items + s.tombstones > 0 => {
            tracing::info!(
                items = s.items,
                tombstones = s.tombstones,
                "retention: pruned"
            )
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "retention failed"),
        Err(e) => tracing::error!(error = %e, "retention task failed"),
    }
}
