//! Errors of the shared infrastructure. Both mean "a dependency is unavailable or misbehaving": front doors
//! log them once and answer 503, the worker hands the delivery back.
//!
//! `is_outage` tells the two kinds apart: an outage (the server cannot be reached, or did not answer in
//! time) is logged once by the connection itself (see `outage.rs`), so callers log it at debug; any other
//! failure (the server answered, but not as Hopper expects) is the caller's to report.

use std::time::Duration;

/// Redis could not do what was asked. Cloned when one call answers for many (a batch of confirms).
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not a usable Redis URL ({0}); check HOPPER_REDIS_URL")]
    Url(#[source] redis::RedisError),
    #[error(
        "cannot connect to Redis ({0}); check that it is running and that HOPPER_REDIS_URL points to it"
    )]
    Connect(#[source] redis::RedisError),
    #[error("Redis is unreachable and this process is reconnecting ({0}); try again shortly")]
    Reconnecting(String),
    #[error("Redis command failed: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?} (HOPPER_REDIS_TIMEOUT)")]
    Timeout(Duration),
    #[error("Redis returned something Hopper did not write: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether Redis could not be reached or did not answer, rather than answered with an error; or
    /// the server reached cannot be the store right now (see [`not_the_master`]).
    pub fn is_outage(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Reconnecting(_) | Self::Timeout(_) => true,
            Self::Redis(error) => {
                error.is_io_error()
                    || error.is_timeout()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal()
                    || not_the_master(error)
            }
            Self::Url(_) | Self::Corrupt(_) => false,
        }
    }
}

/// Whether Redis answered that it cannot take the store's commands at the moment: it is a replica
/// (`READONLY`: a master demoted by a failover, when Sentinel or a DNS name moved the master
/// elsewhere), a replica that lost its master (`MASTERDOWN`), or a server still loading its data
/// (`LOADING`, after a restart), or a master that refuses writes while too few replicas are in
/// touch (`NOREPLICAS`, with `min-replicas-to-write`). The connection is then dropped like one that does not answer, so
/// the next call connects again, behind Sentinel to the master it names now; meanwhile calls fail
/// fast and the outage is logged once.
fn not_the_master(error: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    // A Lua script's write on a replica answers READONLY too (Redis 7.0: "READONLY You can't write
    // against a read only replica. script: ..."), so scripts need no case of their own.
    matches!(
        error.kind(),
        ErrorKind::Server(
            ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown | ServerErrorKind::BusyLoading
        )
    ) || error.code() == Some("NOREPLICAS")
}

/// RabbitMQ could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("not a usable AMQP URL ({0}); check HOPPER_AMQP_URL")]
    Url(String),
    #[error("RabbitMQ error: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("RabbitMQ did not answer within {0:?} (HOPPER_AMQP_TIMEOUT)")]
    Timeout(Duration),
    #[error("RabbitMQ refused the message for queue {0} (negative confirm)")]
    Nacked(String),
    #[error("RabbitMQ could not route the message to queue {0}")]
    Unroutable(String),
    #[error("RabbitMQ is unreachable and this node is reconnecting ({0}); try again shortly")]
    Reconnecting(String),
}

impl BrokerError {
    /// Whether RabbitMQ could not be reached, did not answer, or the connection broke, rather than
    /// answered no (a refused message, a queue declared with other arguments).
    pub fn is_outage(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Reconnecting(_) => true,
            Self::Amqp(error) => !matches!(error.kind(), lapin::ErrorKind::ProtocolError(_)),
            Self::Url(_) | Self::Nacked(_) | Self::Unroutable(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::{ErrorKind, RedisError, ServerErrorKind};

    fn answered(kind: ServerErrorKind) -> StoreError {
        StoreError::Redis(RedisError::from((ErrorKind::Server(kind), "answered")))
    }

    #[test]
    fn a_demoted_or_loading_server_is_an_outage_so_the_link_connects_again() {
        for kind in [
            ServerErrorKind::ReadOnly,
            ServerErrorKind::MasterDown,
            ServerErrorKind::BusyLoading,
        ] {
            assert!(answered(kind).is_outage(), "{kind:?}");
        }
    }

    /// What Redis sends, read as the client reads it.
    fn reply(wire: &str) -> StoreError {
        let value = redis::parse_redis_value(wire.as_bytes()).expect("a RESP error");
        StoreError::Redis(value.extract_error().expect_err("an error reply"))
    }

    #[test]
    fn a_master_without_its_replicas_is_an_outage_too() {
        assert!(reply("-NOREPLICAS Not enough good replicas to write.\r\n").is_outage());
        assert!(reply("-READONLY You can't write against a read only replica.\r\n").is_outage());
        assert!(!reply("-ERR unknown command 'NOPE'\r\n").is_outage());
    }

    #[test]
    fn other_answers_are_the_callers_to_report() {
        for kind in [ServerErrorKind::ResponseError, ServerErrorKind::NoScript] {
            assert!(!answered(kind).is_outage(), "{kind:?}");
        }
    }
}
