//! `hold.php`'s markers: it writes its pids to `<work>/<job>.started` (atomically, by rename) once
//! running, and a second attempt overwrites the file. Reading them tells which process runs an attempt.

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::kill;
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
        .map(|p| Pid::from_raw(p.parse().expect("pid in .started")))
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
