//! Known queues: the queues this deployment serves. API nodes accept jobs only for these, so no client
//! can make Hopper create broker queues by naming them (see docs/architecture.md, "Known queues").
//!
//! A queue becomes known when a worker serving it beats its heart, and stays known: a queue whose
//! workers are all stopped for maintenance still takes jobs, which wait for them.

use crate::{QueueName, StoreError};

use super::Store;

impl Store {
    /// Which of `queues` no worker has ever served, in their order. One `SMISMEMBER`.
    pub async fn unregistered_queues(
        &self,
        queues: &[QueueName],
    ) -> Result<Vec<QueueName>, StoreError> {
        if queues.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<bool> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("SMISMEMBER")
                    .arg(self.known_queues_key())
                    .arg(queues.iter().map(QueueName::as_str).collect::<Vec<_>>())
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        Ok(queues
            .iter()
            .zip(found)
            .filter(|(_, known)| !known)
            .map(|(queue, _)| queue.clone())
            .collect())
    }

    /// Every queue a worker has served, sorted.
    pub async fn registered_queues(&self) -> Result<Vec<QueueName>, StoreError> {
        let names: Vec<String> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("SMEMBERS")
                    .arg(self.known_queues_key())
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        let mut queues: Vec<QueueName> = names
            .iter()
            .filter_map(|name| QueueName::parse(name).ok())
            .collect();
        queues.sort();
        Ok(queues)
    }

    /// Makes `queues` known as a worker's heartbeat does; for tests and tools that stand in for a
    /// worker.
    pub async fn register_queues(&self, queues: &[QueueName]) -> Result<(), StoreError> {
        self.call(|mut conn| async move {
            let _: u64 = redis::cmd("SADD")
                .arg(self.known_queues_key())
                .arg(queues.iter().map(QueueName::as_str).collect::<Vec<_>>())
                .query_async(&mut conn)
                .await?;
            Ok(())
        })
        .await
    }
}
