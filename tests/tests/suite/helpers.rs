//! What every test needs: its own namespace (Redis key prefix and queue-name prefix) and directories,
//! real API nodes and workers started in-process against the real Redis and RabbitMQ, a GSvar-speaking
//! client (`api_client.rs`), and waiting for conditions with a deadline. Everything a test made is removed when its
//! `TestEnv` drops.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use clap::Parser;
use hopper_api::ApiConfig;
use hopper_common::{Job, JobId, Namespace, QueueName, Shutdown, Store};
use hopper_worker::WorkerConfig;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-token";
pub const READ_TOKEN: &str = "read-token";

/// How long any awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub use crate::api_client::Api;
pub use hopper_tests::{amqp_url, redis_url};

/// Waits until `check` returns `Some`, polling every 20 ms; fails the test after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    hopper_tests::eventually_within(what, DEADLINE, check).await
}

/// The rows of a `rabbitmqctl list_*` table (RabbitMQ's own view), whose first column is a queue
/// name, for the rows of `queue`: the other columns of each.
pub fn rabbitmq_rows(list: &str, columns: &[&str], queue: &str) -> Vec<Vec<String>> {
    let output = std::process::Command::new("rabbitmqctl")
        .args([list, "-q"])
        .args(columns)
        .output()
        .expect("rabbitmqctl (installed with RabbitMQ) must be on PATH");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            line.split('\t')
                .map(|field| field.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|fields| fields.first().is_some_and(|name| name == queue))
        .map(|mut fields| fields.split_off(1))
        .collect()
}

