//! Shutdown is passed in: binaries turn signals into a [`Shutdown`] and hand it to `run`; libraries
//! never listen for signals themselves, so tests can shut them down at will.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// A stop in two stages, passed into `run` functions: `begin` asks for a graceful stop (finish what is
/// in hand, within a bound), `now` cuts it short. Binaries cancel them on the first and the second
/// SIGTERM or SIGINT ([`Shutdown::on_signals`]); tests cancel them at will.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    pub begin: CancellationToken,
    pub now: CancellationToken,
}

impl Shutdown {
    /// Starts listening for SIGINT and SIGTERM, counting them together: the first begins the
    /// shutdown, the second ends it at once. `docker compose stop` sends SIGTERM and a person at a
    /// terminal presses Ctrl-C, and either may come second.
    ///
    /// Call it inside the Tokio runtime, early in `main`: from then on these signals no longer end the
    /// process by themselves, so one arriving during start-up is kept and seen by whoever awaits
    /// `begin`.
    pub fn on_signals() -> Self {
        let shutdown = Self::default();
        let mut interrupt = listen(SignalKind::interrupt(), "SIGINT");
        let mut terminate = listen(SignalKind::terminate(), "SIGTERM");
        let tokens = [shutdown.begin.clone(), shutdown.now.clone()];
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
        shutdown
    }

    /// Stops at once: both stages.
    pub fn stop_now(&self) {
        self.begin.cancel();
        self.now.cancel();
    }
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
