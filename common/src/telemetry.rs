//! Logging, set up once per process.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, TelemetryArgs};

/// Installs the global subscriber. Fails if the filter does not parse.
pub fn init(args: &TelemetryArgs) -> Result<(), String> {
    let filter = EnvFilter::try_new(with_quiet_lapin(&args.log)).map_err(|e| {
        format!(
            "HOPPER_LOG / --log: '{}' is not a log filter: {e}",
            args.log
        )
    })?;
    // Colours only for a person at a terminal, not in log files or `docker logs`.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let installed = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| format!("cannot install the logger: {e}"))
}

/// lapin logs each broken connection at error, from its own I/O thread, several lines at a time; Hopper
/// logs the same events itself, once per outage and in its own words (see `outage.rs`). So lapin is
/// quiet unless the filter names it (`info,lapin=debug`).
fn with_quiet_lapin(filter: &str) -> String {
    if filter.contains("lapin") {
        filter.to_owned()
    } else {
        format!("{filter},lapin=off")
    }
}

/// For tests: logs to the test harness's captured output, and tolerates being called many times.
pub fn init_for_test() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
