//! `latency`: on an idle system, one job at a time, submit → started and submit → finished. The start
//! is taken just before the submit is sent; `started` and `ended` are the job's own stamps in Redis
//! (Unix ms), so the figures are exact to a millisecond whatever the poll interval.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::Bench;
use crate::jobs::Jobs;
use crate::latencies::Latencies;
use crate::report::Report;

pub(crate) async fn run(bench: &Bench) -> anyhow::Result<Report> {
    let settings = &bench.settings;
    let mut to_started = Latencies::new()?;
    let mut to_finished = Latencies::new()?;
    for _ in 0..settings.samples {
        let submitted = unix_ms();
        let id = bench.client.submit().await?;
        let times = bench
            .jobs
            .wait_ended(
                std::slice::from_ref(&id),
                settings.job_timeout,
                &settings.queue,
            )
            .await?;
        Jobs::all_succeeded(&times)?;
        let job = times.first().context("Redis returned no job")?;
        let (started, ended) = job
            .started
            .zip(job.ended)
            .with_context(|| format!("job {id} ended without 'started' and 'ended' stamps"))?;
        to_started.record(Duration::from_millis(started.saturating_sub(submitted)));
        to_finished.record(Duration::from_millis(ended.saturating_sub(submitted)));
    }
    Ok(Report::new(
        "latency",
        format!("{} jobs, one at a time", settings.samples),
    )
    .latencies("submit_to_started_", &to_started)
    .latencies("submit_to_finished_", &to_finished))
}

/// Now, in Unix milliseconds, as the worker stamps jobs.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}
