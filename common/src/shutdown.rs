use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Completes on the first SIGINT or SIGTERM (what `docker compose stop` and systemd send).
///
/// Binaries pass this future (or a token cancelled by it) into `run`; libraries never listen for signals
/// themselves, so tests can shut them down at will.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// The first and the second SIGINT or SIGTERM, as tokens. The first asks a process to stop gracefully;
/// the second, sent by an operator who will not wait, to stop now.
#[derive(Clone, Debug, Default)]
pub struct ShutdownSignals {
    pub first: CancellationToken,
    pub second: CancellationToken,
}

/// Starts listening for SIGINT and SIGTERM, counting them together: `docker compose stop` sends SIGTERM
/// and a person at a terminal presses Ctrl-C, and either may come second.
///
/// Call it inside the Tokio runtime, early in `main`: from then on these signals no longer end the
/// process by themselves, so one arriving during start-up is kept and seen by whoever awaits `first`.
pub fn shutdown_signals() -> ShutdownSignals {
    let signals = ShutdownSignals::default();
    let mut interrupt = listen(SignalKind::interrupt(), "SIGINT");
    let mut terminate = listen(SignalKind::terminate(), "SIGTERM");
    let tokens = [signals.first.clone(), signals.second.clone()];
    tokio::spawn(async move {
        for (count, token) in tokens.into_iter().enumerate() {
            let name = tokio::select! {
                () = received(&mut interrupt) => "SIGINT",
                () = received(&mut terminate) => "SIGTERM",
            };
            if count == 0 {
                tracing::info!("{name} received, shutting down");
            } else {
                tracing::warn!("{name} received again, stopping now");
            }
            token.cancel();
        }
    });
    signals
}

fn listen(kind: SignalKind, name: &str) -> Option<Signal> {
    signal(kind)
        .inspect_err(|error| tracing::error!(%error, "cannot listen for {name}"))
        .ok()
}

/// Completes on the next delivery of `signal`; never, if it could not be listened for.
async fn received(signal: &mut Option<Signal>) {
    if let Some(signal) = signal
        && signal.recv().await.is_some()
    {
        return;
    }
    std::future::pending::<()>().await;
}
