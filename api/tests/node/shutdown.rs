//! SIGTERM and SIGINT: the node turns unready (for HOPPER_UNREADY_DELAY), stops taking connections, lets the requests in flight finish within
//! HOPPER_SHUTDOWN_GRACE, and then exits; a second signal ends the wait at once.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::helpers::{Connection, Node, update_request};

/// Time allowed on top of an expected exit, for a loaded machine.
const MARGIN: Duration = Duration::from_secs(10);

/// A request in flight: an update whose head the node has taken (it answered `100 Continue`, so its
/// handler is reading the body) and half of whose body is sent. Returns the connection and the rest
/// of the body.
async fn half_sent(node: &Node) -> (Connection, String) {
    let mut connection = node.connect().await;
    let (head, body) = update_request();
    connection
        .send(head.as_bytes())
        .await
        .expect("send the head");
    connection.continued().await;
    let (part, rest) = body.split_at(body.len() / 2);
    connection
        .send(part.as_bytes())
        .await
        .expect("send half the body");
    (connection, rest.to_owned())
}

/// A request that is still arriving when the node is told to stop holds the node up for the grace
/// period and no longer: then the node exits, with success, and the request is dropped unanswered.
#[tokio::test]
async fn the_grace_bounds_the_wait_for_a_request_in_flight() {
    let grace = Duration::from_secs(2);
    let mut node = Node::start(&[("HOPPER_SHUTDOWN_GRACE", "2s")]).await;
    let (mut connection, _) = half_sent(&node).await;

    let signalled = Instant::now();
    node.signal(Signal::SIGTERM);
    node.refuses_connections().await;
    let status = node.exit_within(grace + MARGIN).await;
    let waited = signalled.elapsed();
    assert!(
        waited >= grace,
        "exited after {waited:?}, before the grace of {grace:?}:\n{}",
        node.log()
    );
    assert!(status.success(), "{status}:\n{}", node.log());
    assert!(connection.closed_without_response().await);
}

/// A request in flight when the node is told to stop still gets its whole answer, even though the
/// rest of its body arrives after the signal; the node then exits at once, with success.
#[tokio::test]
async fn a_request_in_flight_finishes_after_sigterm() {
    let mut node = Node::start(&[]).await;
    let (mut connection, rest) = half_sent(&node).await;

    node.signal(Signal::SIGTERM);
    node.refuses_connections().await;
    connection
        .send(rest.as_bytes())
        .await
        .expect("send the rest of the body");
    let response = connection.response().await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body["status"], "error", "{response:?}");
    assert!(
        response.body["result"]
            .as_str()
            .is_some_and(|r| r.contains("unknown job id")),
        "{response:?}"
    );
    // Well within the default grace of 30 s: the node did not wait for more than its request.
    let status = node.exit_within(MARGIN).await;
    assert!(status.success(), "{status}:\n{}", node.log());
}

/// A second, separate signal (here SIGINT after SIGTERM) ends the wait for the requests in flight at
/// once.
#[tokio::test]
async fn a_second_signal_stops_the_node_at_once() {
    let mut node = Node::start(&[("HOPPER_SHUTDOWN_GRACE", "10min")]).await;
    let (mut connection, _) = half_sent(&node).await;

    node.signal(Signal::SIGTERM);
    node.refuses_connections().await;
    assert!(node.is_running(), "exited at once:\n{}", node.log());
    // Only a signal separate from the first stops at once (signals that arrive together are one
    // request): time passing is the condition here, counted from when the node had surely taken the
    // first (it refuses connections), not from when it was sent.
    tokio::time::sleep(hopper_common::SAME_REQUEST).await;
    node.signal(Signal::SIGINT);
    let status = node.exit_within(MARGIN).await;
    assert!(status.success(), "{status}:\n{}", node.log());
    assert!(connection.closed_without_response().await);
}

/// With HOPPER_UNREADY_DELAY, a stopping node answers `/readyz` with 503 and still takes new
/// connections and requests for the delay, so a load balancer takes it out before it closes; only
/// then does it refuse connections and exit.
#[tokio::test]
async fn an_unready_delay_keeps_serving_until_balancers_have_seen_it_go() {
    let delay = Duration::from_secs(2);
    let mut node = Node::start(&[("HOPPER_UNREADY_DELAY", "2s")]).await;
    let signalled = Instant::now();
    node.signal(Signal::SIGTERM);
    // The signal is handled on the node's own time: ask until it says 503, well within the delay.
    loop {
        let mut readiness = node.connect().await;
        readiness
            .send(b"GET /readyz HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
            .await
            .expect("ask /readyz");
        if readiness.response().await.status == 503 {
            break;
        }
        assert!(
            signalled.elapsed() < delay / 2,
            "/readyz still ready {:?} after SIGTERM:\n{}",
            signalled.elapsed(),
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut health = node.connect().await;
    health
        .send(b"GET /healthz HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
        .await
        .expect("ask /healthz");
    assert_eq!(health.response().await.status, 200);
    node.refuses_connections().await;
    assert!(
        signalled.elapsed() >= delay,
        "refused connections after {:?}, before the delay of {delay:?}:\n{}",
        signalled.elapsed(),
        node.log()
    );
    let status = node.exit_within(MARGIN).await;
    assert!(status.success(), "{status}:\n{}", node.log());
}
