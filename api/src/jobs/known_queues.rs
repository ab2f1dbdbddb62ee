//! Which queues a job may name: those a worker serves or has served (registered in Redis with its
//! heartbeat), and those the operator lists in `HOPPER_KNOWN_QUEUES` for workers yet to start. API nodes
//! never create a broker queue on a client's say-so: one request naming thousands of queues once made a
//! node declare hundreds of quorum queues, which wedged RabbitMQ for every user.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use hopper_common::{QueueName, Store, StoreError};

/// The known queues as this node has seen them. A queue once known stays known (registrations are
/// never removed), so each node asks Redis only about names it has not seen yet: the submits that
/// matter cost no lookup at all.
#[derive(Clone, Debug, Default)]
pub struct KnownQueues {
    configured: Arc<HashSet<QueueName>>,
    seen: Arc<RwLock<HashSet<QueueName>>>,
}

impl KnownQueues {
    pub fn new(configured: &[QueueName]) -> Self {
        Self {
            configured: Arc::new(configured.iter().cloned().collect()),
            seen: Arc::default(),
        }
    }

    /// The queues the operator configured on this node.
    pub fn configured(&self) -> impl Iterator<Item = &QueueName> {
        self.configured.iter()
    }

    /// Those of `queues` that are not known, in their order; Redis is asked only about the names this
    /// node has not seen yet.
    pub async fn unknown(
        &self,
        store: &Store,
        queues: &[QueueName],
    ) -> Result<Vec<QueueName>, StoreError> {
        let unseen: Vec<QueueName> = {
            let seen = self
                .seen
                .read()
                .unwrap_or_else(|poison| poison.into_inner());
            queues
                .iter()
                .filter(|q| !self.configured.contains(*q) && !seen.contains(*q))
                .cloned()
                .collect()
        };
        if unseen.is_empty() {
            return Ok(unseen);
        }
        let unknown = store.unregistered_queues(&unseen).await?;
        let mut seen = self
            .seen
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        seen.extend(unseen.into_iter().filter(|q| !unknown.contains(q)));
        Ok(unknown)
    }
}

/// Why a job naming `unknown` is refused, as SGE's `qsub` refuses an unknown queue.
pub(super) fn refusal(unknown: &[QueueName]) -> String {
    let (noun, verb) = if unknown.len() == 1 {
        ("queue", "is")
    } else {
        ("queues", "are")
    };
    format!(
        "unknown {noun} {}: no worker serves {} and {verb} not in HOPPER_KNOWN_QUEUES",
        QueueName::join(unknown),
        if unknown.len() == 1 { "it" } else { "them" },
    )
}
