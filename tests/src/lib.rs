//! What Hopper's integration test binaries share (`suite`, nodes started in-process; `faults`, the real
//! binaries with faults injected; `scripts`, the repository's scripts run for real; `deploy`, the
//! deployment files checked against the binaries' `--help`): where the shared
//! Redis and RabbitMQ are and where the binaries are, waiting for a condition with a deadline, asking
//! the broker about a queue, and removing a test's namespace afterwards.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod queue_probe;

pub use queue_probe::QueueProbe;

use lapin::options::QueueDeleteOptions;
use lapin::{Connection, ConnectionProperties};

/// The shared Redis (`HOPPER_TEST_REDIS_URL` overrides it).
pub fn redis_url() -> String {
    std::env::var("HOPPER_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The shared RabbitMQ (`HOPPER_TEST_AMQP_URL` overrides it).
pub fn amqp_url() -> String {
    std::env::var("HOPPER_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// Where `hopper-api` and `hopper-worker` are: `HOPPER_TEST_BIN_DIR`, or else the cargo target directory
/// the running test executable was built in (`<target>/debug/deps/faults-…` → `<target>/debug/`).
/// `cargo nextest run --workspace` builds them; otherwise run `cargo build --workspace --bins` first.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HOPPER_TEST_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("path of the test executable");
    let deps = exe
        .parent()
        .expect("the test executable lives in <target>/debug/deps");
    deps.parent()
        .expect("the test executable lives in <target>/debug/deps")
        .to_owned()
}

/// Polls `check` every 20 ms until it returns `Some`; fails the test after `deadline`.
pub async fn eventually_within<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = Instant::now() + deadline;
    loop {
        // A check that never answers (a connect to a server that does not reply) must fail the test
        // at the deadline too, naming what it waited for, not hang it until the runner kills it.
        let answer = tokio::time::timeout_at(until.into(), check())
            .await
            .unwrap_or_else(|_| panic!("timed out after {deadline:?} waiting for {what}: the check itself did not answer"));
        if let Some(value) = answer {
            return value;
        }
        assert!(
            Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Removes every key of namespace `ns` from the shared Redis and the AMQP `queues` from the shared
/// broker, unless `HOPPER_TEST_KEEP` is set (to look at them after a failure). Blocking, for `Drop`:
/// it runs on a runtime of its own, because the test's runtime may be gone. Each half gives up after
/// 10 s, so a dead service cannot hang the test run.
pub fn remove_namespace(ns: &str, queues: BTreeSet<String>) {
    if std::env::var_os("HOPPER_TEST_KEEP").is_some() {
        return;
    }
    let ns = ns.to_owned();
    let cleanup = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            let _ = tokio::time::timeout(Duration::from_secs(10), remove_keys(&ns)).await;
            let _ = tokio::time::timeout(Duration::from_secs(10), remove_queues(queues)).await;
        });
        Some(())
    });
    let _ = cleanup.join();
}

async fn remove_keys(ns: &str) -> Option<()> {
    let client = redis::Client::open(redis_url()).ok()?;
    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{ns}:*"))
        .query_async(&mut conn)
        .await
        .ok()?;
    if !keys.is_empty() {
        let _: Result<u64, _> = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await;
    }
    Some(())
}

async fn remove_queues(queues: BTreeSet<String>) -> Option<()> {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .ok()?;
    for queue in queues {
        if let Ok(channel) = connection.create_channel().await {
            let _ = channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
    }
    let _ = connection.close(200, "cleanup".into()).await;
    Some(())
}
