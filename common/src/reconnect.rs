//! One connection shared by every caller of a process, opened when first needed and opened again once
//! it is gone: the store's Redis connection and the publisher's RabbitMQ link.
//!
//! It is opened by the first operation, not at start, so a process can start while the server is down.
//! One caller at a time connects and the others wait for that attempt; after a failed attempt the next
//! waits out a backoff (doubling up to a cap), and meanwhile every operation fails at once, instead of
//! each queueing behind a connect or storming a server that is coming back.
//!
//! A connection on which a call failed for want of an answer is dropped ([`Reconnect::forget`]), so
//! the next call opens a new one: a server that hangs is treated like one that is gone. Each
//! connection has a generation, so that a late failure on a connection already replaced does not drop
//! its replacement.

use std::fmt::Display;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::outage::Outage;

pub(crate) struct Reconnect<T> {
    /// The live connection and its generation, read on every operation; held only to clone or
    /// replace it.
    live: Mutex<Option<(u64, T)>>,
    /// Held by the one caller that connects.
    connecting: tokio::sync::Mutex<Backoff>,
    first_backoff: Duration,
    max_backoff: Duration,
    /// Logs the outage once, however many calls fail during it.
    pub(crate) outage: Outage,
}

/// A connection and the generation it belongs to, as handed to one call.
#[derive(Debug)]
pub(crate) struct Held<T> {
    pub(crate) value: T,
    pub(crate) generation: u64,
}

/// One connect, holding the right to connect: however it ends short of success (an error, or its caller
/// giving up on it), the next attempt waits out the backoff from that moment.
struct Attempt<'a> {
    backoff: tokio::sync::MutexGuard<'a, Backoff>,
    delay: Duration,
    succeeded: bool,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.succeeded {
            self.backoff.next_try = Some(Instant::now() + self.delay);
        }
    }
}

#[derive(Debug)]
struct Backoff {
    /// No connect is tried before this.
    next_try: Option<Instant>,
    delay: Duration,
    /// The generation of the last connection made.
    generation: u64,
}

