//! The flags of `hopper-bench`. Sizes default to the targets (64 clients, 10,000 drained jobs,
//! 1,000,000 stored jobs); `--smoke` shrinks every scenario so that the whole run takes seconds.

use std::ffi::OsString;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

/// One measurement; run in the order of [`Scenario::ORDER`], whatever the order on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Raw rates of confirmed persistent publishes to one quorum queue and of Redis HSET.
    Ceiling,
    /// One job at a time on an idle system: submit → started and submit → finished.
    Latency,
    /// C clients posting updates of existing (finished) jobs.
    Status,
    /// Status before and after filling Redis with many finished jobs.
    Scale,
    /// Redis memory taken by each finished job.
    Store,
    /// N trivial jobs submitted and run to the end.
    Drain,
    /// Submit and status throughput through 1, 2, ... of the API nodes given (`--node-url`).
    Nodes,
    /// C clients posting submits.
    Submit,
}

impl Scenario {
    /// Ceiling first so that the others can be stated as a share of it; submit last because it leaves
    /// a backlog that would disturb any scenario after it.
    ///
    /// Scale right after status, so that its baseline is taken as status's was, on a Redis holding only
    /// the jobs of the scenarios before. Store comes next because it is the one scenario indifferent to
    /// what scale leaves behind: scale deletes its filled keys with UNLINK, which Redis frees in a
    /// background thread; store measures bytes of its own keys, not times, so it cannot be skewed by
    /// that freeing (scale also waits for it), and drain, which is timed, starts after store on a quiet
    /// Redis.
    ///
    /// Nodes comes late for the same reason as submit: it leaves jobs queued (in `--idle-queue`).
    pub const ORDER: [Scenario; 8] = [
        Scenario::Ceiling,
        Scenario::Latency,
        Scenario::Status,
        Scenario::Scale,
        Scenario::Store,
        Scenario::Drain,
        Scenario::Nodes,
        Scenario::Submit,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Ceiling => "ceiling",
            Scenario::Latency => "latency",
            Scenario::Status => "status",
            Scenario::Scale => "scale",
            Scenario::Store => "store",
            Scenario::Drain => "drain",
            Scenario::Nodes => "nodes",
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
    /// The script every job runs; it should exit 0 at once. The default, noop.sh, is one of the demo
    /// scripts scripts/run-local serves (tests/megsap/src/Pipelines).
    #[arg(long, default_value = "noop.sh")]
    pub script: String,
    /// Concurrent clients in submit, status, scale and ceiling (and the submitters in drain and store).
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// How long submit, status, each half of ceiling and each of scale's two polls run.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Jobs submitted and run to the end in drain.
    #[arg(long, default_value_t = 10_000)]
    pub jobs: usize,
    /// Jobs submitted (and run) before status polls them.
    #[arg(long, default_value_t = 1_000)]
    pub status_jobs: usize,
    /// Finished jobs written straight into Redis in scale (copies of one real finished job), between
    /// its two polls.
    #[arg(long, default_value_t = 1_000_000)]
    pub scale_jobs: usize,
    /// Jobs submitted and run to the end in store, then measured in Redis.
    #[arg(long, default_value_t = 2_000)]
    pub store_jobs: usize,
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
    /// Longest any one call of the bench's own to Redis or RabbitMQ may take (a connect, a command, a
    /// publish and its confirm); past it the scenario fails and says which call, instead of hanging on
    /// a server that does not answer.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub call_timeout: Duration,
    /// Process id of the API node, to report its peak resident memory during each scenario.
    #[arg(long)]
    pub api_pid: Option<u32>,
    /// More API nodes of the same deployment (repeat the flag), for the `nodes` scenario: it measures
    /// through `--url` alone, then with each of these added.
    #[arg(long)]
    pub node_url: Vec<String>,
    /// The process ids of the `--node-url` nodes, to report the CPU they take.
    #[arg(long)]
    pub node_pid: Vec<u32>,
    /// A queue the API nodes take but no worker serves: `nodes` submits there, so that no job runs
    /// while it measures. Without it, `nodes` submits to `--queue`.
    #[arg(long)]
    pub idle_queue: Option<String>,
    /// Process id of the worker, to report its peak resident memory during each scenario.
    #[arg(long)]
    pub worker_pid: Option<u32>,
    /// Print one JSON line per scenario instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Every scenario at a tiny size (for CI): a few seconds in all. Sizes given on the command line are
    /// kept (`--smoke --scenario scale --scale-jobs 100000`).
    #[arg(long)]
    pub smoke: bool,
    /// Scenarios to run, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ceiling,latency,status,scale,store,drain,nodes,submit"
    )]
    pub scenario: Vec<Scenario>,
    /// The flags given on the command line (clap's ids), which `--smoke` leaves as they are.
    #[arg(skip)]
    given: Vec<String>,
}

