//! What the node's log says of a refused request: enough for an operator to find who knocked with a
//! wrong key, and never the key.

use crate::helpers::{DEADLINE, Node};

/// A GSvar request with a wrong token is logged at info with the client's address, the address a proxy
/// names in X-Forwarded-For and the front door, and without the token it carried.
#[tokio::test]
async fn a_refused_token_is_logged_with_the_client_and_never_the_token() {
    let node = Node::start(&[]).await;
    let secret = "not-a-configured-token-4f1e";
    let body = format!(r#"{{"action":"update","token":"{secret}","qe_job_id":"1"}}"#);
    let request = format!(
        "POST /qe HTTP/1.1\r\nHost: hopper\r\nContent-Type: application/json\r\n\
         X-Forwarded-For: 192.0.2.7\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut connection = node.connect().await;
    connection
        .send(request.as_bytes())
        .await
        .expect("send the request");
    let response = connection.response().await;
    assert_eq!(response.status, 401, "{response:?}");

    let until = std::time::Instant::now() + DEADLINE;
    let line = loop {
        let log = node.log();
        if let Some(line) = log.lines().find(|l| l.contains("request refused")) {
            break line.to_owned();
        }
        assert!(
            std::time::Instant::now() < until,
            "no refusal logged:\n{log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("client=127.0.0.1:"), "{line}");
    assert!(line.contains("192.0.2.7"), "{line}");
    assert!(
        line.contains("door=\"gsvar\"") || line.contains("door=gsvar"),
        "{line}"
    );
    assert!(
        !node.log().contains(secret),
        "the token reached the log:\n{}",
        node.log()
    );
}
