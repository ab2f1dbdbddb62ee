//! The flags of `hopper-bench`. Sizes default to the targets (64 clients, 10,000 drained jobs);
//! `--smoke` shrinks every scenario so that the whole run takes seconds.

use std::time::Duration;

/// One measurement; run in the order of [`Scenario::ORDER`], whatever the order on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Raw rates of confirmed persistent publishes to one quorum queue and of Redis HSET.
    Ceiling,
    /// One job at a time on an idle system: submit → started and submit → finished.
    Latency,
    /// C clients posting updates of existing (finished) jobs.
    Status,
    /// N trivial jobs submitted and run to the end.
    Drain,
    /// C clients posting submits.
    Submit,
}

impl Scenario {
    /// Ceiling first so that the others can be stated as a share of it; submit last because it leaves
    /// a backlog that would disturb any scenario after it.
    pub const ORDER: [Scenario; 5] = [
        Scenario::Ceiling,
        Scenario::Latency,
        Scenario::Status,
        Scenario::Drain,
        Scenario::Submit,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Ceiling => "ceiling",
            Scenario::Latency => "latency",
            Scenario::Status => "status",
            Scenario::Drain => "drain",
            Scenario::Submit => "submit",
        }
    }
}

/// Drives running Hopper API nodes and workers over GSvar's protocol and measures them. Starts nothing
/// itself: run Hopper first (scripts/run-local), then point this at it.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "hopper-bench", version)]
pub struct Settings {
    /// Base URL of the API node; requests go to <url>/qe.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A token of role submit or admin (one of the API's HOPPER_TOKENS secrets).
    #[arg(long, env = "HOPPER_BENCH_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The queue jobs are submitted to; a running worker must serve it.
    #[arg(long, default_value = "default")]
    pub queue: String,
    /// The jobs' working directory; it must lie under the API's and the worker's HOPPER_WORK_ROOTS.
    #[arg(long, default_value = "/tmp")]
    pub work_dir: String,
    /// The script every job runs; it should exit 0 at once (the demo analyze.php does).
    #[arg(long, default_value = "analyze.php")]
    pub script: String,
    /// Concurrent clients in submit, status and ceiling (and the submitters in drain).
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// How long submit, status and each half of ceiling run.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Jobs submitted and run to the end in drain.
    #[arg(long, default_value_t = 10_000)]
    pub jobs: usize,
    /// Jobs submitted (and run) before status polls them.
    #[arg(long, default_value_t = 1_000)]
    pub status_jobs: usize,
    /// Jobs run one at a time in latency.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// How long to wait for submitted jobs to end before giving up.
    #[arg(long, default_value = "10min", value_parser = humantime::parse_duration)]
    pub job_timeout: Duration,
    /// Hopper's namespace (HOPPER_NAMESPACE): prefix of the job hashes read from Redis and of the
    /// ceiling's private queue.
    #[arg(long, default_value = "hopper")]
    pub namespace: String,
    /// The Redis Hopper uses.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// The RabbitMQ Hopper uses.
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    pub amqp_url: String,
    /// Process id of the API node, to report its peak resident memory during each scenario.
    #[arg(long)]
    pub api_pid: Option<u32>,
    /// Process id of the worker, to report its peak resident memory during each scenario.
    #[arg(long)]
    pub worker_pid: Option<u32>,
    /// Print one JSON line per scenario instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Every scenario at a tiny size (for CI): a few seconds in all.
    #[arg(long)]
    pub smoke: bool,
    /// Scenarios to run, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ceiling,latency,status,drain,submit"
    )]
    pub scenario: Vec<Scenario>,
}

impl Settings {
    /// The settings with `--smoke` applied: sizes small enough for a debug build in CI.
    pub(crate) fn effective(mut self) -> Self {
        if self.smoke {
            self.clients = self.clients.min(8);
            self.duration = self.duration.min(Duration::from_secs(1));
            self.jobs = self.jobs.min(40);
            self.status_jobs = self.status_jobs.min(10);
            self.samples = self.samples.min(5);
            self.job_timeout = self.job_timeout.min(Duration::from_secs(30));
        }
        // Status polls jobs round-robin, so it needs at least one; no client means no load at all.
        self.clients = self.clients.max(1);
        self.status_jobs = self.status_jobs.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// `--smoke` shrinks every scenario; without it the sizes stay.
    #[test]
    fn smoke_shrinks_sizes() {
        let full = Settings::parse_from(["hopper-bench", "--token", "t"]).effective();
        assert_eq!((full.clients, full.jobs), (64, 10_000));
        assert_eq!(full.scenario, Scenario::ORDER.to_vec());
        let smoke = Settings::parse_from(["hopper-bench", "--token", "t", "--smoke"]).effective();
        assert!(smoke.clients <= 8 && smoke.jobs <= 40 && smoke.duration <= Duration::from_secs(1));
    }
}
