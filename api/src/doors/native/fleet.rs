//! `GET /api/v1/queues` and `GET /api/v1/workers`: what runs the jobs.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use hopper_common::WorkerRecord;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::model::time;
use super::problem::Problem;
use crate::jobs::QueueSummary;
use crate::{AppState, Role};

/// A known queue.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueueView {
    #[schema(example = "default_srv010")]
    pub name: String,
    /// Jobs that may run in it, by state.
    pub counts: BTreeMap<String, u64>,
    /// The oldest job waiting in it.
    pub oldest_queued: Option<OldestQueued>,
    /// Live workers that serve it.
    pub workers: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OldestQueued {
    pub id: String,
    /// RFC 3339, UTC.
    pub created: String,
}

/// A live worker, from its heartbeat.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkerView {
    pub id: String,
    pub host: Option<String>,
    pub pid: Option<u64>,
    pub queues: Vec<String>,
    /// Its thread slots.
    pub slots: Option<u64>,
    /// Slots its jobs take now.
    pub busy: u32,
    /// The jobs it runs.
    pub jobs: Vec<String>,
    /// Its last heartbeat, RFC 3339.
    pub last_seen: Option<String>,
}

/// The known queues: each with its jobs by state, its oldest queued job and the workers serving it.
#[utoipa::path(
    get, path = "/api/v1/queues", tag = "fleet",
    responses(
        (status = 200, body = Vec<QueueView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn queues(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<QueueView>>, Problem> {
    caller.may(Role::Read, "read queues")?;
    let queues = state.jobs.queues().await?;
    Ok(Json(queues.into_iter().map(QueueView::from).collect()))
}

/// The live workers: each with its host, queues, slots, busy slots, jobs and last heartbeat.
#[utoipa::path(
    get, path = "/api/v1/workers", tag = "fleet",
    responses(
        (status = 200, body = Vec<WorkerView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn workers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<WorkerView>>, Problem> {
    caller.may(Role::Read, "read workers")?;
    let workers = state.jobs.workers().await?;
    Ok(Json(workers.into_iter().map(WorkerView::from).collect()))
}

impl From<QueueSummary> for QueueView {
    fn from(queue: QueueSummary) -> Self {
        Self {
            name: queue.name.to_string(),
            counts: queue
                .counts
                .into_iter()
                .map(|(s, n)| (s.as_str().to_owned(), n))
                .collect(),
            oldest_queued: queue.oldest_queued.map(|(id, created)| OldestQueued {
                id: id.to_string(),
                created: time(created),
            }),
            workers: queue.workers,
        }
    }
}

impl From<WorkerRecord> for WorkerView {
    fn from(worker: WorkerRecord) -> Self {
        let about = &worker.about;
        Self {
            host: about["host"].as_str().map(str::to_owned),
            pid: about["pid"].as_u64(),
            queues: about["queues"]
                .as_str()
                .map(|list| list.split(", ").map(str::to_owned).collect())
                .unwrap_or_default(),
            slots: about["threads"].as_u64(),
            busy: worker.busy,
            jobs: worker.jobs.iter().map(ToString::to_string).collect(),
            last_seen: about["seen"].as_u64().map(time),
            id: worker.id,
        }
    }
}
