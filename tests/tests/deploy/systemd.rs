//! The systemd units in `deploy/systemd/`: every setting and flag they give a binary exists, and their
//! stop timeout outlasts the drain they configure, so systemd never kills a node or worker that is
//! still finishing its requests or jobs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::help::{Help, duration, hopper_variables, worker_stop_bound};

fn deploy_dir() -> PathBuf {
    hopper_tests_repo().join("deploy/systemd")
}

fn hopper_tests_repo() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lies inside the repository")
        .to_path_buf()
}

/// The `[Service]` section of a unit: each key's values in order, and `Environment=` as one map.
struct Unit {
    name: String,
    keys: BTreeMap<String, Vec<String>>,
    environment: BTreeMap<String, String>,
}

impl Unit {
    fn read(name: &str) -> Self {
        let path = deploy_dir().join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let mut section = String::new();
        let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut environment = BTreeMap::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if line.starts_with('[') {
                section = line.to_owned();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                panic!("{name}: '{line}' is not key=value");
            };
            if section != "[Service]" {
                continue;
            }
            if key == "Environment" {
                // Quoted assignments would need systemd's own splitting; these units use none.
                assert!(
                    !value.contains('"'),
                    "{name}: quoted Environment= not read here"
                );
                for assignment in value.split_whitespace() {
                    let (variable, value) = assignment
                        .split_once('=')
                        .unwrap_or_else(|| panic!("{name}: '{assignment}' is not NAME=value"));
                    environment.insert(variable.to_owned(), value.to_owned());
                }
            }
            keys.entry(key.to_owned())
                .or_default()
                .push(value.to_owned());
        }
        Self {
            name: name.to_owned(),
            keys,
            environment,
        }
    }

    fn one(&self, key: &str) -> &str {
        match self.keys.get(key).map(Vec::as_slice) {
            Some([value]) => value,
            other => panic!("{}: expected one {key}=, found {other:?}", self.name),
        }
    }

    /// The binary ExecStart runs, and the arguments it passes.
    fn exec_start(&self) -> (String, Vec<String>) {
        let mut words = self.one("ExecStart").split_whitespace().map(str::to_owned);
        let program = words.next().expect("ExecStart names a program");
        let binary = program.rsplit('/').next().unwrap_or(&program).to_owned();
        (binary, words.collect())
    }

    fn setting(&self, variable: &str) -> Duration {
        let value = self.environment.get(variable).unwrap_or_else(|| {
            panic!(
                "{}: sets no {variable}, so its stop timeout cannot be checked against it",
                self.name
            )
        });
        duration(value)
    }

    /// The settings and flags it gives its binary all exist in that binary's `--help`.
    fn expect_known_settings(&self) -> Help {
        let (binary, args) = self.exec_start();
        let help = Help::of(&binary);
        for variable in hopper_variables(self.environment.keys().map(String::as_str)) {
            help.expect_variable(variable, &self.name);
        }
        for arg in args.iter().filter(|a| a.starts_with("--")) {
            help.expect_flag(arg, &self.name);
        }
        help
    }

    /// The binary alone gets the stop signal, one it drains on, and what is left gets SIGKILL only
    /// after the timeout.
    fn expect_drain_friendly_stop(&self) -> Duration {
        assert_eq!(self.one("KillMode"), "mixed", "{}: KillMode", self.name);
        assert!(
            matches!(self.one("KillSignal"), "SIGTERM" | "SIGINT"),
            "{}: KillSignal must be one the binaries drain on",
            self.name
        );
        duration(self.one("TimeoutStopSec"))
    }
}

/// Checks an example EnvironmentFile: each HOPPER_* variable in it is a setting of each of `binaries`.
fn expect_env_file(file: &str, binaries: &[&Help]) {
    let path = deploy_dir().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let names = text
        .lines()
        .map(|line| line.trim().trim_start_matches('#'))
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim()));
    for name in hopper_variables(names) {
        for help in binaries {
            help.expect_variable(name, file);
        }
    }
}

/// hopper-api.service: its settings exist, and TimeoutStopSec outlasts HOPPER_UNREADY_DELAY plus
/// HOPPER_SHUTDOWN_GRACE, the time the node serves on unready and then gives the requests in flight.
#[test]
fn the_api_unit_outlasts_the_shutdown_grace() {
    let unit = Unit::read("hopper-api.service");
    let api = unit.expect_known_settings();
    let timeout = unit.expect_drain_friendly_stop();
    let grace = unit.setting("HOPPER_SHUTDOWN_GRACE") + unit.setting("HOPPER_UNREADY_DELAY");
    assert!(
        timeout > grace,
        "TimeoutStopSec {timeout:?} must exceed HOPPER_UNREADY_DELAY + HOPPER_SHUTDOWN_GRACE {grace:?}"
    );
    expect_env_file("api.env.example", &[&api]);
}

/// hopper-worker@.service: its settings exist, and TimeoutStopSec outlasts the longest a worker takes
/// to exit after SIGTERM (HOPPER_DRAIN + HOPPER_KILL_GRACE + 2 s), so its jobs' ends are recorded.
#[test]
fn the_worker_unit_outlasts_the_drain() {
    let unit = Unit::read("hopper-worker@.service");
    let worker = unit.expect_known_settings();
    let timeout = unit.expect_drain_friendly_stop();
    let bound = worker_stop_bound(
        unit.setting("HOPPER_DRAIN"),
        unit.setting("HOPPER_KILL_GRACE"),
    );
    assert!(
        timeout > bound,
        "TimeoutStopSec {timeout:?} must exceed HOPPER_DRAIN + HOPPER_KILL_GRACE + 2 s = {bound:?}"
    );
    expect_env_file("worker-main.env.example", &[&worker]);
    // The shared file is read by both binaries.
    expect_env_file("hopper.env.example", &[&worker, &Help::of("hopper-api")]);
}
