//! The job store is a replicated Redis behind Sentinel, and its primary stops being the master under
//! load (killed, or switched over): the Sentinels promote the replica, and the API node and the
//! worker follow.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::api_node::{ApiNode, api_settings};
use crate::checker::{all_finished_once, job_hash, job_ids, until_ended};
use crate::gsvar::{Gsvar, Submitted};
use crate::sentinels::Sentinels;
use crate::wait::{DEADLINE, eventually};
use crate::worker_node::{WorkerNode, worker_settings};
use crate::world::World;

/// Where the store was when a submit was sent and when it was answered.
const UP: u8 = 0;
const FAILING_OVER: u8 = 1;
const BACK: u8 = 2;

/// How long before the primary's death a submit may have been answered and still be lost: its
/// writes were acknowledged by the primary but not yet streamed to the replica (replication is
/// asynchronous). On loopback the replica is a fraction of a millisecond behind; this bounds it
/// generously, and docs/deployment.md says the same.
const LOSS_WINDOW: Duration = Duration::from_millis(500);

/// How long after `SENTINEL FAILOVER` a process may still write to the old master: it asks the
/// Sentinels every 250 ms and stops at the first answer saying a failover is in progress; a call
/// sent just before is answered after; the rest is room for a loaded machine.
const SWITCH_SLACK: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct Answer {
    sent: u8,
    answered: u8,
    at: Instant,
    /// An argument unique to this submit: a job lost in the failover gives its id to a later one
    /// (the new master's id counter is behind), so the id alone does not say which job a record is.
    marker: String,
    submitted: Submitted,
}

/// How the primary stops being the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// SIGKILL: it is gone; the Sentinels see it down and promote the replica.
    Kill,
    /// `SENTINEL FAILOVER`: the replica is promoted while the primary still answers, and the old
    /// primary is demoted only afterwards.
    SwitchOver,
}

/// What a failover under load did, for the test to judge.
#[derive(Debug)]
struct Outcome {
    /// When the fault was injected.
    fault_at: Instant,
    /// Submits sent and answered 503 while the Sentinels had not yet named the new master.
    refused_meanwhile: usize,
    /// Accepted jobs the new master does not know (or holds only provisionally), with their answers.
    lost: Vec<(String, Answer)>,
    /// Accepted jobs the new master knows.
    kept: Vec<String>,
    master_url: String,
    // Kept running until the test's checks are done, then dropped: killed.
    api: ApiNode,
    _worker: WorkerNode,
    _redis: Sentinels,
}

/// Submits keep coming while the primary of a Sentinel-watched Redis (primary, replica, three
/// Sentinels) is killed with SIGKILL: the Sentinels promote the replica, and the API node and the
/// worker, given only the Sentinels' addresses, find it by themselves. Every submit answers 200 or
/// 503, and some during the failover 503; once it is over submits are accepted again; every
/// accepted job the new master knows ends `succeeded` on one attempt and ran once; a job that is gone
/// was answered within `LOSS_WINDOW` before the kill (the asynchronous-replication loss
/// docs/deployment.md states, and counted); and no job is left `running`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel_failover_under_load() {
    let world = World::new();
    let outcome = failover_under_load(&world, Fault::Kill).await;
    assert!(
        outcome.refused_meanwhile > 0,
        "no submit was refused while the store had no master"
    );
    for (id, answer) in &outcome.lost {
        let before_kill = outcome.fault_at.checked_duration_since(answer.at);
        assert!(
            answer.sent == UP && before_kill.is_some_and(|d| d <= LOSS_WINDOW),
            "job {id} was accepted and is lost, but was not answered within {LOSS_WINDOW:?} before \
             the primary died: {answer:?}"
        );
    }
    outcome.check_kept_jobs(&world).await;
}

