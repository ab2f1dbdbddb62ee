//! One `scripts/run-cluster` for a test: HAProxy in front of two API nodes, one worker for each of two
//! queues, in a namespace of its own on free ports, started as a terminal starts a foreground job.
//! Jobs are submitted through the balancer only, over GSvar's protocol, as GSvar would.

use std::collections::BTreeSet;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hopper_tests::{eventually_within as eventually, redis_url, remove_namespace};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::run::{collect, repo_root};

pub const TOKEN: &str = "run-cluster-token";
pub const QUEUES: [&str; 2] = ["alpha", "beta"];
pub const DEADLINE: Duration = Duration::from_secs(60);

/// One process run-cluster started, as its table printed it: `api-1   pid 1234   http://...`.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub pid: Pid,
    pub address: String,
}

/// One `scripts/run-cluster`, in a process group of its own as a terminal's foreground job is.
pub struct RunCluster {
    child: Child,
    pub group: Pid,
    url: String,
    ns: String,
    dir: tempfile::TempDir,
    output: Arc<Mutex<String>>,
    members: Vec<Member>,
}

/// `count` ports free at the same moment (each listener is held until all are taken).
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("its address").port())
        .collect()
}

impl RunCluster {
    /// Starts run-cluster with two API nodes and one worker per queue, with the debug binaries, jobs
    /// allowed `drain` to finish after Ctrl-C, and waits until it prints its table of processes.
    pub async fn start(drain: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("work")).expect("work dir");
        let ports = free_ports(3);
        let ns = format!("rc{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut command = Command::new("bash");
        command
            .arg(repo_root().join("scripts/run-cluster"))
            .args(["--api-nodes", "2", "--workers", "1", "--queues"])
            .arg(QUEUES.join(","));
        // HOPPER_* settings of the test runner must not leak in.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HOPPER_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .envs([
                (
                    "RUN_CLUSTER_BIN",
                    hopper_tests::bin_dir().display().to_string(),
                ),
                (
                    "RUN_CLUSTER_STATE",
                    dir.path().join("state").display().to_string(),
                ),
                ("HOPPER_CLUSTER_LISTEN", format!("127.0.0.1:{}", ports[0])),
                (
                    "HOPPER_CLUSTER_API_PORTS",
                    format!("{},{}", ports[1], ports[2]),
                ),
                ("HOPPER_NAMESPACE", ns.clone()),
                ("HOPPER_TOKENS", TOKEN.to_owned()),
                (
                    "HOPPER_WORK_ROOTS",
                    dir.path().join("work").display().to_string(),
                ),
                ("HOPPER_WORKER_ID", ns.clone()),
                ("HOPPER_DRAIN", drain.to_owned()),
                ("HOPPER_KILL_GRACE", "2s".to_owned()),
                ("HOPPER_SHUTDOWN_GRACE", "5s".to_owned()),
                ("HOPPER_REDIS_URL", redis_url()),
                ("HOPPER_AMQP_URL", hopper_tests::amqp_url()),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start scripts/run-cluster");
        let group = Pid::from_raw(i32::try_from(child.id().expect("pid")).expect("pid fits"));
        let output = Arc::new(Mutex::new(String::new()));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(collect(stdout, output.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(collect(stderr, output.clone()));
        }
        let mut run = Self {
            child,
            group,
            url: format!("http://127.0.0.1:{}", ports[0]),
            ns,
            dir,
            output,
            members: Vec::new(),
        };
        let said = run.output.clone();
        let child = &mut run.child;
        eventually(
            "run-cluster to say the cluster is running",
            DEADLINE,
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "run-cluster exited with {status}:\n{}",
                        said.lock().expect("output")
                    );
                }
                let text = said.lock().expect("output").clone();
                std::future::ready(text.contains("Ctrl-C stops them all").then_some(()))
            },
        )
        .await;
        run.members = members(&run.said_so_far());
        assert_eq!(
            run.members.len(),
            1 + 2 + QUEUES.len(),
            "haproxy, two nodes and a worker per queue:\n{}",
            run.said_so_far()
        );
        run
    }

    pub fn said_so_far(&self) -> String {
        self.output.lock().expect("output").clone()
    }

    pub fn member(&self, name: &str) -> &Member {
        self.members
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("run-cluster printed no {name}:\n{}", self.said_so_far()))
    }

    /// Everything a member (`worker-alpha-1`, `api-1`) logged, for failure messages.
    pub fn log_of(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("state/cluster/{name}.log")))
            .unwrap_or_default()
    }

    pub fn haproxy_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("state/cluster/haproxy.log"))
            .unwrap_or_default()
    }

    /// What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    pub fn ctrl_c(&self) {
        killpg(self.group, Signal::SIGINT).expect("SIGINT to run-cluster's process group");
    }

    pub async fn said(&self, line: &str) {
        eventually(&format!("run-cluster to say '{line}'"), DEADLINE, || {
            std::future::ready(self.said_so_far().contains(line).then_some(()))
        })
        .await;
    }

    pub async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for run-cluster"),
            Err(_) => panic!(
                "run-cluster still running {limit:?} after Ctrl-C:\n{}",
                self.said_so_far()
            ),
        }
    }

    /// One GSvar request through the balancer; the reply, or why there was none.
    pub async fn qe(&self, body: Value) -> Result<Value, String> {
        let reply = reqwest::Client::new()
            .post(format!("{}/qe", self.url))
            .timeout(Duration::from_secs(10))
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("no answer: {e}"))?;
        let status = reply.status();
        let text = reply.text().await.map_err(|e| format!("{status}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{status}, not JSON ({e}): {text}"))
    }

    /// Submits `analyze.php` with `args` to `queue` through the balancer; returns the job's id.
    pub async fn submit(&self, queue: &str, args: &[&str]) -> Result<String, String> {
        let work = self.dir.path().join("work").display().to_string();
        let reply = self
            .qe(json!({
                "action": "submit", "token": TOKEN, "threads": 1, "queues": [queue],
                "script": "analyze.php", "script_args": args, "working_directory": work,
            }))
            .await?;
        reply["qe_job_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("a submit answered without a job id: {reply}"))
    }

    /// Waits until job `id` has ended, asking through the balancer; its last `update` reply.
    pub async fn finished(&self, id: &str) -> Value {
        let body = json!({"action": "update", "token": TOKEN, "qe_job_id": id, "qe_job_queue": ""});
        eventually(&format!("job {id} to end"), DEADLINE, || async {
            let reply = self
                .qe(body.clone())
                .await
                .expect("an update through the balancer");
            (reply["status"] != "started").then_some(reply)
        })
        .await
    }

    /// A field of job `id`'s record in Redis.
    pub async fn job_field(&self, id: &str, field: &str) -> String {
        crate::run::job_field(&self.ns, id, field).await
    }
}

