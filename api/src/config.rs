use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use hopper_common::{
    ConnectionArgs, LivenessArgs, PathList, QueueList, TelemetryArgs, parse_duration,
};

use crate::{Tokens, TriesPolicy};

/// hopper-api: a stateless HTTP node of Hopper. Run as many as you like behind a load balancer.
///
/// Every setting is a flag and a HOPPER_* environment variable; the flag wins.
#[derive(Parser, Debug, Clone)]
#[command(name = "hopper-api", version)]
pub struct ApiConfig {
    /// Address to listen on.
    #[arg(long, env = "HOPPER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Comma-separated access tokens, each `secret` or `role:secret` with role `read` (status only),
    /// `submit` (submit, status, delete) or `admin` (everything). A bare secret has role `submit`.
    /// Required: the node refuses to start without one. Put the secret into GSvar's `qe_secure_token`.
    ///
    /// Checked after parsing, so that an error never echoes a secret.
    #[arg(long, env = "HOPPER_TOKENS", hide_env_values = true)]
    pub tokens: Option<String>,

    /// Colon-separated directories a job's working directory must lie under (e.g. the projects folder).
    #[arg(long, env = "HOPPER_WORK_ROOTS", value_parser = PathList::parse)]
    pub work_roots: PathList,

    /// Colon-separated script directories (megSAP's `src/Pipelines`). Optional here: when set, a submit
    /// naming a script found in none of them is refused at once; when not, the worker reports it.
    #[arg(long, env = "HOPPER_SCRIPT_DIRS", value_parser = PathList::parse)]
    pub script_dirs: Option<PathList>,

    /// Comma-separated queues this node accepts jobs for before any worker serving them has started.
    /// A job may name only known queues: these, and every queue a worker serves or has served (workers
    /// register theirs). A job naming any other queue is refused, naming it.
    #[arg(long, env = "HOPPER_KNOWN_QUEUES", value_parser = QueueList::parse)]
    pub known_queues: Option<QueueList>,

    /// A TOML file of job types: named, versioned command templates that clients submit by name with
    /// their inputs (see docs/job-types.md). Read at start; a bad file stops the node, naming the line.
    #[arg(long, env = "HOPPER_JOB_TYPES")]
    pub job_types: Option<std::path::PathBuf>,

    /// How often the load history records the jobs pending, queued and running (per queue and job
    /// type; kept 31 days, for `GET /api/v1/load`). One API node records each time.
    #[arg(long, env = "HOPPER_LOAD_INTERVAL", default_value = "1min", value_parser = parse_duration)]
    pub load_interval: Duration,

    /// Most threads a job may ask for; a submit asking for more is refused.
    #[arg(long, env = "HOPPER_MAX_THREADS", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_threads: u32,

    /// Largest request body accepted, in bytes (at least 1024); larger ones are refused with 413.
    #[arg(long, env = "HOPPER_MAX_BODY", default_value_t = 1024 * 1024,
          value_parser = clap::value_parser!(u32).range(1024..))]
    pub max_body: u32,

    /// How many times a job may be started, `N,queue=N,...`: a default and per-queue exceptions. A job
    /// whose worker is lost or shut down under it goes back to its queue while it has tries left;
    /// otherwise it fails (`worker lost`, `worker shutdown`).
    #[arg(long, env = "HOPPER_MAX_TRIES", default_value = "1", value_parser = TriesPolicy::parse)]
    pub max_tries: TriesPolicy,

    /// On SIGTERM or SIGINT the node stops taking connections and gives the requests in flight this
    /// long to finish (e.g. 30s, 2min), then exits and drops what is left. A second signal, at least a
    /// second after the first, stops it at once (signals closer together count as one). Keep it below the orchestrator's own grace (Docker's stop_grace_period, Kubernetes'
    /// terminationGracePeriodSeconds), or the node is killed before it has finished.
    #[arg(long, env = "HOPPER_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// On SIGTERM or SIGINT the node first answers /readyz with 503 and keeps serving this long
    /// (e.g. 2s), so that a load balancer has seen it go and sends it nothing more, before it stops
    /// taking connections. Behind a balancer, set it above the balancer's health-check interval times
    /// the failures it needs (HAProxy's `inter` x `fall`); alone, leave it 0s.
    #[arg(long, env = "HOPPER_UNREADY_DELAY", default_value = "0s", value_parser = parse_duration)]
    pub unready_delay: Duration,

    /// Comma-separated front doors that let requests without a token in, with role `submit`. Only
    /// `taskapi`, `batchelor` and `scale` may be opened: their clients may send no token (the
    /// TaskAPI and Batchelor have no authentication; Scale's is its own).
    #[arg(long, env = "HOPPER_OPEN_DOORS", value_parser = parse_open_doors)]
    pub open_doors: Option<OpenDoors>,

    #[command(flatten)]
    pub taskapi: crate::doors::taskapi::TaskApiArgs,

    #[command(flatten)]
    pub batchelor: crate::doors::batchelor::BatchelorArgs,

    #[command(flatten)]
    pub scale: crate::doors::scale::ScaleArgs,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub liveness: LivenessArgs,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

impl ApiConfig {
    /// The configured tokens, or why there are none usable. The message names the setting and never
    /// repeats a secret.
    pub fn tokens(&self) -> Result<Tokens, String> {
        let raw = self
            .tokens
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .ok_or(
                "needs at least one access token: set HOPPER_TOKENS (or --tokens), \
             e.g. HOPPER_TOKENS=$(openssl rand -hex 24)",
            )?;
        Tokens::parse(raw).map_err(|why| format!("bad setting HOPPER_TOKENS (--tokens): {why}"))
    }
}

/// The doors opened to requests without a token (`HOPPER_OPEN_DOORS`).
#[derive(Debug, Clone, Default)]
pub struct OpenDoors {
    pub taskapi: bool,
    pub batchelor: bool,
    pub scale: bool,
}

fn parse_open_doors(value: &str) -> Result<OpenDoors, String> {
    let mut doors = OpenDoors::default();
    for door in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        match door {
            "taskapi" => doors.taskapi = true,
            "batchelor" => doors.batchelor = true,
            "scale" => doors.scale = true,
            other => {
                return Err(format!(
                    "'{other}' cannot be opened: only 'taskapi', 'batchelor' and 'scale' take \
                     requests without a token (GSvar's and Hopper's own API always need one)"
                ));
            }
        }
    }
    Ok(doors)
}
