//! Many jobs over several queues and workers: each runs exactly once, slots are never oversubscribed,
//! consumers follow the free slots, and an oversized job is not left waiting.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::json;

use crate::helpers::{TestEnv, eventually, rabbitmq_rows};

/// One line of record.php's runs.log.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) job: String,
    pub(crate) worker: String,
    pub(crate) threads: u32,
    pub(crate) start: u128,
    pub(crate) end: u128,
}

/// The runs record.php wrote, in the order they ended.
pub(crate) fn runs(env: &TestEnv) -> Vec<Run> {
    let text = std::fs::read_to_string(env.path("runs.log")).unwrap_or_default();
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            let number = |i: usize| f[i].parse::<u128>().expect("number");
            Run {
                job: f[0].into(),
                worker: f[1].into(),
                threads: number(2) as u32,
                start: number(3),
                end: number(4),
            }
        })
        .collect()
}

/// The largest number of threads running at once on each worker.
fn peak_threads(runs: &[Run]) -> HashMap<String, u32> {
    let mut events: BTreeMap<(String, u128, i8), i64> = BTreeMap::new();
    for run in runs {
        // At equal times an end sorts before a start: touching intervals do not overlap.
        *events.entry((run.worker.clone(), run.end, 0)).or_default() -= i64::from(run.threads);
        *events
            .entry((run.worker.clone(), run.start, 1))
            .or_default() += i64::from(run.threads);
    }
    let mut peaks = HashMap::new();
    let mut current: HashMap<String, i64> = HashMap::new();
    for ((worker, _, _), delta) in events {
        let now = current.entry(worker.clone()).or_default();
        *now += delta;
        let peak = peaks.entry(worker).or_insert(0);
        *peak = (*peak).max(*now as u32);
    }
    peaks
}

/// 200 jobs over two queues (some listing both) and three workers: every job runs exactly once, on a
/// worker serving one of its queues, and no worker ever runs more threads than it has slots.
#[tokio::test]
async fn two_hundred_jobs_run_exactly_once_within_slots() {
    let env = TestEnv::new();
    let api = Arc::new(env.api().await);
    let slots = HashMap::from([("a", 3), ("b", 3), ("c", 4)]);
    let serves = HashMap::from([
        ("a", vec!["q1"]),
        ("b", vec!["q2"]),
        ("c", vec!["q1", "q2"]),
    ]);
    let mut workers = Vec::new();
    for (id, queues) in &serves {
        workers.push(env.worker(id, queues, slots[id]).await);
    }
    let mut submits = tokio::task::JoinSet::new();
    for i in 0..200u32 {
        let api = api.clone();
        submits.spawn(async move {
            let queues = [vec!["q1"], vec!["q2"], vec!["q1", "q2"]][(i % 3) as usize].clone();
            let mut body = api.submit_body("record.php", &["5000"], &queues);
            body["threads"] = json!(1 + i % 3);
            let id = api.submit_ok(body).await;
            (id, queues)
        });
    }
    let jobs: HashMap<String, Vec<&str>> = submits.join_all().await.into_iter().collect();
    assert_eq!(jobs.len(), 200, "ids must be distinct");
    for id in jobs.keys() {
        assert_eq!(api.until_ended(id).await["status"], "finished", "job {id}");
    }
    let runs = runs(&env);
    assert_eq!(runs.len(), 200, "every job runs exactly once");
    let mut per_job: HashMap<&str, u32> = HashMap::new();
    for run in &runs {
        *per_job.entry(&run.job).or_default() += 1;
        let queues = &jobs[&run.job];
        assert!(
            serves[run.worker.as_str()]
                .iter()
                .any(|q| queues.contains(q)),
            "{run:?} on a wrong worker"
        );
    }
    assert!(
        per_job.values().all(|&n| n == 1),
        "a job ran twice: {per_job:?}"
    );
    for (worker, peak) in peak_threads(&runs) {
        assert!(
            peak <= slots[worker.as_str()],
            "worker {worker} ran {peak} threads at once"
        );
    }
    for worker in workers {
        worker.stop().await.expect("worker ends cleanly");
    }
}

