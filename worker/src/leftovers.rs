//! The process groups this worker's jobs run in, kept track of so that no job outlives its worker: a
//! sweeper runs a lost worker's jobs again elsewhere, and a job must never run twice at once in the
//! same folder.
//!
//! Two records, for two ways of dying:
//! - a **guardian** process (`guardian.sh`) told of every group as it starts and ends, through a pipe.
//!   If the worker dies without ending its jobs (kill -9, OOM killer, crash), the pipe closes and the
//!   guardian ends the groups still listed within the kill grace, well before the worker's heartbeat
//!   expires (the worker refuses a kill grace longer than that);
//! - one **file** per running job, `<dir>/<job id>`, holding `<pgid> <leader start time>`, so that a
//!   worker restarted with the same identity ends whatever its previous run left (the guardian was
//!   killed too) before it takes any job. The directory lies in the log directory, named after the
//!   worker, and must be on the host's own disk.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hopper_common::JobId;
use tokio::time::Instant;

use crate::process_group::ProcessGroup;

/// The lock file's name; job ids are digits, so it cannot clash with a record.
const LOCK: &str = "lock";

#[derive(Debug, Clone)]
pub(crate) struct Leftovers {
    dir: PathBuf,
    /// Held for the worker's life: a second worker with the same identity on this host must not end
    /// the first one's jobs as if they were leftovers.
    _lock: Arc<nix::fcntl::Flock<std::fs::File>>,
    /// The guardian's stdin; closing it (the worker's end, clean or not) lets the guardian act.
    guardian: Arc<Mutex<Option<ChildStdin>>>,
}

impl Leftovers {
    /// The records of worker `worker_id`, its files kept under `log_dir`, and its guardian started
    /// with `grace` between SIGTERM and SIGKILL.
    pub(crate) fn open(log_dir: &Path, worker_id: &str, grace: Duration) -> std::io::Result<Self> {
        let dir = log_dir.join(format!(".hopper-worker-{worker_id}"));
        std::fs::create_dir_all(&dir)?;
        let lock_file = std::fs::File::create(dir.join(LOCK))?;
        let lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusiveNonblock)
            .map_err(|(_, errno)| {
                std::io::Error::other(format!(
                    "another hopper-worker runs as '{worker_id}' on this host (it holds {}): {errno}",
                    dir.join(LOCK).display()
                ))
            })?;
        let mut guardian = std::process::Command::new("sh")
            .arg("-c")
            .arg(include_str!("guardian.sh"))
            .arg("hopper-guardian")
            .arg(grace.as_secs_f64().ceil().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: a signal to the worker's group (Ctrl-C) must reach the worker, which
            // then ends its jobs itself, not the guardian.
            .process_group(0)
            .spawn()?;
        let stdin = guardian.stdin.take();
        // Reap it when it exits; nobody waits for it otherwise.
        std::thread::spawn(move || guardian.wait());
        Ok(Self {
            dir,
            _lock: Arc::new(lock),
            guardian: Arc::new(Mutex::new(stdin)),
        })
    }

    fn tell_guardian(&self, line: &str) {
        let mut guardian = self
            .guardian
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let failed = guardian
            .as_mut()
            .is_some_and(|stdin| stdin.write_all(line.as_bytes()).is_err());
        if failed {
            tracing::error!("the job guardian is gone: jobs would outlive a crash of this worker");
            *guardian = None;
        }
    }

    /// Notes that `job` runs in `group`. A failure is logged, not fatal: the job can run, only a
    /// restart after a crash could not end it.
    pub(crate) fn record(&self, job: &JobId, group: ProcessGroup) {
        self.tell_guardian(&format!("+{}\n", group.id()));
        let start = group.leader_start_time().unwrap_or(0);
        let path = self.dir.join(job.as_str());
        if let Err(error) = std::fs::write(&path, format!("{} {start}", group.id())) {
            tracing::warn!(%error, path = %path.display(), "cannot note the job's process group");
        }
    }

