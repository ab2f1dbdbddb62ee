//! An API node stopped with SIGTERM while requests are in flight.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::api_node::{ApiNode, api_settings};
use crate::checker::all_finished;
use crate::wait::{DEADLINE, eventually};
use crate::worker_node::{WorkerNode, worker_settings};
use crate::world::{World, redis_url};

/// Three submits whose handlers are reading their bodies when SIGTERM arrives (proven by the node's
/// `100 Continue`) complete with 200 and a JSON body after the node has stopped accepting connections;
/// the node then exits with status 0, and connections are refused. Their jobs run: a second node of
/// the same namespace (nodes are stateless) sees them finish, and exits 0 on SIGINT.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_sigterm_with_requests_in_flight() {
    let world = World::new();
    let mut api = ApiNode::start(&world, "api", api_settings(&world)).await;
    let _worker = WorkerNode::start(
        &world,
        "worker",
        worker_settings(&world, "w1", &["default"]),
    )
    .await;
    let body = serde_json::to_vec(&api.gsvar.submit_body("analyze.php", &[], "default"))
        .expect("submit body");

    let mut in_flight = Vec::new();
    for _ in 0..3 {
        in_flight.push(SlowRequest::start(api.port, &body).await);
    }
    api.process.sigterm();
    // The listener closes when shutdown begins; only then are the requests known to straddle it.
    eventually(
        "the stopping node to refuse connections",
        DEADLINE,
        || async {
            TcpStream::connect(("127.0.0.1", api.port))
                .await
                .is_err()
                .then_some(())
        },
    )
    .await;
    let mut accepted = Vec::new();
    for request in in_flight {
        let reply = request.finish(&body).await;
        assert_eq!(reply["exit_code"], 0, "{reply}");
        accepted.push(
            reply["qe_job_id"]
                .as_str()
                .expect("qe_job_id is a string")
                .to_owned(),
        );
    }

    let status = api.process.wait_exit(DEADLINE).await;
    assert_eq!(status.code(), Some(0), "hopper-api exited with {status}");
    assert!(
        TcpStream::connect(("127.0.0.1", api.port)).await.is_err(),
        "a stopped node still accepts connections"
    );

    let mut other = ApiNode::start(&world, "api-2", api_settings(&world)).await;
    all_finished(&other.gsvar, &redis_url(), &world.ns, &accepted, DEADLINE).await;
    // Ctrl-C in a terminal stops a node the same way.
    other.process.sigint();
    let status = other.process.wait_exit(DEADLINE).await;
    assert_eq!(
        status.code(),
        Some(0),
        "hopper-api exited on SIGINT with {status}"
    );
}

/// A POST /qe whose headers are sent but whose body is held back. With `Expect: 100-continue` the node
/// answers `100 Continue` only once its handler starts reading the body: from then on the request is
/// in flight on the server, with no sleep needed to know it.
struct SlowRequest {
    stream: TcpStream,
}

impl SlowRequest {
    async fn start(port: u16, body: &[u8]) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect to the API node");
        let head = format!(
            "POST /qe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .await
            .expect("send headers");
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tokio::time::timeout(DEADLINE, stream.read(&mut buf))
                .await
                .expect("100 Continue within the deadline")
                .expect("read 100 Continue");
            assert!(n > 0, "connection closed before 100 Continue");
            seen.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&seen);
        assert!(
            text.starts_with("HTTP/1.1 100"),
            "expected 100 Continue: {text}"
        );
        Self { stream }
    }

    /// Sends the body and returns the final reply's JSON, which must come with status 200.
    async fn finish(mut self, body: &[u8]) -> Value {
        self.stream.write_all(body).await.expect("send body");
        let mut reply = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(json) = complete_reply(&reply) {
                return json;
            }
            let n = tokio::time::timeout(DEADLINE, self.stream.read(&mut buf))
                .await
                .expect("reply within the deadline")
                .expect("read reply");
            assert!(
                n > 0,
                "connection closed before a complete reply: {:?}",
                String::from_utf8_lossy(&reply)
            );
            reply.extend_from_slice(&buf[..n]);
        }
    }
}

/// The JSON body of a complete `200` reply (head and Content-Length bytes of body), `None` while
/// incomplete; any other status fails the test.
fn complete_reply(bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "in-flight request not answered 200: {text}"
    );
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("reply without Content-Length: {head}"));
    (body.len() >= length).then(|| {
        serde_json::from_str(&body[..length])
            .unwrap_or_else(|_| panic!("reply body is not JSON: {text:?}"))
    })
}
