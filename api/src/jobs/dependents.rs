//! Jobs that wait on others (`after`): created pending, blocked or queued in one step that refuses an
//! unknown parent; released by the end of their last parent, in Redis (see `lua/deps.lua`).

use hopper_common::{Dependent, JobSpec, JobState, QueueName, Requeue, publish_requeue};

use super::{Invalid, Jobs, NotSubmitted, Submitted, Unavailable, record_job};

impl Jobs {
    /// Creates a dependent job. One that can run at once is in the outbox when created, so its submit
    /// is published here or, if RabbitMQ does not take it now, by the next sweep: it is never refused
    /// after it was recorded.
    ///
    /// A job of a paused type (`held_for`) is created the same way, but held in its type's set instead
    /// of the outbox: it stays queued and unpublished until an API node finds the type resumed
    /// ([`Jobs::release_held`]).
    pub(super) async fn queue_dependent(
        &self,
        spec: JobSpec,
        held_for: Option<String>,
    ) -> Result<Submitted, NotSubmitted> {
        let created = match &held_for {
            Some(job_type) => self.store.create_held(&spec, job_type).await,
            None => self.store.create_dependent(&spec).await,
        };
        let (id, state) = match created.map_err(Unavailable::store)? {
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
        if state == JobState::Queued && held_for.is_none() {
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

impl Jobs {
    /// Moves the held jobs of every type this node has resumed (not `paused` in its job types file)
    /// into the outbox, which the next sweep publishes. Run every sweep interval.
    pub async fn release_held(&self) -> Result<u64, Unavailable> {
        let mut released = 0;
        for job_type in self.job_types.all().iter().filter(|t| !t.paused) {
            let moved = self.store.release_held(&job_type.name).await?;
            if moved > 0 {
                tracing::info!(job_type = %job_type.name, jobs = moved, "jobs of a resumed type released");
            }
            released += moved;
        }
        Ok(released)
    }
}
