//! The commands behind the CLI: `serve`, `poll --once`, `check`, `export`.
//!
//! This is the binary's edge inside the library: it opens the store, wires the stages into a
//! [`Service`] and returns `anyhow` errors with context for the binary to print. Tests drive the
//! same functions, so what the CLI does is what the tests check.

use crate::categorize::model::Model;
use crate::categorize::{ModelCategorizer, Overrides, EMBEDDED_MODEL};
use crate::config::{self, Config};
use crate::fetch::{FetchLimits, Fetcher};
use crate::ingest::{FeedReport, Pipeline, PollStatus};
use crate::metrics::Metrics;
use crate::publish::Format;
use crate::reload::Reloader;
use crate::scheduler::{self, NextFires, Scheduler};
use crate::server::{self, AppState};
use crate::store::{Store, StoreError};
use anyhow::Context;
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use crate::config::load_config;

/// The store `[service]` configures: sled in `data_dir`, or PostgreSQL.
pub fn open_configured_store(service: &config::ServiceConfig) -> Result<Store, StoreError> {
    match &service.store {
        config::StoreSpec::Sled => Store::open_with(
            &service.data_dir,
            service.cache_capacity_bytes,
            service.compress_store,
        ),
        config::StoreSpec::Postgres(url) => Store::connect_postgres(url),
    }
}

/// The stages wired together over one store: what `serve` runs and `poll --once` uses.
pub struct Service {
    /// The configuration the service started with (see `reloader` for the one in force).
    pub config: Arc<Config>,
    /// Publishes reloaded configurations.
    pub reloader: Arc<Reloader>,
    /// The scheduler's plan, for the API.
    pub next_fires: NextFires,
    /// The store.
    pub store: Store,
    /// Counters shared by every stage.
    pub metrics: Arc<Metrics>,
    /// The ingest pipeline.
    pub pipeline: Arc<Pipeline>,
}

impl Service {
    /// Opens the store and builds the pipeline.
    pub fn open(config: Config) -> anyhow::Result<Service> {
        let s = &config.service;
        std::fs::create_dir_all(&s.data_dir)
            .with_context(|| format!("cannot create data directory {}", s.data_dir.display()))?;
        // The data directory also holds the trained model and other files, whichever store
        // holds the items.
        let store = open_configured_store(s)?;
        let metrics = Arc::new(Metrics::default());
        let fetcher = Fetcher::new(
            &s.user_agent,
            FetchLimits {
                timeout: s.fetch_timeout,
                max_body: s.max_body_bytes,
                max_redirects: 5,
                max_concurrent: s.max_concurrent_fetches,
                per_host: s.max_fetches_per_host,
                allow_private_addresses: s.allow_private_addresses,
            },
        )?;
        let categorizer = Arc::new(build_categorizer(&config)?);
        let pipeline = Arc::new(Pipeline::new(
            fetcher,
            store.clone(),
            categorizer,
            s.timezone,
            Arc::clone(&metrics),
        ));
        pipeline.set_dedup(config.dedup.clone());
        let reloader = Reloader::new(
            &config.path,
            config.data_dir_override.as_deref(),
            config.clone(),
        );
        Ok(Service {
            config: Arc::new(config),
            reloader,
            next_fires: NextFires::default(),
            store,
            metrics,
            pipeline,
        })
    }
}

/// What `poll --once` did, over all feeds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollSummary {
    /// Feeds fetched and stored.
    pub ok: usize,
    /// Feeds unchanged since the last poll.
    pub not_modified: usize,
    /// Feeds that failed, with the reason.
    pub failed: Vec<(String, String)>,
    /// Entries stored for the first time.
    pub new: usize,
    /// Entries already stored, unchanged.
    pub duplicate: usize,
    /// Entries already stored whose content changed.
    pub updated: usize,
}

impl PollSummary {
    /// Adds up per-feed reports.
    pub fn from_reports(reports: &[FeedReport]) -> PollSummary {
        let mut s = PollSummary::default();
        for r in reports {
            match &r.status {
                PollStatus::Ok => s.ok += 1,
                PollStatus::NotModified => s.not_modified += 1,
                PollStatus::Failed(m) => s.failed.push((r.feed_id.clone(), m.clone())),
            }
            s.new += r.new;
            s.duplicate += r.duplicate;
            s.updated += r.updated;
        }
        s
    }
}

