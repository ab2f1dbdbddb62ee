//! An API node loses RabbitMQ in the middle of a burst of submits.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api_node::{ApiNode, api_settings};
use crate::checker::{all_finished, assert_jobs_are_exactly};
use crate::gsvar::Submitted;
use crate::proxy::Proxy;
use crate::wait::{DEADLINE, eventually};
use crate::worker_node::{WorkerNode, worker_settings};
use crate::world::{World, amqp_addr, amqp_url_via, redis_url};

const BURST: usize = 100;

/// 100 concurrent submits while the API's link to RabbitMQ is cut after the first quarter has been
/// answered: every submit answers 200 or 503, every 200 is a recorded job that ends `finished`, no 503
/// left a job behind, `/readyz` answers 503 while cut, and submits succeed again after the link returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rabbitmq_cut_during_submit_burst() {
    let world = World::new();
    let proxy = Proxy::start(&amqp_addr()).await;
    let settings = api_settings(&world).set("HOPPER_AMQP_URL", amqp_url_via(proxy.port()));
    let api = ApiNode::start(&world, "api", settings).await;
    let worker_settings = worker_settings(&world, "w1", &["default"]).set("HOPPER_THREADS", "8");
    let _worker = WorkerNode::start(&world, "worker", worker_settings).await;
    let gsvar = api.gsvar.clone();

    // Ten submits in flight at a time, so that the cut catches some between publish and confirm.
    let permits = Arc::new(Semaphore::new(10));
    let mut burst = JoinSet::new();
    for _ in 0..BURST {
        let (gsvar, permits) = (gsvar.clone(), permits.clone());
        burst.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            gsvar.submit("analyze.php", &[], "default").await
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = burst.join_next().await {
        answers.push(answer.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
        if answers.len() == BURST / 4 {
            proxy.cut();
        }
        if answers.len() == BURST / 2 {
            // The node must know it cannot publish before the link comes back.
            eventually("/readyz to answer 503 while cut", DEADLINE, || async {
                (gsvar.readyz().await == Some(StatusCode::SERVICE_UNAVAILABLE)).then_some(())
            })
            .await;
            proxy.restore();
        }
    }
    let mut accepted: Vec<String> = answers
        .iter()
        .filter_map(|a| match a {
            Submitted::Accepted(id) => Some(id.clone()),
            Submitted::Unavailable => None,
        })
        .collect();
    let refused = BURST - accepted.len();
    eprintln!(
        "of {BURST} submits, {} accepted and {refused} refused",
        accepted.len()
    );
    assert!(refused > 0, "the cut refused no submit: {answers:?}");
    assert!(accepted.len() >= BURST / 4, "too few accepted: {answers:?}");

    eventually("/readyz to answer 200 after restore", DEADLINE, || async {
        (gsvar.readyz().await == Some(StatusCode::OK)).then_some(())
    })
    .await;
    for _ in 0..10 {
        accepted.push(gsvar.submit_ok("analyze.php", &[], "default").await);
    }

    let ends = all_finished(
        &gsvar,
        &redis_url(),
        &world.ns,
        &accepted,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        ends.len(),
        accepted.len(),
        "an accepted id was answered twice"
    );
    assert_jobs_are_exactly(&redis_url(), &world.ns, &accepted).await;
}
