//! One connection shared by every caller of a process, opened when first needed and opened again once
//! it is gone: the store's Redis connection and the publisher's RabbitMQ link.
//!
//! It is opened by the first operation, not at start, so a process can start while the server is down.
//! One caller at a time connects and the others wait for that attempt; after a failed attempt the next
//! waits out a backoff (doubling up to a cap), and meanwhile every operation fails at once, instead of
//! each queueing behind a connect or storming a server that is coming back.

use std::fmt::Display;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub(crate) struct Reconnect<T> {
    /// The server's name in logs.
    server: &'static str,
    /// The live connection, read on every operation; held only to clone or replace it.
    live: Mutex<Option<T>>,
    /// Held by the one caller that connects.
    connecting: tokio::sync::Mutex<Backoff>,
    first_backoff: Duration,
    max_backoff: Duration,
}

#[derive(Debug)]
struct Backoff {
    /// No connect is tried before this.
    next_try: Option<Instant>,
    delay: Duration,
}

impl<T: Clone> Reconnect<T> {
    pub(crate) fn new(
        server: &'static str,
        first_backoff: Duration,
        max_backoff: Duration,
    ) -> Self {
        Self {
            server,
            live: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(Backoff {
                next_try: None,
                delay: first_backoff,
            }),
            first_backoff,
            max_backoff,
        }
    }

    fn current(&self, usable: &impl Fn(&T) -> bool) -> Option<T> {
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .filter(|connection| usable(connection))
            .cloned()
    }

    /// The live connection if `usable` says it still is, or a new one from `connect`. While a failed
    /// attempt's backoff lasts, fails at once with `waiting(how long is left)`.
    pub(crate) async fn get<E, Fut>(
        &self,
        usable: impl Fn(&T) -> bool,
        connect: impl FnOnce() -> Fut,
        waiting: impl FnOnce(String) -> E,
    ) -> Result<T, E>
    where
        E: Display,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(connection) = self.current(&usable) {
            return Ok(connection);
        }
        let mut backoff = self.connecting.lock().await;
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
        match connect().await {
            Ok(connection) => {
                if backoff.next_try.is_some() {
                    tracing::info!(server = self.server, "connected again");
                }
                backoff.next_try = None;
                backoff.delay = self.first_backoff;
                *self
                    .live
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(connection.clone());
                Ok(connection)
            }
            Err(error) => {
                backoff.next_try = Some(Instant::now() + backoff.delay);
                // Once per outage at warn: the attempts after it would flood the log.
                if backoff.delay == self.first_backoff {
                    tracing::warn!(server = self.server, %error, "cannot connect; trying again with backoff");
                } else {
                    tracing::debug!(server = self.server, %error, retry_in = ?backoff.delay, "cannot connect");
                }
                backoff.delay = (backoff.delay * 2).min(self.max_backoff);
                Err(error)
            }
        }
    }

    /// Drops the connection: the next operation opens a new one.
    pub(crate) fn forget(&self) {
        *self
            .live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}
