use std::process::ExitCode;

use anyhow::Context;
use hopper_api::{ApiConfig, AppState};
use hopper_common::{parse_or_exit, shutdown_signal, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let config: ApiConfig = parse_or_exit();
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hopper-api: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: ApiConfig) -> anyhow::Result<()> {
    telemetry::init(&config.telemetry).map_err(anyhow::Error::msg)?;
    let state = AppState::from_config(&config).map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (HOPPER_LISTEN)", config.listen))?;
    tracing::info!(
        listen = %config.listen,
        namespace = %config.connection.namespace,
        "hopper-api ready: GSvar's qe_api_base_url is http://{}/qe",
        config.listen
    );
    let sweeping = tokio_util::sync::CancellationToken::new();
    tokio::spawn(hopper_api::sweeper(&state, &config).run(sweeping.clone()));
    let served = hopper_api::run(listener, state, shutdown_signal()).await;
    sweeping.cancel();
    served.context("HTTP server failed")
}
