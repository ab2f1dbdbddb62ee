//! C concurrent clients, each repeating one request until a deadline or until a shared count is used
//! up, timing every request.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::Bench;
use crate::client::Client;
use crate::jobs::{JobTimes, Jobs};
use crate::latencies::Latencies;

/// When the clients stop.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Until {
    /// Start no request after this long.
    Elapsed(Duration),
    /// Make this many requests in all.
    Count(usize),
}

/// What the clients did: the values of the requests that succeeded, the time of each, how many failed
/// (and the first failure, to show), and how long it all took.
#[derive(Debug)]
pub(crate) struct Outcome<T> {
    pub(crate) values: Vec<T>,
    pub(crate) latencies: Latencies,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) elapsed: Duration,
}

impl<T> Outcome<T> {
    /// Successful requests per second.
    pub(crate) fn rate(&self) -> f64 {
        self.values.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// `clients` tasks submitting jobs (the script of `--script`) until `until`: the ids of the jobs.
pub(crate) async fn submits(
    client: &Client,
    clients: usize,
    until: Until,
) -> anyhow::Result<Outcome<String>> {
    let client = client.clone();
    run(clients, until, move |_| {
        let client = client.clone();
        async move { client.submit().await }
    })
    .await
}

/// Submits `count` jobs with `--clients` clients and waits until all have ended: the submits (ids and
/// rate) and each job's state and stamps. Fails unless every one succeeded, because measuring failed
/// jobs measures the wrong thing.
pub(crate) async fn run_to_end(
    bench: &Bench,
    count: usize,
) -> anyhow::Result<(Outcome<String>, Vec<JobTimes>)> {
    let settings = &bench.settings;
    let submitted = submits(&bench.client, settings.clients, Until::Count(count)).await?;
    if let Some(error) = &submitted.first_error {
        bail!("submitting the jobs to measure failed: {error}");
    }
    let times = bench
        .jobs
        .wait_ended(&submitted.values, settings.job_timeout, &settings.queue)
        .await?;
    Jobs::all_succeeded(&times)?;
    Ok((submitted, times))
}

/// Runs `clients` tasks, each calling `request(n)` (n counts requests across all clients) in a loop.
pub(crate) async fn run<T, F, Fut>(
    clients: usize,
    until: Until,
    request: F,
) -> anyhow::Result<Outcome<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<T>> + Send,
{
    let started = Instant::now();
    let issued = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (request, issued) = (request.clone(), issued.clone());
        let mut latencies = Latencies::new()?;
        tasks.push(tokio::spawn(async move {
            let mut values = Vec::new();
            let (mut errors, mut first_error) = (0, None);
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                let more = match until {
                    Until::Elapsed(limit) => started.elapsed() < limit,
                    Until::Count(total) => n < total,
                };
                if !more {
                    break;
                }
                let sent = Instant::now();
                match request(n).await {
                    Ok(value) => {
                        latencies.record(sent.elapsed());
                        values.push(value);
                    }
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{error:#}"));
                    }
                }
            }
            (values, latencies, errors, first_error)
        }));
    }
    let mut outcome = Outcome {
        values: Vec::new(),
        latencies: Latencies::new()?,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (values, latencies, errors, first_error) = task.await?;
        outcome.values.extend(values);
        outcome.latencies.merge(&latencies);
        outcome.errors += errors;
        if outcome.first_error.is_none() {
            outcome.first_error = first_error;
        }
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}
