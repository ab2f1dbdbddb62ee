//! One test's private world: a namespace (Redis key prefix and AMQP queue prefix), a temporary
//! directory holding the work root, the job logs and the processes' logs, and the cleanup of all of it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use hopper_tests::{amqp_url, redis_url};

pub struct World {
    pub ns: String,
    root: tempfile::TempDir,
    /// HOPPER_WORK_ROOTS and every job's working directory; hold.php writes its markers here.
    pub work: PathBuf,
    /// HOPPER_LOG_DIR of the workers.
    pub job_logs: PathBuf,
    /// HOPPER_SCRIPT_DIRS: the fake megSAP pipelines.
    pub scripts: PathBuf,
    queues: Mutex<BTreeSet<String>>,
    /// One broker connection for all of this test's questions about its queues.
    probe: hopper_tests::QueueProbe,
}

impl World {
    pub fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let ns = format!("f{}", &id[..12]);
        let root = tempfile::tempdir().expect("temp dir");
        let work = root.path().join("work");
        let job_logs = root.path().join("job-logs");
        std::fs::create_dir_all(&work).expect("work dir");
        let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("megsap/src/Pipelines");
        Self {
            ns,
            root,
            work,
            job_logs,
            scripts,
            queues: Mutex::default(),
            probe: hopper_tests::QueueProbe::default(),
        }
    }

    /// Where a process or a private Redis keeps its files.
    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    /// The AMQP name of a user queue, remembered so that the queue is deleted with the test.
    pub fn amqp_queue(&self, queue: &str) -> String {
        let name = format!("{}.{queue}", self.ns);
        self.queues.lock().expect("queue list").insert(name.clone());
        name
    }

    /// Consumers on a user queue, from a passive declare on the shared broker; 0 if it does not exist.
    pub async fn consumers(&self, queue: &str) -> u32 {
        let name = self.amqp_queue(queue);
        self.probe
            .counts(&name)
            .await
            .map_or(0, |(_, consumers)| consumers)
    }

    /// Messages ready on a user queue; 0 if it does not exist.
    pub async fn ready(&self, queue: &str) -> u32 {
        let name = self.amqp_queue(queue);
        self.probe.counts(&name).await.map_or(0, |(ready, _)| ready)
    }

    pub fn release(&self, job: &str) {
        std::fs::write(self.work.join(format!("release-{job}")), "").expect("release file");
    }
}

impl Drop for World {
    fn drop(&mut self) {
        crate::hold::end_leftovers(&self.work);
        let queues = std::mem::take(&mut *self.queues.lock().unwrap_or_else(|e| e.into_inner()));
        // A test on a private Redis leaves nothing in the shared one; removing finds nothing there.
        hopper_tests::remove_namespace(&self.ns, queues);
    }
}

/// host:port of the shared RabbitMQ, taken from its URL (`amqp://user:pass@host:port/vhost`).
pub fn amqp_addr() -> String {
    let url = amqp_url();
    let after_at = url.rsplit_once('@').map_or(url.as_str(), |(_, rest)| rest);
    let host_port = after_at.split('/').next().unwrap_or(after_at);
    if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5672")
    }
}

/// The shared RabbitMQ's URL with its address replaced by a local proxy's port.
pub fn amqp_url_via(port: u16) -> String {
    amqp_url().replacen(&amqp_addr(), &format!("127.0.0.1:{port}"), 1)
}
