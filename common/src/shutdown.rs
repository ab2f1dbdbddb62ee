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

/// A stop in two stages, passed into `run` functions: `begin` asks for a graceful stop (finish what is
/// in hand, within a bound), `now` cuts it short. Binaries cancel them on the first and the second
/// SIGTERM or SIGINT ([`Shutdown::on_signals`]); tests cancel them at will.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    pub begin: tokio_util::sync::CancellationToken,
    pub now: tokio_util::sync::CancellationToken,
}

impl Shutdown {
    /// A shutdown driven by this process's signals: the first SIGTERM or SIGINT begins it, a second
    /// one ends it at once.
    pub fn on_signals() -> Self {
        let shutdown = Self::default();
        let tokens = shutdown.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            tokens.begin.cancel();
            shutdown_signal().await;
            tracing::warn!("second signal: stopping at once");
            tokens.now.cancel();
        });
        shutdown
    }

    /// Stops at once: both stages.
    pub fn stop_now(&self) {
        self.begin.cancel();
        self.now.cancel();
    }
}