/// A job asking more threads than its worker has runs alone, with all the slots, and says so, instead
/// of waiting forever; jobs submitted with it still run.
#[tokio::test]
async fn oversized_job_runs_alone_instead_of_waiting() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let mut big = api.submit_body("record.php", &["100000"], &["default"]);
    big["threads"] = json!(8);
    let big = api.submit_ok(big).await;
    let mut small = Vec::new();
    for _ in 0..3 {
        small.push(api.submit("record.php", &["100000"], &["default"]).await);
    }
    let reply = api.until_ended(&big).await;
    assert_eq!(reply["status"], "finished", "{reply}");
    assert!(
        reply["result"]
            .as_str()
            .is_some_and(|r| r.contains("asked for 8 threads")),
        "{reply}"
    );
    for id in &small {
        assert_eq!(api.until_ended(id).await["status"], "finished");
    }
    let runs = runs(&env);
    let big_run = runs.iter().find(|r| r.job == big).expect("big job ran");
    assert_eq!(big_run.threads, 2, "granted all slots");
    for other in runs.iter().filter(|r| r.job != big) {
        assert!(
            other.end <= big_run.start || other.start >= big_run.end,
            "{other:?} overlapped the big job"
        );
    }
    assert_eq!(env.job(&big).await.expect("job").threads_granted, Some(2));
}

/// Prefetches of the consumers of `queue`, read from RabbitMQ itself.
fn prefetches(queue: &str) -> Vec<u32> {
    rabbitmq_rows("list_consumers", &["queue_name", "prefetch_count"], queue)
        .iter()
        .map(|row| row[0].parse().expect("prefetch"))
        .collect()
}

/// The worker holds one consumer of prefetch 1 per free slot, so the broker can send no more jobs than
/// fit: 3 when idle, 1 with a 2-thread job running, no consumer at all when full, and 3 again once the
/// jobs end.
#[tokio::test]
async fn prefetch_follows_free_slots() {
    let env = TestEnv::new();
    let api = env.api().await;
    let queue = env.amqp_queue("default");
    let _worker = env.worker("w1", &["default"], 3).await;
    let wait_for = |expected: Vec<u32>| {
        let queue = queue.clone();
        async move {
            eventually(&format!("prefetch {expected:?}"), || {
                let (queue, expected) = (queue.clone(), expected.clone());
                async move { (prefetches(&queue) == expected).then_some(()) }
            })
            .await
        }
    };
    wait_for(vec![1, 1, 1]).await;
    let mut two = api.submit_body("hold.php", &[], &["default"]);
    two["threads"] = json!(2);
    let two = api.submit_ok(two).await;
    env.started_pids(&two).await;
    wait_for(vec![1]).await;
    let one = api.submit("hold.php", &[], &["default"]).await;
    env.started_pids(&one).await;
    wait_for(vec![]).await;
    env.release_all();
    for id in [&two, &one] {
        assert_eq!(api.until_ended(id).await["status"], "finished");
    }
    wait_for(vec![1, 1, 1]).await;
}

/// A job needing every slot is not starved by a stream of one-slot jobs from another queue refilling
/// each slot that frees up: slots are reserved for it, so once it is queued only the narrow jobs already
/// delivered (one per slot at most) start before it. Counted from its submit, not from the first job's:
/// on a busy machine many narrow jobs may run before the test gets to submit the wide one.
#[tokio::test]
async fn wide_job_is_not_starved_by_narrow_ones() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["narrow", "wide"], 2).await;
    let mut narrow = Vec::new();
    for _ in 0..16 {
        narrow.push(api.submit("record.php", &["200000"], &["narrow"]).await);
    }
    let mut wide = api.submit_body("record.php", &["200000"], &["wide"]);
    wide["threads"] = json!(2);
    // record.php stamps its runs with CLOCK_MONOTONIC: the same clock.
    let queued_at = monotonic_ns();
    let wide = api.submit_ok(wide).await;
    for id in narrow.iter().chain([&wide]) {
        assert_eq!(api.until_ended(id).await["status"], "finished", "job {id}");
    }
    let runs = runs(&env);
    let wide_start = runs
        .iter()
        .find(|r| r.job == wide)
        .expect("wide job ran")
        .start;
    let overtook = runs
        .iter()
        .filter(|r| r.job != wide && r.start > queued_at && r.start < wide_start)
        .count();
    assert!(
        overtook <= 2,
        "{overtook} narrow jobs started after the wide one was queued and before it"
    );
}

/// Nanoseconds on CLOCK_MONOTONIC, as PHP's `hrtime(true)` reads them.
fn monotonic_ns() -> u128 {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("the clock");
    now.tv_sec() as u128 * 1_000_000_000 + now.tv_nsec() as u128
}
