//! `hopper-bench`, Hopper's load generator. It starts nothing itself: it drives API nodes and workers that
//! are already running, over GSvar's protocol (`POST /qe`), and reads Redis and RabbitMQ directly only to
//! see when jobs started and ended and to measure the ceilings the broker and the store allow.
//!
//! - [`Settings`]: the flags;
//! - `client`: GSvar's two requests, submit and update;
//! - `load`: C concurrent clients repeating one request, until a deadline or a count;
//! - `latencies`: percentiles of request times (an HDR histogram);
//! - `jobs`: reads job hashes from Redis, to see when jobs started and ended;
//! - `memory`: peak resident memory of the API node and the worker during a scenario;
//! - `report`: one table per scenario, or one JSON line;
//! - `cpu`: the CPU time the API nodes, Redis, RabbitMQ and the bench take during a measurement;
//! - one file per scenario: `ceiling`, `latency`, `status`, `scale`, `store`, `drain`, `nodes`,
//!   `submit`.

mod ceiling;
mod client;
mod cpu;
mod drain;
mod jobs;
mod latencies;
mod latency;
mod listing;
mod load;
mod memory;
mod nodes;
mod redis_memory;
mod report;
mod scale;
mod settings;
mod status;
mod store;
mod submit;

pub use settings::{Scenario, Settings};

use anyhow::Context;

use crate::ceiling::Ceilings;
use crate::client::Client;
use crate::jobs::Jobs;
use crate::memory::MemoryWatch;
use crate::report::Report;

/// Everything a scenario needs: the settings (already shrunk for `--smoke`), the API client, the job
/// reader and the ceilings measured so far.
#[derive(Debug)]
struct Bench {
    settings: Settings,
    client: Client,
    jobs: Jobs,
    ceilings: Option<Ceilings>,
}

/// Runs the chosen scenarios in a fixed order ([`Scenario::ORDER`]: ceiling first, so the others can be
/// stated as a share of it; submit last, because it leaves a backlog of jobs for the worker), printing each report as soon as
/// it is done. Fails if any scenario saw an error, after printing them all, so that `--smoke` catches a
/// Hopper that answers but does not work.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let settings = settings.effective();
    let client = Client::new(&settings)?;
    let jobs = Jobs::new(&settings)?;
    client.check().await.with_context(|| {
        format!(
            "cannot reach Hopper at {}: start it (scripts/run-local) or pass --url and --token",
            settings.url
        )
    })?;
    let mut bench = Bench {
        settings,
        client,
        jobs,
        ceilings: None,
    };
    let mut failures = Vec::new();
    for scenario in Scenario::ORDER {
        if !bench.settings.scenario.contains(&scenario) {
            continue;
        }
        let watch = MemoryWatch::start(bench.settings.api_pid, bench.settings.worker_pid);
        let outcome = match scenario {
            Scenario::Ceiling => ceiling::run(&mut bench).await,
            Scenario::Latency => latency::run(&bench).await,
            Scenario::Status => status::run(&bench).await,
            Scenario::Scale => scale::run(&bench).await,
            Scenario::Store => store::run(&bench).await,
            Scenario::Drain => drain::run(&bench).await,
            Scenario::Nodes => nodes::run(&bench).await,
            Scenario::Submit => submit::run(&bench).await,
        };
        let memory = watch.stop().await;
        match outcome {
            Ok(mut report) => {
                report.memory = memory;
                report.print(bench.settings.json);
                if let Some(error) = &report.error {
                    failures.push(format!("{}: {error}", scenario.name()));
                }
            }
            Err(error) => {
                let error = format!("{error:#}");
                Report::failed(scenario.name(), &error).print(bench.settings.json);
                failures.push(format!("{}: {error}", scenario.name()));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} scenario(s) failed; fix Hopper or the settings and run again:\n  {}",
            failures.len(),
            failures.join("\n  ")
        )
    }
}
