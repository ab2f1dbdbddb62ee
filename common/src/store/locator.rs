//! Which Redis server the store connects to: the one its URL names, or the master the Sentinels name
//! at the moment of connecting (`redis+sentinel://`, see `redis_address.rs`).
//!
//! With Sentinel, a failover moves the master; the store notices because its calls fail as an outage
//! (the old master is gone, or answers `READONLY` once demoted, see `StoreError::is_outage`), or
//! because the Sentinels name another master (`master_watch.rs`); it drops its connection, and the
//! next connect asks the Sentinels again.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{Client, ConnectionAddr, ErrorKind, RedisConnectionInfo, RedisError, Role};

use crate::{RedisAddress, SentinelAddress};

use super::master_watch::{MasterWatch, NodeAddress};

pub(super) enum Locator {
    Server(Client),
    Sentinel {
        /// Asked on every connect; it keeps its connections to the Sentinels. Connects are one at a
        /// time (see `reconnect.rs`), so this lock is never waited on.
        sentinels: tokio::sync::Mutex<Sentinel>,
        master: String,
        /// The credentials and database for the master itself.
        node: SentinelNodeConnectionInfo,
        watch: Arc<MasterWatch>,
    },
}

impl Locator {
    /// `limit` bounds each question to a Sentinel (`HOPPER_REDIS_TIMEOUT`).
    pub(super) fn new(address: &RedisAddress, limit: Duration) -> Result<Self, RedisError> {
        match address {
            RedisAddress::Server(url) => Client::open(url.as_str()).map(Self::Server),
            RedisAddress::Sentinel(address) => Self::sentinel(address, limit),
        }
    }

    fn sentinel(address: &SentinelAddress, limit: Duration) -> Result<Self, RedisError> {
        let sentinels: Vec<ConnectionAddr> = address
            .sentinels
            .iter()
            .map(|(host, port)| ConnectionAddr::Tcp(host.clone(), *port))
            .collect();
        let watch = MasterWatch::new(sentinels.clone(), address.master.clone(), limit);
        let mut redis = RedisConnectionInfo::default().set_db(address.db);
        if let Some(username) = &address.username {
            redis = redis.set_username(username);
        }
        if let Some(password) = &address.password {
            redis = redis.set_password(password);
        }
        Ok(Self::Sentinel {
            sentinels: tokio::sync::Mutex::new(Sentinel::build(sentinels)?),
            master: address.master.clone(),
            node: SentinelNodeConnectionInfo::default().set_redis_connection_info(redis),
            watch: Arc::new(watch),
        })
    }

    /// The client for the server to connect to now: with Sentinel, the master the first Sentinel
    /// that knows one names (the crate checks that node's `ROLE` before answering), or none while a
    /// Sentinel is failing it over (see `master_watch.rs`).
    pub(super) async fn client(&self) -> Result<Client, RedisError> {
        match self {
            Self::Server(client) => Ok(client.clone()),
            Self::Sentinel {
                sentinels,
                master,
                node,
                watch,
            } => {
                if watch.failing_over() {
                    return Err(RedisError::from((
                        ErrorKind::Server(redis::ServerErrorKind::TryAgain),
                        "a Sentinel is failing the Redis master over; try again shortly",
                    )));
                }
                let mut sentinels = sentinels.lock().await;
                sentinels.async_master_for(master, Some(node)).await
            }
        }
    }

    /// Checks, on the connection just opened to `client`, that it reached a master: between the
    /// Sentinels' answer and this connect a failover may have demoted it, and a connection to a
    /// replica would serve stale reads until its first write failed. Returns the master's address,
    /// for [`Self::still_master`]. A plain URL is taken as it is.
    pub(super) async fn check(
        &self,
        client: &Client,
        manager: &mut ConnectionManager,
    ) -> Result<Option<NodeAddress>, RedisError> {
        let Self::Sentinel { master, watch, .. } = self else {
            return Ok(None);
        };
        let role: Role = redis::cmd("ROLE").query_async(manager).await?;
        match role {
            Role::Primary { .. } => {
                let address = match client.get_connection_info().addr() {
                    ConnectionAddr::Tcp(host, port) => Some((host.clone(), *port)),
                    _ => None,
                };
                if let Some(address) = &address {
                    watch.connected(address.clone());
                }
                watch.start();
                Ok(address)
            }
            other => Err(RedisError::from((
                ErrorKind::Server(redis::ServerErrorKind::ReadOnly),
                "the node the Sentinels named as master is not one (a failover is under way)",
                format!("master {master:?}: {other:?}"),
            ))),
        }
    }

    /// Whether a connection opened to `address` (as [`Self::check`] returned it) may still be
    /// used: always for a plain URL; behind Sentinel, while they name it the master and are not
    /// failing it over.
    pub(super) fn still_master(&self, address: Option<&NodeAddress>) -> bool {
        match (self, address) {
            (Self::Sentinel { watch, .. }, Some(address)) => watch.still_master(address),
            _ => true,
        }
    }
}
