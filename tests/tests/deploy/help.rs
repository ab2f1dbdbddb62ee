//! What a binary says it takes: the `HOPPER_*` variables and `--flags` its `--help` lists.

use std::collections::BTreeSet;
use std::time::Duration;

/// The settings of one binary, read from its `--help`.
#[derive(Debug)]
pub struct Help {
    binary: String,
    variables: BTreeSet<String>,
    flags: BTreeSet<String>,
}

impl Help {
    /// Runs `<bin dir>/<binary> --help` (the binaries the tests run, see `hopper_tests::bin_dir`).
    pub fn of(binary: &str) -> Self {
        let path = hopper_tests::bin_dir().join(binary);
        let output = std::process::Command::new(&path)
            .arg("--help")
            // Values from the test runner's environment would show in the help; they change nothing.
            .env_clear()
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "run {} --help: {e}; build the binaries first (cargo build --workspace --bins)",
                    path.display()
                )
            });
        assert!(
            output.status.success(),
            "{binary} --help: {}",
            output.status
        );
        // clap wraps long lines, possibly between "[env:" and the name: read it as one line.
        let text = String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let variables = text
            .split("[env: ")
            .skip(1)
            .filter_map(|rest| rest.split(['=', ']']).next())
            .map(str::to_owned)
            .collect();
        let flags = text
            .split(' ')
            .filter(|word| word.starts_with("--") && word.len() > 2)
            .map(|word| {
                word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                    .to_owned()
            })
            .collect();
        Self {
            binary: binary.to_owned(),
            variables,
            flags,
        }
    }

    /// Fails, naming `place`, unless `name` is a setting of this binary.
    pub fn expect_variable(&self, name: &str, place: &str) {
        assert!(
            self.variables.contains(name),
            "{place} sets {name}, which `{} --help` does not list; its variables: {:?}",
            self.binary,
            self.variables
        );
    }

    /// Fails, naming `place`, unless `arg` (`--flag` or `--flag=value`) is a flag of this binary.
    pub fn expect_flag(&self, arg: &str, place: &str) {
        let flag = arg.split('=').next().unwrap_or(arg);
        assert!(
            self.flags.contains(flag),
            "{place} passes {flag}, which `{} --help` does not list; its flags: {:?}",
            self.binary,
            self.flags
        );
    }
}

/// The `HOPPER_*` names among `names`.
pub fn hopper_variables<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    names
        .into_iter()
        .filter(|name| name.starts_with("HOPPER_"))
        .collect()
}

/// A duration as the binaries, compose and systemd write them: `30s`, `5min`, `6m`, `1h 30min`, or a
/// bare number of seconds (systemd's unit).
pub fn duration(text: &str) -> Duration {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Duration::from_secs(seconds);
    }
    humantime::parse_duration(text).unwrap_or_else(|e| panic!("'{text}' is not a duration: {e}"))
}

/// How long a worker may take to exit after SIGTERM with this drain and kill grace: it exits within
/// HOPPER_DRAIN + HOPPER_KILL_GRACE + 1 s, plus up to a second to remove its heartbeat (README.md).
pub fn worker_stop_bound(drain: Duration, kill_grace: Duration) -> Duration {
    drain + kill_grace + Duration::from_secs(2)
}
