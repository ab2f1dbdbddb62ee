//! The one failure every front door answers the same way: Redis or RabbitMQ did not do what was asked,
//! so the request changed nothing and the client should try again (503 in every door).

use hopper_common::{BrokerError, StoreError};

/// Redis or RabbitMQ could not be reached. The cause is logged here, once, when this is made; the
/// message is what a client may be shown.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct Unavailable {
    pub message: &'static str,
}

impl Unavailable {
    pub fn store(error: StoreError) -> Self {
        // An outage is logged once by the store itself; anything else is this request's to report.
        if error.is_outage() {
            tracing::debug!(%error, "Redis unavailable");
        } else {
            tracing::error!(%error, "Redis failed");
        }
        Self {
            message: "Hopper cannot reach its job store (Redis); nothing was changed, try again",
        }
    }

    pub fn broker(error: BrokerError) -> Self {
        if error.is_outage() {
            tracing::debug!(%error, "RabbitMQ unavailable");
        } else {
            tracing::error!(%error, "RabbitMQ refused");
        }
        Self {
            message: "Hopper cannot reach its message broker (RabbitMQ); nothing was changed, try again",
        }
    }

    /// A provisional job expired before its submit was confirmed.
    pub fn too_slow() -> Self {
        Self {
            message: "Hopper took too long to queue the job; nothing was changed, try again",
        }
    }
}

impl From<StoreError> for Unavailable {
    fn from(error: StoreError) -> Self {
        Self::store(error)
    }
}

impl From<BrokerError> for Unavailable {
    fn from(error: BrokerError) -> Self {
        Self::broker(error)
    }
}
