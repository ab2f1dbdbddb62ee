//! `drain`: N trivial jobs submitted by C clients and run to the end by the workers; the time from the
//! first submit until the last job ended (the latest `ended` stamp in Redis), and jobs/s over it.

use std::time::Duration;

use crate::Bench;
use crate::latency::unix_ms;
use crate::load;
use crate::report::Report;

pub(crate) async fn run(bench: &Bench) -> anyhow::Result<Report> {
    let settings = &bench.settings;
    let first_submit = unix_ms();
    let (submitted, times) = load::run_to_end(bench, settings.jobs).await?;
    let last_end = times
        .iter()
        .filter_map(|t| t.ended)
        .max()
        .unwrap_or(first_submit);
    let took = Duration::from_millis(last_end.saturating_sub(first_submit).max(1));
    let jobs_per_s = settings.jobs as f64 / took.as_secs_f64();
    Ok(Report::new(
        "drain",
        format!("{} jobs, {} submitters", settings.jobs, settings.clients),
    )
    .figure("seconds", took.as_secs_f64(), "s", None)
    .figure(
        "jobs_per_s",
        jobs_per_s,
        "/s",
        bench.ceilings.map(|c| c.publishes()),
    )
    .figure("submits_per_s", submitted.rate(), "/s", None))
}