/// The one-line summary the CLI prints; its shape is a contract scripts rely on.
impl fmt::Display for PollSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "feeds: {} ok, {} not modified, {} failed; items: {} new, {} duplicate",
            self.ok,
            self.not_modified,
            self.failed.len(),
            self.new,
            self.duplicate
        )
    }
}

/// Polls every enabled feed once and flushes the store. A progress bar is drawn on stderr when
/// it is a terminal and `progress` is set.
pub async fn poll_once(service: &Service, progress: bool) -> anyhow::Result<PollSummary> {
    let feeds: Vec<_> = service
        .config
        .feeds
        .iter()
        .filter(|f| f.enabled)
        .cloned()
        .collect();
    let bar = (progress && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(feeds.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} polling [{bar:30}] {pos}/{len} feeds {msg}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        b
    });
    let failures = std::sync::atomic::AtomicUsize::new(0);
    let reports = scheduler::poll_all(Arc::clone(&service.pipeline), &feeds, |r| {
        if let Some(b) = &bar {
            if matches!(r.status, PollStatus::Failed(_)) {
                failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            b.set_message(format!(
                "{} failed · last: {}",
                failures.load(std::sync::atomic::Ordering::Relaxed),
                r.feed_id
            ));
            b.inc(1);
        }
    })
    .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = PollSummary::from_reports(&reports);
    // A store that cannot be written (a full disk, a read-only mount) fails the whole command,
    // with what the poll got done before it.
    let c = &service.config.service;
    let pruned = service
        .store
        .prune(chrono::Utc::now(), c.retention, c.max_items)
        .with_context(|| format!("applying retention (after {summary})"))?;
    if pruned.items > 0 {
        tracing::info!(items = pruned.items, "retention: pruned");
    }
    service
        .store
        .flush()
        .with_context(|| format!("flushing the store (after {summary})"))?;
    Ok(summary)
}

/// Runs the scheduler and the HTTP server on `listener` until `shutdown` turns true, then stops
/// both and flushes the store.
pub async fn run_service(
    service: Service,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    if let Ok(bound) = listener.local_addr() {
        service.reloader.serving_at(bound);
    }
    let (poll_now_tx, poll_now_rx) = tokio::sync::mpsc::unbounded_channel();
    let state = AppState {
        config: service.reloader.subscribe(),
        reloader: Arc::clone(&service.reloader),
        store: service.store.clone(),
        metrics: Arc::clone(&service.metrics),
        next_fires: service.next_fires.clone(),
        cache: Default::default(),
        poll_now: poll_now_tx,
    };
    let scheduler = Scheduler::new(
        Arc::clone(&service.pipeline),
        Arc::clone(&service.metrics),
        service.next_fires.clone(),
    );
    let sched =
        tokio::spawn(scheduler.run(service.reloader.subscribe(), poll_now_rx, shutdown.clone()));
    let watcher = tokio::spawn(Arc::clone(&service.reloader).watch(shutdown.clone()));
    let websub = tokio::spawn(crate::websub::run(
        service.store.clone(),
        Arc::clone(&service.reloader),
        shutdown.clone(),
    ));
    // Retention: at start, then hourly, with the limits of the config in force.
    let maintenance = {
        let store = service.store.clone();
        let reloader = Arc::clone(&service.reloader);
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = tick.tick() => {
                        let c = reloader.current();
                        let store = store.clone();
                        let r = tokio::task::spawn_blocking(move || {
                            store.prune(chrono::Utc::now(), c.service.retention, c.service.max_items)
                        })
                        .await;
                        match r {
                            Ok(Ok(s)) if s.items + s.tombstones > 0 => {
                                tracing::info!(items = s.items, tombstones = s.tombstones, "retention: pruned")
                            }
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) => tracing::error!(error = %e, "retention failed"),
                            Err(e) => tracing::error!(error = %e, "retention task failed"),
                        }
                    }
                }
            }
        })
    };
    // A reload that changes `[categorize]` or `[dedup]` applies to later polls.
    let mut keywords_rx = service.reloader.subscribe();
    let pipeline = Arc::clone(&service.pipeline);
    let mut stop = shutdown.clone();
    let categorizer_task = tokio::spawn(async move {
        keywords_rx.borrow_and_update();
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                r = keywords_rx.changed() => {
                    if r.is_err() {
                        break;
                    }
                    let c = Arc::clone(&keywords_rx.borrow_and_update());
                    match build_categorizer(&c) {
                        Ok(cat) => pipeline.set_categorizer(Arc::new(cat)),
                        Err(e) => tracing::error!(error = %e, "categorizer not reloaded, keeping the running one"),
                    }
                    pipeline.set_dedup(c.dedup.clone());
                }
            }
        }
    });
    let addr = listener.local_addr()?;
    tracing::info!(%addr, public_url = %service.reloader.current().service.public_url, "serving");
    // Shutdown is bounded: from the signal, open connections and running polls get
    // SHUTDOWN_GRACE to finish; what is still running then is abandoned (a poll abandoned
    // before its commit advanced nothing, so its feed is simply fetched again next time).
    let mut signalled = shutdown.clone();
    let deadline = async move {
        let _ = signalled.wait_for(|s| *s).await;
        tokio::time::Instant::now() + SHUTDOWN_GRACE
    };
    let http = server::serve_http(listener, server::router(state), async move {
        let _ = shutdown.wait_for(|s| *s).await;
    });
    tokio::pin!(http);
    tokio::pin!(deadline);
    let mut deadline_at = None;
    loop {
        match deadline_at {
            None => tokio::select! {
                () = &mut http => break,
                at = &mut deadline => deadline_at = Some(at),
            },
            Some(at) => {
                if tokio::time::timeout_at(at, &mut http).await.is_err() {
                    tracing::warn!(grace = ?SHUTDOWN_GRACE, "open HTTP connections abandoned");
                }
                break;
            }
        }
    }
    let at = deadline_at.unwrap_or_else(|| tokio::time::Instant::now() + SHUTDOWN_GRACE);
    for (name, mut task) in [
        ("retention", maintenance),
        ("websub", websub),
        ("scheduler", sched),
        ("config watcher", watcher),
        ("categorizer", categorizer_task),
    ] {
        match tokio::time::timeout_at(at, &mut task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "{name} task failed"),
            Err(_) => {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "{name} abandoned at shutdown");
                task.abort();
            }
        }
    }
    service
        .store
        .flush()
        .context("flushing the store on shutdown")?;
    tracing::info!("store flushed; bye");
    Ok(())
}

