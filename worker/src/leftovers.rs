//! The process groups this worker's jobs run in, written down on the host, so that a worker restarted
//! with the same identity can end whatever its previous run left behind (it was killed, or its host
//! rebooted it) before taking any job: a job must never run twice at once in the same folder.
//!
//! One file per running job, `<dir>/<job id>`, holding `<pgid> <leader start time>`. The directory lies
//! in the worker's log directory, named after the worker, and must be on the host's own disk.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hopper_common::JobId;
use tokio::time::Instant;

use crate::process_group::ProcessGroup;

#[derive(Debug, Clone)]
pub(crate) struct Leftovers {
    dir: PathBuf,
}

impl Leftovers {
    /// The record of worker `worker_id`, kept under `log_dir`.
    pub(crate) fn open(log_dir: &Path, worker_id: &str) -> std::io::Result<Self> {
        let dir = log_dir.join(format!(".hopper-worker-{worker_id}"));
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// Notes that `job` runs in `group`. A failure is logged, not fatal: the job can run, only a
    /// restart after a crash could not end it.
    pub(crate) fn record(&self, job: &JobId, group: ProcessGroup) {
        let start = group.leader_start_time().unwrap_or(0);
        let path = self.dir.join(job.as_str());
        if let Err(error) = std::fs::write(&path, format!("{} {start}", group.id())) {
            tracing::warn!(%error, path = %path.display(), "cannot note the job's process group");
        }
    }

    /// The job's group has ended.
    pub(crate) fn forget(&self, job: &JobId) {
        let _ = std::fs::remove_file(self.dir.join(job.as_str()));
    }

    /// Ends every group a previous run left: SIGTERM, then SIGKILL after `grace`. Returns the jobs whose
    /// processes were still there.
    pub(crate) async fn end_all(&self, grace: Duration) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut ended = Vec::new();
        let deadline = Instant::now() + grace;
        let mut groups = Vec::new();
        for entry in entries.flatten() {
            let job = entry.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let _ = std::fs::remove_file(entry.path());
            let mut fields = text.split_whitespace().map(str::parse::<u64>);
            let (Some(Ok(pgid)), Some(Ok(start))) = (fields.next(), fields.next()) else {
                continue;
            };
            let Ok(pgid) = i32::try_from(pgid) else {
                continue;
            };
            let group = ProcessGroup::from_raw(pgid);
            // A live leader with another start time means the number now belongs to someone else.
            // With the leader gone, Linux does not hand its number out while the group has members,
            // so any member left is the job's.
            if group.leader_start_time().is_some_and(|now| now != start) {
                continue;
            }
            groups.push((job, group));
        }
        for (job, group) in groups {
            if group.end_the_rest(deadline).await {
                tracing::warn!(
                    job,
                    pgid = group.id(),
                    "ended processes left by a previous run of this worker"
                );
                ended.push(job);
            }
        }
        ended
    }
}
