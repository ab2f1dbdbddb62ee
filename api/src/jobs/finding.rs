//! Finding jobs, and what runs them: listing and counting from the indexes, the known queues with
//! their counts and workers, and the live workers.

use hopper_common::{Group, JobId, JobQuery, JobState, Page, QueueName, WorkerRecord};

use super::{Jobs, Unavailable};

/// A queue as operators see it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSummary {
    pub name: QueueName,
    /// Jobs in each state that may run in this queue.
    pub counts: Vec<(JobState, u64)>,
    /// The oldest queued job and when it was created (Unix ms).
    pub oldest_queued: Option<(JobId, u64)>,
    /// Live workers that serve it.
    pub workers: Vec<String>,
}

impl Jobs {
    pub async fn list(&self, query: &JobQuery) -> Result<Page, Unavailable> {
        Ok(self.store.list(query).await?)
    }

    pub async fn count(
        &self,
        group: &Group,
        states: &[JobState],
        created: (Option<u64>, Option<u64>),
    ) -> Result<Vec<(JobState, u64)>, Unavailable> {
        Ok(self.store.count(group, states, created).await?)
    }

    pub async fn workers(&self) -> Result<Vec<WorkerRecord>, Unavailable> {
        Ok(self.store.live_workers().await?)
    }

    /// The names of the known queues (registered by a worker, or configured on this node), sorted.
    pub async fn known_queue_names(&self) -> Result<Vec<QueueName>, Unavailable> {
        let mut names = self.store.registered_queues().await?;
        names.extend(self.known.configured().cloned());
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Every known queue, sorted by name.
    pub async fn queues(&self) -> Result<Vec<QueueSummary>, Unavailable> {
        let names = self.known_queue_names().await?;
        let workers = self.workers().await?;
        let mut queues = Vec::with_capacity(names.len());
        for name in names {
            let group = Group::Queue(name.clone());
            let serving = workers
                .iter()
                .filter(|w| serves(w, &name))
                .map(|w| w.id.clone())
                .collect();
            queues.push(QueueSummary {
                counts: self.store.count(&group, &[], (None, None)).await?,
                oldest_queued: self.store.oldest(&group, JobState::Queued).await?,
                workers: serving,
                name,
            });
        }
        Ok(queues)
    }
}

/// Whether a worker's heartbeat names `queue` among those it serves.
fn serves(worker: &WorkerRecord, queue: &QueueName) -> bool {
    worker.about["queues"]
        .as_str()
        .is_some_and(|list| list.split(", ").any(|q| q == queue.as_str()))
}