impl<T: Clone> Reconnect<T> {
    pub(crate) fn new(
        server: &'static str,
        first_backoff: Duration,
        max_backoff: Duration,
    ) -> Self {
        // Said once per outage; both callers (the store, the publisher) fail fast meanwhile, and their
        // own callers retry what must not be lost.
        let consequence = "calls that need it fail until it answers; a job's claim and end, and \
                           re-queued jobs' submits, are retried until then";
        Self {
            live: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(Backoff {
                next_try: None,
                delay: first_backoff,
                generation: 0,
            }),
            first_backoff,
            max_backoff,
            outage: Outage::new(server, consequence),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Option<(u64, T)>> {
        // Nothing a panic could leave half-done is behind this lock: recover it.
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn current(&self, usable: &impl Fn(&T) -> bool) -> Option<Held<T>> {
        self.live()
            .as_ref()
            .filter(|(_, connection)| usable(connection))
            .map(|(generation, connection)| Held {
                value: connection.clone(),
                generation: *generation,
            })
    }

    /// The live connection if `usable` says it still is, or a new one from `connect`. While a failed
    /// attempt's backoff lasts, fails at once with `waiting(how long is left)`.
    pub(crate) async fn get<E, Fut>(
        &self,
        usable: impl Fn(&T) -> bool,
        connect: impl FnOnce() -> Fut,
        waiting: impl FnOnce(String) -> E,
    ) -> Result<Held<T>, E>
    where
        E: Display,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(connection) = self.current(&usable) {
            return Ok(connection);
        }
        let backoff = self.connecting.lock().await;
        // Someone may have connected while this caller waited for the lock.
        if let Some(connection) = self.current(&usable) {
            return Ok(connection);
        }
        let now = Instant::now();
        if let Some(next_try) = backoff.next_try.filter(|&at| at > now) {
            return Err(waiting(format!(
                "the last attempt failed; next in {:?}",
                next_try - now
            )));
        }
        // Counted as failed until it succeeds, when it ends: a connect whose caller gives up on it (its
        // time limit ran out) must leave a backoff behind too, or every call would wait out a hung
        // server's connect in turn.
        let mut attempt = Attempt {
            delay: backoff.delay,
            backoff,
            succeeded: false,
        };
        attempt.backoff.delay = (attempt.delay * 2).min(self.max_backoff);
        match connect().await {
            Ok(connection) => {
                self.outage.answered();
                attempt.succeeded = true;
                attempt.backoff.next_try = None;
                attempt.backoff.delay = self.first_backoff;
                attempt.backoff.generation += 1;
                let generation = attempt.backoff.generation;
                *self.live() = Some((generation, connection.clone()));
                Ok(Held {
                    value: connection,
                    generation,
                })
            }
            Err(error) => {
                self.outage.failed(&error);
                Err(error)
            }
        }
    }

    /// Drops connection `generation` if it is still the live one, and returns it (to be closed or
    /// abandoned by the caller): the next operation opens a new one.
    pub(crate) fn forget(&self, generation: u64) -> Option<T> {
        let mut live = self.live();
        if live.as_ref().is_some_and(|(g, _)| *g == generation) {
            return live.take().map(|(_, connection)| connection);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconnect() -> Reconnect<u32> {
        Reconnect::new("test", Duration::from_secs(60), Duration::from_secs(60))
    }

    async fn connect_to(r: &Reconnect<u32>, value: u32) -> Result<Held<u32>, String> {
        r.get(|_| true, || async move { Ok(value) }, |why| why)
            .await
    }

    #[tokio::test]
    async fn a_late_failure_does_not_drop_the_connection_that_replaced_its_own() {
        let r = reconnect();
        let first = connect_to(&r, 1).await.expect("connects");
        assert_eq!(r.forget(first.generation), Some(1));
        let second = connect_to(&r, 2).await.expect("connects again");
        assert_ne!(second.generation, first.generation);
        // A call on the first connection fails only now: the second must stay.
        assert_eq!(r.forget(first.generation), None);
        assert_eq!(connect_to(&r, 3).await.expect("live").value, 2);
    }

    #[tokio::test]
    async fn after_a_failed_connect_calls_fail_at_once_until_the_backoff_is_over() {
        let r = reconnect();
        let failed = r
            .get(
                |_| true,
                || async { Err::<u32, _>("refused".to_owned()) },
                |w| w,
            )
            .await;
        assert_eq!(failed.err().as_deref(), Some("refused"));
        assert!(r.outage.is_failing());
        let waiting = connect_to(&r, 1).await.expect_err("backing off");
        assert!(waiting.starts_with("the last attempt failed"), "{waiting}");
    }

    #[tokio::test]
    async fn the_backoff_runs_from_when_a_slow_connect_failed() {
        let r = Reconnect::<u32>::new("test", Duration::from_millis(30), Duration::from_secs(1));
        let slow_failure = || async {
            tokio::time::sleep(Duration::from_millis(60)).await;
            Err::<u32, _>("timed out".to_owned())
        };
        let failed = r.get(|_| true, slow_failure, |w| w).await;
        assert_eq!(failed.err().as_deref(), Some("timed out"));
        // The attempt took longer than the backoff: a caller that waited for it must not connect again.
        let waiting = connect_to(&r, 1).await.expect_err("backing off");
        assert!(waiting.starts_with("the last attempt failed"), "{waiting}");
    }

    #[tokio::test]
    async fn a_connect_given_up_on_leaves_a_backoff_too() {
        let r = reconnect();
        let hung = r.get(|_| true, std::future::pending::<Result<u32, String>>, |w| w);
        let given_up = tokio::time::timeout(Duration::from_millis(10), hung).await;
        assert!(given_up.is_err(), "a hung connect does not return");
        let waiting = connect_to(&r, 1).await.expect_err("backing off");
        assert!(waiting.starts_with("the last attempt failed"), "{waiting}");
    }
}
