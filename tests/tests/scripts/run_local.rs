//! `scripts/run-local` stopped with Ctrl-C: the terminal sends SIGINT to every process of its
//! foreground group, run-local's own trap then sends SIGTERM, and the binaries must take the two as one
//! request to drain, not as a second signal that cuts the drain short.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hopper_tests::{eventually_within as eventually, redis_url, remove_namespace};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::run::collect;

const TOKEN: &str = "run-local-token";
const DEADLINE: Duration = Duration::from_secs(60);

/// One `scripts/run-local`, in a process group of its own as a terminal's foreground job is.
struct RunLocal {
    child: Child,
    group: Pid,
    url: String,
    ns: String,
    dir: tempfile::TempDir,
    output: Arc<Mutex<String>>,
}

impl RunLocal {
    /// Starts run-local with the debug binaries and waits until it says Hopper is running.
    async fn start(drain: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("work")).expect("work dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let ns = format!("rl{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let repo = repo();
        let mut command = Command::new("bash");
        command.arg(repo.join("scripts/run-local"));
        // HOPPER_* settings of the test runner must not leak in.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HOPPER_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .envs([
                (
                    "RUN_LOCAL_BIN",
                    hopper_tests::bin_dir().display().to_string(),
                ),
                (
                    "RUN_LOCAL_STATE",
                    dir.path().join("state").display().to_string(),
                ),
                ("HOPPER_LISTEN", format!("127.0.0.1:{port}")),
                ("HOPPER_NAMESPACE", ns.clone()),
                ("HOPPER_TOKENS", TOKEN.to_owned()),
                (
                    "HOPPER_WORK_ROOTS",
                    dir.path().join("work").display().to_string(),
                ),
                ("HOPPER_WORKER_ID", format!("{ns}-worker")),
                ("HOPPER_DRAIN", drain.to_owned()),
                ("HOPPER_KILL_GRACE", "2s".to_owned()),
                ("HOPPER_REDIS_URL", redis_url()),
                ("HOPPER_AMQP_URL", hopper_tests::amqp_url()),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start scripts/run-local");
        let group = Pid::from_raw(i32::try_from(child.id().expect("pid")).expect("pid fits"));
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            tokio::spawn(collect(stream, output.clone()));
        }
        let mut run = Self {
            child,
            group,
            url: format!("http://127.0.0.1:{port}"),
            ns,
            dir,
            output,
        };
        let said = run.output.clone();
        let child = &mut run.child;
        eventually("run-local to say Hopper is running", DEADLINE, || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "run-local exited with {status}:\n{}",
                    said.lock().expect("output")
                );
            }
            let text = said.lock().expect("output").clone();
            std::future::ready(text.contains("Hopper is running").then_some(()))
        })
        .await;
        run
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    fn ctrl_c(&self) {
        killpg(self.group, Signal::SIGINT).expect("SIGINT to run-local's process group");
    }

    fn worker_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("state/worker.log")).unwrap_or_default()
    }

    /// Submits `hold.php` over GSvar's protocol and waits until its script runs; returns its id.
    async fn hold_job(&self) -> String {
        let body = json!({
            "action": "submit", "token": TOKEN, "threads": 1, "queues": ["default"],
            "script": "hold.php", "script_args": [],
            "working_directory": self.work().display().to_string(),
        });
        let reply: Value = reqwest::Client::new()
            .post(format!("{}/qe", self.url))
            .json(&body)
            .send()
            .await
            .expect("submit")
            .json()
            .await
            .expect("JSON reply");
        let id = reply["qe_job_id"].as_str().expect("a job id").to_owned();
        let marker = self.work().join(format!("{id}.started"));
        eventually(&format!("job {id} to start"), DEADLINE, || {
            std::future::ready(marker.exists().then_some(()))
        })
        .await;
        id
    }

    fn release(&self, job: &str) {
        std::fs::write(self.work().join(format!("release-{job}")), "").expect("release file");
    }

    async fn until_draining(&self) {
        eventually("the worker to drain", DEADLINE, || {
            std::future::ready(self.worker_log().contains("draining").then_some(()))
        })
        .await;
    }

    /// Waits until run-local has said `line` (its output is read as it comes).
    async fn said(&self, line: &str) {
        eventually(&format!("run-local to say '{line}'"), DEADLINE, || {
            let said = self.output.lock().expect("output").contains(line);
            std::future::ready(said.then_some(()))
        })
        .await;
    }

    async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for run-local"),
            Err(_) => panic!(
                "run-local still running {limit:?} after Ctrl-C:\n{}",
                self.output.lock().expect("output")
            ),
        }
    }

    /// A field of the job's record in Redis.
    async fn job_field(&self, id: &str, field: &str) -> String {
        crate::run::job_field(&self.ns, id, field).await
    }
}

impl Drop for RunLocal {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- run-local said:\n{}",
                self.output.lock().unwrap_or_else(|e| e.into_inner())
            );
            eprintln!("--- worker log:\n{}", self.worker_log());
        }
        let _ = std::fs::write(self.work().join("release-all"), "");
        let _ = killpg(self.group, Signal::SIGKILL);
        remove_namespace(&self.ns, BTreeSet::from([format!("{}.default", self.ns)]));
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the repository")
        .to_owned()
}

/// One Ctrl-C on run-local drains: the job running at that moment, released during the drain, ends
/// `succeeded`, and run-local exits once it has (status 130, as after SIGINT).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_lets_the_running_job_finish() {
    let mut run = RunLocal::start("30s").await;
    let job = run.hold_job().await;

    run.ctrl_c();
    run.until_draining().await;
    run.release(&job);
    let status = run.exit_within(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(130), "{status}");
    run.said("run-local: stopped").await;
    assert_eq!(run.job_field(&job, "state").await, "succeeded");
    assert_eq!(run.job_field(&job, "attempts").await, "1");
    assert!(
        !run.worker_log().contains("drain cut short"),
        "the terminal's SIGINT and run-local's SIGTERM were taken as two signals:\n{}",
        run.worker_log()
    );
}

/// A second, separate Ctrl-C cuts the drain short: run-local exits within the kill grace (2 s) and a
/// little, not after the 60 s drain, and the job it stopped ends `worker_shutdown`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_stops_the_running_job_now() {
    let mut run = RunLocal::start("60s").await;
    let job = run.hold_job().await;

    run.ctrl_c();
    run.until_draining().await;
    // Only a signal separate from the first stops at once: time passing is the condition here, counted
    // from when the worker had surely taken the first (it drains), not from when it was sent.
    tokio::time::sleep(hopper_common::SAME_REQUEST).await;
    run.ctrl_c();
    let status = run.exit_within(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(130), "{status}");
    // It waited for the worker, rather than die of the second signal first.
    run.said("run-local: stopped").await;
    assert_eq!(run.job_field(&job, "state").await, "failed");
    assert_eq!(run.job_field(&job, "reason").await, "worker_shutdown");
}
