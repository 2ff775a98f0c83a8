//! The service's wiring: the stages put together over one store.
//!
//! Takes: a validated [`Config`]. Gives: a [`Service`] — the store it names (sled in the data
//! directory or PostgreSQL, [`open_store`]), the fetcher under its limits, the categorizer it asks
//! for ([`build_categorizer`]), the ingest pipeline and the config reloader. Guarantees: nothing
//! runs yet; `poll --once` and `serve` ([`super::run::run_service`]) drive the same wiring, so
//! what one-shot commands and tests check is what the service does.

use crate::categorize::model::Model;
use crate::categorize::{ModelCategorizer, Overrides, EMBEDDED_MODEL};
use crate::config::{Config, ServiceConfig, StoreSpec};
use crate::fetch::{FetchLimits, Fetcher};
use crate::ingest::Pipeline;
use crate::metrics::Metrics;
use crate::reload::Reloader;
use crate::scheduler::NextFires;
use crate::store::{Store, StoreError};
use anyhow::Context;
use std::sync::Arc;

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
    /// What the HTTP handlers share, over this service's store, configuration and metrics;
    /// `poll_now` receives the feed ids an admin asks to poll.
    pub fn app_state(
        &self,
        poll_now: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> crate::server::AppState {
        crate::server::AppState::new(crate::server::Shared {
            config: self.reloader.subscribe(),
            reloader: std::sync::Arc::clone(&self.reloader),
            store: self.store.clone(),
            metrics: std::sync::Arc::clone(&self.metrics),
            next_fires: self.next_fires.clone(),
            cache: Default::default(),
            poll_now,
            sessions: Default::default(),
            clock: self.pipeline.clock().clone(),
        })
    }

    /// Opens the store and builds the pipeline.
    pub fn open(config: Config) -> anyhow::Result<Service> {
        let s = &config.service;
        std::fs::create_dir_all(&s.data_dir)
            .with_context(|| format!("cannot create data directory {}", s.data_dir.display()))?;
        // The data directory also holds the trained model and other files, whichever store
        // holds the items.
        let store = open_store(s)?;
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

/// The store `[service]` configures: sled in `data_dir` (with its cache size and compression),
/// or PostgreSQL.
pub fn open_store(service: &ServiceConfig) -> Result<Store, StoreError> {
    match &service.store {
        StoreSpec::Sled => Store::open_with(
            &service.data_dir,
            service.cache_capacity_bytes,
            service.compress_store,
        ),
        StoreSpec::Postgres(url) => Store::connect_postgres(url),
    }
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
