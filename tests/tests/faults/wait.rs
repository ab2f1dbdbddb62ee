//! Waiting for a condition with a deadline instead of sleeping for a guessed time.

use std::time::Duration;

/// How long an ordinary awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub use hopper_tests::eventually_within as eventually;

/// A port that was free a moment ago: bound on 127.0.0.1:0, read, released. Another process could take
/// it in between, which is acceptable for a test machine and the only way to hand a port to a child.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}
