use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use hopper_common::{
    ConnectionArgs, LivenessArgs, PathList, QueueList, TelemetryArgs, parse_duration, parse_size,
};

use crate::Interpreters;

/// hopper-worker: runs the jobs of the queues this host serves. Run one per compute host.
///
/// Every setting is a flag and a HOPPER_* environment variable; the flag wins.
#[derive(Parser, Debug, Clone)]
#[command(name = "hopper-worker", version)]
pub struct WorkerConfig {
    /// Comma-separated queues this worker serves, e.g. `default_srv010,priority_srv010` (megSAP's queue
    /// names; GSvar's `queues_*` settings list them).
    #[arg(long, env = "HOPPER_QUEUES", value_parser = QueueList::parse)]
    pub queues: QueueList,

    /// Thread slots of this host. A job takes as many slots as it asks threads; a job asking more than
    /// this runs alone, with all of them. Default: the number of CPUs.
    #[arg(long, env = "HOPPER_THREADS", default_value_t = default_threads(),
          value_parser = clap::value_parser!(u32).range(1..=65_535))]
    pub threads: u32,

    /// Colon-separated directories scripts are looked up in, first match wins (megSAP's `src/Pipelines`).
    #[arg(long, env = "HOPPER_SCRIPT_DIRS", value_parser = PathList::parse)]
    pub script_dirs: PathList,

    /// Directory for each job's `<id>.out` and `<id>.err`; created if missing.
    #[arg(long, env = "HOPPER_LOG_DIR")]
    pub log_dir: PathBuf,

    /// Most bytes of each of a job's streams (stdout, stderr) kept in Redis, where any API node reads
    /// them: the first half and the last half; what lies between is counted, not kept. Plain bytes or
    /// a binary unit (`16MiB`, `512KiB`), 1KiB-1GiB. The files in HOPPER_LOG_DIR keep everything.
    #[arg(long, env = "HOPPER_LOG_CAP", default_value = "16MiB", value_parser = parse_log_cap)]
    pub log_cap: u64,

    /// Colon-separated directories a job's working directory must lie under.
    #[arg(long, env = "HOPPER_WORK_ROOTS", value_parser = PathList::parse)]
    pub work_roots: PathList,

    /// Interpreter by script extension, `ext=command` comma-separated; a command may carry arguments
    /// (`php=php -d memory_limit=-1`). A script with no mapping must be executable and runs directly.
    #[arg(long, env = "HOPPER_INTERPRETERS", default_value = "php=php,sh=sh,py=python3",
          value_parser = Interpreters::parse)]
    pub interpreters: Interpreters,

    /// How long a canceled job's process group has between SIGTERM and SIGKILL.
    #[arg(long, env = "HOPPER_KILL_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub kill_grace: Duration,

    /// On SIGTERM or SIGINT (Ctrl-C) the worker stops taking jobs and lets running ones finish for
    /// this long; then it terminates the rest, which go back to their queues if they have tries left
    /// and fail with `worker shutdown` otherwise. A second signal, at least a second after the first,
    /// ends the drain at once (signals closer together, as a terminal's Ctrl-C and a wrapper's SIGTERM
    /// are, count as one). The worker exits within this, plus HOPPER_KILL_GRACE, plus a second, of the
    /// first signal, whatever state Redis and RabbitMQ are in.
    #[arg(long, env = "HOPPER_DRAIN", default_value = "5min", value_parser = parse_duration)]
    pub drain: Duration,

    /// This worker's identity, unique among running workers (default: the host name). Jobs record it,
    /// cancel commands find the worker by it, and a worker restarted with the same identity ends what
    /// its previous run left running before it takes any job.
    #[arg(long, env = "HOPPER_WORKER_ID", default_value_t = default_worker_id(),
          value_parser = parse_worker_id)]
    pub worker_id: String,

    /// Address and port on which to serve `GET /metrics` (Prometheus's text format): the jobs this
    /// worker started and ended, its thread slots, its Redis and RabbitMQ errors. Default: not served.
    #[arg(long, env = "HOPPER_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub liveness: LivenessArgs,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

impl WorkerConfig {
    /// Checks what parsing cannot: that the directories exist and the log directory is writable. A
    /// worker that started without them would fail every job it took, for good.
    pub fn check_directories(&self) -> anyhow::Result<()> {
        for (setting, dirs) in [
            ("HOPPER_SCRIPT_DIRS", &self.script_dirs),
            ("HOPPER_WORK_ROOTS", &self.work_roots),
        ] {
            if let Some(missing) = dirs.0.iter().find(|dir| !dir.is_dir()) {
                anyhow::bail!(
                    "bad setting {setting}: {} is not a directory",
                    missing.display()
                );
            }
        }
        let log_dir = &self.log_dir;
        let probe = log_dir.join(format!(".hopper-write-test-{}", std::process::id()));
        std::fs::create_dir_all(log_dir)
            .and_then(|()| std::fs::write(&probe, b""))
            .and_then(|()| std::fs::remove_file(&probe))
            .with_context(|| {
                format!(
                    "bad setting HOPPER_LOG_DIR: cannot write in {}",
                    log_dir.display()
                )
            })
    }
}

impl WorkerConfig {
    /// A lost worker's jobs may run again elsewhere once its heartbeat has expired, at least two
    /// thirds of the heartbeat's life after its death; its guardian ends its scripts within the kill
    /// grace of its death. The grace must fit, or a job could run twice at once.
    pub fn check_kill_grace(&self) -> anyhow::Result<()> {
        let ttl = self.liveness.heartbeat_ttl;
        let bound = ttl - self.liveness.heartbeat_every();
        if self.kill_grace > bound {
            anyhow::bail!(
                "bad setting HOPPER_KILL_GRACE: {:?} is longer than two thirds of HOPPER_HEARTBEAT_TTL \
                 ({ttl:?}), so a lost worker's scripts could outlive its heartbeat and run beside their \
                 next attempt; shorten the grace or lengthen the heartbeat",
                self.kill_grace
            );
        }
        Ok(())
    }
}

/// A log cap: at least 1 KiB (room for a head and a tail worth reading), at most 1 GiB (Redis strings
/// end at 512 MiB, and each half is one).
fn parse_log_cap(value: &str) -> Result<u64, String> {
    let cap = parse_size(value)?;
    if !(1 << 10..=1 << 30).contains(&cap) {
        return Err(format!("'{value}' is out of range: between 1KiB and 1GiB"));
    }
    Ok(cap)
}

fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

pub(crate) fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn default_worker_id() -> String {
    host_name()
}

fn parse_worker_id(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "worker id '{value}' must be 1-64 characters of letters, digits, '_', '-', '.'"
        ))
    }
}
