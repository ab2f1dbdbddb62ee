//! Which Redis server the store connects to: the one its URL names, or the master the Sentinels name
//! at the moment of connecting (`redis+sentinel://`, see `redis_address.rs`).
//!
//! With Sentinel, a failover moves the master; the store notices because its calls fail as an outage
//! (the old master is gone, or answers `READONLY` once demoted, see `StoreError::is_outage`), drops
//! its connection, and the next connect asks the Sentinels again.

use redis::aio::ConnectionManager;
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{Client, ConnectionAddr, ErrorKind, RedisConnectionInfo, RedisError, Role};

use crate::{RedisAddress, SentinelAddress};

pub(super) enum Locator {
    Server(Client),
    Sentinel {
        /// Asked on every connect; it keeps its connections to the Sentinels. Connects are one at a
        /// time (see `reconnect.rs`), so this lock is never waited on.
        sentinels: tokio::sync::Mutex<Sentinel>,
        master: String,
        /// The credentials and database for the master itself.
        node: SentinelNodeConnectionInfo,
    },
}

impl Locator {
    pub(super) fn new(address: &RedisAddress) -> Result<Self, RedisError> {
        match address {
            RedisAddress::Server(url) => Client::open(url.as_str()).map(Self::Server),
            RedisAddress::Sentinel(address) => Self::sentinel(address),
        }
    }

    fn sentinel(address: &SentinelAddress) -> Result<Self, RedisError> {
        let sentinels = address
            .sentinels
            .iter()
            .map(|(host, port)| ConnectionAddr::Tcp(host.clone(), *port))
            .collect();
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
        })
    }

    /// The client for the server to connect to now: with Sentinel, the master the first Sentinel
    /// that knows one names (the crate checks that node's `ROLE` before answering).
    pub(super) async fn client(&self) -> Result<Client, RedisError> {
        match self {
            Self::Server(client) => Ok(client.clone()),
            Self::Sentinel {
                sentinels,
                master,
                node,
            } => {
                let mut sentinels = sentinels.lock().await;
                sentinels.async_master_for(master, Some(node)).await
            }
        }
    }

    /// Checks, on the connection just opened, that it reached a master: between the Sentinels'
    /// answer and this connect a failover may have demoted it, and a connection to a replica would
    /// serve stale reads until its first write failed. A plain URL is taken as it is.
    pub(super) async fn check(&self, manager: &mut ConnectionManager) -> Result<(), RedisError> {
        let Self::Sentinel { master, .. } = self else {
            return Ok(());
        };
        let role: Role = redis::cmd("ROLE").query_async(manager).await?;
        match role {
            Role::Primary { .. } => Ok(()),
            other => Err(RedisError::from((
                ErrorKind::Server(redis::ServerErrorKind::ReadOnly),
                "the node the Sentinels named as master is not one (a failover is under way)",
                format!("master {master:?}: {other:?}"),
            ))),
        }
    }
}