/// `SENTINEL FAILOVER` under load: the Sentinels promote the replica while the old primary still
/// answers as a master, name the new master about a second later, and demote the old one about ten
/// seconds later; what it takes after the promotion is thrown away. The API node and the worker ask
/// the Sentinels every 250 ms and stop using any master while one says a failover is in progress:
/// every accepted job that is lost was answered within `SWITCH_SLACK` of the command, and counted;
/// submits are refused with 503 until the new master is named; every accepted job kept ends,
/// `succeeded`, or `failed` with reason `worker_lost` when its end went to the old master
/// (docs/deployment.md says so); no job is left `running`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel_switchover_under_load() {
    let world = World::new();
    let outcome = failover_under_load(&world, Fault::SwitchOver).await;
    for (id, answer) in &outcome.lost {
        assert!(
            answer.at > outcome.fault_at && answer.at <= outcome.fault_at + SWITCH_SLACK,
            "job {id} was accepted and is lost, but was not answered within {SWITCH_SLACK:?} of \
             SENTINEL FAILOVER: {answer:?}"
        );
    }
    assert!(
        outcome.refused_meanwhile > 0,
        "no submit was refused while the Sentinels failed the master over"
    );
    let mut lost_ends = 0;
    for id in &outcome.kept {
        let ended = until_ended(
            &outcome.api.gsvar,
            &outcome.master_url,
            &world.ns,
            id,
            Duration::from_secs(60),
        )
        .await;
        if ended.field("reason") == "worker_lost" {
            lost_ends += 1;
        } else {
            ended.assert_finished(id);
        }
    }
    let offsets: Vec<Duration> = outcome
        .lost
        .iter()
        .map(|(_, answer)| answer.at - outcome.fault_at)
        .collect();
    eprintln!(
        "switch-over: lost jobs answered {:?} to {:?} after the command; {lost_ends} kept jobs \
         ended worker_lost (their ends were lost)",
        offsets.iter().min(),
        offsets.iter().max()
    );
    no_job_left_running(&outcome.master_url, &world.ns).await;
}

impl Outcome {
    /// Every accepted job the new master keeps ends `succeeded` on its one attempt and ran once (an
    /// id a lost job had is left out of the count of runs: both jobs ran under it), and no job is
    /// left `running`.
    async fn check_kept_jobs(&self, world: &World) {
        all_finished_once(
            &self.api.gsvar,
            &self.master_url,
            &world.ns,
            &self.kept,
            Duration::from_secs(90),
        )
        .await;
        let runs = runs_per_job(world);
        let reused: BTreeSet<&str> = self.lost.iter().map(|(id, _)| id.as_str()).collect();
        for id in self.kept.iter().filter(|id| !reused.contains(id.as_str())) {
            assert_eq!(runs.get(id.as_str()), Some(&1), "job {id} did not run once");
        }
        no_job_left_running(&self.master_url, &world.ns).await;
    }
}

/// Runs the API node and a worker against the Sentinels, puts submits on them, injects `fault`, and
/// waits until the new master is named by every Sentinel and 20 submits were accepted after that.
async fn failover_under_load(world: &World, fault: Fault) -> Outcome {
    let mut redis = Sentinels::start(world.dir(), 1).await;
    let url = redis.hopper_url();
    let settings = api_settings(world).set("HOPPER_REDIS_URL", url.clone());
    let api = ApiNode::start(world, "api", settings).await;
    let worker_settings = worker_settings(world, "w1", &["default"])
        .set("HOPPER_REDIS_URL", url)
        .set("HOPPER_THREADS", "8");
    let worker = WorkerNode::start(world, "worker", worker_settings).await;

    let phase = Arc::new(AtomicU8::new(UP));
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let markers = Arc::new(AtomicU64::new(0));
    let mut load = JoinSet::new();
    for _ in 0..4 {
        load.spawn(submit_loop(
            api.gsvar.clone(),
            phase.clone(),
            stop.clone(),
            markers.clone(),
            answers.clone(),
        ));
    }
    let count = |pred: fn(&Answer) -> bool| {
        let answers = answers.clone();
        move || {
            let answers = answers.lock().expect("answers");
            let n = answers.iter().filter(|a| pred(a)).count();
            std::future::ready((n >= 20).then_some(()))
        }
    };

    eventually(
        "20 submits accepted before the failover",
        DEADLINE,
        count(|a| matches!(a.submitted, Submitted::Accepted(_))),
    )
    .await;
    let old = redis.nodes[0].port;
    let fault_at = Instant::now();
    match fault {
        Fault::Kill => redis.nodes[0].kill9().await,
        Fault::SwitchOver => redis.switch_over().await,
    }
    phase.store(FAILING_OVER, Ordering::SeqCst);
    let new = redis.until_new_master(old).await;
    let promoted = fault_at.elapsed();
    phase.store(BACK, Ordering::SeqCst);
    eventually(
        "20 submits accepted after the failover",
        DEADLINE,
        count(|a| a.sent == BACK && matches!(a.submitted, Submitted::Accepted(_))),
    )
    .await;
    let resumed = fault_at.elapsed();
    stop.store(true, Ordering::SeqCst);
    while let Some(done) = load.join_next().await {
        done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    }

    let answers = answers.lock().expect("answers").clone();
    let master_url = redis.nodes[new].url();
    let (kept, lost) = kept_and_lost(&master_url, &world.ns, &answers).await;
    let refused_meanwhile = answers
        .iter()
        .filter(|a| a.sent == FAILING_OVER && a.answered == FAILING_OVER)
        .filter(|a| a.submitted == Submitted::Unavailable)
        .count();
    let refused = answers
        .iter()
        .filter(|a| a.submitted == Submitted::Unavailable)
        .count();
    eprintln!(
        "failover ({fault:?}): promoted {promoted:?} after the fault, submits accepted again \
         {resumed:?} after it; {} submits accepted ({} lost to the failover), {refused} refused \
         with 503 ({refused_meanwhile} sent and answered while it lasted)",
        kept.len() + lost.len(),
        lost.len()
    );
    Outcome {
        fault_at,
        refused_meanwhile,
        lost,
        kept,
        master_url,
        api,
        _worker: worker,
        _redis: redis,
    }
}

