//! Hot reload of `feeds.toml` while the service runs.
//!
//! Takes: the config file's path. Gives: every valid new version of the config on a
//! `watch` channel that the scheduler, the HTTP server and the categorizer follow. Triggers:
//! a change to the file (the *directory* is watched, because editors save by writing a temporary
//! file and renaming it over the original, after which a watch on the file itself goes silent),
//! SIGHUP, and `POST /api/reload`. File events are debounced: a burst of writes becomes one
//! reload once the directory has been quiet for [`DEBOUNCE`].
//!
//! Guarantees: a config that fails validation is rejected — the error (`PATH:LINE:COL: message`)
//! is logged and returned to the API caller — and the running config stays in force. A file
//! whose text did not change is not re-published, so touching it re-polls nothing.
//! `[service]` settings that are bound at start-up (listen address, data directory, fetch
//! limits, user agent, cache size) are reported as needing a restart; everything else applies
//! at once.

use crate::config::{load_config, Config, ConfigError};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long the config directory must be quiet before a change is read.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReloadReport {
    /// Whether a new config was published (false when the text was unchanged).
    pub applied: bool,
    /// Feed ids that are new.
    pub added: Vec<String>,
    /// Feed ids that are gone.
    pub removed: Vec<String>,
    /// Feed ids whose polling settings changed (they are re-planned).
    pub changed: Vec<String>,
    /// How many feeds are untouched (they keep their schedule and are not re-polled).
    pub unchanged: usize,
    /// `[service]` keys that changed but only take effect after a restart.
    pub needs_restart: Vec<&'static str>,
}

/// Owns the current config and publishes new ones.
pub struct Reloader {
    path: PathBuf,
    data_dir: Option<PathBuf>,
    tx: watch::Sender<Arc<Config>>,
    /// The text of the config in force; also serialises reloads. A std mutex: reloads are
    /// short and synchronous.
    text: Mutex<String>,
    /// The address the HTTP server actually bound, once it has: every published config is
    /// adjusted to it ([`Config::served_at`]), reloads included.
    bound: Mutex<Option<SocketAddr>>,
    /// Counts reload attempts, whatever triggered them and however they ended.
    attempts: watch::Sender<u64>,
    /// The config the service started with: `[service]` keys bound at start-up are compared
    /// with it, not with the last config published, so setting one back to its running value
    /// needs no restart.
    running: Arc<Config>,
}

impl Reloader {
    /// A reloader for the config at `path` (with the CLI's `--data-dir` override, if any),
    /// starting from `initial`.
    pub fn new(path: &Path, data_dir: Option<&Path>, initial: Config) -> Arc<Reloader> {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let initial = Arc::new(initial);
        let running = Arc::clone(&initial);
        let (tx, _) = watch::channel(initial);
        Arc::new(Reloader {
            path: path.to_path_buf(),
            data_dir: data_dir.map(Path::to_path_buf),
            tx,
            text: Mutex::new(text),
            bound: Mutex::new(None),
            attempts: watch::channel(0).0,
            running,
        })
    }

    /// Records that the server listens on `bound` and republishes the config in force
    /// adjusted to it. Call it before subscribing, so no receiver sees it as a change.
    pub fn serving_at(&self, bound: SocketAddr) {
        let _text = self.text.lock().expect("reload lock poisoned");
        *self.bound.lock().expect("bound address lock poisoned") = Some(bound);
        let adjusted = (*self.current()).clone().served_at(bound);
        self.tx.send_replace(Arc::new(adjusted));
    }

