//! The guardian, the journal and the ending of a dead run's groups, with real processes.

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
    // The journal keeps the orphan (for a restart), not the forgotten job.
    let live = read_journal(&dir.path().join(".hopper-worker-w1").join(JOURNAL));
    assert_eq!(live.keys().collect::<Vec<_>>(), ["1"]);
}

/// The journal stays short however many jobs pass: it is emptied whenever nothing runs, and
/// rewritten with only the running groups when it grows long.
#[test]
fn journal_stays_short() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sleeper = std::process::Command::new("sleep")
        .arg("600")
        .process_group(0)
        .spawn()
        .expect("sleep");
    let group = group_of(&sleeper);
    let path = dir.path().join(".hopper-worker-w1").join(JOURNAL);
    let leftovers = Leftovers::open(dir.path(), "w1", Duration::from_secs(1)).expect("open");
    leftovers.record(&job("1"), group);
    leftovers.forget(&job("1"), group);
    assert_eq!(std::fs::read_to_string(&path).expect("journal"), "");
    leftovers.record(&job("2"), group);
    for n in 3..(3 + 2 * REWRITE_AFTER) {
        let id = job(&n.to_string());
        leftovers.record(&id, group);
        leftovers.forget(&id, group);
    }
    let text = std::fs::read_to_string(&path).expect("journal");
    assert!(
        text.lines().count() <= REWRITE_AFTER,
        "{} lines",
        text.lines().count()
    );
    assert_eq!(read_journal(&path).keys().collect::<Vec<_>>(), ["2"]);
    leftovers.forget(&job("2"), group);
    drop(leftovers);
    sleeper.kill().expect("kill");
    sleeper.wait().expect("wait");
}

/// A restarted worker ends the group its journal (or a per-job file of an older worker) names,
/// skips a group the journal says ended and a record whose number now belongs to another process
/// (a different leader start time), and leaves an empty journal.
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
    let journal = format!(
        "+7 {pgid} {start}\n+5 {pgid} {start}\n-5\n",
        pgid = left.id()
    );
    std::fs::write(notes.join(JOURNAL), journal).expect("journal");
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
    let mut names: Vec<_> = std::fs::read_dir(&notes)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [JOURNAL, LOCK]);
    assert!(read_journal(&notes.join(JOURNAL)).is_empty());
}