/// Flags for an in-process binary: defaults a test can override or remove.
#[derive(Debug, Clone)]
pub struct Flags(BTreeMap<&'static str, String>);

impl Flags {
    pub fn set(mut self, flag: &'static str, value: impl Into<String>) -> Self {
        self.0.insert(flag, value.into());
        self
    }

    pub fn unset(mut self, flag: &'static str) -> Self {
        self.0.remove(flag);
        self
    }

    pub fn argv(&self, program: &str) -> Vec<String> {
        let mut argv = vec![program.to_owned()];
        for (flag, value) in &self.0 {
            argv.push(format!("{flag}={value}"));
        }
        argv
    }
}

/// One test's private world.
pub struct TestEnv {
    pub ns: Namespace,
    _root: tempfile::TempDir,
    /// The working-directory root (HOPPER_WORK_ROOTS) and the default working directory.
    pub work: PathBuf,
    pub logs: PathBuf,
    pub scripts: PathBuf,
    pub store: Store,
    amqp_queues: Mutex<BTreeSet<String>>,
    /// One broker connection for all of this test's questions about its queues.
    probe: hopper_tests::QueueProbe,
}

impl TestEnv {
    pub fn new() -> Self {
        hopper_common::telemetry::init_for_test();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let ns = Namespace::parse(&format!("t{}", &id[..12])).expect("valid namespace");
        let root = tempfile::tempdir().expect("temp dir");
        let work = root.path().join("work");
        let logs = root.path().join("logs");
        std::fs::create_dir_all(&work).expect("work dir");
        let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("megsap/src/Pipelines");
        let store = Store::new(
            &redis_url(),
            ns.clone(),
            Duration::from_secs(3600),
            Duration::from_secs(5),
        )
        .expect("store");
        Self {
            ns,
            _root: root,
            work,
            logs,
            scripts,
            store,
            amqp_queues: Mutex::default(),
            probe: hopper_tests::QueueProbe::default(),
        }
    }

    /// The AMQP name of a user queue, remembered so the queue is deleted with the test.
    pub fn amqp_queue(&self, queue: &str) -> String {
        let name = format!("{}.{queue}", self.ns);
        self.amqp_queues.lock().expect("lock").insert(name.clone());
        name
    }

    pub fn api_flags(&self) -> Flags {
        Flags(BTreeMap::from([
            ("--listen", "127.0.0.1:0".to_owned()),
            ("--tokens", format!("{TOKEN},read:{READ_TOKEN}")),
            ("--work-roots", self.work.display().to_string()),
            ("--script-dirs", self.scripts.display().to_string()),
            ("--redis-url", redis_url()),
            ("--amqp-url", amqp_url()),
            ("--namespace", self.ns.to_string()),
            // Most tests submit to `default` before any worker has registered it.
            ("--known-queues", "default".to_owned()),
        ]))
    }

    pub async fn api(&self) -> Api {
        self.api_with(self.api_flags()).await
    }

    /// Starts an API node in-process on a free port.
    pub async fn api_with(&self, flags: Flags) -> Api {
        let config = ApiConfig::try_parse_from(flags.argv("hopper-api")).expect("API flags");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let shutdown = Shutdown::default();
        let stop = shutdown.clone();
        let server = tokio::spawn(hopper_api::serve(config, listener, shutdown));
        Api {
            url,
            work: self.work.clone(),
            client: reqwest::Client::new(),
            stop,
            _server: server,
        }
    }

    pub fn worker_flags(&self, id: &str, queues: &[&str], threads: u32) -> Flags {
        for queue in queues {
            self.amqp_queue(queue);
        }
        Flags(BTreeMap::from([
            ("--worker-id", id.to_owned()),
            ("--queues", queues.join(",")),
            ("--threads", threads.to_string()),
            ("--script-dirs", self.scripts.display().to_string()),
            ("--log-dir", self.logs.display().to_string()),
            ("--work-roots", self.work.display().to_string()),
            ("--kill-grace", "5s".to_owned()),
            ("--redis-url", redis_url()),
            ("--amqp-url", amqp_url()),
            ("--namespace", self.ns.to_string()),
        ]))
    }

    /// Starts a worker in-process and waits until it consumes every queue it serves.
    pub async fn worker(&self, id: &str, queues: &[&str], threads: u32) -> Worker {
        self.worker_with(self.worker_flags(id, queues, threads))
            .await
    }

    pub async fn worker_with(&self, flags: Flags) -> Worker {
        let config =
            WorkerConfig::try_parse_from(flags.argv("hopper-worker")).expect("worker flags");
        let queues: Vec<String> = config
            .queues
            .0
            .iter()
            .map(|q| self.amqp_queue(q.as_str()))
            .collect();
        let id = config.worker_id.clone();
        let shutdown = Shutdown::default();
        let handle = tokio::spawn(hopper_worker::run(config, shutdown.clone()));
        for queue in &queues {
            eventually(&format!("worker {id} to consume {queue}"), || async {
                (self.queue_counts(queue).await?.1 > 0).then_some(())
            })
            .await;
        }
        Worker {
            shutdown,
            handle: Some(handle),
        }
    }

    /// Makes `queues` known, as a worker serving them would (only known queues take jobs).
    pub async fn register(&self, queues: &[&str]) {
        let queues: Vec<QueueName> = queues
            .iter()
            .map(|q| QueueName::parse(q).expect("queue name"))
            .collect();
        self.store
            .register_queues(&queues)
            .await
            .expect("register queues");
    }

    /// (messages ready, consumers) of an AMQP queue, or `None` if it does not exist.
    pub async fn queue_counts(&self, name: &str) -> Option<(u32, u32)> {
        self.probe.counts(name).await
    }

    pub async fn job(&self, id: &str) -> Option<Job> {
        self.store
            .get(&JobId::parse(id).expect("job id"))
            .await
            .expect("Redis")
    }

    /// Every Redis key of this test's namespace.
    pub async fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(redis_url()).expect("Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("Redis");
        redis::cmd("KEYS")
            .arg(format!("{}:*", self.ns))
            .query_async(&mut conn)
            .await
            .expect("KEYS")
    }

    /// The keys requests leave: every key of the namespace but those API nodes write on their own
    /// schedule (the sweeper's lock, the load history).
    pub async fn request_keys(&self) -> Vec<String> {
        let background = [format!("{}:sweeper", self.ns), format!("{}:load", self.ns)];
        let turn = format!("{}:load-turn:", self.ns);
        self.keys()
            .await
            .into_iter()
            .filter(|k| !background.contains(k) && !k.starts_with(&turn))
            .collect()
    }

    /// One field of a job's record, as stored.
    pub async fn field(&self, id: &str, field: &str) -> Option<String> {
        let client = redis::Client::open(redis_url()).expect("Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("Redis");
        redis::cmd("HGET")
            .arg(format!("{}:job:{id}", self.ns))
            .arg(field)
            .query_async(&mut conn)
            .await
            .expect("HGET")
    }

    /// Seconds until the job's record expires; -1 while it is kept indefinitely.
    pub async fn ttl(&self, id: &str) -> i64 {
        self.key_ttl(&format!("job:{id}")).await
    }

    /// Seconds until `<ns>:<key>` expires; -1 while it is kept indefinitely, -2 if there is none.
    pub async fn key_ttl(&self, key: &str) -> i64 {
        let client = redis::Client::open(redis_url()).expect("Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("Redis");
        let key = format!("{}:{key}", self.ns);
        redis::cmd("TTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .expect("TTL")
    }

    /// Sets fields of a job's record behind Hopper's back, as a lost command or a Redis that lost writes
    /// would leave it.
    pub async fn set_fields(&self, id: &str, fields: &[(&str, &str)]) {
        let client = redis::Client::open(redis_url()).expect("Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("Redis");
        let mut command = redis::cmd("HSET");
        command.arg(format!("{}:job:{id}", self.ns));
        for (field, value) in fields {
            command.arg(*field).arg(*value);
        }
        let _: u64 = command.query_async(&mut conn).await.expect("HSET");
    }

    /// Job keys only (the id counter may exist without any job).
    pub async fn job_keys(&self) -> Vec<String> {
        self.keys()
            .await
            .into_iter()
            .filter(|k| k.contains(":job:"))
            .collect()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }

    /// Waits for a `hold.php` job to be running and returns the pids it wrote.
    pub async fn started_pids(&self, job: &str) -> Vec<i32> {
        let marker = self.path(&format!("{job}.started"));
        let text = eventually(&format!("job {job} to start"), || async {
            std::fs::read_to_string(&marker).ok()
        })
        .await;
        text.split_whitespace()
            .map(|p| p.parse().expect("pid"))
            .collect()
    }

    pub fn release(&self, job: &str) {
        std::fs::write(self.path(&format!("release-{job}")), "").expect("release file");
    }

    pub fn release_all(&self) {
        std::fs::write(self.path("release-all"), "").expect("release file");
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // Let any held script finish instead of lingering, then remove the namespace's keys and queues.
        let _ = std::fs::write(self.work.join("release-all"), "");
        let queues =
            std::mem::take(&mut *self.amqp_queues.lock().unwrap_or_else(|e| e.into_inner()));
        hopper_tests::remove_namespace(self.ns.as_str(), queues);
    }
}

/// An in-process worker; stopped at once when dropped.
pub struct Worker {
    pub shutdown: Shutdown,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Worker {
    /// Stops the worker at once (both stages of its shutdown: no drain) and returns how its `run`
    /// ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.stop_now();
        self.finished().await
    }

    /// Waits for the worker's `run` to return (after a shutdown a test began itself).
    pub async fn finished(&mut self) -> anyhow::Result<()> {
        match self.handle.take() {
            Some(handle) => tokio::time::timeout(DEADLINE, handle)
                .await
                .expect("worker did not stop within the deadline")
                .expect("worker task panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shutdown.stop_now();
    }
}
