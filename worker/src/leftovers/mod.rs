//! The process groups this worker's jobs run in, kept track of so that no job outlives its worker: a
//! sweeper runs a lost worker's jobs again elsewhere, and a job must never run twice at once in the
//! same folder.
//!
//! Two records, for two ways of dying:
//! - a **guardian** process (`guardian.sh`) told of every group as it starts and ends, through a pipe.
//!   If the worker dies without ending its jobs (kill -9, OOM killer, crash), the pipe closes and the
//!   guardian ends the groups still listed within the kill grace, well before the worker's heartbeat
//!   expires (the worker refuses a kill grace longer than that);
//! - a **journal**, `<dir>/groups`, to which every group's start (`+<job id> <pgid> <leader start
//!   time>`) and end (`-<job id>`) is appended, so that a worker restarted with the same identity ends
//!   whatever its previous run left (the guardian was killed too) before it takes any job. The directory
//!   lies in the log directory, named after the worker, and must be on the host's own disk.
//!
//! The journal is one file appended to, not a file per job: creating and deleting a file for each job
//! made ext4 search past every recently deleted inode on each creation, and at hundreds of jobs a second
//! that took more than half of the worker's CPU (docs/performance.md). It is emptied whenever no job
//! runs and rewritten (to a new file, renamed over it) when it grows long, so it stays small.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hopper_common::JobId;
use tokio::time::Instant;

use crate::process_group::ProcessGroup;

/// The lock file's name.
const LOCK: &str = "lock";
/// The journal's name.
const JOURNAL: &str = "groups";
/// Lines after which the journal is rewritten with only the groups still running.
const REWRITE_AFTER: usize = 4096;

#[derive(Debug, Clone)]
pub(crate) struct Leftovers {
    dir: PathBuf,
    /// Held for the worker's life: a second worker with the same identity on this host must not end
    /// the first one's jobs as if they were leftovers.
    _lock: Arc<nix::fcntl::Flock<std::fs::File>>,
    /// The guardian's stdin; closing it (the worker's end, clean or not) lets the guardian act.
    guardian: Arc<Mutex<Option<ChildStdin>>>,
    journal: Arc<Mutex<Journal>>,
}

/// The journal file, and what it says now.
#[derive(Debug, Default)]
struct Journal {
    /// Opened for appending at the first record, after [`Leftovers::end_all`] has read the old one.
    file: Option<File>,
    /// Running jobs: pgid and leader start time.
    live: HashMap<String, (i32, u64)>,
    lines: usize,
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
            .arg(include_str!("../guardian.sh"))
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
            journal: Arc::default(),
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
        let mut journal = self.journal();
        journal
            .live
            .insert(job.as_str().to_owned(), (group.id(), start));
        let line = format!("+{job} {} {start}\n", group.id());
        self.append(&mut journal, &line);
    }

    /// The job's group has ended.
    pub(crate) fn forget(&self, job: &JobId, group: ProcessGroup) {
        self.tell_guardian(&format!("-{}\n", group.id()));
        let mut journal = self.journal();
        journal.live.remove(job.as_str());
        if journal.live.is_empty() {
            // Nothing runs: nothing to remember. Cheaper than appending, and keeps the file empty.
            if let Some(file) = &journal.file
                && file.set_len(0).is_ok()
            {
                journal.lines = 0;
                return;
            }
        }
        self.append(&mut journal, &format!("-{job}\n"));
    }

    fn journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn append(&self, journal: &mut Journal, line: &str) {
        let path = self.dir.join(JOURNAL);
        if journal.lines >= REWRITE_AFTER {
            match self.rewrite(&journal.live) {
                Ok(file) => {
                    journal.file = Some(file);
                    journal.lines = journal.live.len();
                    // The rewrite already holds this change.
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, path = %path.display(), "cannot rewrite the journal of process groups");
                }
            }
        }
        if journal.file.is_none() {
            match OpenOptions::new().create(true).append(true).open(&path) {
                Ok(file) => journal.file = Some(file),
                Err(error) => {
                    return tracing::warn!(%error, path = %path.display(), "cannot open the journal of process groups");
                }
            }
        }
        if let Some(file) = &mut journal.file {
            match file.write_all(line.as_bytes()) {
                Ok(()) => journal.lines += 1,
                Err(error) => {
                    tracing::warn!(%error, path = %path.display(), "cannot note a job's process group")
                }
            }
        }
    }

    /// Writes the running groups to a new journal and renames it over the old one; the new file, open
    /// for appending.
    fn rewrite(&self, live: &HashMap<String, (i32, u64)>) -> std::io::Result<File> {
        let path = self.dir.join(JOURNAL);
        let next = self.dir.join(format!("{JOURNAL}.next"));
        let mut text = String::new();
        for (job, (pgid, start)) in live {
            text.push_str(&format!("+{job} {pgid} {start}\n"));
        }
        std::fs::write(&next, text)?;
        std::fs::rename(&next, &path)?;
        OpenOptions::new().append(true).open(&path)
    }

    /// Ends every group a previous run left: SIGTERM, then SIGKILL after `grace`. Returns the jobs whose
    /// processes were still there.
    pub(crate) async fn end_all(&self, grace: Duration) -> Vec<String> {
        let mut records = read_journal(&self.dir.join(JOURNAL));
        records.extend(read_record_files(&self.dir));
        let deadline = Instant::now() + grace;
        let mut groups = Vec::new();
        for (job, (pgid, start)) in records {
            let group = ProcessGroup::from_raw(pgid);
            // A live leader with another start time means the number now belongs to someone else.
            // With the leader gone, Linux does not hand its number out while the group has members,
            // so any member left is the job's.
            if group.leader_start_time().is_some_and(|now| now != start) {
                continue;
            }
            groups.push((job, group));
        }
        // Whatever happens below, these records have been dealt with.
        if let Err(error) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(JOURNAL))
            .and_then(|file| file.set_len(0).map(|()| file))
            .map(|file| self.journal().file = Some(file))
        {
            tracing::warn!(%error, "cannot empty the journal of process groups");
        }
        let mut ended = Vec::new();
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

/// The groups a journal says are still running, by job.
fn read_journal(path: &Path) -> HashMap<String, (i32, u64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut live = HashMap::new();
    for line in text.lines() {
        if let Some(job) = line.strip_prefix('-') {
            live.remove(job);
        } else if let Some(record) = line.strip_prefix('+') {
            let mut fields = record.split_whitespace();
            let (Some(job), Some(pgid), Some(start)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if let (Ok(pgid), Ok(start)) = (pgid.parse::<i32>(), start.parse::<u64>()) {
                live.insert(job.to_owned(), (pgid, start));
            }
        }
    }
    live
}

/// Records kept as one file per job (`<job id>` holding `<pgid> <leader start time>`), as workers
/// before the journal wrote them; each is removed once read.
fn read_record_files(dir: &Path) -> Vec<(String, (i32, u64))> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut records = Vec::new();
    for entry in entries.flatten() {
        let job = entry.file_name().to_string_lossy().into_owned();
        // Job ids are digits; the lock and the journal are not records.
        if job.is_empty() || !job.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let _ = std::fs::remove_file(entry.path());
        let mut fields = text.split_whitespace();
        if let (Some(Ok(pgid)), Some(Ok(start))) = (
            fields.next().map(str::parse::<i32>),
            fields.next().map(str::parse::<u64>),
        ) {
            records.push((job, (pgid, start)));
        }
    }
    records
}

#[cfg(test)]
mod tests;
