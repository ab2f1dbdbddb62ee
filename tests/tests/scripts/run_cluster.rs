//! `scripts/run-cluster` run for real: HAProxy in front of two API nodes, one worker for each of two
//! queues, in a namespace of its own on free ports. Jobs are submitted through the balancer only, over
//! GSvar's protocol, as GSvar would.

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

const TOKEN: &str = "run-cluster-token";
const QUEUES: [&str; 2] = ["alpha", "beta"];
const DEADLINE: Duration = Duration::from_secs(60);

/// One process run-cluster started, as its table printed it: `api-1   pid 1234   http://...`.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    pid: Pid,
    address: String,
}

/// One `scripts/run-cluster`, in a process group of its own as a terminal's foreground job is.
struct RunCluster {
    child: Child,
    group: Pid,
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
    /// Starts run-cluster with two API nodes and one worker per queue, with the debug binaries, and
    /// waits until it prints its table of processes.
    async fn start() -> Self {
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
                ("HOPPER_DRAIN", "10s".to_owned()),
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

    fn said_so_far(&self) -> String {
        self.output.lock().expect("output").clone()
    }

    fn member(&self, name: &str) -> &Member {
        self.members
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("run-cluster printed no {name}:\n{}", self.said_so_far()))
    }

    fn haproxy_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("state/cluster/haproxy.log"))
            .unwrap_or_default()
    }

    /// What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
    fn ctrl_c(&self) {
        killpg(self.group, Signal::SIGINT).expect("SIGINT to run-cluster's process group");
    }

    async fn said(&self, line: &str) {
        eventually(&format!("run-cluster to say '{line}'"), DEADLINE, || {
            std::future::ready(self.said_so_far().contains(line).then_some(()))
        })
        .await;
    }

    async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for run-cluster"),
            Err(_) => panic!(
                "run-cluster still running {limit:?} after Ctrl-C:\n{}",
                self.said_so_far()
            ),
        }
    }

    /// One GSvar request through the balancer; the reply, or why there was none.
    async fn qe(&self, body: Value) -> Result<Value, String> {
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

    /// Submits `analyze.php` to `queue` through the balancer; returns the job's id.
    async fn submit(&self, queue: &str) -> Result<String, String> {
        let work = self.dir.path().join("work").display().to_string();
        let reply = self
            .qe(json!({
                "action": "submit", "token": TOKEN, "threads": 1, "queues": [queue],
                "script": "analyze.php", "script_args": ["-name", queue], "working_directory": work,
            }))
            .await?;
        reply["qe_job_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("a submit answered without a job id: {reply}"))
    }

    /// Waits until job `id` has ended, asking through the balancer; its last `update` reply.
    async fn finished(&self, id: &str) -> Value {
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
fn members(said: &str) -> Vec<Member> {
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
fn group_is_empty(group: Pid) -> bool {
    killpg(group, None) == Err(Errno::ESRCH)
}

fn is_gone(pid: Pid) -> bool {
    kill(pid, None) == Err(Errno::ESRCH)
}

/// Jobs submitted through the balancer run on the worker of the queue they name, in each of two
/// queues, and end `finished`; one Ctrl-C then stops run-cluster (status 130) and leaves no process
/// behind: none of its process group, and not HAProxy, which runs in a group of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_through_the_balancer_succeed_and_ctrl_c_leaves_no_process() {
    let mut run = RunCluster::start().await;
    for queue in QUEUES {
        let id = run
            .submit(queue)
            .await
            .expect("a submit through the balancer");
        let reply = run.finished(&id).await;
        assert_eq!(reply["status"], "finished", "{reply}");
        assert_eq!(reply["queue"], queue, "{reply}");
    }
    let haproxy = run.member("haproxy").pid;

    run.ctrl_c();
    let status = run.exit_within(Duration::from_secs(40)).await;
    assert_eq!(status.code(), Some(130), "{status}");
    run.said("run-cluster: stopped").await;
    assert!(
        group_is_empty(run.group),
        "a process of run-cluster's group is left"
    );
    assert!(is_gone(haproxy), "HAProxy (pid {haproxy}) is still running");
}

/// An API node killed with SIGKILL is taken out by HAProxy's health check (GET /readyz, two failures
/// a second apart), after which every request through the balancer succeeds on the other node;
/// run-cluster reports the exit and does not start the node again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_api_node_is_routed_around_and_not_restarted() {
    let mut run = RunCluster::start().await;
    let killed = run.member("api-2").clone();
    kill(killed.pid, Signal::SIGKILL).expect("SIGKILL to api-2");

    run.said(&format!("api-2 (pid {}", killed.pid)).await;
    run.said("it is not restarted").await;
    eventually("HAProxy to mark api-2 down", DEADLINE, || {
        std::future::ready(
            run.haproxy_log()
                .contains("api_nodes/api-2 is DOWN")
                .then_some(()),
        )
    })
    .await;

    let mut jobs = Vec::new();
    for round in 0..10 {
        let queue = QUEUES[round % QUEUES.len()];
        let id = run
            .submit(queue)
            .await
            .unwrap_or_else(|e| panic!("submit {round} through the balancer failed: {e}"));
        jobs.push(id);
    }
    for id in &jobs {
        let reply = run.finished(id).await;
        assert_eq!(reply["status"], "finished", "job {id}: {reply}");
    }
    // Not restarted: nothing listens on its address, and no new api-2 appears in the output.
    let address = killed.address.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(address).is_err(),
        "something listens on api-2's address {address} again"
    );
    assert_eq!(
        run.said_so_far().matches("api-2 ").count(),
        2,
        "api-2 appears once in the table and once when it exited:\n{}",
        run.said_so_far()
    );

    run.ctrl_c();
    let status = run.exit_within(Duration::from_secs(40)).await;
    assert_eq!(status.code(), Some(130), "{status}");
    assert!(
        group_is_empty(run.group),
        "a process of run-cluster's group is left"
    );
}
