//! The scaled-out deployment, run for real: three API nodes behind HAProxy (health-checked on
//! `/readyz`), two workers for each of two queues, mixed GSvar and native traffic through the balancer.
//! One node and one worker are killed (SIGKILL) mid-load and restarted, then another node is drained
//! with SIGTERM.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::api_node::{ApiNode, api_settings};
use crate::checker::{Ended, all_finished};
use crate::gsvar::Gsvar;
use crate::haproxy::{Balancer, CHECK_INTERVAL, FALL};
use crate::mixed_load::{Answer, MixedLoad};
use crate::worker_node::{WorkerNode, worker_settings};
use crate::world::{World, redis_url};

const QUEUES: [&str; 2] = ["default", "retry"];

/// After each fault: no accepted job is lost or run twice, every refused request got a non-200 answer,
/// HAProxy stops sending to the dead node within its checks, throughput recovers once the node is
/// back, and the drained node fails no request it was serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_balanced_cluster_loses_no_job_to_a_lost_node_a_lost_worker_or_a_drain() {
    let world = World::new();
    // A second try for the jobs of the killed worker; a grace long enough for any request in flight.
    let settings = api_settings(&world)
        .set("HOPPER_MAX_TRIES", "2")
        .set("HOPPER_SHUTDOWN_GRACE", "20s")
        // Serving on, unready, until HAProxy has seen /readyz fail (2 checks 500 ms apart).
        .set("HOPPER_UNREADY_DELAY", "2s");
    let mut nodes = Vec::new();
    for name in ["api1", "api2", "api3"] {
        nodes.push(ApiNode::start(&world, name, settings.clone()).await);
    }
    let worker =
        |id: &str, queue: &str| worker_settings(&world, id, &[queue]).set("HOPPER_THREADS", "2");
    let mut workers = Vec::new();
    for queue in QUEUES {
        for n in 1..=2 {
            let id = format!("{queue}-{n}");
            workers.push(WorkerNode::start(&world, &id, worker(&id, queue)).await);
        }
    }
    let names: Vec<(&str, u16)> = vec![
        ("api1", nodes[0].port),
        ("api2", nodes[1].port),
        ("api3", nodes[2].port),
    ];
    let balancer = Balancer::start(&world, &names).await;
    let load = MixedLoad::start(&balancer.url, world.work.clone(), 3, QUEUES);
    let before = load.time_for(60).await;

    // A node and a worker die mid-load.
    let killed = Instant::now();
    nodes[1].process.kill9().await;
    workers[0].process.kill9().await;
    let down = balancer.until("api2", "DOWN").await;
    let bound = CHECK_INTERVAL * (FALL + 1) + Duration::from_millis(500);
    assert!(
        down - killed <= bound,
        "HAProxy took {:?} to count api2 down, beyond {bound:?}",
        down - killed
    );
    load.time_for(30).await;

    // They come back, the worker under the same identity; the balancer sends to the node again.
    nodes[1] = ApiNode::start_on(&world, "api2-again", settings.clone(), nodes[1].port).await;
    workers[0] = WorkerNode::start(&world, "default-1-again", worker("default-1", "default")).await;
    balancer.until("api2", "UP").await;
    let after = load.time_for(60).await;
    assert!(
        after <= before * 2,
        "throughput did not recover: 60 submits took {after:?} with every node back, {before:?} before"
    );

    // A node drains: it answers what it was serving, then exits; the balancer routes around it.
    let drained = Instant::now();
    nodes[2].process.sigterm();
    balancer.until("api3", "DOWN").await;
    let status = nodes[2].process.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "the drained node exited {status}");
    load.time_for(30).await;
    let answers = load.stop().await;

    let unanswered = answers.iter().filter(|a| a.status.is_none()).count();
    let refused = answers
        .iter()
        .filter(|a| a.status.is_some() && !a.ok())
        .count();
    eprintln!(
        "balancer: {} requests, {refused} refused, {unanswered} unanswered at the kill; api2 counted \
         down after {:?}; 60 submits took {before:?} before, {after:?} with every node back",
        answers.len(),
        down - killed
    );
    check_answers(&answers, killed, down, drained);
    let accepted: Vec<String> = answers.iter().filter_map(|a| a.accepted.clone()).collect();
    let gsvar = Gsvar::new(balancer.url.clone(), world.work.clone());
    let ends = all_finished(
        &gsvar,
        &redis_url(),
        &world.ns,
        &accepted,
        Duration::from_secs(90),
    )
    .await;
    check_runs(&world, &ends);
}

