//! `status`: C clients post GSvar updates of existing jobs, which have all finished (the common case:
//! GSvar polls every job it knows, and most have ended). Each reply must say `finished`.

use std::sync::Arc;

use anyhow::bail;

use crate::Bench;
use crate::jobs::Jobs;
use crate::load::{self, Until};
use crate::report::Report;

pub(crate) async fn run(bench: &Bench) -> anyhow::Result<Report> {
    let settings = &bench.settings;
    let submitted = load::submits(
        &bench.client,
        settings.clients,
        Until::Count(settings.status_jobs),
    )
    .await?;
    if let Some(error) = submitted.first_error {
        bail!("submitting the jobs to poll failed: {error}");
    }
    let times = bench
        .jobs
        .wait_ended(&submitted.values, settings.job_timeout, &settings.queue)
        .await?;
    Jobs::all_succeeded(&times)?;

    let ids: Arc<[String]> = submitted.values.into();
    let client = bench.client.clone();
    let polled = load::run(
        settings.clients,
        Until::Elapsed(settings.duration),
        move |n| {
            let (client, ids) = (client.clone(), ids.clone());
            async move {
                let id = &ids[n % ids.len()];
                let status = client.update(id).await?;
                if status != "finished" {
                    bail!("job {id} is '{status}', not 'finished'");
                }
                Ok(())
            }
        },
    )
    .await?;
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
