//! Settings every Hopper binary shares. Each is a flag and a `HOPPER_*` variable (clap reads both), is
//! parsed once at start-up, and a bad value stops the binary with a message naming the setting.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::Namespace;

/// Where Redis and RabbitMQ are, and the namespace this deployment lives in.
#[derive(Args, Clone)]
pub struct ConnectionArgs {
    /// Redis URL; the job records live there. One server (redis://[:password@]host:port[/db] or
    /// unix:///path), or a master that Redis Sentinel fails over:
    /// redis+sentinel://[user:password@]host:port[,host:port...]/<master name>[/<db>] (the
    /// Sentinels' addresses; the user, password and db are the Redis nodes'). With Sentinel, each
    /// process asks the Sentinels for the master whenever it connects, and connects again when the
    /// master fails, is demoted, is being failed over or the Sentinels name another (they are asked
    /// every 250 ms). (Its value is not shown here: it may hold a password.)
    #[arg(long, env = "HOPPER_REDIS_URL", default_value = "redis://127.0.0.1:6379", hide_env_values = true,
          value_parser = parse_redis_url)]
    pub redis_url: String,

    /// RabbitMQ (AMQP 0-9-1) URL; submit and cancel commands travel there.
    /// (Its value is not shown here: it may hold a password.)
    #[arg(long, env = "HOPPER_AMQP_URL", default_value = "amqp://guest:guest@127.0.0.1:5672/%2f", hide_env_values = true,
          value_parser = parse_amqp_url)]
    pub amqp_url: String,

    /// Prefix of every Redis key and RabbitMQ queue of this deployment (letters, digits, '_', '-').
    #[arg(long, env = "HOPPER_NAMESPACE", default_value = "hopper", value_parser = Namespace::parse)]
    pub namespace: Namespace,

    /// Keep ended jobs this long, then let Redis forget them (GSvar forgets its jobs after 60 days);
    /// `0s` keeps them forever.
    #[arg(long, env = "HOPPER_RETENTION", default_value = "60days", value_parser = parse_retention)]
    pub retention: Duration,

    /// Longest any call to Redis may take: a command, a Lua script, a connect. Past it the call fails,
    /// the connection is dropped and opened again with backoff, and the caller gets a clear error (503
    /// from an API node) instead of waiting on a Redis that hangs.
    #[arg(long, env = "HOPPER_REDIS_TIMEOUT", default_value = "5s", value_parser = parse_limit)]
    pub redis_timeout: Duration,

    /// Longest any call to RabbitMQ may take: connect and handshake, channel open, declare, publish
    /// and its confirm, consume, cancel, ack, close. Past it the call fails, the connection is cut and
    /// opened again with backoff, and the caller gets a clear error instead of waiting on a broker that
    /// hangs.
    #[arg(long, env = "HOPPER_AMQP_TIMEOUT", default_value = "5s", value_parser = parse_limit)]
    pub amqp_timeout: Duration,

    /// How often each process checks that Redis and RabbitMQ answer: an API node for `/readyz`, a
    /// worker for its broker connection (which it replaces when the broker stops answering). A hung
    /// dependency is noticed within its time limit plus this.
    #[arg(long, env = "HOPPER_CHECK_INTERVAL", default_value = "2s", value_parser = parse_check_interval)]
    pub check_interval: Duration,
}

impl std::fmt::Debug for ConnectionArgs {
    // The URLs may carry passwords; they never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionArgs")
            .field("namespace", &self.namespace)
            .field("retention", &self.retention)
            .field("redis_timeout", &self.redis_timeout)
            .field("amqp_timeout", &self.amqp_timeout)
            .field("check_interval", &self.check_interval)
            .finish_non_exhaustive()
    }
}

/// How workers prove they are alive, and how often someone looks for those that stopped. Both binaries
/// take these: workers heartbeat, and every worker and API node takes its turn at sweeping.
#[derive(Args, Clone, Debug)]
pub struct LivenessArgs {
    /// A worker's heartbeat expires this long after its last refresh (it refreshes every third of
    /// it). A running job whose worker's heartbeat has expired is re-queued or failed as `worker lost`.
    #[arg(long, env = "HOPPER_HEARTBEAT_TTL", default_value = "15s", value_parser = parse_heartbeat_ttl)]
    pub heartbeat_ttl: Duration,

    /// How often each process tries to sweep for lost workers (one process sweeps at a time) and
    /// publishes re-queued jobs whose submit was not confirmed. A lost worker's jobs are found at most
    /// HOPPER_HEARTBEAT_TTL + this after it stopped.
    #[arg(long, env = "HOPPER_SWEEP_INTERVAL", default_value = "5s", value_parser = parse_interval)]
    pub sweep_interval: Duration,
}

impl LivenessArgs {
    /// How often a worker refreshes its heartbeat: a third of its life, so that two refreshes in a row
    /// can fail (a Redis blip) before it expires.
    pub fn heartbeat_every(&self) -> Duration {
        self.heartbeat_ttl / 3
    }
}

fn parse_heartbeat_ttl(value: &str) -> Result<Duration, String> {
    let ttl = parse_duration(value)?;
    if ttl < Duration::from_secs(1) {
        return Err(format!(
            "'{value}' is too short: a heartbeat lives at least 1s"
        ));
    }
    Ok(ttl)
}

