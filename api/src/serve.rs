//! Serving with a bounded graceful shutdown: when told to stop, a node takes no new connections, gives
//! the requests in flight a grace period, and then returns whether or not they have finished. axum's own
//! graceful shutdown waits for ever, so one client that never finishes sending its body would keep a
//! node from ever stopping.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{AppState, app};

/// Serves `app(state)` on `listener` until `shutdown` completes. It then stops accepting connections,
/// answers `/readyz` with 503, and waits for the requests in flight for at most `grace`, or until
/// `force` completes, whichever comes first. Requests still running then are dropped (their
/// connections close when the process exits). `force` matters only once `shutdown` has completed.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    force: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    // Each run has its own flag, so states cloned into several servers (tests do this) do not stop
    // one another.
    let shutting_down = CancellationToken::new();
    let state = AppState {
        shutting_down: shutting_down.clone(),
        ..state
    };
    let begin = {
        let shutting_down = shutting_down.clone();
        async move {
            shutdown.await;
            shutting_down.cancel();
        }
    };
    let server = axum::serve(listener, app(state)).with_graceful_shutdown(begin);
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = &mut server => return result,
        () = shutting_down.cancelled() => {}
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
        () = force => {
            tracing::warn!("told to stop now; dropping the requests still in flight");
            Ok(())
        }
    }
}
