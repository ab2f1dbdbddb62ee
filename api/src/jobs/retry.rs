//! Retry: a failed or canceled job goes back to its queues with a fresh set of tries.

use hopper_common::{JobId, JobState, RetryOptions, RetryOutcome, publish_requeue};

use super::{Jobs, Unavailable, record_job};

/// How a retry went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Retried {
    Missing,
    /// It was refused at submit; retrying would not change that.
    Rejected,
    /// It had not failed or been canceled (or another retry was first): nothing changed.
    NotEnded(JobState),
    /// Queued again, its submit published.
    Queued,
    /// A dependent job, waiting again on its parents (pending or blocked).
    Waiting(JobState),
    /// Queued again; its submit could not be published now and waits in the outbox, which every sweep
    /// publishes.
    QueuedUnpublished,
}

impl Jobs {
    pub async fn retry(&self, id: &JobId) -> Result<Retried, Unavailable> {
        self.retry_with(id, false, None).await
    }

    /// As [`Jobs::retry`]; with `rerun`, a job that succeeded runs again too (unless others wait on
    /// it), and with `tries`, the job gets that many tries.
    pub async fn retry_with(
        &self,
        id: &JobId,
        rerun: bool,
        tries: Option<u32>,
    ) -> Result<Retried, Unavailable> {
        let options = RetryOptions {
            rerun,
            tries,
            priority: None,
        };
        self.retry_as(id, options).await
    }

    /// A requeue (Scale's): as [`Jobs::retry`], with `tries` tries, and at `priority` from now on when
    /// given. The priority is the job's own from then, so it also holds for its later runs.
    pub async fn requeue(
        &self,
        id: &JobId,
        tries: u32,
        priority: Option<i32>,
    ) -> Result<Retried, Unavailable> {
        let options = RetryOptions {
            rerun: false,
            tries: Some(tries),
            priority,
        };
        self.retry_as(id, options).await
    }

    async fn retry_as(&self, id: &JobId, options: RetryOptions) -> Result<Retried, Unavailable> {
        record_job(id);
        Ok(match self.store.retry_as(id, options).await? {
            RetryOutcome::Missing => Retried::Missing,
            RetryOutcome::Rejected => Retried::Rejected,
            RetryOutcome::NotEnded(state) => Retried::NotEnded(state),
            RetryOutcome::Waiting(state) => Retried::Waiting(state),
            RetryOutcome::Queued(requeue) => {
                match publish_requeue(&self.store, &self.publisher, &requeue).await {
                    Ok(()) => {
                        tracing::info!(job = %id, "job retried");
                        Retried::Queued
                    }
                    Err(error) => {
                        tracing::warn!(job = %id, %error, "job retried; its submit is published by the next sweep");
                        Retried::QueuedUnpublished
                    }
                }
            }
        })
    }

    /// Gives a job that has not ended `left` more tries than it has had; its state, `None` for an
    /// unknown job. An ended job is not changed.
    pub async fn set_tries_left(
        &self,
        id: &JobId,
        left: u32,
    ) -> Result<Option<JobState>, Unavailable> {
        record_job(id);
        Ok(self.store.set_tries_left(id, left).await?)
    }
}