/// Every request got an HTTP answer; those refused got a non-2xx status (HAProxy's 502 for a request
/// the killed node had taken); once HAProxy counted the killed node down, every request succeeded,
/// including through the drain; and the drained node answered every request it took with success.
fn check_answers(answers: &[Answer], killed: Instant, down: Instant, drained: Instant) {
    let when = |a: &Answer| {
        let offset = |t: Instant| {
            a.sent
                .checked_duration_since(t)
                .map_or_else(|| format!("-{:?}", t - a.sent), |d| format!("+{d:?}"))
        };
        format!(
            "sent {} from the kill, {} from the drain",
            offset(killed),
            offset(drained)
        )
    };
    assert!(
        answers.len() > 200,
        "too little traffic to prove anything: {}",
        answers.len()
    );
    for answer in answers {
        // HAProxy closes the client's connection without a status when the node it forwarded the
        // request to dies mid-transfer (its log says `SD--`): only a request in flight at the kill
        // may end so, and it is not counted accepted.
        let in_flight =
            answer.sent <= killed + Duration::from_millis(100) && answer.answered >= killed;
        assert!(
            answer.status.is_some() || in_flight,
            "a request got no HTTP answer ({}), {}: {answer:?}",
            answer.error.as_deref().unwrap_or("?"),
            when(answer)
        );
        if answer.sent >= down {
            assert!(
                answer.ok(),
                "a request failed after the lost node was counted down: {answer:?}"
            );
        }
        if answer.node.as_deref() == Some("api3") && answer.sent >= drained {
            assert!(
                answer.ok(),
                "the draining node failed a request: {answer:?}"
            );
        }
    }
    let kinds: BTreeSet<&str> = answers.iter().filter(|a| a.ok()).map(|a| a.what).collect();
    assert_eq!(
        kinds.len(),
        4,
        "GSvar and native submits and reads all succeeded: {kinds:?}"
    );
    let served: BTreeSet<&str> = answers.iter().filter_map(|a| a.node.as_deref()).collect();
    assert_eq!(served.len(), 3, "every node served: {served:?}");
}

/// Each accepted job ran to success exactly once, except the jobs the killed worker held: their first
/// attempt ended `worker_lost`, and the second succeeded. record.php logs each run that completed: a
/// job with one attempt has exactly one line, so no job ran twice.
fn check_runs(world: &World, ends: &BTreeMap<String, Ended>) {
    let log = std::fs::read_to_string(world.work.join("runs.log")).unwrap_or_default();
    let mut runs: BTreeMap<&str, usize> = BTreeMap::new();
    for line in log.lines() {
        *runs
            .entry(line.split(' ').next().unwrap_or_default())
            .or_default() += 1;
    }
    for (id, ended) in ends {
        let lines = runs.get(id.as_str()).copied().unwrap_or(0);
        match ended.attempts() {
            1 => assert_eq!(lines, 1, "job {id} ran {lines} times: {:?}", ended.hash),
            2 => {
                let history = ended.history();
                assert_eq!(
                    history[0]["outcome"], "worker_lost",
                    "job {id}: {history:?}"
                );
                assert!((1..=2).contains(&lines), "job {id} ran {lines} times");
            }
            n => panic!("job {id} was started {n} times: {:?}", ended.hash),
        }
    }
}