    /// The job's group has ended.
    pub(crate) fn forget(&self, job: &JobId, group: ProcessGroup) {
        self.tell_guardian(&format!("-{}\n", group.id()));
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
            if job == LOCK {
                continue;
            }
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

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use nix::errno::Errno;
    use nix::sys::signal::killpg;
    use nix::unistd::Pid;

    use super::*;

    fn job(id: &str) -> JobId {
        JobId::parse(id).expect("job id")
    }

    fn group_of(child: &std::process::Child) -> ProcessGroup {
        ProcessGroup::from_raw(child.id() as i32)
    }

    /// When the worker's end of the pipe closes with a group still listed (the worker died), the
    /// guardian ends that group; a group the worker forgot is left alone.
    #[test]
    fn guardian_ends_the_groups_of_a_dead_worker() {
        let dir = tempfile::tempdir().expect("temp dir");
        let spawn = || {
            std::process::Command::new("sleep")
                .arg("600")
                .process_group(0)
                .spawn()
                .expect("sleep")
        };
        let (mut orphan, mut ended) = (spawn(), spawn());
        let leftovers = Leftovers::open(dir.path(), "w1", Duration::from_secs(1)).expect("open");
        leftovers.record(&job("1"), group_of(&orphan));
        leftovers.record(&job("2"), group_of(&ended));
        leftovers.forget(&job("2"), group_of(&ended));
        drop(leftovers);
        // Waiting on the orphan returns once the guardian killed it: no sleep, no polling.
        let status = orphan.wait().expect("wait");
        assert!(!status.success(), "the orphan must have been killed");
        assert_eq!(
            killpg(Pid::from_raw(group_of(&ended).id()), None),
            Ok(()),
            "a forgotten group must be left alone"
        );
        ended.kill().expect("kill");
        ended.wait().expect("wait");
        // The file record is gone for the forgotten job and kept for the orphan (for a restart).
        assert!(dir.path().join(".hopper-worker-w1/1").exists());
        assert!(!dir.path().join(".hopper-worker-w1/2").exists());
    }

    /// A restarted worker ends the group a file names, and skips a record whose number now belongs
    /// to another process (a different leader start time).
    #[tokio::test]
    async fn end_all_ends_recorded_groups_and_skips_reused_numbers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut left = std::process::Command::new("sleep")
            .arg("600")
            .process_group(0)
            .spawn()
            .expect("sleep");
        let mut stranger = std::process::Command::new("sleep")
            .arg("600")
            .process_group(0)
            .spawn()
            .expect("sleep");
        let notes = dir.path().join(".hopper-worker-w1");
        std::fs::create_dir_all(&notes).expect("dir");
        let start = group_of(&left).leader_start_time().expect("start time");
        std::fs::write(notes.join("7"), format!("{} {start}", left.id())).expect("note");
        std::fs::write(notes.join("8"), format!("{} 1", stranger.id())).expect("note");
        let leftovers = Leftovers::open(dir.path(), "w1", Duration::from_secs(1)).expect("open");
        // A second worker under the same identity on this host is refused before it ends anything.
        let error = Leftovers::open(dir.path(), "w1", Duration::from_secs(1)).expect_err("locked");
        assert!(
            error
                .to_string()
                .contains("another hopper-worker runs as 'w1'"),
            "{error}"
        );
        let ended = leftovers.end_all(Duration::from_secs(1)).await;
        assert_eq!(ended, ["7"]);
        assert!(!left.wait().expect("wait").success());
        assert_ne!(
            killpg(Pid::from_raw(stranger.id() as i32), None),
            Err(Errno::ESRCH)
        );
        stranger.kill().expect("kill");
        stranger.wait().expect("wait");
        let names: Vec<_> = std::fs::read_dir(&notes)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, [LOCK]);
    }
}
