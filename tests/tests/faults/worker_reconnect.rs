//! A worker loses RabbitMQ while a job runs.

use crate::api_node::{ApiNode, api_settings};
use crate::checker::until_ended;
use crate::hold::{alive, pids, started};
use crate::proxy::Proxy;
use crate::wait::{DEADLINE, eventually};
use crate::worker_node::{WorkerNode, worker_settings};
use crate::world::{World, amqp_addr, amqp_url_via, redis_url};

/// A worker whose link to RabbitMQ is cut keeps its running script; the script's end is recorded in
/// Redis during the cut; a job submitted meanwhile waits in its queue; once the link returns the same
/// worker process reconnects and runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_keeps_its_jobs_through_a_broker_cut() {
    let world = World::new();
    let api = ApiNode::start(&world, "api", api_settings(&world)).await;
    let proxy = Proxy::start(&amqp_addr()).await;
    let settings = worker_settings(&world, "w1", &["default"])
        .set("HOPPER_AMQP_URL", amqp_url_via(proxy.port()));
    let mut worker = WorkerNode::start(&world, "worker", settings).await;
    let queue = world.amqp_queue("default");
    let held = api.gsvar.submit_ok("hold.php", &[], "default").await;
    let attempt = started(&world, &held, "", DEADLINE).await;

    proxy.cut();
    eventually("the worker's consumer to vanish", DEADLINE, || async {
        (world.consumers(&queue).await == 0).then_some(())
    })
    .await;
    let waiting = api.gsvar.submit_ok("analyze.php", &[], "default").await;
    assert!(
        pids(&attempt).iter().all(|&pid| alive(pid)),
        "the script must go on through the cut"
    );
    world.release(&held);
    let ended = until_ended(&api.gsvar, &redis_url(), &world.ns, &held, DEADLINE).await;
    ended.assert_finished(&held);
    assert!(
        worker.process.try_exit().is_none(),
        "the worker must not stop\n{}",
        worker.process.tail()
    );

    proxy.restore();
    let ended = until_ended(&api.gsvar, &redis_url(), &world.ns, &waiting, DEADLINE).await;
    ended.assert_finished(&waiting);
    assert_eq!(ended.field("worker"), "w1");
    assert!(
        worker.process.try_exit().is_none(),
        "the worker must not stop"
    );
}
