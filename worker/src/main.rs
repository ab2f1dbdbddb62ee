use std::process::ExitCode;

use hopper_common::{parse_or_exit, shutdown_signal, telemetry};
use hopper_worker::WorkerConfig;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    let config: WorkerConfig = parse_or_exit();
    if let Err(error) = telemetry::init(&config.telemetry) {
        eprintln!("hopper-worker: {error}");
        return ExitCode::from(2);
    }
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            shutdown.cancel();
        }
    });
    match hopper_worker::run(config, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("hopper-worker stopped: {error:#}");
            eprintln!("hopper-worker: {error:#}");
            ExitCode::FAILURE
        }
    }
}
