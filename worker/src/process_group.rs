use std::process::ExitStatus;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Child;
use tokio::time::Instant;

/// How often a group that was told to end is checked for being empty: the kernel offers no event for
/// "no process left in this group".
const EMPTY_CHECK: Duration = Duration::from_millis(50);

/// A job's process group. Every script runs as the leader of its own group, so the script and all it
/// started (short of processes that leave the group on purpose) are signalled together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcessGroup(Pid);

impl ProcessGroup {
    /// The group led by `child`, which was spawned with `process_group(0)`.
    pub(crate) fn of(child: &Child) -> Option<Self> {
        child.id().map(|pid| Self(Pid::from_raw(pid as i32)))
    }

    /// The group with this id, as recorded by an earlier run of the worker.
    pub(crate) fn from_raw(pgid: i32) -> Self {
        Self(Pid::from_raw(pgid))
    }

    pub(crate) fn id(self) -> i32 {
        self.0.as_raw()
    }

    /// When the group's leader started, in clock ticks after boot (`/proc/<pid>/stat` field 22), if it
    /// is alive. With the id it tells this group from a later one that reused the number.
    pub(crate) fn leader_start_time(self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0)).ok()?;
        // Fields after `comm`: state is field 3, starttime field 22.
        stat.rsplit_once(") ")?.1.split(' ').nth(19)?.parse().ok()
    }

    /// Stops (suspends) every process of the group, or lets them go on.
    pub(crate) fn pause(self, paused: bool) {
        self.signal(if paused {
            Signal::SIGSTOP
        } else {
            Signal::SIGCONT
        });
    }

    fn signal(self, signal: Signal) {
        match killpg(self.0, signal) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(error) => {
                tracing::warn!(pgid = %self.0, %error, ?signal, "cannot signal process group")
            }
        }
    }

    /// Whether any live process is left in the group. Zombies do not count: they run nothing, and
    /// an orphan's zombie lasts until the host's init reaps it, which some container inits do late.
    fn occupied(self) -> bool {
        if killpg(self.0, None) == Err(Errno::ESRCH) {
            return false;
        }
        let Ok(processes) = std::fs::read_dir("/proc") else {
            return true;
        };
        processes.flatten().any(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses, so read after
            // its last `)`.
            let mut fields = stat
                .rsplit_once(") ")
                .map_or("", |(_, rest)| rest)
                .split(' ');
            let (state, pgrp) = (fields.next(), fields.nth(1));
            pgrp == Some(self.0.to_string().as_str()) && state != Some("Z")
        })
    }

    /// SIGTERM to the whole group; SIGKILL to it if the script has not exited by `deadline`. Returns
    /// the script's exit status.
    pub(crate) async fn terminate(
        self,
        child: &mut Child,
        deadline: Instant,
    ) -> std::io::Result<ExitStatus> {
        self.signal(Signal::SIGTERM);
        // A suspended group gets SIGTERM only once it runs again: let it, so it can clean up.
        self.signal(Signal::SIGCONT);
        match tokio::time::timeout_at(deadline, child.wait()).await {
            Ok(status) => status,
            Err(_elapsed) => {
                tracing::warn!(pgid = %self.0, "job ignored SIGTERM, sending SIGKILL");
                self.signal(Signal::SIGKILL);
                child.wait().await
            }
        }
    }

    /// Ends whatever the script left in its group once it has exited: SIGTERM, then SIGKILL if anything
    /// is still there at `deadline`. A job's lifetime ends with its script, as under SGE and Slurm, so
    /// nothing it left behind holds the host's slots unseen; its children get the same grace as the
    /// script to clean up.
    /// Returns whether anything was left.
    pub(crate) async fn end_the_rest(self, deadline: Instant) -> bool {
        if !self.occupied() {
            return false;
        }
        self.signal(Signal::SIGTERM);
        while self.occupied() && Instant::now() < deadline {
            tokio::time::sleep(EMPTY_CHECK).await;
        }
        if self.occupied() {
            tracing::warn!(pgid = %self.0, "processes left by the job ignored SIGTERM, sending SIGKILL");
            self.signal(Signal::SIGKILL);
        }
        true
    }
}