impl Settings {
    /// Parses `args` (the program's name first), exiting with clap's message on a bad flag, and
    /// remembers which flags were given so that `--smoke` keeps them.
    pub fn from_args<I, T>(args: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Self::command().get_matches_from(args);
        let mut settings = Self::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
        settings.given = matches
            .ids()
            .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
            .map(|id| id.to_string())
            .collect();
        settings
    }

    /// The settings with `--smoke` applied: sizes small enough for a debug build in CI, except those
    /// given on the command line.
    pub(crate) fn effective(mut self) -> Self {
        if self.smoke {
            let given = std::mem::take(&mut self.given);
            shrink(&given, "clients", &mut self.clients, 8);
            shrink(
                &given,
                "duration",
                &mut self.duration,
                Duration::from_secs(1),
            );
            shrink(&given, "jobs", &mut self.jobs, 40);
            shrink(&given, "status_jobs", &mut self.status_jobs, 10);
            shrink(&given, "scale_jobs", &mut self.scale_jobs, 1_000);
            shrink(&given, "store_jobs", &mut self.store_jobs, 20);
            shrink(&given, "samples", &mut self.samples, 5);
            shrink(
                &given,
                "job_timeout",
                &mut self.job_timeout,
                Duration::from_secs(30),
            );
            self.given = given;
        }
        // Status and scale poll jobs round-robin and store averages over its jobs, so each needs at
        // least one; no client means no load at all.
        self.clients = self.clients.max(1);
        self.status_jobs = self.status_jobs.max(1);
        self.scale_jobs = self.scale_jobs.max(1);
        self.store_jobs = self.store_jobs.max(1);
        self
    }
}

/// Lowers `value` to `cap` unless the flag `name` was given on the command line.
fn shrink<T: Ord>(given: &[String], name: &str, value: &mut T, cap: T) {
    if !given.iter().any(|flag| flag == name) && *value > cap {
        *value = cap;
    }
}

impl Settings {
    /// How the bench's Redis connections are bounded: every connect and every reply within
    /// `--call-timeout`.
    pub(crate) fn redis_config(&self) -> redis::AsyncConnectionConfig {
        redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.call_timeout))
            .set_response_timeout(Some(self.call_timeout))
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
        assert_eq!((full.scale_jobs, full.store_jobs), (1_000_000, 2_000));
        assert_eq!(full.scenario, Scenario::ORDER.to_vec());
        let smoke = Settings::parse_from(["hopper-bench", "--token", "t", "--smoke"]).effective();
        assert!(smoke.clients <= 8 && smoke.jobs <= 40 && smoke.duration <= Duration::from_secs(1));
        assert!(smoke.scale_jobs <= 1_000 && smoke.store_jobs <= 20);
    }

    /// `--smoke` keeps the sizes given on the command line, so that scripts/bench-smoke can run one
    /// scenario at a larger size; the others are still shrunk.
    #[test]
    fn smoke_keeps_given_sizes() {
        let args = [
            "hopper-bench",
            "--token",
            "t",
            "--smoke",
            "--scale-jobs",
            "100000",
        ];
        let smoke = Settings::from_args(args).effective();
        assert_eq!(
            (smoke.scale_jobs, smoke.store_jobs, smoke.clients),
            (100_000, 20, 8)
        );
    }
}