/// How long a shutdown waits for open connections and running polls before abandoning them.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// `feedsift serve`: binds `[service] listen`, runs until SIGINT/SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.service.listen;
    let service = Service::open(config)?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    // The address actually bound (`listen = "127.0.0.1:0"` picks a free port).
    let bound = listener.local_addr().unwrap_or(listen);
    eprintln!("feedsift: serving on http://{bound}/ (Ctrl-C to stop)");
    let served = (*service.config).clone().served_at(bound);
    for name in served.output_names() {
        eprintln!(
            "  {}",
            crate::publish::feed_url(&served.service.public_url, &name, Format::Rss)
        );
    }
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested");
        let _ = tx.send(true);
    });
    run_service(service, listener, rx).await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// `feedsift export`: the output rendered from the store, byte for byte what HTTP serves.
///
/// sled lets one process open a store at a time; when a running `feedsift serve` holds it, the
/// document is fetched from that server instead (`[service] listen`), which renders the same
/// bytes from the same store.
pub async fn export(
    config: Config,
    output: &str,
    format: Format,
    limit: Option<usize>,
) -> anyhow::Result<String> {
    if let Some(l) = limit {
        anyhow::ensure!(
            (1..=config::MAX_LIMIT).contains(&l),
            "--limit must be between 1 and {}",
            config::MAX_LIMIT
        );
    }
    let names = config.output_names();
    anyhow::ensure!(
        config.output(output).is_some(),
        "no such output `{output}`; outputs: {}",
        names.join(", ")
    );
    match open_store(&config) {
        Ok(store) => Ok(server::render_output(
            &config,
            &store,
            output,
            format,
            &crate::config::Filter::default(),
            limit,
        )?
        .expect("output existence checked above")),
        Err(StoreError::Locked { path }) => {
            let mut addr = config.service.listen;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            let mut url = format!("http://{addr}/feeds/{output}.{}", format.extension());
            if let Some(l) = limit {
                url.push_str(&format!("?limit={l}"));
            }
            tracing::info!(store = %path.display(), %url, "store in use by a running feedsift; exporting through it");
            let resp = reqwest::get(&url).await.with_context(|| {
                format!(
                    "{} is in use, and the running service at {url} did not answer",
                    path.display()
                )
            })?;
            anyhow::ensure!(resp.status().is_success(), "{url}: HTTP {}", resp.status());
            Ok(resp.text().await?)
        }
        Err(e) => Err(e.into()),
    }
}

