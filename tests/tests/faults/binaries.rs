//! The real `hopper-api` and `hopper-worker` binaries as child processes, configured through HOPPER_*
//! variables the way operators configure them. Faults such as kill -9 can only be injected into a real
//! process, never into an in-process node.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

fn binary(name: &str) -> PathBuf {
    let path = hopper_tests::bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` (with the same CARGO_TARGET_DIR) first, \
         or point HOPPER_TEST_BIN_DIR at the directory holding hopper-api and hopper-worker",
        path.display()
    );
    path
}

/// HOPPER_* settings of one process.
#[derive(Debug, Clone, Default)]
pub struct Settings(BTreeMap<String, String>);

impl Settings {
    pub fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.insert(name.to_owned(), value.into());
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// A running binary. Killed when dropped; its log's tail is printed if the test is failing.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    exited: Option<ExitStatus>,
}

impl Process {
    /// Starts `program` (`hopper-api` or `hopper-worker`) with exactly `settings` as its HOPPER_*
    /// variables, appending its stdout and stderr to `<dir>/<name>.log`.
    pub fn spawn(program: &str, name: &str, settings: &Settings, dir: &Path) -> Self {
        Self::spawn_path(&binary(program), &[], name, settings, dir)
    }

    /// As [`Process::spawn`], for any program (HAProxy, a Redis) with its arguments.
    pub fn spawn_path(
        program: &Path,
        args: &[String],
        name: &str,
        settings: &Settings,
        dir: &Path,
    ) -> Self {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("process log file");
        let mut command = Command::new(program);
        command.args(args);
        // HOPPER_* variables of the test runner (HOPPER_LOG, HOPPER_TEST_*) must not leak in.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HOPPER_") {
                command.env_remove(key);
            }
        }
        let child = command
            .envs(&settings.0)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file handle"))
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Self {
            name: name.to_owned(),
            child,
            log,
            exited: None,
        }
    }

    pub fn pid(&self) -> Pid {
        let id = self
            .child
            .id()
            .expect("the process has not been reaped yet");
        Pid::from_raw(i32::try_from(id).expect("pid fits in i32"))
    }

    fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).unwrap_or_else(|e| panic!("{signal} to {}: {e}", self.name));
    }

    pub fn sigterm(&self) {
        self.signal(Signal::SIGTERM);
    }

    pub fn sigint(&self) {
        self.signal(Signal::SIGINT);
    }

    /// SIGKILL, and reaped: the process is gone when this returns. Its job scripts, in process groups
    /// of their own, are not.
    pub async fn kill9(&mut self) -> ExitStatus {
        self.signal(Signal::SIGKILL);
        self.wait_exit(Duration::from_secs(10)).await
    }

    /// Waits for the process to exit; fails the test if it is still running after `deadline`.
    pub async fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        let status = tokio::time::timeout(deadline, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} still running {deadline:?} after it was asked to stop\n{}",
                    self.name,
                    self.tail()
                )
            })
            .expect("wait for the process");
        self.exited = Some(status);
        status
    }

    /// `Some` once the process has exited, without waiting.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().expect("poll the process");
        }
        self.exited
    }

    /// Everything the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the process has logged `text` at least `times` times.
    pub async fn until_logged(&self, text: &str, times: usize) {
        crate::wait::eventually(
            &format!("{} to log '{text}' {times} times", self.name),
            crate::wait::DEADLINE,
            || std::future::ready((self.log().matches(text).count() >= times).then_some(())),
        )
        .await;
    }

    /// The last lines of the process's log, for failure messages.
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(40);
        format!(
            "--- last lines of {} ({}) ---\n{}",
            self.name,
            self.log.display(),
            lines[from..].join("\n")
        )
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.tail());
        }
        // kill_on_drop sends SIGKILL; reaping is left to tokio's orphan reaper.
    }
}
