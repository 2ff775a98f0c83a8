//! Polling under a lease: several instances sharing one store poll each feed's slot once.
//!
//! Takes: a feed, its schedule slot, this instance's name and the lease length. Gives: how the
//! fire ended ([`Fired`]). Guarantees: the poll runs only while this instance holds the feed's
//! lease, renewed every third of its length on the service's clock; the lease is released when
//! the poll ends, and a killed instance's lease runs out within one lease length.

use super::{Fired, Poller};
use crate::config::FeedConfig;
use crate::store::Claim;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Claims `feed` for `slot` and polls it if the claim is this instance's.
pub(super) async fn poll_claimed<P: Poller>(
    poller: &P,
    feed: &FeedConfig,
    slot: DateTime<Utc>,
    owner: String,
    lease: Duration,
) -> Fired {
    let store = poller.store().clone();
    let clock = poller.clock().clone();
    let id = feed.id.clone();
    let (store2, id2, owner2) = (store.clone(), id.clone(), owner.clone());
    let now = clock.now();
    let claim =
        tokio::task::spawn_blocking(move || store2.claim(&id2, slot, &owner2, lease, now)).await;
    match claim {
        Ok(Ok(Claim::Mine)) => {
            // The lease is renewed every third of its length while the poll runs, so a slow
            // poll keeps it, and a dead instance loses it within one lease.
            let renew = {
                let (store, id, owner) = (store.clone(), id.clone(), owner.clone());
                let clock = clock.clone();
                async move {
                    loop {
                        clock.sleep(lease / 3).await;
                        let (store, id2, owner) = (store.clone(), id.clone(), owner.clone());
                        let now = clock.now();
                        match tokio::task::spawn_blocking(move || {
                            store.renew(&id2, &owner, lease, now)
                        })
                        .await
                        {
                            Ok(Ok(true)) => {}
                            Ok(Ok(false)) => {
                                tracing::warn!(feed_id = %id, "lease lost while polling (taken over after a stall)")
                            }
                            Ok(Err(e)) => {
                                tracing::warn!(feed_id = %id, error = %e, "cannot renew the feed's lease")
                            }
                            Err(_) => {}
                        }
                    }
                }
            };
            tokio::select! {
                _ = poller.poll(feed) => {}
                _ = renew => {}
            }
            let now = clock.now();
            let finished =
                tokio::task::spawn_blocking(move || store.finish(&id, slot, &owner, now)).await;
            if let Ok(Err(e)) = finished {
                tracing::warn!(feed_id = %feed.id, error = %e, "cannot release the feed's lease");
            }
            Fired::Polled
        }
        Ok(Ok(Claim::Done)) => {
            tracing::debug!(feed_id = %feed.id, %slot, "slot already polled by another instance");
            Fired::Elsewhere
        }
        Ok(Ok(Claim::Held(until))) => {
            tracing::debug!(feed_id = %feed.id, %slot, %until, "feed leased by another instance");
            Fired::HeldUntil(until)
        }
        Ok(Err(e)) => {
            tracing::warn!(feed_id = %feed.id, error = %e, "cannot claim the feed; skipping this fire");
            Fired::Elsewhere
        }
        Err(e) => {
            tracing::error!(feed_id = %feed.id, error = %e, "claim task failed");
            Fired::Elsewhere
        }
    }
}