impl Drop for RunCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- run-cluster said:\n{}", self.said_so_far());
            eprintln!("--- haproxy log:\n{}", self.haproxy_log());
        }
        let _ = killpg(self.group, Signal::SIGKILL);
        // HAProxy has a process group of its own (a terminal's Ctrl-C must not reach it).
        if let Some(haproxy) = self.members.iter().find(|m| m.name == "haproxy") {
            let _ = kill(haproxy.pid, Signal::SIGKILL);
        }
        let mut queues: BTreeSet<String> =
            QUEUES.iter().map(|q| format!("{}.{q}", self.ns)).collect();
        queues.insert(format!("{}.dead-letter", self.ns));
        remove_namespace(&self.ns, queues);
    }
}

/// The table run-cluster prints once everything is ready: one line per process, `name pid N address`.
pub fn members(said: &str) -> Vec<Member> {
    said.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [name, "pid", pid, address @ ..] = words.as_slice() else {
                return None;
            };
            Some(Member {
                name: (*name).to_owned(),
                pid: Pid::from_raw(pid.parse().ok()?),
                address: address.join(" "),
            })
        })
        .collect()
}

/// Whether any process is left in process group `group`.
pub fn group_is_empty(group: Pid) -> bool {
    killpg(group, None) == Err(Errno::ESRCH)
}

pub fn is_gone(pid: Pid) -> bool {
    kill(pid, None) == Err(Errno::ESRCH)
}
