//! Running a [`Service`]: its background tasks, the HTTP server, and a bounded shutdown.
//!
//! Takes: a [`Service`], a bound listener and a shutdown signal. Gives: the scheduler, the config
//! watcher, WebSub, retention and config-following tasks, and the HTTP API, until the signal.
//! Guarantees: shutdown is bounded — from the signal, open connections and running polls get
//! [`SHUTDOWN_GRACE`] to finish, what still runs then is abandoned (a poll abandoned before its
//! commit advanced nothing, so its feed is simply fetched again next time) — and the store is
//! flushed last.

use super::service::Service;
use super::tasks;
use crate::scheduler::Scheduler;
use crate::server::{self, AppState};
use anyhow::Context;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long a shutdown waits for open connections and running polls before abandoning them.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A spawned background task and the name its shutdown is logged under.
type Task = (&'static str, JoinHandle<()>);

/// Runs the scheduler and the HTTP server on `listener` until `shutdown` turns true, then stops
/// both and flushes the store.
pub async fn run_service(
    service: Service,
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    if let Ok(bound) = listener.local_addr() {
        service.reloader.serving_at(bound);
    }
    let (poll_now_tx, poll_now_rx) = mpsc::unbounded_channel();
    let state = service.app_state(poll_now_tx);
    let tasks = spawn_tasks(&service, poll_now_rx, &shutdown);
    let addr = listener.local_addr()?;
    tracing::info!(%addr, public_url = %service.reloader.current().service.public_url, "serving");
    let at = serve_http(listener, state, shutdown).await;
    join_tasks(tasks, at).await;
    service
        .store
        .flush()
        .context("flushing the store on shutdown")?;
    tracing::info!("store flushed; bye");
    Ok(())
}

/// Spawns the background tasks; they are returned in the order shutdown waits for them.
fn spawn_tasks(
    service: &Service,
    poll_now: mpsc::UnboundedReceiver<String>,
    shutdown: &watch::Receiver<bool>,
) -> Vec<Task> {
    let scheduler = Scheduler::new(
        Arc::clone(&service.pipeline),
        Arc::clone(&service.metrics),
        service.next_fires.clone(),
    );
    let sched =
        tokio::spawn(scheduler.run(service.reloader.subscribe(), poll_now, shutdown.clone()));
    let watcher = tokio::spawn(Arc::clone(&service.reloader).watch(shutdown.clone()));
    let websub = tokio::spawn(crate::websub::run(
        service.store.clone(),
        Arc::clone(&service.reloader),
        shutdown.clone(),
    ));
    let retention = tokio::spawn(tasks::retention::run(
        service.store.clone(),
        Arc::clone(&service.reloader),
        service.pipeline.clock().clone(),
        shutdown.clone(),
    ));
    // A reload that changes `[categorize]` or `[dedup]` applies to later polls.
    let follow = tokio::spawn(tasks::follow_config::run(
        service.reloader.subscribe(),
        Arc::clone(&service.pipeline),
        shutdown.clone(),
    ));
    vec![
        ("retention", retention),
        ("websub", websub),
        ("scheduler", sched),
        ("config watcher", watcher),
        ("categorizer", follow),
    ]
}

/// Serves HTTP until `shutdown` turns true and open connections close, or [`SHUTDOWN_GRACE`]
/// after the signal; returns that deadline, which the background tasks get too.
async fn serve_http(
    listener: TcpListener,
    state: AppState,
    mut shutdown: watch::Receiver<bool>,
) -> Instant {
    let mut signalled = shutdown.clone();
    let deadline = async move {
        let _ = signalled.wait_for(|s| *s).await;
        Instant::now() + SHUTDOWN_GRACE
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
    deadline_at.unwrap_or_else(|| Instant::now() + SHUTDOWN_GRACE)
}

/// Waits for each task until `at`; what has not finished by then is aborted.
async fn join_tasks(tasks: Vec<Task>, at: Instant) {
    for (name, mut task) in tasks {
        match tokio::time::timeout_at(at, &mut task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "{name} task failed"),
            Err(_) => {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "{name} abandoned at shutdown");
                task.abort();
            }
        }
    }
}
