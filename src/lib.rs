//! feedsift: a filtered-feed aggregator.
//!
//! It polls RSS, Atom and JSON feeds on cron schedules, normalises their entries, stores each
//! story once, labels it (`regional_politics`, `finance`, `lifestyle`, `other`) and republishes
//! filtered feeds over HTTP.
//!
//! # Layout, in pipeline order
//!
//! Data flows one way, through the plain types in [`model`]:
//!
//! - [`config`] — `feeds.toml` into a typed, validated [`config::Config`], one file per table;
//!   errors name file:line:col. It imports no stage; stages take their settings from it
//!   ([`config::DedupSettings`] for [`dedup`]; [`config::StoreSpec`] names the store [`app`] opens).
//!   [`reload`] publishes each valid new version while the service runs.
//! - [`scheduler`] — *when* each feed is polled: cron in the feed's time zone with per-feed
//!   jitter, backoff, server and feed hints; one poll per feed at a time.
//! - [`ingest`] — *doing* one poll: runs a feed through the stages below and records its
//!   [`model::FeedState`].
//! - [`fetch`] — one bounded, conditional HTTP GET under global and per-host limits; raw bytes out.
//! - [`normalize`] — bytes to [`model::Item`]s: charset decoding, parsing (feed-rs), sanitising,
//!   absolute URLs, timestamps.
//! - [`dedup`] — which entries are new stories, edits or copies (exact keys, decorated-title
//!   near-duplicates); one store batch per response.
//! - [`store`] — items, indexes, feed state and polling leases behind one trait: sled (embedded,
//!   the default) or PostgreSQL (several instances); one transaction per response; retention;
//!   item records in a versioned binary encoding ([`store::record`]); sled's near-duplicate
//!   index in memory ([`store::near_mem`]).
//! - [`categorize`] — the trained model's label, confidence and runner-up, and the regions named.
//! - [`publish`] — stored items to RSS 2.0, Atom and JSON Feed, through an output's filter.
//! - [`server`] — the HTTP face (axum): feeds (render cache, RFC 5005 pages, conditional GET),
//!   JSON API, index page, health, metrics; one file per concern, failures typed as
//!   [`server::ApiError`], store reads through one blocking boundary.
//!
//! Around them: [`app`] — the CLI and the service it runs: [`app::cmd`] (one file per command,
//! `demo`'s bundled sample feeds included), [`app::service`] (the stages wired over the store a
//! config names), [`app::run`] (the running service and its bounded shutdown) and
//! [`app::tasks`] (its retention and config-following tasks); [`migrate`] (moving a store
//! between backends), [`opml`] (feed lists into `feeds.toml`), [`metrics`] (Prometheus
//! counters, fed plain counts), [`text`] (small text helpers), [`regions`] (China's administrative divisions) and
//! [`jsonl`] (labelled data files).
//!
//! Time comes from one [`clock::Clock`], injectable, so every schedule, lease and retention
//! test runs on paused time.
//!
//! # Layers
//!
//! A module may use only modules of lower layers, so no import cycle can come back;
//! `tests/layering.rs` checks it on every test run (and that no function outgrows 120 lines):
//!
//! 0. `text`, `jsonl`, `regions`, `metrics`, `clock` — leaves: text helpers, data files,
//!    China's divisions, counters fed plain numbers, time.
//! 1. `model`, `fetch` — the plain types the stages share; one HTTP GET.
//! 2. `config`, `store`, `normalize`, `categorize` — configuration; storage of opaque keys and
//!    records; the stages that need nothing stored.
//! 3. `dedup`, `publish`, `migrate`, `opml` — what reads the store or the configuration.
//! 4. `ingest`, `reload` — one poll end to end; the configuration while running.
//! 5. `scheduler`, `websub` — when to poll; telling hubs.
//! 6. `server` — the HTTP face.
//! 7. `app` — the commands and the running service.

#![warn(missing_docs)]

pub mod app;
pub mod categorize;
pub mod clock;
pub mod config;
pub mod dedup;
pub mod fetch;
pub mod ingest;
pub mod jsonl;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod normalize;
pub mod opml;
pub mod publish;
pub mod regions;
pub mod reload;
pub mod scheduler;
pub mod server;
pub mod store;
pub mod text;
pub mod websub;
