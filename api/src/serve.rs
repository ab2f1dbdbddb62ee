//! Serving with a bounded graceful shutdown: when told to stop, a node takes no new connections, gives
//! the requests in flight a grace period, and then returns whether or not they have finished. axum's own
//! graceful shutdown waits for ever, so one client that never finishes sending its body would keep a
//! node from ever stopping.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use anyhow::Context;
use hopper_common::Shutdown;

use crate::{ApiConfig, AppState, app};

/// Runs a node: its state, the one-off Redis check, its sweeper and its HTTP server on `listener`,
/// until `shutdown` (see [`run`]). What `main` runs, and what the tests run.
pub async fn serve(
    config: ApiConfig,
    listener: TcpListener,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let state = AppState::from_config(&config).map_err(anyhow::Error::msg)?;
    tokio::spawn(crate::check_redis_encoding(state.jobs.store.clone()));
    let sweeping = CancellationToken::new();
    tokio::spawn(crate::sweeper(&state, &config).run(sweeping.clone()));
    tokio::spawn(release_held(
        state.jobs.clone(),
        config.liveness.sweep_interval,
        sweeping.clone(),
    ));
    tokio::spawn(crate::load_history::run(
        state.jobs.clone(),
        config.load_interval,
        sweeping.clone(),
    ));
    let served = run(
        listener,
        state,
        shutdown.begin.cancelled_owned(),
        shutdown.now.cancelled_owned(),
        Stopping {
            unready: config.unready_delay,
            grace: config.shutdown_grace,
        },
    )
    .await;
    sweeping.cancel();
    served.context("HTTP server failed")
}

/// How a node stops: how long it keeps serving, unready, before it stops taking connections, and how
/// long the requests in flight then have.
#[derive(Clone, Copy, Debug)]
pub struct Stopping {
    /// `HOPPER_UNREADY_DELAY`: a load balancer keeps sending to a node until its health checks have
    /// seen `/readyz` fail; a node that closed its listener and its idle keep-alive connections at
    /// once would have those requests cut (HAProxy drops the client's connection without a status).
    pub unready: Duration,
    /// `HOPPER_SHUTDOWN_GRACE`.
    pub grace: Duration,
}

/// Serves `app(state)` on `listener` until `shutdown` completes, checking meanwhile whether Redis and
/// RabbitMQ answer (for `/readyz`, see `readiness.rs`). It then answers `/readyz` with 503 and keeps
/// serving for `stopping.unready`, then stops accepting connections and waits for the requests in
/// flight for at most `stopping.grace`, or until `force` completes, whichever comes first. Requests
/// still running then are dropped (their connections close when the process exits). `force` matters
/// only once `shutdown` has completed.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    force: impl Future<Output = ()>,
    stopping: Stopping,
) -> std::io::Result<()> {
    let grace = stopping.grace;
    // Each run has its own flag, so states cloned into several servers (tests do this) do not stop
    // one another.
    let shutting_down = CancellationToken::new();
    let state = AppState {
        shutting_down: shutting_down.clone(),
        ..state
    };
    // Cancelled when the node stops taking connections: `stopping.unready` after `shutdown`.
    let closing = CancellationToken::new();
    let begin = {
        let (shutting_down, closing) = (shutting_down.clone(), closing.clone());
        async move {
            shutdown.await;
            shutting_down.cancel();
            if !stopping.unready.is_zero() {
                tracing::info!(delay = ?stopping.unready, "not ready (/readyz answers 503); serving on until load balancers have seen it");
                tokio::time::sleep(stopping.unready).await;
            }
            closing.cancel();
        }
    };
    let checking = CancellationToken::new();
    let _stop_checking = checking.clone().drop_guard();
    tokio::spawn(state.readiness.clone().run(
        state.jobs.store.clone(),
        state.jobs.publisher.clone(),
        state.check_interval,
        listener.local_addr()?,
        checking,
    ));
    // The peer's address reaches handlers, which log it with each refused request.
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, service).with_graceful_shutdown(begin);
    let mut server = std::pin::pin!(server.into_future());
    let mut force = std::pin::pin!(force);
    tokio::select! {
        result = &mut server => return result,
        () = closing.cancelled() => {}
        () = &mut force => {
            tracing::warn!("told to stop now");
            return Ok(());
        }
    }
    tracing::info!(
        ?grace,
        "taking no new connections; waiting for the requests in flight"
    );
    tokio::select! {
        result = &mut server => {
            tracing::info!("every request in flight has finished");
            result
        }
        () = tokio::time::sleep(grace) => {
            tracing::warn!(?grace, "shutdown grace (HOPPER_SHUTDOWN_GRACE) is over; dropping the requests still in flight");
            Ok(())
        }
        () = &mut force => {
            tracing::warn!("told to stop now; dropping the requests still in flight");
            Ok(())
        }
    }
}

/// Releases the jobs of resumed job types every `interval`, until `stop`.
async fn release_held(jobs: crate::jobs::Jobs, interval: Duration, stop: CancellationToken) {
    loop {
        if let Err(error) = jobs.release_held().await {
            tracing::debug!(%error, "cannot release the jobs of resumed job types now");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}
