//! A worker dies (kill -9) with jobs running: its guardian ends the scripts, its heartbeat expires, and
//! a sweeper fails or re-queues the jobs; a worker restarted under the same identity ends what its
//! predecessor left before anything runs again.

use std::time::Duration;

use crate::api_node::{ApiNode, api_settings};
use crate::binaries::Settings;
use crate::checker::until_ended;
use crate::hold::{alive, pids, started};
use crate::wait::{DEADLINE, eventually};
use crate::worker_node::{WorkerNode, worker_settings};
use crate::world::{World, redis_url};

/// Heartbeats expire fast so that a lost worker is noticed within seconds.
fn fast_worker(world: &World, id: &str, queues: &[&str]) -> Settings {
    worker_settings(world, id, queues)
        .set("HOPPER_HEARTBEAT_TTL", "3s")
        .set("HOPPER_SWEEP_INTERVAL", "1s")
        .set("HOPPER_KILL_GRACE", "1s")
}

/// Queue `default` gives a job one try, queue `retry` two.
fn sweeping_api(world: &World) -> Settings {
    api_settings(world)
        .set("HOPPER_SWEEP_INTERVAL", "1s")
        .set("HOPPER_MAX_TRIES", "1,retry=2")
}

/// A worker killed with SIGKILL mid-job: its one-try job ends `error` with reason `worker_lost` within
/// 30 s; its two-try job runs again on another worker (attempts = 2) and finishes, and the first
/// attempt's processes were dead before the second started. `history` records each attempt ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_kill9_mid_job() {
    let world = World::new();
    let api = ApiNode::start(&world, "api", sweeping_api(&world)).await;
    let mut first = WorkerNode::start(
        &world,
        "worker-1",
        fast_worker(&world, "w1", &["default", "retry"]),
    )
    .await;
    let once = api.gsvar.submit_ok("hold.php", &[], "default").await;
    let twice = api.gsvar.submit_ok("hold.php", &[], "retry").await;
    started(&world, &once, "", DEADLINE).await;
    let first_attempt = started(&world, &twice, "", DEADLINE).await;

    first.process.kill9().await;
    // Its guardian ends the scripts at once, long before the heartbeat expires.
    for pid in pids(&first_attempt) {
        eventually("the guardian to end attempt 1", DEADLINE, || {
            std::future::ready((!alive(pid)).then_some(()))
        })
        .await;
    }
    let ended = until_ended(
        &api.gsvar,
        &redis_url(),
        &world.ns,
        &once,
        Duration::from_secs(30),
    )
    .await;
    ended.assert_error(&once, "worker_lost");
    assert_eq!(ended.history().len(), 1, "{:?}", ended.hash);

    let _second = WorkerNode::start(
        &world,
        "worker-2",
        fast_worker(&world, "w2", &["default", "retry"]),
    )
    .await;
    let second_attempt = started(&world, &twice, &first_attempt, Duration::from_secs(30)).await;
    for pid in pids(&first_attempt) {
        assert!(
            !alive(pid),
            "attempt 1's process {pid} alive when attempt 2 started"
        );
    }
    assert_ne!(pids(&second_attempt), pids(&first_attempt));
    world.release(&twice);
    let ended = until_ended(&api.gsvar, &redis_url(), &world.ns, &twice, DEADLINE).await;
    ended.assert_finished(&twice);
    assert_eq!(ended.attempts(), 2, "{:?}", ended.hash);
    assert_eq!(ended.history().len(), 2, "{:?}", ended.hash);
}

/// A worker killed with SIGKILL together with its guardian (as when everything but the jobs dies) and
/// restarted at once with the same HOPPER_WORKER_ID and log directory ends what its previous
/// incarnation left running, then the job (two tries) runs once more and finishes: attempts = 2, and
/// the two attempts were never alive at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_restart_same_identity_ends_leftovers() {
    let world = World::new();
    let api = ApiNode::start(&world, "api", sweeping_api(&world)).await;
    let settings = fast_worker(&world, "w1", &["retry"]);
    let mut first = WorkerNode::start(&world, "worker-1", settings.clone()).await;
    let job = api.gsvar.submit_ok("hold.php", &[], "retry").await;
    let first_attempt = started(&world, &job, "", DEADLINE).await;
    let leftovers = pids(&first_attempt);

    let guardian = first.guardian().expect("the worker runs a job guardian");
    nix::sys::signal::kill(guardian, nix::sys::signal::Signal::SIGKILL).expect("kill the guardian");
    first.process.kill9().await;
    assert!(
        leftovers.iter().all(|&pid| alive(pid)),
        "with its guardian gone too, a killed worker's scripts keep running on their own"
    );
    let _again = WorkerNode::start(&world, "worker-1-again", settings).await;
    eventually("the leftover scripts to be ended", DEADLINE, || {
        std::future::ready(leftovers.iter().all(|&pid| !alive(pid)).then_some(()))
    })
    .await;

    let second_attempt = started(&world, &job, &first_attempt, Duration::from_secs(30)).await;
    for &pid in &leftovers {
        assert!(
            !alive(pid),
            "attempt 1's process {pid} alive during attempt 2"
        );
    }
    world.release(&job);
    let ended = until_ended(&api.gsvar, &redis_url(), &world.ns, &job, DEADLINE).await;
    ended.assert_finished(&job);
    assert_eq!(ended.attempts(), 2, "{:?}", ended.hash);
    assert_ne!(pids(&second_attempt), leftovers);
}
