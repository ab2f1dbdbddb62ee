//! `nodes`: submit and status throughput through 1, 2, ... N API nodes of one deployment (`--url`, then
//! each `--node-url`), each step's clients spread evenly over its nodes, as a ratio to one node. With
//! each step, the CPU each part of the machine took: on a small host the nodes share the cores with
//! Redis, RabbitMQ and this load generator, and that, more than Hopper's code, bounds the figures.
//!
//! Submits go to `--idle-queue` when given, a queue no worker serves, so that no job runs during the
//! measurement and takes CPU from what is measured.

use std::sync::Arc;

use anyhow::bail;

use crate::Bench;
use crate::client::Client;
use crate::cpu::Watched;
use crate::load::{self, Until};
use crate::report::Report;

pub(crate) async fn run(bench: &Bench) -> anyhow::Result<Report> {
    let settings = &bench.settings;
    let queue = settings.idle_queue.as_deref().unwrap_or(&settings.queue);
    let mut nodes = vec![Client::to(settings, &settings.url, queue)?];
    for url in &settings.node_url {
        nodes.push(Client::to(settings, url, queue)?);
    }
    let ids: Arc<[String]> = crate::status::finished_jobs(bench, settings.status_jobs)
        .await?
        .into();
    let pids: Vec<u32> = settings
        .api_pid
        .iter()
        .chain(&settings.node_pid)
        .copied()
        .collect();
    let watched = Watched::new(&pids);
    let mut report = Report::new(
        "nodes",
        format!(
            "{} clients spread over 1..{} API nodes, {} per step and request kind",
            settings.clients,
            nodes.len(),
            humantime::format_duration(settings.duration)
        ),
    );
    let (mut first_submit, mut first_status) = (0.0, 0.0);
    let (mut errors, mut first_error) = (0, None);
    for k in 1..=nodes.len() {
        let step: Arc<[Client]> = nodes[..k].into();
        let before = watched.read();
        let submitted = {
            let step = step.clone();
            load::run(
                settings.clients,
                Until::Elapsed(settings.duration),
                move |n| {
                    let client = step[n % step.len()].clone();
                    async move { client.submit().await }
                },
            )
            .await?
        };
        let between = watched.read();
        let polled = {
            let (step, ids) = (step.clone(), ids.clone());
            load::run(
                settings.clients,
                Until::Elapsed(settings.duration),
                move |n| {
                    let (client, id) = (step[n % step.len()].clone(), ids[n % ids.len()].clone());
                    async move {
                        let status = client.update(&id).await?;
                        if status != "finished" {
                            bail!("job {id} is '{status}', not 'finished'");
                        }
                        Ok(())
                    }
                },
            )
            .await?
        };
        let after = watched.read();
        if k == 1 {
            (first_submit, first_status) = (submitted.rate(), polled.rate());
        }
        report = report
            .figure(
                &format!("submit_per_s_{k}"),
                submitted.rate(),
                "/s",
                bench.ceilings.map(|c| c.publishes()),
            )
            .figure(
                &format!("submit_ratio_{k}"),
                submitted.rate() / first_submit.max(1e-9),
                "x",
                None,
            )
            .figure(
                &format!("status_per_s_{k}"),
                polled.rate(),
                "/s",
                bench.ceilings.map(|c| c.hsets()),
            )
            .figure(
                &format!("status_ratio_{k}"),
                polled.rate() / first_status.max(1e-9),
                "x",
                None,
            );
        for (what, from, to) in [("submit", &before, &between), ("status", &between, &after)] {
            for (part, share) in watched.shares(from, to) {
                report = report.figure(&format!("cpu_{what}_{k}_{part}"), share, "%", None);
            }
        }
        for outcome_errors in [
            (submitted.errors, submitted.first_error),
            (polled.errors, polled.first_error),
        ] {
            errors += outcome_errors.0;
            if first_error.is_none() {
                first_error = outcome_errors.1;
            }
        }
    }
    Ok(report.errors(errors, first_error))
}
