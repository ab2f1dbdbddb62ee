//! The real `hopper-worker` binary against the real Redis and RabbitMQ, configured the way operators
//! configure it, through HOPPER_* variables: it runs a job, hides its own settings from the job, and on
//! SIGTERM stops and exits cleanly.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hopper_common::{JobSpec, JobState, Namespace, Publisher, QueueName, Store};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const REDIS: &str = "redis://127.0.0.1:6379";
const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Runs a job through the real binary, then SIGTERM: the job saw HOPPER_JOB_ID but none of the
/// worker's HOPPER_* settings (which may carry credentials), and the worker exited with success.
#[tokio::test]
async fn worker_binary_runs_a_job_hides_its_settings_and_stops_on_sigterm() {
    let ns = Namespace::parse(&format!("wbin{}", std::process::id())).expect("namespace");
    // The body runs as a task so that its keys and queue are removed even when an assertion fails.
    let outcome = tokio::spawn(run_and_stop(ns.clone())).await;
    cleanup(&ns).await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn run_and_stop(ns: Namespace) {
    let dir = tempfile::tempdir().expect("temp dir");
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/megsap/src/Pipelines");
    let mut worker = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_hopper-worker"))
            .env("HOPPER_NAMESPACE", ns.as_str())
            .env("HOPPER_QUEUES", "default")
            .env("HOPPER_THREADS", "1")
            .env("HOPPER_SCRIPT_DIRS", scripts)
            .env("HOPPER_LOG_DIR", dir.path().join("logs"))
            .env("HOPPER_WORK_ROOTS", dir.path())
            .env("HOPPER_WORKER_ID", "binary")
            .env("HOPPER_REDIS_URL", REDIS)
            .env("HOPPER_AMQP_URL", AMQP)
            .stderr(Stdio::null())
            .spawn()
            .expect("start hopper-worker"),
    );

    let store = Store::new(
        REDIS,
        ns.clone(),
        Duration::from_secs(600),
        Duration::from_secs(5),
    )
    .expect("store");
    let spec = JobSpec {
        threads: 1,
        queues: vec![QueueName::parse("default").expect("queue")],
        script: "printenv.sh".into(),
        args: vec![],
        working_directory: dir.path().to_owned(),
        max_tries: 1,
        ..JobSpec::default()
    };
    let id = store.create(&spec).await.expect("create job");
    Publisher::new(
        AMQP,
        ns.clone(),
        "worker binary test",
        Duration::from_secs(5),
    )
    .submit(&id, 1, &spec.queues)
    .await
    .expect("publish");

    let deadline = Instant::now() + Duration::from_secs(30);
    let job = loop {
        let job = store.get(&id).await.expect("Redis").expect("job");
        if job.state.is_final() {
            break job;
        }
        assert!(Instant::now() < deadline, "job did not end: {job:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    let seen: Vec<&str> = job
        .output
        .lines()
        .filter(|l| l.starts_with("HOPPER_"))
        .collect();
    assert!(
        seen.contains(&format!("HOPPER_JOB_ID={id}").as_str()),
        "{seen:?}"
    );
    assert!(
        !job.output.contains("HOPPER_REDIS_URL") && !job.output.contains("HOPPER_AMQP_URL"),
        "{seen:?}"
    );

    kill(Pid::from_raw(worker.0.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    let status = loop {
        if let Some(status) = worker.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "worker did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "worker exited with {status}");
}

async fn cleanup(ns: &Namespace) {
    let client = redis::Client::open(REDIS).expect("Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{ns}:*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    if !keys.is_empty() {
        let _: u64 = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .expect("DEL");
    }
    let connection = lapin::Connection::connect(AMQP, lapin::ConnectionProperties::default())
        .await
        .expect("AMQP");
    let channel = connection.create_channel().await.expect("channel");
    let queue = format!("{ns}.default");
    channel
        .queue_delete(queue.as_str().into(), Default::default())
        .await
        .expect("delete queue");
}

/// Kills the worker if the test fails before stopping it, so no process outlives the test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
