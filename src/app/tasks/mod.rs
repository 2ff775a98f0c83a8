//! The service's own background tasks, besides the scheduler, the config watcher
//! ([`crate::reload::Reloader::watch`]) and WebSub, which live with their stages.
//!
//! Takes: handles from the [`super::Service`] and the shutdown signal. Gives: futures that
//! [`super::run::run_service`] spawns. Guarantees: each task ends when shutdown turns true and
//! logs, never returns, its failures, so one failing round does not stop the service.

pub mod follow_config;
pub mod retention;
