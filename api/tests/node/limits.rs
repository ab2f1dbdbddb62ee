//! HOPPER_MAX_BODY holds however the body comes: with a Content-Length (tests/tests/suite/front_door.rs)
//! and, here, streamed in chunks with no length announced.

use crate::helpers::{Node, TOKEN};

const LIMIT: usize = 2048;

fn chunked_head() -> &'static str {
    "POST /qe HTTP/1.1\r\nHost: hopper\r\nContent-Type: application/json\r\n\
     Transfer-Encoding: chunked\r\n\r\n"
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(b"\r\n");
    chunk
}

/// A chunked body that grows past the limit is refused with 413 and a JSON body naming the limit, as
/// soon as it crosses it: the node does not wait for a last chunk that may never come.
#[tokio::test]
async fn a_chunked_body_over_the_limit_answers_413() {
    let node = Node::start(&[("HOPPER_MAX_BODY", &LIMIT.to_string())]).await;
    let mut connection = node.connect().await;
    connection
        .send(chunked_head().as_bytes())
        .await
        .expect("send the head");
    let piece = chunk(&[b'x'; 512]);
    // Four times the limit, and no closing chunk. Once the node has answered it may close the
    // connection, so later writes may fail; the answer is what counts.
    for _ in 0..(4 * LIMIT / 512) {
        if connection.send(&piece).await.is_err() {
            break;
        }
    }
    let response = connection.response().await;
    assert_eq!(response.status, 413, "{response:?}");
    assert_eq!(response.body["exit_code"], 1, "{response:?}");
    assert!(
        response.body["result"]
            .as_str()
            .is_some_and(|r| r.contains(&LIMIT.to_string())),
        "{response:?}"
    );
}

/// A chunked body within the limit is read whole and answered as usual.
#[tokio::test]
async fn a_chunked_body_within_the_limit_is_answered() {
    let node = Node::start(&[("HOPPER_MAX_BODY", &LIMIT.to_string())]).await;
    let mut connection = node.connect().await;
    let body = format!(r#"{{"action":"update","token":"{TOKEN}","qe_job_id":"999999999"}}"#);
    let (first, second) = body.as_bytes().split_at(10);
    let mut request = chunked_head().as_bytes().to_vec();
    for part in [first, second, b""] {
        request.extend(chunk(part));
    }
    connection.send(&request).await.expect("send the request");
    let response = connection.response().await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body["status"], "error", "{response:?}");
}