/// The accepted jobs the new master keeps, by id, and those it lost, with their answers. A job's
/// record is its own only if it holds the submit's marker: a lost job's id is given again.
async fn kept_and_lost(
    master_url: &str,
    ns: &str,
    answers: &[Answer],
) -> (Vec<String>, Vec<(String, Answer)>) {
    let mut kept = Vec::new();
    let mut lost = Vec::new();
    for answer in answers {
        let Submitted::Accepted(id) = &answer.submitted else {
            continue;
        };
        let hash = job_hash(master_url, ns, id).await;
        let args = hash.get("args").map_or("", String::as_str);
        // A job whose create reached the new master but whose confirm went to the old one is still
        // provisional there: it expires, lost like one that never arrived.
        let confirmed = !hash.contains_key("provisional");
        if confirmed && args.contains(&format!("\"{}\"", answer.marker)) {
            kept.push(id.clone());
        } else {
            lost.push((id.clone(), answer.clone()));
        }
    }
    (kept, lost)
}

/// Submits one short job (record.php, 10 ms) after another until `stop`, recording each answer with
/// the phases around it and when it came.
async fn submit_loop(
    gsvar: Gsvar,
    phase: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    markers: Arc<AtomicU64>,
    answers: Arc<Mutex<Vec<Answer>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        let sent = phase.load(Ordering::SeqCst);
        let marker = format!("m{}", markers.fetch_add(1, Ordering::SeqCst));
        // record.php pauses for its first argument (microseconds) and ignores the second.
        let submitted = gsvar
            .submit("record.php", &["10000", &marker], "default")
            .await;
        let at = Instant::now();
        let answered = phase.load(Ordering::SeqCst);
        let refused = submitted == Submitted::Unavailable;
        answers.lock().expect("answers").push(Answer {
            sent,
            answered,
            at,
            marker,
            submitted,
        });
        if refused {
            // Refusals come back at once: pace them rather than spin against a store in failover.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// How many times each job ran, from the lines record.php appends to `runs.log` in the work root.
fn runs_per_job(world: &World) -> BTreeMap<String, usize> {
    let log = std::fs::read_to_string(world.work.join("runs.log")).unwrap_or_default();
    let mut runs = BTreeMap::new();
    for line in log.lines() {
        let id = line.split_whitespace().next().unwrap_or_default();
        *runs.entry(id.to_owned()).or_default() += 1;
    }
    runs
}

/// No job in the namespace is `running` for good: jobs refused during the failover may have left a
/// record behind, but none may claim a worker that is not running it.
async fn no_job_left_running(master_url: &str, ns: &str) {
    eventually("no job to be left running", DEADLINE, || async {
        for id in job_ids(master_url, ns).await {
            let hash = job_hash(master_url, ns, &id).await;
            if hash.get("state").map(String::as_str) == Some("running") {
                return None;
            }
        }
        Some(())
    })
    .await;
}
