//! One warning per outage. When Redis or RabbitMQ stops answering, every caller of a process fails, many
//! times a second and for as long as the outage lasts: a worker retrying each job's end, the heartbeat,
//! the sweeper, an API node's requests. Logging each of those at warn would bury the one line an
//! operator needs. So the connection logs the outage itself, once, with its first cause, and once more
//! when the server answers again; its callers log their own failures at debug.

use std::fmt::Display;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::time::Instant;

#[derive(Debug)]
pub struct Outage {
    /// The server's name in logs: `Redis` or `RabbitMQ`.
    server: &'static str,
    /// What the outage means for this process, said in its one warning.
    consequence: &'static str,
    /// Read on every successful call, so it is an atomic: the common case costs one load.
    failing: AtomicBool,
    /// Failed calls since the outage began.
    failures: AtomicU64,
    since: Mutex<Option<Instant>>,
}

impl Outage {
    pub fn new(server: &'static str, consequence: &'static str) -> Self {
        Self {
            server,
            consequence,
            failing: AtomicBool::new(false),
            failures: AtomicU64::new(0),
            since: Mutex::new(None),
        }
    }

    /// A call failed because the server did not answer (or could not be reached). The first failure of
    /// an outage is logged at warn, the others at debug.
    pub fn failed(&self, error: &dyn Display) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if self.failing.swap(true, Ordering::AcqRel) {
            tracing::debug!(server = self.server, %error, "still not answering");
            return;
        }
        *self.since.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        tracing::warn!(
            server = self.server,
            %error,
            "{} is not answering: {} (logged once per outage)",
            self.server,
            self.consequence
        );
    }

    /// A call succeeded: if an outage was under way, it is over.
    pub fn answered(&self) {
        if !self.failing.load(Ordering::Relaxed) || !self.failing.swap(false, Ordering::AcqRel) {
            return;
        }
        let since = self.since.lock().unwrap_or_else(|e| e.into_inner()).take();
        let failures = self.failures.swap(0, Ordering::Relaxed);
        tracing::info!(
            server = self.server,
            lasted = ?since.map(|at| at.elapsed()),
            failed_calls = failures,
            "{} answers again",
            self.server
        );
    }

    /// Whether the last call failed.
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_begins_at_the_first_failure_and_ends_at_the_first_answer() {
        let outage = Outage::new("Redis", "test");
        assert!(!outage.is_failing());
        outage.answered();
        assert!(!outage.is_failing());
        outage.failed(&"did not answer within 5s");
        outage.failed(&"did not answer within 5s");
        assert!(outage.is_failing());
        assert_eq!(outage.failures.load(Ordering::Relaxed), 2);
        outage.answered();
        assert!(!outage.is_failing());
        assert_eq!(outage.failures.load(Ordering::Relaxed), 0);
    }
}