fn open_store(config: &Config) -> Result<Store, StoreError> {
    let s = &config.service;
    if let Err(source) = std::fs::create_dir_all(&s.data_dir) {
        return Err(StoreError::Open {
            path: s.data_dir.clone(),
            source: source.into(),
        });
    }
    open_configured_store(s)
}

/// Where the CLI looks for the config when `--config` is not given.
pub fn default_config_path() -> PathBuf {
    PathBuf::from("feeds.toml")
}

/// `feedsift eval dedup FILE`: runs [`crate::dedup::eval`] with a progress bar on a terminal.
pub fn eval_dedup(
    file: &Path,
    settings: &crate::dedup::DedupSettings,
) -> anyhow::Result<crate::dedup::eval::Report> {
    let pairs = crate::dedup::eval::read_pairs(file)?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(pairs.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} evaluating [{bar:30}] {pos}/{len} pairs",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        b
    });
    let report = crate::dedup::eval::run(&pairs, settings, &|done, _| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}

/// The categorizer a config asks for: its `[categorize] model` (or the shipped one), with its
/// keyword overrides and the feeds' `category_hint`s.
pub fn build_categorizer(config: &Config) -> anyhow::Result<ModelCategorizer> {
    let model = match &config.model_path {
        Some(p) => {
            let bytes = std::fs::read(p)
                .with_context(|| format!("cannot read categorizer model {}", p.display()))?;
            Model::from_bytes(&bytes).with_context(|| p.display().to_string())?
        }
        None => Model::from_bytes(EMBEDDED_MODEL)?,
    };
    let hints = config
        .feeds
        .iter()
        .filter_map(|f| f.category_hint.map(|c| (f.id.clone(), c)))
        .collect();
    Ok(ModelCategorizer::new(
        Arc::new(model),
        Overrides::new(&config.keywords, hints),
    ))
}

