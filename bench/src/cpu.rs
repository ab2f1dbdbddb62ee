//! CPU time used by the processes a measurement shares the machine with: the API nodes, Redis,
//! RabbitMQ and the bench itself, read from `/proc/<pid>/stat` (user + system ticks) before and after.
//! On a small machine this, not Hopper's code, is often what bounds a figure: the report says how much
//! of the machine each took, so a ratio is read beside what limited it.

use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/<pid>/stat`: 100 on every Linux this runs on (`USER_HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

/// The processes watched, by what they are.
#[derive(Debug, Clone)]
pub(crate) struct Watched {
    pub(crate) groups: Vec<(&'static str, Vec<u32>)>,
}

/// A reading of every group's CPU time.
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    at: Instant,
    ticks: Vec<u64>,
    /// Busy ticks of the whole machine (every core), from `/proc/stat`: what else ran shows as the
    /// difference.
    machine: u64,
}

impl Watched {
    /// `api` are the API nodes' pids; Redis and RabbitMQ are found by their command names, and the
    /// bench is this process.
    pub(crate) fn new(api: &[u32]) -> Self {
        Self {
            groups: vec![
                ("api", api.to_vec()),
                ("redis", pids_named(&["redis-server"])),
                ("rabbitmq", pids_named(&["beam.smp"])),
                ("bench", vec![std::process::id()]),
            ],
        }
    }

    pub(crate) fn read(&self) -> Reading {
        Reading {
            at: Instant::now(),
            ticks: self
                .groups
                .iter()
                .map(|(_, pids)| pids.iter().filter_map(|pid| ticks(*pid)).sum())
                .collect(),
            machine: machine_busy().unwrap_or(0),
        }
    }

    /// Each group's share of one core between two readings, in percent (200 means two cores busy),
    /// and last the whole machine's (`machine`), whose excess over the groups is everything else.
    pub(crate) fn shares(&self, before: &Reading, after: &Reading) -> Vec<(&'static str, f64)> {
        let wall = after
            .at
            .duration_since(before.at)
            .max(Duration::from_millis(1));
        let share = |b: u64, a: u64| {
            100.0 * (a.saturating_sub(b) as f64 / TICKS_PER_SECOND) / wall.as_secs_f64()
        };
        let mut shares: Vec<(&'static str, f64)> = self
            .groups
            .iter()
            .zip(before.ticks.iter().zip(&after.ticks))
            .map(|((name, _), (b, a))| (*name, share(*b, *a)))
            .collect();
        shares.push(("machine", share(before.machine, after.machine)));
        shares
    }
}

/// utime + stime of a process, in ticks; `None` if it is gone.
fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`: the command may hold spaces, so count from after its ')'.
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Busy ticks of every core: `/proc/stat`'s first line, all but idle and iowait.
fn machine_busy() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    Some(total - fields.get(3)? - fields.get(4)?)
}

/// Every process whose command name (`/proc/<pid>/comm`) is one of `names`.
fn pids_named(names: &[&str]) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| names.contains(&comm.trim()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This process's own time is read and grows with work; a share is a percentage of one core.
    #[test]
    fn the_bench_reads_its_own_cpu_time() {
        let watched = Watched {
            groups: vec![("bench", vec![std::process::id()])],
        };
        let before = watched.read();
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(200) {
            x = x.wrapping_mul(31).wrapping_add(1);
        }
        std::hint::black_box(x);
        let after = watched.read();
        let shares = watched.shares(&before, &after);
        assert_eq!(shares[0].0, "bench");
        assert_eq!(shares[1].0, "machine");
        assert!(
            shares[1].1 >= shares[0].1 * 0.8,
            "the machine ran at least this: {shares:?}"
        );
        assert!(
            shares[0].1 > 20.0 && shares[0].1 <= 200.0 * 1.5,
            "{shares:?}"
        );
    }
}
