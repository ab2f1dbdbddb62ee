//! A submit cut mid-way by its client runs to its end all the same: the client's disconnect must not
//! leave a job recorded in Redis and never confirmed, or confirmed with no message behind it.

use std::time::Duration;

use crate::api_node::{ApiNode, api_settings};
use crate::checker::{job_hash, job_ids};
use crate::gsvar::TOKEN;
use crate::proxy::Proxy;
use crate::wait::{DEADLINE, eventually};
use crate::world::{World, amqp_addr, amqp_url_via, redis_url};

/// The client gives up while the node's publish hangs (RabbitMQ frozen behind the proxy): the job is
/// then provisional in Redis. Once RabbitMQ answers, the node finishes the submit nobody waits for any
/// more: the job is confirmed and its message is in the queue, so it will run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_submit_whose_client_gives_up_runs_to_its_end() {
    let world = World::new();
    let proxy = Proxy::start(&amqp_addr()).await;
    // A limit far above the freeze, so the publish waits the freeze out instead of failing.
    let settings = api_settings(&world)
        .set("HOPPER_AMQP_URL", amqp_url_via(proxy.port()))
        .set("HOPPER_AMQP_TIMEOUT", "20s");
    let api = ApiNode::start(&world, "api", settings).await;
    // Connected, and the queue declared: the freeze then catches the submit at its publish.
    let first = api.gsvar.submit_ok("analyze.php", &[], "default").await;
    assert_eq!(world.ready("default").await, 1);

    proxy.freeze();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(700))
        .build()
        .expect("HTTP client");
    let mut body = api.gsvar.submit_body("analyze.php", &[], "default");
    body["token"] = TOKEN.into();
    let cut = impatient
        .post(format!("{}/qe", api.gsvar.url))
        .json(&body)
        .send()
        .await;
    assert!(
        cut.as_ref().is_err_and(reqwest::Error::is_timeout),
        "the submit should hang while RabbitMQ is frozen: {cut:?}"
    );
    let ns = world.ns.as_str();
    let second = eventually("the cut submit to be recorded", DEADLINE, || async {
        let ids = job_ids(&redis_url(), ns).await;
        ids.into_iter().find(|id| *id != first)
    })
    .await;
    assert_eq!(
        job_hash(&redis_url(), ns, &second)
            .await
            .get("provisional")
            .map(String::as_str),
        Some("1"),
        "the cut submit's job should wait for its publish"
    );

    proxy.restore();
    eventually("the cut submit to be confirmed", DEADLINE, || async {
        let job = job_hash(&redis_url(), ns, &second).await;
        (job.get("state").map(String::as_str) == Some("queued") && !job.contains_key("provisional"))
            .then_some(())
    })
    .await;
    eventually("its message to be in the queue", DEADLINE, || async {
        (world.ready("default").await == 2).then_some(())
    })
    .await;
}
