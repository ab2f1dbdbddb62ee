//! The store's one connection to Redis, and the time limit on every operation.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::reconnect::{Held, Reconnect};
use crate::{Namespace, StoreError};

use super::locator::Locator;
use super::master_watch::NodeAddress;
use super::{Store, now_ms};

/// Pause after the first failed connect; it doubles with each failure up to [`MAX_BACKOFF`]. Short,
/// because nothing works without Redis: a process should notice within seconds that it is back.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl Store {
    /// Runs one operation on the process's connection (opened by the first operation that needs it,
    /// see [`Link`]; all of a process's operations share it, and it pipelines them), within the time
    /// limit, connecting included. An operation that fails for want of an answer drops the connection,
    /// so the next one opens a new one or waits out the backoff: a Redis that hangs is treated like one
    /// that is gone.
    pub(super) async fn call<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        self.link
            .call_with_clock(|manager, _| operation(manager))
            .await
    }

    /// [`call`](Self::call), handing the operation its deadline too, in milliseconds of Redis's clock:
    /// past it the caller has given up, so a write Redis carries out only then (it hung meanwhile) must
    /// not take effect.
    pub(super) async fn call_by_deadline<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager, i64) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let deadline = now_ms() as i64 + self.link.limit.as_millis() as i64;
        self.link
            .call_with_clock(|manager, offset| operation(manager, deadline + offset))
            .await
    }

    /// Whether the last call to Redis was answered: false during an outage, until a call succeeds.
    pub fn answering(&self) -> bool {
        !self.link.manager.outage.is_failing()
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.call(|mut conn| async move {
            let _: String = redis::cmd("PING").query_async(&mut conn).await?;
            Ok(())
        })
        .await
    }
}

/// The process's one Redis connection: a [`ConnectionManager`], one multiplexed connection that carries
/// every operation, concurrent ones pipelined, and that reconnects by itself when a request finds it
/// dropped (a Redis restart). It is opened, and after a failure opened again with backoff, as
/// [`Reconnect`] describes; meanwhile every operation fails at once with [`StoreError::Reconnecting`].
/// When an operation finds Redis down or not answering, the manager is dropped and [`Reconnect`] takes
/// over again.
///
/// Behind Sentinel, each connect asks the Sentinels for the master ([`Locator`]), so dropping the
/// manager is also how a failover is followed: the old master refuses connections, or answers
/// `READONLY` once demoted, and both count as an outage; and a master the Sentinels no longer name is
/// not used again ([`Locator::still_master`]), even while it still answers. The manager's own
/// reconnect (it keeps the address it was opened on) starts only after a dropped connection, which is
/// an outage too, so the link drops that manager at once: only calls already under way on it could
/// reach the same node again, and a write there fails `READONLY` if it was demoted.
pub(super) struct Link {
    locator: Locator,
    manager: Reconnect<Connection>,
    /// Bounds every operation, its connect included (`HOPPER_REDIS_TIMEOUT`).
    pub(super) limit: Duration,
    /// Labels the errors counted here (`hopper_redis_errors_total`).
    ns: Namespace,
}

/// The connection, and how far Redis's clock is ahead of this host's (measured when it was opened), to
/// hand scripts deadlines in Redis's own time.
#[derive(Clone)]
struct Connection {
    manager: ConnectionManager,
    clock_offset_ms: i64,
    /// Behind Sentinel, the master it reached (see [`Locator::still_master`]).
    master: Option<NodeAddress>,
}

impl Link {
    pub(super) fn new(locator: Locator, limit: Duration, ns: Namespace) -> Self {
        Self {
            locator,
            manager: Reconnect::new("Redis", FIRST_BACKOFF, MAX_BACKOFF),
            limit,
            ns,
        }
    }

    fn config(&self) -> ConnectionManagerConfig {
        // One attempt per reconnect: while Redis is down, operations should fail at once rather than
        // wait on the manager's retries; the backoff of `Reconnect` paces the attempts instead. A reply
        // missing for the whole limit means the connection is dead or Redis hangs: the manager fails
        // the request rather than keep it waiting.
        ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(self.limit))
            .set_response_timeout(Some(self.limit))
    }

    /// Runs one operation within the limit, connect included, handing it the connection and how far
    /// Redis's clock is ahead of this host's (milliseconds); see [`Store::call`].
    pub(super) async fn call_with_clock<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager, i64) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut generation = None;
        let attempt = async {
            let held = self.get().await?;
            generation = Some(held.generation);
            operation(held.value.manager, held.value.clock_offset_ms).await
        };
        let result = tokio::time::timeout(self.limit, attempt)
            .await
            .unwrap_or(Err(StoreError::Timeout(self.limit)));
        // Every call to Redis passes here, so each failed one is counted once, here.
        if let Err(error) = &result {
            crate::metrics::redis_error(&self.ns, error);
        }
        match &result {
            Ok(_) => self.manager.outage.answered(),
            Err(error) if error.is_outage() => {
                // A failed connect is counted where it happens.
                if !matches!(error, StoreError::Connect(_)) {
                    self.manager.outage.failed(error);
                }
                if let Some(generation) = generation {
                    self.manager.forget(generation);
                }
            }
            Err(_) => {}
        }
        result
    }

    async fn get(&self) -> Result<Held<Connection>, StoreError> {
        self.manager
            .get(
                |connection| self.locator.still_master(connection.master.as_ref()),
                || self.connect(),
                StoreError::Reconnecting,
            )
            .await
    }

    async fn connect(&self) -> Result<Connection, StoreError> {
        let client = self.locator.client().await.map_err(StoreError::Connect)?;
        let mut manager = ConnectionManager::new_with_config(client.clone(), self.config())
            .await
            .map_err(StoreError::Connect)?;
        let master = self
            .locator
            .check(&client, &mut manager)
            .await
            .map_err(StoreError::Connect)?;
        let before = now_ms();
        let (secs, micros): (u64, u64) = redis::cmd("TIME")
            .query_async(&mut manager)
            .await
            .map_err(StoreError::Connect)?;
        let here = (before + now_ms()) / 2;
        Ok(Connection {
            manager,
            clock_offset_ms: (secs * 1000 + micros / 1000) as i64 - here as i64,
            master,
        })
    }
}
