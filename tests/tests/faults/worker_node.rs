//! A real `hopper-worker` process.

use crate::binaries::{Process, Settings};
use crate::wait::{DEADLINE, eventually};
use crate::world::{World, amqp_url, redis_url};

#[derive(Debug)]
pub struct WorkerNode {
    pub process: Process,
}

/// The settings a worker `id` of `world` serving `queues` needs; a test overrides single ones.
pub fn worker_settings(world: &World, id: &str, queues: &[&str]) -> Settings {
    for queue in queues {
        world.amqp_queue(queue);
    }
    Settings::default()
        .set("HOPPER_WORKER_ID", id)
        .set("HOPPER_QUEUES", queues.join(","))
        .set("HOPPER_THREADS", "4")
        .set("HOPPER_SCRIPT_DIRS", world.scripts.display().to_string())
        .set("HOPPER_LOG_DIR", world.job_logs.display().to_string())
        .set("HOPPER_WORK_ROOTS", world.work.display().to_string())
        .set("HOPPER_KILL_GRACE", "2s")
        .set("HOPPER_REDIS_URL", redis_url())
        .set("HOPPER_AMQP_URL", amqp_url())
        .set("HOPPER_NAMESPACE", world.ns.clone())
        .set("HOPPER_RETENTION", "1h")
}

impl WorkerNode {
    /// The worker's job guardian: its child process whose command line names `hopper-guardian`.
    pub fn guardian(&self) -> Option<nix::unistd::Pid> {
        let parent = self.process.pid().as_raw().to_string();
        std::fs::read_dir("/proc")
            .ok()?
            .flatten()
            .find_map(|entry| {
                let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
                // `pid (comm) state ppid ...`
                let ppid = stat.rsplit_once(") ")?.1.split(' ').nth(1)?;
                let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
                let is_guardian = String::from_utf8_lossy(&cmdline).contains("hopper-guardian");
                (ppid == parent && is_guardian)
                    .then(|| entry.file_name().to_str()?.parse().ok())
                    .flatten()
                    .map(nix::unistd::Pid::from_raw)
            })
    }

    /// Starts a worker and waits until every queue it serves has a consumer. `name` names its log.
    pub async fn start(world: &World, name: &str, settings: Settings) -> Self {
        let queues: Vec<String> = settings
            .get("HOPPER_QUEUES")
            .expect("HOPPER_QUEUES is set")
            .split(',')
            .map(str::to_owned)
            .collect();
        let mut process = Process::spawn("hopper-worker", name, &settings, world.dir());
        for queue in &queues {
            let process = &mut process;
            eventually(&format!("{name} to consume {queue}"), DEADLINE, || {
                if let Some(status) = process.try_exit() {
                    panic!("{name} exited with {status}\n{}", process.tail());
                }
                async { (world.consumers(queue).await > 0).then_some(()) }
            })
            .await;
        }
        Self { process }
    }
}
