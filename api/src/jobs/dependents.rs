//! Jobs that wait on others (`after`): created pending, blocked or queued in one step that refuses an
//! unknown parent; released by the end of their last parent, in Redis (see `lua/deps.lua`).

use hopper_common::{Dependent, JobSpec, JobState, QueueName, Requeue, publish_requeue};

use super::{Invalid, Jobs, NotSubmitted, Submitted, Unavailable, record_job};

impl Jobs {
    /// Creates a dependent job. One that can run at once is in the outbox when created, so its submit
    /// is published here or, if RabbitMQ does not take it now, by the next sweep: it is never refused
    /// after it was recorded.
    pub(super) async fn queue_dependent(&self, spec: JobSpec) -> Result<Submitted, NotSubmitted> {
        let (id, state) = match self
            .store
            .create_dependent(&spec)
            .await
            .map_err(Unavailable::store)?
        {
            Dependent::Created(id, state) => (id, state),
            Dependent::UnknownParent(parent) => {
                return Err(NotSubmitted::Invalid(Invalid::new(
                    "after",
                    format!(
                        "job {parent} does not exist (never issued, or forgotten after its retention); a job can only wait on jobs that exist"
                    ),
                )));
            }
        };
        record_job(&id);
        if state == JobState::Queued {
            let requeue = Requeue {
                id: id.clone(),
                threads: spec.threads,
                queues: spec.queues.clone(),
            };
            if let Err(error) = publish_requeue(&self.store, &self.publisher, &requeue).await {
                tracing::warn!(job = %id, %error, "dependent job queued; its submit is published by the next sweep");
            }
        }
        tracing::info!(job = %id, %state, queues = %QueueName::join(&spec.queues), "dependent job recorded");
        crate::metrics::job_queued(self.store.namespace(), &spec);
        Ok(Submitted::Queued {
            id,
            queues: spec.queues,
        })
    }
}
