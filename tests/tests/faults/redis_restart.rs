//! The job store dies (kill -9) and comes back from its append-only file while submits keep arriving.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::api_node::{ApiNode, api_settings};
use crate::checker::all_finished;
use crate::gsvar::{Gsvar, Submitted};
use crate::hold::started;
use crate::redis_node::RedisNode;
use crate::wait::{DEADLINE, eventually};
use crate::worker_node::{WorkerNode, worker_settings};
use crate::world::World;

/// Where the store was when a submit was sent and when it was answered.
const UP: u8 = 0;
const DOWN: u8 = 1;
const BACK: u8 = 2;

#[derive(Debug, Clone)]
struct Answer {
    sent: u8,
    answered: u8,
    submitted: Submitted,
}

/// Submits keep coming while the API's and the worker's private Redis is killed with SIGKILL and
/// restarted on the same AOF: every submit answers 200 or 503, those sent and answered during the
/// outage answer 503, and every job answered 200 (before, around or after the outage) ends `finished`,
/// none lost, including two that were running at the crash and ended while Redis was down.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_restart_with_aof_during_load() {
    let world = World::new();
    let mut redis = RedisNode::start(world.dir()).await;
    let settings = api_settings(&world).set("HOPPER_REDIS_URL", redis.url());
    let api = ApiNode::start(&world, "api", settings).await;
    let worker_settings = worker_settings(&world, "w1", &["default"])
        .set("HOPPER_REDIS_URL", redis.url())
        .set("HOPPER_THREADS", "8");
    let worker = WorkerNode::start(&world, "worker", worker_settings).await;

    let phase = Arc::new(AtomicU8::new(UP));
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let mut load = JoinSet::new();
    for _ in 0..4 {
        load.spawn(submit_loop(
            api.gsvar.clone(),
            phase.clone(),
            stop.clone(),
            answers.clone(),
        ));
    }
    let count = |pred: fn(&Answer) -> bool| {
        let answers = answers.clone();
        move || {
            let n = answers
                .lock()
                .expect("answers")
                .iter()
                .filter(|a| pred(a))
                .count();
            std::future::ready((n >= 10).then_some(()))
        }
    };

    // Two jobs run across the crash and end while Redis is down: the worker must keep their ends
    // until it can record them.
    let held = [
        api.gsvar.submit_ok("hold.php", &[], "default").await,
        api.gsvar.submit_ok("hold.php", &[], "default").await,
    ];
    for job in &held {
        started(&world, job, "", DEADLINE).await;
    }
    eventually(
        "10 submits accepted before the crash",
        DEADLINE,
        count(|a| matches!(a.submitted, Submitted::Accepted(_))),
    )
    .await;
    redis.kill9().await;
    phase.store(DOWN, Ordering::SeqCst);
    for job in &held {
        world.release(job);
    }
    eventually(
        "10 submits answered during the outage",
        DEADLINE,
        count(|a| a.sent == DOWN && a.answered == DOWN),
    )
    .await;
    phase.store(BACK, Ordering::SeqCst);
    redis.restart().await;
    eventually(
        "10 submits accepted after the restart",
        DEADLINE,
        count(|a| a.sent == BACK && matches!(a.submitted, Submitted::Accepted(_))),
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    while let Some(done) = load.join_next().await {
        done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    }

    let answers = answers.lock().expect("answers").clone();
    for answer in answers
        .iter()
        .filter(|a| a.sent == DOWN && a.answered == DOWN)
    {
        assert_eq!(
            answer.submitted,
            Submitted::Unavailable,
            "a submit while Redis was down was accepted"
        );
    }
    let lost = lost_to_postponed_writes(&answers, &redis, &world.ns).await;
    let accepted: Vec<String> = answers
        .iter()
        .filter_map(|a| match &a.submitted {
            Submitted::Accepted(id) => Some(id.clone()),
            Submitted::Unavailable => None,
        })
        .chain(held)
        .filter(|id| !lost.contains(id))
        .collect();
    let refused = answers.len() + 2 - accepted.len() - lost.len();
    eprintln!(
        "{} submits accepted, {refused} refused, {} lost",
        accepted.len(),
        lost.len()
    );
    all_finished(
        &api.gsvar,
        &redis.url(),
        &world.ns,
        &accepted,
        Duration::from_secs(90),
    )
    .await;
    drop(worker);
}

