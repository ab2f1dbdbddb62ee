//! Errors of the shared infrastructure. Both mean "a dependency is unavailable or misbehaving": front doors
//! log them once and answer 503, the worker hands the delivery back.

/// Redis could not do what was asked.
#[derive(Debug, thiserror::Error)]
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
    #[error("Redis did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("Redis returned something Hopper did not write: {0}")]
    Corrupt(String),
}
/// RabbitMQ could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("RabbitMQ error: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("RabbitMQ did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("RabbitMQ refused the message for queue {0} (negative confirm)")]
    Nacked(String),
    #[error("RabbitMQ could not route the message to queue {0}")]
    Unroutable(String),
    #[error("RabbitMQ is unreachable and this node is reconnecting ({0}); try again shortly")]
    Reconnecting(String),
}
