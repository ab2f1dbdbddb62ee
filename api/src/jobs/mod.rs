//! The job core: what every front door asks of Hopper (submit, status, cancel...), answered with plain
//! outcomes. It knows no front door's vocabulary; the doors (`crate::doors`) know no Redis key or AMQP
//! name. The subtle parts of a job's life live here once: the provisional create, the withdraw after a
//! failed publish, the cancel for a worker that is gone, and "log the cause once, answer 503".

mod admission;
mod aliases;
mod dependents;
mod finding;
pub mod job_types;
mod known_queues;
pub mod limits;
pub mod logs;
pub mod naming;
mod pause;
mod process;
pub mod recipes;
mod retry;
mod types;
mod unavailable;

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use hopper_common::{
    Alias, BrokerError, CancelOutcome, Job, JobId, JobState, JobStatus, Named, Publisher,
    QueueName, Store,
};

pub(crate) use admission::check_priority;
pub use admission::{Admission, JobRequest, Refusal, TypedRequest};
pub use finding::QueueSummary;
pub use known_queues::KnownQueues;
pub use limits::Invalid;
pub use pause::Paused;
pub use retry::Retried;
pub use types::TypeSummary;
pub use unavailable::Unavailable;

/// The core, as each node has it. Cloning is cheap.
#[derive(Clone, Debug)]
pub struct Jobs {
    pub store: Store,
    pub publisher: Arc<Publisher>,
    pub admission: Arc<Admission>,
    pub known: KnownQueues,
    /// The operator's job types (`HOPPER_JOB_TYPES`); empty without the setting.
    pub job_types: Arc<job_types::JobTypes>,
    /// How long a job stays provisional, waiting for its submit to be published and confirmed.
    pub provisional: Duration,
}

/// What a front door does with a submit refused for a lasting reason (a bad script, an unknown queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnRefusal {
    /// Record it as a job born `failed` with the reason, and answer with its id: GSvar's contract,
    /// where every submit gets an id whose status then tells the reason.
    Record,
    /// Answer with the reason and write nothing.
    Refuse,
}

/// How a submit went, when Redis and RabbitMQ did their part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Recorded and published: it runs when a worker of one of its queues has room.
    Queued { id: JobId, queues: Vec<QueueName> },
    /// Refused for a lasting reason and recorded as failed ([`OnRefusal::Record`]).
    Recorded {
        id: JobId,
        field: &'static str,
        reason: String,
    },
}

/// A name a client gives its job in its front door, beside Hopper's id (the TaskAPI's task ids), and
/// the request as the client sent it, to be shown back.
#[derive(Clone, Debug, Default)]
pub struct ClientAlias {
    pub name: String,
    pub request: String,
}

/// How a submit of a named job went (see [`Jobs::submit_named`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedSubmitted {
    Queued {
        id: JobId,
        queues: Vec<QueueName>,
    },
    /// Another job has the name; nothing was written.
    Taken(JobId),
}

/// What the shared path of a submit ends in.
enum Queueing {
    Done(Submitted),
    Taken(JobId),
}

/// Why a submit did nothing.
#[derive(Clone, Debug, thiserror::Error)]
pub enum NotSubmitted {
    /// The request is malformed or refused for a lasting reason; nothing was written.
    #[error("{}", .0.message)]
    Invalid(Invalid),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// How a cancel went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Canceled {
    /// No such job (never existed, or forgotten after its retention).
    Missing,
    /// It had not started, and now never will.
    Dequeued,
    /// It had already ended in this state; nothing changed.
    AlreadyEnded(JobState),
    /// It runs on `worker`, which has been told to end it.
    Stopping { worker: String },
    /// It runs on `worker`, which is not connected: the cancel is recorded, and the job ends canceled
    /// when its fate is settled (the worker comes back, or is found lost).
    WorkerGone { worker: String },
}

impl Jobs {
    /// Submits a job. Once begun, the submit runs to its end on a task of its own, whether or not the
    /// caller is still waiting: a client that disconnects half-way leaves either a queued job or none,
    /// never a job recorded and not published. (A node killed half-way leaves a provisional job, which
    /// expires by itself.)
    pub async fn submit(
        &self,
        request: JobRequest,
        on_refusal: OnRefusal,
    ) -> Result<Submitted, NotSubmitted> {
        match self.submit_spawned(request, on_refusal).await? {
            Queueing::Done(submitted) => Ok(submitted),
            // Only a request with an alias can find it taken, and this one has none.
            Queueing::Taken(id) => Err(NotSubmitted::Invalid(Invalid::new(
                "name",
                format!("job {id} already has this name"),
            ))),
        }
    }