/// `feedsift train`: trains on `data`, writes the model to `out`, and returns a report (the dev
/// scores when `dev` is given). Progress on a terminal.
pub fn train(
    data: &[PathBuf],
    out: &Path,
    dev: Option<&Path>,
    epochs: usize,
    seed: u64,
) -> anyhow::Result<String> {
    use crate::categorize::eval::{read_examples, Scores};
    use crate::categorize::model::TrainOptions;
    let mut examples = Vec::new();
    for d in data {
        examples.extend(read_examples(d)?);
    }
    anyhow::ensure!(!examples.is_empty(), "no training examples in {:?}", data);
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(epochs as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} training [{bar:30}] epoch {pos}/{len}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        b
    });
    let opts = TrainOptions {
        epochs,
        seed,
        ..TrainOptions::default()
    };
    let model = Model::train(&examples, &opts, &|e, _| {
        if let Some(b) = &bar {
            b.set_position(e as u64);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let bytes = model.to_bytes();
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    let mut report = format!(
        "trained on {} items: {} features, {} bytes written to {}",
        examples.len(),
        model.len(),
        bytes.len(),
        out.display()
    );
    if let Some(dev) = dev {
        let c = ModelCategorizer::new(Arc::new(model), Overrides::default());
        let scores = Scores::measure(&c, &read_examples(dev)?);
        report.push_str(&format!("\ndev ({}):\n{}", dev.display(), scores.render()));
    }
    Ok(report)
}

/// `feedsift classify`: one item a line in (a title, or `{"title", "summary"}`), one verdict a
/// line out.
pub fn classify_lines(
    c: &ModelCategorizer,
    input: impl std::io::BufRead,
    mut out: impl std::io::Write,
    explain: bool,
    json: bool,
) -> anyhow::Result<()> {
    use crate::categorize::{eval::item_of, model_text, Reason};
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let item = if line.starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("stdin line {}: not JSON", n + 1))?;
            let title = v["title"]
                .as_str()
                .with_context(|| format!("stdin line {}: no \"title\"", n + 1))?;
            item_of(title, v["summary"].as_str().unwrap_or(""))
        } else {
            item_of(line, "")
        };
        let (class, reason) = c.classify_explained(&item);
        let regions: Vec<String> = class
            .regions
            .iter()
            .filter_map(|r| crate::regions::by_code(*r))
            .map(|r| r.name.clone())
            .collect();
        let features = if explain {
            c.model().explain(&model_text(&item), class.category, 8)
        } else {
            Vec::new()
        };
        let why = match &reason {
            Reason::Model => None,
            Reason::Hint(h) => Some(format!("feed category_hint {h}")),
            Reason::Keyword(cat, w) => Some(format!("keyword `{w}` forces {cat}")),
        };
        if json {
            let mut v = serde_json::json!({
                "title": item.title,
                "label": class.category,
                "confidence": (f64::from(class.confidence) * 10_000.0).round() / 10_000.0,
                "runner_up": class.runner_up,
                "regions": regions,
            });
            if explain {
                v["features"] = serde_json::json!(features.iter().map(|(f, w)| serde_json::json!({"feature": f, "weight": (f64::from(*w) * 10_000.0).round() / 10_000.0})).collect::<Vec<_>>());
                v["override"] = serde_json::json!(why);
            }
            writeln!(out, "{v}")?;
        } else {
            write!(
                out,
                "{}\t{:.3}\t{}\t{}",
                class.category,
                class.confidence,
                class.runner_up.map_or("-", |r| r.as_str()),
                if regions.is_empty() {
                    "-".to_string()
                } else {
                    regions.join(",")
                }
            )?;
            if explain {
                let f: Vec<String> = features
                    .iter()
                    .map(|(f, w)| format!("{f}({w:+.2})"))
                    .collect();
                write!(out, "\t{}", f.join(" "))?;
                if let Some(w) = why {
                    write!(out, "\t[{w}]")?;
                }
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

/// `feedsift import-opml`: appends the OPML file's new feeds to the config at `config_path`,
/// validating the result before replacing the file (atomically: a temporary file renamed over
/// it, which a running `serve` then reloads).
pub fn import_opml(
    config_path: &Path,
    opml_path: &Path,
    allow_private: bool,
) -> anyhow::Result<crate::opml::Imported> {
    let opml = std::fs::read_to_string(opml_path)
        .with_context(|| format!("cannot read {}", opml_path.display()))?;
    let toml = match std::fs::read_to_string(config_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("cannot read {}", config_path.display()))
            )
        }
    };
    // An imported list is not the admin's own writing: feeds on loopback, private or
    // link-local addresses are refused unless asked for (`--allow-private`).
    let refuse = |u: &url::Url| -> Option<String> {
        if allow_private {
            return None;
        }
        let host = u.host_str()?.trim_matches(['[', ']']);
        let port = u.port_or_known_default().unwrap_or(80);
        let addrs: Vec<std::net::IpAddr> = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
                .map(|a| a.map(|a| a.ip()).collect())
                .unwrap_or_default(),
        };
        addrs
            .into_iter()
            .find(|a| crate::fetch::is_private_address(*a))
            .map(|a| format!("{host} is a private address ({a}); use --allow-private to import it"))
    };
    let (text, done) = crate::opml::import(&toml, &opml, &refuse)
        .with_context(|| opml_path.display().to_string())?;
    // Never write a config the service would refuse.
    config::parse(&text, config_path)?;
    let tmp = config_path.with_extension("toml.import-tmp");
    std::fs::write(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, config_path)
        .with_context(|| format!("cannot replace {}", config_path.display()))?;
    Ok(done)
}

/// `feedsift migrate --from … --to …`: [`crate::migrate::migrate`] with a progress bar on a
/// terminal (quiet otherwise).
pub fn migrate(from: &str, to: &str) -> anyhow::Result<crate::migrate::Report> {
    use crate::migrate::{migrate, Endpoint};
    let (from, to) = (Endpoint::parse(from)?, Endpoint::parse(to)?);
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} migrating [{bar:30}] {pos}/{len} items ({per_sec}, {eta} left)",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        b
    });
    let report = migrate(&from, &to, &|done, total| {
        if let Some(b) = &bar {
            b.set_length(total.max(done));
            b.set_position(done);
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok(report?)
}
