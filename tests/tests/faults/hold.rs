//! `hold.php`'s markers: it writes its pids to `<work>/<job>.started` (atomically, by rename) once
//! running, and a second attempt overwrites the file. Reading them tells which process runs an attempt.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::wait::eventually;
use crate::world::World;

/// Waits until `job`'s `.started` file exists and differs from `previous` (pass "" for the first
/// attempt); returns its content, the pids of that attempt.
pub async fn started(world: &World, job: &str, previous: &str, deadline: Duration) -> String {
    let marker = world.work.join(format!("{job}.started"));
    eventually(
        &format!("an attempt of job {job} to start"),
        deadline,
        || {
            let text = std::fs::read_to_string(&marker).ok();
            std::future::ready(text.filter(|t| !t.is_empty() && t != previous))
        },
    )
    .await
}

pub fn pids(started: &str) -> Vec<Pid> {
    started
        .split_whitespace()
        .filter_map(|p| p.parse().ok().map(Pid::from_raw))
        .collect()
}

/// Whether `pid` is still a live process. `kill(pid, None)` answers ESRCH once it is gone; a killed
/// orphan not yet reaped by init is a zombie, which `kill` still finds, so zombies count as dead.
pub fn alive(pid: Pid) -> bool {
    match kill(pid, None) {
        Err(Errno::ESRCH) => false,
        _ => {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The state follows the parenthesised command name: "<pid> (<comm>) <state> ...".
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            !matches!(state, None | Some('Z' | 'X'))
        }
    }
}

/// Ends every `hold.php` of a test that is about to be removed: releases them all and waits up to 5 s
/// for the pids in their `.started` files to go, then SIGKILLs what is left. A worker killed with
/// SIGKILL leaves its scripts running, and once the work directory is deleted they could never see
/// the release file again.
pub fn end_leftovers(work: &Path) {
    let _ = std::fs::write(work.join("release-all"), "");
    let mut held: Vec<Pid> = std::fs::read_dir(work)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".started"))
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .flat_map(|text| pids(&text))
        .collect();
    let until = Instant::now() + Duration::from_secs(5);
    while !held.is_empty() && Instant::now() < until {
        held.retain(|&pid| alive(pid));
        // Drop cannot await: a short blocking poll, bounded by `until`.
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in held {
        let _ = kill(pid, Signal::SIGKILL);
    }
}