/// A time limit on calls to a dependency: at least 100ms (a loaded server answers in that), at most
/// 10 minutes (beyond that a caller is better told no).
fn parse_limit(value: &str) -> Result<Duration, String> {
    let limit = parse_duration(value)?;
    if limit < Duration::from_millis(100) || limit > Duration::from_secs(600) {
        return Err(format!(
            "'{value}' is out of range: between 100ms and 10min"
        ));
    }
    Ok(limit)
}

fn parse_check_interval(value: &str) -> Result<Duration, String> {
    let interval = parse_duration(value)?;
    if interval < Duration::from_millis(100) {
        return Err(format!("'{value}' is too short: check at most every 100ms"));
    }
    Ok(interval)
}

fn parse_interval(value: &str) -> Result<Duration, String> {
    let interval = parse_duration(value)?;
    if interval < Duration::from_millis(100) {
        return Err(format!("'{value}' is too short: sweep at most every 100ms"));
    }
    Ok(interval)
}

/// How this process logs.
#[derive(Args, Clone, Debug)]
pub struct TelemetryArgs {
    /// Log filter, in tracing's EnvFilter syntax (e.g. `info`, `hopper_worker=debug`).
    #[arg(long, env = "HOPPER_LOG", default_value = "info")]
    pub log: String,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "HOPPER_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_redis_url(value: &str) -> Result<String, String> {
    crate::RedisAddress::parse(value).map(|_| value.to_owned())
}

fn parse_amqp_url(value: &str) -> Result<String, String> {
    value
        .parse::<lapin::uri::AMQPUri>()
        .map(|_| value.to_owned())
        .map_err(|e| format!("not an AMQP URL ({e}); expected e.g. amqp://user:pass@host:5672/%2f"))
}

/// A retention: whole seconds, as Redis expires keys; `0s` keeps ended jobs forever.
fn parse_retention(value: &str) -> Result<Duration, String> {
    let retention = parse_duration(value)?;
    if retention.subsec_nanos() != 0 {
        return Err(format!(
            "'{value}' is not a whole number of seconds (0s keeps jobs forever)"
        ));
    }
    Ok(retention)
}

/// Parses a duration such as `10s`, `500ms`, `60days`.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value)
        .map_err(|e| format!("'{value}' is not a duration ({e}); write e.g. 10s, 5min, 60days"))
}

/// Parses a size in bytes: plain bytes (`1048576`), or with a binary unit (`512KiB`, `16MiB`, `1GiB`;
/// `B` for bytes). Decimal units (`MB`) are refused rather than guessed at.
pub fn parse_size(value: &str) -> Result<u64, String> {
    let bad = || format!("'{value}' is not a size; write e.g. 16MiB, 512KiB or 1048576 (bytes)");
    let value = value.trim();
    let digits = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(digits);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    number.checked_mul(scale).ok_or_else(bad)
}

/// A colon-separated list of absolute paths (like `PATH`); empty entries are skipped.
///
/// A newtype, because clap would read a `Vec` field as a repeated flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathList(pub Vec<PathBuf>);

impl PathList {
    pub fn parse(value: &str) -> Result<Self, String> {
        let paths: Vec<PathBuf> = value
            .split(':')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect();
        if paths.is_empty() {
            return Err("needs at least one directory".to_owned());
        }
        if let Some(relative) = paths.iter().find(|p| !p.is_absolute()) {
            return Err(format!("'{}' is not an absolute path", relative.display()));
        }
        Ok(Self(paths))
    }
}

/// Parses the command line and environment into `T`, or exits with clap's message preceded by a line
/// naming the `HOPPER_*` variable (and flag) at fault: operators mostly set variables, and clap's own
/// message names only the flag.
pub fn parse_or_exit<T: clap::Parser>() -> T {
    T::try_parse().unwrap_or_else(|error| {
        if let Some(settings) = settings_at_fault::<T>(&error) {
            eprintln!(
                "{}: bad or missing setting {settings}",
                T::command().get_name()
            );
        }
        error.exit()
    })
}

fn settings_at_fault<T: clap::Parser>(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let flags: Vec<String> = match error.get(ContextKind::InvalidArg)? {
        ContextValue::String(flag) => vec![flag.clone()],
        ContextValue::Strings(flags) => flags.clone(),
        _ => return None,
    };
    let command = T::command();
    let named: Vec<String> = flags
        .iter()
        .filter_map(|flag| {
            // clap shows a flag as `--listen <LISTEN>`.
            let long = flag.trim_start_matches("--").split([' ', '=']).next()?;
            let arg = command
                .get_arguments()
                .find(|a| a.get_long() == Some(long))?;
            Some(format!("{} (--{long})", arg.get_env()?.to_string_lossy()))
        })
        .collect();
    (!named.is_empty()).then(|| named.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes are plain bytes or binary units; anything else is refused, never guessed at.
    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1gib"), Ok(1 << 30));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("100B"), Ok(100));
        for bad in [
            "",
            "MiB",
            "16MB",
            "-1",
            "1.5MiB",
            "lots",
            "99999999999999999999GiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }
}
