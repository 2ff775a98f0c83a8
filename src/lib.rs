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
//! - [`config`] — `feeds.toml` into a typed, validated [`config::Config`]; errors name file:line:col.
//! - [`scheduler`] — *when* each feed is polled: cron in the service time zone, one poll per feed
//!   at a time, a service-wide concurrency limit.
//! - [`ingest`] — *doing* one poll: runs a feed through the stages below and records its
//!   [`model::FeedState`].
//! - [`fetch`] — one bounded, conditional HTTP GET; raw bytes out.
//! - [`normalize`] — bytes to [`model::Item`]s: charset decoding, parsing (feed-rs), sanitising,
//!   absolute URLs, timestamps.
//! - [`dedup`] — the canonical key that makes the same story one item.
//! - [`store`] — items and feed state in sled.
//! - [`categorize`] — the label, confidence and runner-up of an item.
//! - [`publish`] — stored items to RSS 2.0, Atom and JSON Feed, through an output's filter.
//! - [`server`] — the HTTP face (axum): feeds, index page, health, metrics.
//!
//! Around them: [`app`] (the CLI commands), [`demo`] (bundled sample feeds), [`metrics`]
//! (Prometheus counters) and [`text`] (small text helpers).

#![warn(missing_docs)]

pub mod app;
pub mod categorize;
pub mod config;
pub mod dedup;
pub mod demo;
pub mod fetch;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod publish;
pub mod regions;
pub mod reload;
pub mod scheduler;
pub mod server;
pub mod store;
pub mod text;