    /// Submits a job under a name its client chose (`request.alias`), refusing it if another job has
    /// the name. The name is taken in the same step that records the job, so neither is ever left
    /// without the other. A refused request writes nothing ([`OnRefusal::Refuse`]).
    pub async fn submit_named(&self, request: JobRequest) -> Result<NamedSubmitted, NotSubmitted> {
        match self.submit_spawned(request, OnRefusal::Refuse).await? {
            Queueing::Done(Submitted::Queued { id, queues }) => {
                Ok(NamedSubmitted::Queued { id, queues })
            }
            // Refuse writes nothing, so no refused job was recorded.
            Queueing::Done(Submitted::Recorded { field, reason, .. }) => {
                Err(NotSubmitted::Invalid(Invalid::new(field, reason)))
            }
            Queueing::Taken(id) => Ok(NamedSubmitted::Taken(id)),
        }
    }

    /// The checks, then the rest of the submit on a task of its own (see [`Jobs::submit`]).
    async fn submit_spawned(
        &self,
        request: JobRequest,
        on_refusal: OnRefusal,
    ) -> Result<Queueing, NotSubmitted> {
        limits::check(&request)
            .inspect_err(|_| crate::metrics::job_refused(self.store.namespace(), request.door))
            .map_err(NotSubmitted::Invalid)?;
        let mut request = request;
        self.apply_type(&mut request)
            .inspect_err(|_| crate::metrics::job_refused(self.store.namespace(), request.door))
            .map_err(NotSubmitted::Invalid)?;
        let core = self.clone();
        let submit = async move { core.submit_checked(request, on_refusal).await };
        match tokio::spawn(submit.in_current_span()).await {
            Ok(outcome) => outcome,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // Aborted only when the runtime shuts down, when nobody waits for this answer.
            Err(_) => Err(NotSubmitted::Unavailable(Unavailable::too_slow())),
        }
    }

    async fn submit_checked(
        &self,
        request: JobRequest,
        on_refusal: OnRefusal,
    ) -> Result<Queueing, NotSubmitted> {
        // A paused type's job waits in its type's held set (see `dependents.rs`).
        let held_for = match (&request.job_type, request.held) {
            (Some((name, _)), true) => Some(name.clone()),
            _ => None,
        };
        let alias = request.alias.clone();
        let refusal = match self.admission.admit(request) {
            Ok(spec) => {
                let unknown = self
                    .known
                    .unknown(&self.store, &spec.queues)
                    .await
                    .map_err(Unavailable::store)?;
                if unknown.is_empty() {
                    return self.queue(spec, held_for, alias.as_ref()).await;
                }
                Refusal {
                    field: "queues",
                    reason: known_queues::refusal(&unknown),
                    spec,
                }
            }
            Err(refusal) => *refusal,
        };
        crate::metrics::spec_refused(self.store.namespace(), &refusal.spec);
        match on_refusal {
            OnRefusal::Refuse => Err(NotSubmitted::Invalid(Invalid::new(
                refusal.field,
                refusal.reason,
            ))),
            OnRefusal::Record => {
                let id = self
                    .store
                    .reject(&refusal.spec, &refusal.reason)
                    .await
                    .map_err(Unavailable::store)?;
                record_job(&id);
                tracing::info!(job = %id, reason = %refusal.reason, "submit refused");
                Ok(Queueing::Done(Submitted::Recorded {
                    id,
                    field: refusal.field,
                    reason: refusal.reason,
                }))
            }
        }
    }

    /// Records, publishes and confirms a job that passed every check.
    async fn queue(
        &self,
        spec: hopper_common::JobSpec,
        held_for: Option<String>,
        alias: Option<&ClientAlias>,
    ) -> Result<Queueing, NotSubmitted> {
        if !spec.after.is_empty() || held_for.is_some() {
            if alias.is_some() {
                let why = "a job named by its client can neither wait on others nor be held";
                return Err(NotSubmitted::Invalid(Invalid::new("after", why)));
            }
            return Ok(Queueing::Done(self.queue_dependent(spec, held_for).await?));
        }
        Ok(self.queue_now(spec, alias).await?)
    }

