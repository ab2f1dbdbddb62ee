use std::process::ExitStatus;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Child;

/// A job's process group. Every script runs as the leader of its own group, so the script and all it
/// started (short of processes that leave the group on purpose) are signalled together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcessGroup(Pid);

impl ProcessGroup {
    /// The group led by `child`, which was spawned with `process_group(0)`.
    pub(crate) fn of(child: &Child) -> Option<Self> {
        child.id().map(|pid| Self(Pid::from_raw(pid as i32)))
    }

    pub(crate) fn signal(self, signal: Signal) {
        match killpg(self.0, signal) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(error) => {
                tracing::warn!(pgid = %self.0, %error, ?signal, "cannot signal process group")
            }
        }
    }

    /// SIGTERM to the whole group; if the script has not exited after `grace`, SIGKILL. Returns the
    /// script's exit status.
    pub(crate) async fn terminate(
        self,
        child: &mut Child,
        grace: Duration,
    ) -> std::io::Result<ExitStatus> {
        self.signal(Signal::SIGTERM);
        match tokio::time::timeout(grace, child.wait()).await {
            Ok(status) => status,
            Err(_elapsed) => {
                tracing::warn!(pgid = %self.0, ?grace, "job ignored SIGTERM, sending SIGKILL");
                self.signal(Signal::SIGKILL);
                child.wait().await
            }
        }
    }

    /// Kills whatever is left in the group once the script has exited: a job's lifetime ends with its
    /// script, as under SGE and Slurm, so nothing it left behind holds the host's slots unseen.
    pub(crate) fn reap_leftovers(self) {
        self.signal(Signal::SIGKILL);
    }
}