/// The accepted jobs the crash took: none, unless Redis had postponed writing its AOF. With
/// `appendfsync everysec`, Redis writes each change to the file before it replies, except while the
/// disk lags behind the once-a-second fsync: then it replies first and writes up to 2 s later, and logs
/// "Asynchronous AOF fsync is taking too long" (CI machines hit this under load). A SIGKILL in that
/// window loses acknowledged writes, as docs/deployment.md says; only jobs accepted before the crash may
/// be lost then. A lost job is missing from Redis, or its id was issued again after the restart (the
/// counter stepped back with it): its first acceptance is the lost one. Returns the ids missing from
/// Redis, which no later job took.
async fn lost_to_postponed_writes(answers: &[Answer], redis: &RedisNode, ns: &str) -> Vec<String> {
    // Each id's first acceptance, and the phase it was answered in.
    let mut first = std::collections::HashMap::new();
    let mut lost = Vec::new();
    for answer in answers {
        let Submitted::Accepted(id) = &answer.submitted else {
            continue;
        };
        if let Some(answered) = first.insert(id.clone(), answer.answered) {
            lost.push((id.clone(), answered, "its id was issued again"));
        }
    }
    let mut missing = Vec::new();
    for (id, answered) in &first {
        if crate::checker::job_hash(&redis.url(), ns, id)
            .await
            .is_empty()
        {
            lost.push((id.clone(), *answered, "missing from Redis"));
            missing.push(id.clone());
        }
    }
    if !lost.is_empty() {
        assert!(
            redis
                .log()
                .contains("Asynchronous AOF fsync is taking too long"),
            "accepted jobs {lost:?} were lost though Redis never postponed an AOF write"
        );
        assert!(
            lost.iter().all(|(_, answered, _)| *answered == UP),
            "only jobs accepted before the crash may be lost: {lost:?}"
        );
        eprintln!("lost to Redis's postponed AOF writes: {lost:?}");
    }
    // A reissued id now names the job accepted after the restart, which must finish like any other.
    missing
}

/// Submits one job after another until `stop`, recording each answer with the phases around it.
async fn submit_loop(
    gsvar: Gsvar,
    phase: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Answer>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        let sent = phase.load(Ordering::SeqCst);
        let submitted = gsvar.submit("analyze.php", &[], "default").await;
        let answered = phase.load(Ordering::SeqCst);
        answers.lock().expect("answers").push(Answer {
            sent,
            answered,
            submitted,
        });
        if sent == DOWN {
            // Refusals come back at once: pace them rather than spin against a dead store.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Redis down for longer than a heartbeat's life: every heartbeat has expired when it comes back, and
/// the sweepers (every 500 ms here) must not take that for lost workers. The job, held until its
/// worker's heartbeat is back (about a second of sweeps after the restart), ends `finished` on its
/// first and only attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_outage_longer_than_a_heartbeat_judges_nobody() {
    let world = World::new();
    let mut redis = RedisNode::start(world.dir()).await;
    let liveness = |settings: crate::binaries::Settings| {
        settings
            .set("HOPPER_REDIS_URL", redis.url())
            .set("HOPPER_HEARTBEAT_TTL", "3s")
            .set("HOPPER_SWEEP_INTERVAL", "500ms")
    };
    let api = ApiNode::start(&world, "api", liveness(api_settings(&world))).await;
    let settings =
        liveness(worker_settings(&world, "w1", &["default"])).set("HOPPER_KILL_GRACE", "1s");
    let _worker = WorkerNode::start(&world, "worker", settings).await;
    let job = api.gsvar.submit_ok("hold.php", &[], "default").await;
    started(&world, &job, "", DEADLINE).await;

    redis.kill9().await;
    // Time itself is the condition here: the heartbeat (3 s) must run out while Redis is down.
    tokio::time::sleep(Duration::from_secs(4)).await;
    redis.restart().await;
    let url = redis.url();
    eventually("the worker's heartbeat to be back", DEADLINE, || async {
        crate::checker::heartbeat_alive(&url, &world.ns, "w1")
            .await
            .then_some(())
    })
    .await;
    world.release(&job);
    let ended =
        crate::checker::until_ended(&api.gsvar, &redis.url(), &world.ns, &job, DEADLINE).await;
    ended.assert_finished(&job);
    assert_eq!(ended.attempts(), 1, "{:?}", ended.hash);
}
