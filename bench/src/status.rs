//! `status`: C clients post GSvar updates of existing jobs, which have all finished (the common case:
//! GSvar polls every job it knows, and most have ended). Each reply must say `finished`.
//!
//! Its two halves, [`finished_jobs`] and [`poll`], are shared with `scale` (which polls the same way
//! before and after filling Redis) and `store` (which measures finished jobs), so that all three make
//! and read jobs alike.

use std::sync::Arc;

use anyhow::bail;

use crate::Bench;
use crate::load::{self, Outcome, Until};
use crate::report::Report;

pub(crate) async fn run(bench: &Bench) -> anyhow::Result<Report> {
    let settings = &bench.settings;
    let ids: Arc<[String]> = finished_jobs(bench, settings.status_jobs).await?.into();
    let polled = poll(bench, move |n| ids[n % ids.len()].clone()).await?;
    Ok(Report::new(
        "status",
        format!(
            "{} clients, {}, {} finished jobs polled",
            settings.clients,
            humantime::format_duration(settings.duration),
            settings.status_jobs
        ),
    )
    .figure(
        "requests_per_s",
        polled.rate(),
        "/s",
        bench.ceilings.map(|c| c.hsets()),
    )
    .latencies("", &polled.latencies)
    .errors(polled.errors, polled.first_error))
}

/// Submits `count` jobs with `--clients` clients and waits until all have ended: their ids. Fails unless
/// every one succeeded, because polling or measuring failed jobs measures the wrong thing.
pub(crate) async fn finished_jobs(bench: &Bench, count: usize) -> anyhow::Result<Vec<String>> {
    let (submitted, _) = load::run_to_end(bench, count).await?;
    Ok(submitted.values)
}

/// `--clients` clients post updates for `--duration`, request n asking for job `pick(n)`; each reply
/// must say `finished` (a reply that does not counts as a failed request).
pub(crate) async fn poll<P>(bench: &Bench, pick: P) -> anyhow::Result<Outcome<()>>
where
    P: Fn(usize) -> String + Clone + Send + Sync + 'static,
{
    let settings = &bench.settings;
    let client = bench.client.clone();
    load::run(
        settings.clients,
        Until::Elapsed(settings.duration),
        move |n| {
            let (client, id) = (client.clone(), pick(n));
            async move {
                let status = client.update(&id).await?;
                if status != "finished" {
                    bail!("job {id} is '{status}', not 'finished'");
                }
                Ok(())
            }
        },
    )
    .await
}
