//! WebSub publisher side: tell the hub when an output gains items.
//!
//! Takes: the store, the config in force (`[service] websub_hub`). Gives: a `publish`
//! notification to the hub (W3C WebSub §7: `hub.mode=publish`, `hub.url=<topic>`) for every
//! format of every output whose newest item changed, so subscribed readers get a push instead of
//! polling. The outputs themselves advertise `rel="hub"` and `rel="self"` (see
//! [`crate::publish::PageLinks`]).
//!
//! It wakes when this process's commits change the stored items ([`Store::changes`], a channel,
//! not a timer), lets a burst of polls settle for [`SETTLE`] so that it makes one round of
//! notifications, and notifies outputs in name order. A hub that fails is logged, not retried:
//! the next change notifies again, and subscribers still poll as a fallback.

use crate::config::{Config, Filter};
use crate::publish::{self, Format};
use crate::reload::Reloader;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The newest item key of every output, now.
fn newest(store: &Store, config: &Config) -> HashMap<String, Option<String>> {
    config
        .output_names()
        .into_iter()
        .filter_map(|n| config.output(&n).map(|o| (n, o)))
        .map(|(n, o)| {
            let key = publish::select(store, &o, &Filter::default(), Some(1), None)
                .ok()
                .and_then(|v| v.first().map(|i| i.key.clone()));
            (n, key)
        })
        .collect()
}

fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// How long a round waits after the first change it sees, so that a burst of commits makes one
/// round of notifications.
pub const SETTLE: Duration = Duration::from_millis(500);

/// Runs until `shutdown` turns true.
pub async fn run(store: Store, reloader: Arc<Reloader>, mut shutdown: watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "websub: no HTTP client");
            return;
        }
    };
    let mut changes = store.changes();
    let mut known = {
        let (s, c) = (store.clone(), reloader.current());
        tokio::task::spawn_blocking(move || newest(&s, &c))
            .await
            .unwrap_or_default()
    };
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            changed = changes.changed() => if changed.is_err() { break },
        }
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tokio::time::sleep(SETTLE) => {}
        }
        changes.borrow_and_update();
        let config = reloader.current();
        let Some(hub) = config.service.websub_hub.clone() else {
            continue;
        };
        let now = {
            let (s, c) = (store.clone(), Arc::clone(&config));
            tokio::task::spawn_blocking(move || newest(&s, &c))
                .await
                .unwrap_or_default()
        };
        let mut names: Vec<&String> = now.keys().collect();
        names.sort();
        for name in names {
            let key = &now[name];
            if key.is_none() || known.get(name) == Some(key) {
                continue;
            }
            for format in [Format::Rss, Format::Atom, Format::Json] {
                let topic = publish::feed_url(&config.service.public_url, name, format);
                let body = format!("hub.mode=publish&hub.url={}", form_escape(&topic));
                let r = client
                    .post(hub.clone())
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
                    .send()
                    .await;
                match r {
                    Ok(resp) if resp.status().is_success() => {
                        tracing::info!(%topic, "websub: hub notified")
                    }
                    Ok(resp) => {
                        tracing::warn!(%topic, status = resp.status().as_u16(), "websub: hub refused")
                    }
                    Err(e) => tracing::warn!(%topic, error = %e, "websub: hub unreachable"),
                }
            }
        }
        known = now;
    }
}