    async fn queue_now(
        &self,
        spec: hopper_common::JobSpec,
        alias: Option<&ClientAlias>,
    ) -> Result<Queueing, Unavailable> {
        // Provisional until its submit is published: a job whose submit this node could not finish is
        // not left looking queued with nothing behind it (see Store::create_provisional).
        let id = match alias {
            None => {
                self.store
                    .create_provisional(&spec, self.provisional)
                    .await?
            }
            Some(alias) => {
                let door = spec.labels.get("door").map_or("", String::as_str);
                let named = Alias {
                    door,
                    name: &alias.name,
                    request: &alias.request,
                };
                match self
                    .store
                    .create_provisional_named(&spec, self.provisional, &named)
                    .await?
                {
                    Named::Created(id) => id,
                    Named::Taken(by) => return Ok(Queueing::Taken(by)),
                }
            }
        };
        record_job(&id);
        if let Err(error) = self.publisher.submit(&id, spec.threads, &spec.queues).await {
            // Recorded but not published to every queue: take it back so nothing is left looking
            // queued (a message that did get through then finds no job and is dead-lettered) and say
            // 503, so the client submits again. No worker can have claimed it, since it is not
            // confirmed; if Redis does not answer the withdraw either, the job expires by itself.
            if let Err(cleanup) = self.store.withdraw(&id).await {
                tracing::warn!(job = %id, error = %cleanup, "cannot withdraw a job whose publish failed; it expires");
            }
            return Err(Unavailable::broker(error));
        }
        // Until this succeeds the job can neither run nor last: so 503, and the client submits again.
        // (Had Redis carried out the confirm and lost only its answer, the job runs, and a second
        // submit runs it again: the one ambiguity a time limit cannot remove, as with a lost HTTP
        // answer.)
        if !self.store.confirm(&id).await? {
            tracing::warn!(job = %id, "job expired before its submit was published; refused");
            return Err(Unavailable::too_slow());
        }
        tracing::info!(job = %id, queues = %QueueName::join(&spec.queues), script = %spec.script, "job queued");
        crate::metrics::job_queued(self.store.namespace(), &spec);
        Ok(Queueing::Done(Submitted::Queued {
            id,
            queues: spec.queues,
        }))
    }

    /// What a status reply needs; `None` for an unknown job.
    pub async fn status(&self, id: &JobId) -> Result<Option<JobStatus>, Unavailable> {
        record_job(id);
        Ok(self.store.status(id).await?)
    }

    /// The whole job; `None` for an unknown job.
    pub async fn get(&self, id: &JobId) -> Result<Option<Job>, Unavailable> {
        record_job(id);
        Ok(self.store.get(id).await?)
    }

    /// Cancels a job that has not ended, telling its worker if it runs.
    pub async fn cancel(&self, id: &JobId) -> Result<Canceled, Unavailable> {
        record_job(id);
        Ok(match self.store.cancel(id).await? {
            CancelOutcome::Missing => Canceled::Missing,
            CancelOutcome::Canceled => {
                tracing::info!(job = %id, "queued job canceled");
                Canceled::Dequeued
            }
            CancelOutcome::AlreadyEnded(state) => Canceled::AlreadyEnded(state),
            CancelOutcome::Requested { worker } => match self.publisher.cancel(id, &worker).await {
                Ok(()) => {
                    tracing::info!(job = %id, %worker, "running job told to stop");
                    Canceled::Stopping { worker }
                }
                // The worker's control queue is gone with its connection: it is not running anything.
                // The cancel is recorded, so the job ends canceled whenever its fate is settled.
                Err(BrokerError::Unroutable(_)) => {
                    tracing::warn!(job = %id, %worker, "cancel for a job whose worker is not connected");
                    Canceled::WorkerGone { worker }
                }
                Err(error) => return Err(Unavailable::broker(error)),
            },
        })
    }
}

/// Names the job a request concerns in the request's span (see `doors::trace`), so every line logged
/// for it says which job.
pub(crate) fn record_job(id: &JobId) {
    tracing::Span::current().record("job", id.as_str());
}
