//! Peak resident memory of the API node and the worker during one scenario, sampled from
//! `/proc/<pid>/status`. `VmHWM` is the peak over the process's whole life, so it cannot tell one
//! scenario from the one before; the sampled maximum of `VmRSS` can.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// The highest resident set seen, in KiB, per process (`None` when no pid was given or it vanished).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PeakMemory {
    pub(crate) api_kib: Option<u64>,
    pub(crate) worker_kib: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct MemoryWatch {
    stop: oneshot::Sender<()>,
    task: JoinHandle<PeakMemory>,
}

impl MemoryWatch {
    pub(crate) fn start(api: Option<u32>, worker: Option<u32>) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut peak = PeakMemory::default();
            loop {
                peak.api_kib = peak.api_kib.max(api.and_then(resident_kib));
                peak.worker_kib = peak.worker_kib.max(worker.and_then(resident_kib));
                tokio::select! {
                    _ = &mut stopped => return peak,
                    () = tokio::time::sleep(SAMPLE_EVERY) => {}
                }
            }
        });
        Self { stop, task }
    }

    pub(crate) async fn stop(self) -> PeakMemory {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

/// `VmRSS` of a process in KiB.
fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
