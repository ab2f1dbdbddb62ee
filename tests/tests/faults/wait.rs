//! Waiting for a condition with a deadline instead of sleeping for a guessed time.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long an ordinary awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `check` every 20 ms until it returns `Some`; fails the test after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < until,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A port that was free a moment ago: bound on 127.0.0.1:0, read, released. Another process could take
/// it in between, which is acceptable for a test machine and the only way to hand a port to a child.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}
