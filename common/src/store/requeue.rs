//! Jobs put back to `queued` whose submit is not yet known to be published: the sweepers publish them.

use crate::{JobId, JobState, StoreError};

use super::{Requeue, Store};

impl Store {
    /// Jobs put back to `queued` whose submit is not known to be published yet, with what a submit
    /// message needs. Ids that are no longer queued are dropped from the set.
    pub async fn requeued(&self) -> Result<Vec<Requeue>, StoreError> {
        let ids: Vec<String> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("SMEMBERS")
                    .arg(self.ns.key("requeue"))
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        let mut waiting = Vec::new();
        for raw in ids {
            let Ok(id) = JobId::parse(&raw) else {
                self.requeue_published(&raw).await?;
                continue;
            };
            match self.get(&id).await? {
                Some(job) if job.state == JobState::Queued => waiting.push(Requeue {
                    id,
                    threads: job.spec.threads,
                    queues: job.spec.queues,
                }),
                _ => self.requeue_published(&raw).await?,
            }
        }
        Ok(waiting)
    }

    /// Marks a requeued job's submit as published (confirmed by the broker).
    pub async fn requeue_published(&self, id: &str) -> Result<(), StoreError> {
        self.call(|mut conn| async move {
            let _: u64 = redis::cmd("SREM")
                .arg(self.ns.key("requeue"))
                .arg(id)
                .query_async(&mut conn)
                .await?;
            Ok(())
        })
        .await
    }
}
