//! Reads job hashes (`<ns>:job:<id>`, see docs/architecture.md) straight from Redis, to see when jobs
//! started and ended. The job's own `started` and `ended` stamps (Unix ms, written by the worker) are
//! used rather than the time the poll saw them, so the poll interval does not blur the figures.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use redis::aio::MultiplexedConnection;
use tokio::sync::OnceCell;

use crate::Settings;

/// How often unfinished jobs are looked at again, while no more than a window of them is left.
const POLL: Duration = Duration::from_millis(5);
/// How often while more are left: the stamps, not the poll, time the jobs, so polling a backlog often
/// only takes CPU from the system under test.
const POLL_BACKLOG: Duration = Duration::from_millis(25);
/// Ids asked for in one pipelined round trip.
pub(crate) const CHUNK: usize = 1000;
/// Unfinished jobs looked at per poll: the oldest ones. Jobs end roughly in the order they were
/// submitted (a queue is FIFO), so the window follows the front; asking for all of ten thousand jobs
/// every few milliseconds would load Redis, on the same cores as Hopper, more than Hopper does.
const WINDOW: usize = 256;

#[derive(Debug, Clone)]
pub(crate) struct Jobs {
    client: redis::Client,
    /// One multiplexed connection, as Hopper itself uses: concurrent requests share it, pipelined.
    connection: OnceCell<MultiplexedConnection>,
    /// Every connect and reply bounded by `--call-timeout`.
    config: redis::AsyncConnectionConfig,
    ns: String,
}

/// What Redis says of one job.
#[derive(Debug, Clone)]
pub(crate) struct JobTimes {
    pub(crate) state: String,
    pub(crate) started: Option<u64>,
    pub(crate) ended: Option<u64>,
}

impl JobTimes {
    fn has_ended(&self) -> bool {
        matches!(self.state.as_str(), "succeeded" | "failed" | "canceled")
    }
}

impl Jobs {
    pub(crate) fn new(settings: &Settings) -> anyhow::Result<Self> {
        let client = redis::Client::open(settings.redis_url.as_str())
            .with_context(|| format!("bad --redis-url {}", settings.redis_url))?;
        Ok(Self {
            client,
            connection: OnceCell::new(),
            config: settings.redis_config(),
            ns: settings.namespace.clone(),
        })
    }

    /// The connections to Hopper's Redis, for scenarios that read or write it beyond job stamps.
    pub(crate) async fn conn(&self) -> anyhow::Result<MultiplexedConnection> {
        let connection = self
            .connection
            .get_or_try_init(|| {
                self.client
                    .get_multiplexed_async_connection_with_config(&self.config)
            })
            .await
            .context("cannot reach Redis")?;
        Ok(connection.clone())
    }

    /// Hopper's namespace: the prefix of every key.
    pub(crate) fn namespace(&self) -> &str {
        &self.ns
    }

    /// The key of job `id`'s hash.
    pub(crate) fn key(&self, id: impl std::fmt::Display) -> String {
        format!("{}:job:{id}", self.ns)
    }

    /// The state and stamps of each job, in the order of `ids`.
    pub(crate) async fn times(&self, ids: &[String]) -> anyhow::Result<Vec<JobTimes>> {
        let mut conn = self.conn().await?;
        let mut times = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("HMGET")
                    .arg(self.key(id))
                    .arg("state")
                    .arg("started")
                    .arg("ended");
            }
            let rows: Vec<(Option<String>, Option<u64>, Option<u64>)> =
                pipe.query_async(&mut conn).await?;
            times.extend(rows.into_iter().map(|(state, started, ended)| JobTimes {
                state: state.unwrap_or_default(),
                started,
                ended,
            }));
        }
        Ok(times)
    }

    /// Waits until every job in `ids` has ended; their final state and stamps, in no particular order.
    pub(crate) async fn wait_ended(
        &self,
        ids: &[String],
        timeout: Duration,
        queue: &str,
    ) -> anyhow::Result<Vec<JobTimes>> {
        let deadline = Instant::now() + timeout;
        let mut pending: VecDeque<String> = ids.iter().cloned().collect();
        let mut ended = Vec::with_capacity(ids.len());
        loop {
            let window: Vec<String> = pending.drain(..pending.len().min(WINDOW)).collect();
            let times = self.times(&window).await?;
            // Unfinished ones go back to the front, in their order.
            for (id, job) in window.into_iter().zip(times).rev() {
                if job.has_ended() {
                    ended.push(job);
                } else {
                    pending.push_front(id);
                }
            }
            if pending.is_empty() {
                return Ok(ended);
            }
            if Instant::now() > deadline {
                bail!(
                    "{} of {} jobs did not end within {}: is a worker serving queue '{queue}' with \
                     namespace '{}', and does the script exist?",
                    pending.len(),
                    ids.len(),
                    humantime::format_duration(timeout),
                    self.ns
                );
            }
            let poll = if pending.len() > WINDOW {
                POLL_BACKLOG
            } else {
                POLL
            };
            tokio::time::sleep(poll).await;
        }
    }

    /// Fails naming the first job that did not succeed, because a benchmark of failing jobs measures
    /// the wrong thing.
    pub(crate) fn all_succeeded(times: &[JobTimes]) -> anyhow::Result<()> {
        let failed = times.iter().filter(|t| t.state != "succeeded").count();
        if failed > 0 {
            bail!(
                "{failed} of {} jobs did not succeed: check the worker's log and the jobs' .err files",
                times.len()
            );
        }
        Ok(())
    }
}
