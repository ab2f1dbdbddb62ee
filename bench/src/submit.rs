//! `submit`: C clients post GSvar submits for as long as `--duration`. Every submit is a real job, so
//! this leaves a backlog for the worker; that is why it runs last.

use crate::Bench;
use crate::load::{self, Until};
use crate::report::Report;

pub(crate) async fn run(bench: &Bench) -> anyhow::Result<Report> {
    let settings = &bench.settings;
    let submitted = load::submits(
        &bench.client,
        settings.clients,
        Until::Elapsed(settings.duration),
    )
    .await?;
    Ok(Report::new(
        "submit",
        format!(
            "{} clients, {}",
            settings.clients,
            humantime::format_duration(settings.duration)
        ),
    )
    .figure(
        "jobs_per_s",
        submitted.rate(),
        "/s",
        bench.ceilings.map(|c| c.publishes()),
    )
    .latencies("", &submitted.latencies)
    .figure("jobs_submitted", submitted.values.len() as f64, "", None)
    .errors(submitted.errors, submitted.first_error))
}
