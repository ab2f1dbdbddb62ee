//! The Batchelor door's settings.

use std::path::PathBuf;

/// Where the Batchelor door keeps its jobs' directories, and what it may fetch.
#[derive(clap::Args, Debug, Clone)]
pub struct BatchelorArgs {
    /// Directory of the Batchelor door's jobs: each has `<this>/<hostid>/<result>/`, with its input in
    /// `indata` and its output in `result/`. It must lie under HOPPER_WORK_ROOTS, on a filesystem the
    /// workers share. Without it, the door refuses `enqueue`.
    #[arg(long = "batchelor-root", env = "HOPPER_BATCHELOR_ROOT")]
    pub batchelor_root: Option<PathBuf>,

    /// Comma-separated hosts whose URLs `enqueue` with type `url` may fetch as a job's input. Empty by
    /// default: a server that fetches any URL it is given can be made to reach inside its network.
    #[arg(
        long = "batchelor-fetch-urls",
        env = "HOPPER_BATCHELOR_FETCH_URLS",
        value_delimiter = ','
    )]
    pub batchelor_fetch_urls: Vec<String>,

    /// The time zone of the dates the Batchelor door shows (PHP DateTime objects), an IANA name such
    /// as `Europe/Stockholm`. Default: the host's zone.
    #[arg(long = "timezone", env = "HOPPER_TIMEZONE")]
    pub timezone: Option<String>,
}
