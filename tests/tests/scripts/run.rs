//! Running one of the repository's scripts as a person would, within a time bound.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// The variables with which ensure-services is pointed at other ports; a run gets only those it is
/// given, never the ones of the shell that started the tests.
const PORT_VARIABLES: [&str; 2] = ["HOPPER_ENSURE_REDIS_PORT", "HOPPER_ENSURE_AMQP_PORT"];

/// The repository: the tests crate is `<repo>/tests`.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lies inside the repository")
        .to_path_buf()
}

/// How a script run ended.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

/// Runs `script` (a path from the repository root) from the repository root with `env` added, and
/// returns how it ended. It runs in a process group of its own; if it has not exited within `bound`,
/// the whole group is killed and the test fails, so that a script that goes on to run more than it
/// should (a nested test run, say) cannot outlive the test.
pub async fn run_script(script: &str, env: &[(&str, String)], bound: Duration) -> Run {
    let root = repo_root();
    let mut command = Command::new(root.join(script));
    command
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in PORT_VARIABLES {
        command.env_remove(name);
    }
    command.envs(env.iter().map(|(name, value)| (name, value)));
    let started = Instant::now();
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("start {script}: {e}"));
    let group = Pid::from_raw(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .expect("the child's pid"),
    );
    let Ok(output) = tokio::time::timeout(bound, child.wait_with_output()).await else {
        // The group may be gone already; a failed kill changes nothing here.
        let _ = killpg(group, Signal::SIGKILL);
        panic!("{script} did not exit within {bound:?}; its process group was killed");
    };
    let output = output.unwrap_or_else(|e| panic!("wait for {script}: {e}"));
    Run {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// Appends what `stream` says to `into` as it comes, until it closes: a long-running script's output,
/// read while the test waits for a line of it.
pub async fn collect(mut stream: impl tokio::io::AsyncRead + Unpin, into: Arc<Mutex<String>>) {
    let mut buffer = [0; 4096];
    while let Ok(read) = stream.read(&mut buffer).await {
        if read == 0 {
            return;
        }
        into.lock()
            .expect("output")
            .push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
}

/// A field of job `id`'s record in namespace `ns` of the local Redis ("" if it has none).
pub async fn job_field(ns: &str, id: &str, field: &str) -> String {
    let client = redis::Client::open(hopper_tests::redis_url()).expect("Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis");
    let value: Option<String> = redis::cmd("HGET")
        .arg(format!("{ns}:job:{id}"))
        .arg(field)
        .query_async(&mut conn)
        .await
        .expect("HGET");
    value.unwrap_or_default()
}
