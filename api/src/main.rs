use std::process::ExitCode;

use anyhow::Context;
use hopper_api::{ApiConfig, AppState};
use hopper_common::{Shutdown, parse_or_exit, telemetry};

// Every request allocates and frees a few dozen small buffers on two threads; glibc's malloc took about
// an eighth of the API's CPU under load (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    // Listening from here on, so a signal during start-up stops the node instead of killing it.
    let shutdown = Shutdown::on_signals();
    // Checked before binding, so a bad setting is reported as such and not as a port in use.
    AppState::from_config(&config).map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (HOPPER_LISTEN)", config.listen))?;
    // The bound address, not the setting: with port 0 the system picks the port, and this says which.
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    // Not "ready" yet: that is said once Redis and RabbitMQ answer, as /readyz says it.
    tracing::info!(
        namespace = %config.connection.namespace,
        "hopper-api listening on http://{address}/qe; ready once Redis and RabbitMQ answer (GET /readyz)"
    );
    hopper_api::serve(config, listener, shutdown).await
}