    /// A receiver that sees every published config (starting with the current one).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.tx.subscribe()
    }

    /// The config in force.
    pub fn current(&self) -> Arc<Config> {
        Arc::clone(&self.tx.borrow())
    }

    /// Reads and validates the file; publishes it if it changed. On error the running config
    /// stays in force.
    pub fn reload(&self) -> Result<ReloadReport, ConfigError> {
        let result = self.reload_inner();
        self.attempts.send_modify(|n| *n += 1);
        result
    }

    /// The number of reload attempts so far (file change, SIGHUP, API), as a channel that wakes
    /// on each: a test or a supervisor can wait for "the file change was seen" as an event.
    pub fn attempts(&self) -> watch::Receiver<u64> {
        self.attempts.subscribe()
    }

    fn reload_inner(&self) -> Result<ReloadReport, ConfigError> {
        let mut text = self.text.lock().expect("reload lock poisoned");
        let new_text = std::fs::read_to_string(&self.path).map_err(|source| ConfigError::Io {
            path: self.path.clone(),
            source,
        })?;
        let old = self.current();
        if *text == new_text {
            // Nothing new to publish; the same report as for the reload that published it
            // (feeds compared with themselves: all unchanged), with `applied: false`.
            return Ok(ReloadReport {
                applied: false,
                ..report(&old, &old, &self.running.service)
            });
        }
        let mut new = load_config(&self.path, self.data_dir.as_deref())?;
        if let Some(bound) = *self.bound.lock().expect("bound address lock poisoned") {
            new = new.served_at(bound);
        }
        let report = report(&old, &new, &self.running.service);
        *text = new_text;
        self.tx.send_replace(Arc::new(new));
        tracing::info!(
            added = ?report.added, removed = ?report.removed, changed = ?report.changed,
            unchanged = report.unchanged, "config reloaded"
        );
        if !report.needs_restart.is_empty() {
            tracing::warn!(keys = ?report.needs_restart, "these [service] settings take effect after a restart");
        }
        Ok(report)
    }

    /// Reloads on file changes (debounced) and on SIGHUP until `shutdown` turns true.
    pub async fn watch(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<()>();
        let file_name = self.path.file_name().map(|n| n.to_os_string());
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // The watcher lives as long as this task; dropping it stops the OS watch.
        let _watcher = {
            use notify::Watcher;
            let handler = move |res: notify::Result<notify::Event>| {
                if let Ok(ev) = res {
                    let ours = ev
                        .paths
                        .iter()
                        .any(|p| p.file_name().map(|n| n.to_os_string()) == file_name);
                    if ours {
                        let _ = ev_tx.send(());
                    }
                }
            };
            match notify::recommended_watcher(handler) {
                Ok(mut w) => match w.watch(&dir, notify::RecursiveMode::NonRecursive) {
                    Ok(()) => Some(w),
                    Err(e) => {
                        tracing::warn!(dir = %dir.display(), error = %e, "cannot watch the config directory; reload with SIGHUP or POST /api/reload");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "no file watcher; reload with SIGHUP or POST /api/reload");
                    None
                }
            }
        };
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let sighup = async {
                match hup.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let sighup = std::future::pending::<()>();
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = sighup => {
                    tracing::info!("SIGHUP: reloading config");
                    self.reload_logged();
                }
                Some(()) = ev_rx.recv() => {
                    // Debounce: wait until no event has come for DEBOUNCE.
                    while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, ev_rx.recv()).await {}
                    self.reload_logged();
                }
            }
        }
    }

    fn reload_logged(&self) {
        if let Err(e) = self.reload() {
            tracing::error!("config rejected, keeping the running one: {e}");
        }
    }
}

/// The one computation behind every reload's report (logged, and answered to
/// `POST /api/reload`): feeds as [`diff`] compares them, and `needs_restart` against the
/// `[service]` settings the service is `running` with.
fn report(old: &Config, new: &Config, running: &crate::config::ServiceConfig) -> ReloadReport {
    ReloadReport {
        needs_restart: needs_restart(running, &new.service),
        ..diff(old, new)
    }
}

/// What changed between two configs: feeds (enabled ones; `unchanged` counts those kept as
/// they were), and `[service]` keys bound at start-up that differ ([`needs_restart`]).
pub fn diff(old: &Config, new: &Config) -> ReloadReport {
    let enabled = |c: &Config| -> Vec<crate::config::FeedConfig> {
        c.feeds.iter().filter(|f| f.enabled).cloned().collect()
    };
    let (o, n) = (enabled(old), enabled(new));
    let mut r = ReloadReport {
        applied: true,
        ..Default::default()
    };
    for f in &n {
        match o.iter().find(|x| x.id == f.id) {
            None => r.added.push(f.id.clone()),
            Some(x) if !x.same_polling(f) => r.changed.push(f.id.clone()),
            Some(_) => r.unchanged += 1,
        }
    }
    for f in &o {
        if !n.iter().any(|x| x.id == f.id) {
            r.removed.push(f.id.clone());
        }
    }
    r.needs_restart = needs_restart(&old.service, &new.service);
    r
}

/// The `[service]` keys bound at start-up whose value differs between `a` and `b`.
pub fn needs_restart(
    a: &crate::config::ServiceConfig,
    b: &crate::config::ServiceConfig,
) -> Vec<&'static str> {
    let checks: [(&'static str, bool); 8] = [
        ("listen", a.listen != b.listen),
        ("data_dir", a.data_dir != b.data_dir),
        ("user_agent", a.user_agent != b.user_agent),
        ("fetch_timeout_secs", a.fetch_timeout != b.fetch_timeout),
        ("max_body_bytes", a.max_body_bytes != b.max_body_bytes),
        (
            "max_concurrent_fetches",
            a.max_concurrent_fetches != b.max_concurrent_fetches,
        ),
        (
            "max_fetches_per_host",
            a.max_fetches_per_host != b.max_fetches_per_host,
        ),
        (
            "cache_capacity_mb",
            a.cache_capacity_bytes != b.cache_capacity_bytes,
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, c)| *c)
        .map(|(k, _)| k)
        .collect()
}
