use std::process::ExitCode;

use hopper_common::{Shutdown, parse_or_exit, telemetry};
use hopper_worker::WorkerConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let config: WorkerConfig = parse_or_exit();
    if let Err(error) = telemetry::init(&config.telemetry) {
        eprintln!("hopper-worker: {error}");
        return ExitCode::from(2);
    }
    // The first SIGTERM drains, a second one stops at once.
    match hopper_worker::run(config, Shutdown::on_signals()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Once, through the logger (which writes to stderr too), so that a log collector gets it in
            // the chosen format and a person reads it once.
            tracing::error!("hopper-worker stopped: {error:#}");
            ExitCode::FAILURE
        }
    }
}
