//! `GET /api/v1/job-types`: the job types this node was given (`HOPPER_JOB_TYPES`), with their jobs.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::problem::Problem;
use crate::jobs::TypeSummary;
use crate::{AppState, Role};

/// A job type: what a submit of it runs, and how many of its jobs wait and run.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobTypeView {
    pub id: u32,
    #[schema(example = "kml-footprint")]
    pub name: String,
    #[schema(example = "1.0.0")]
    pub version: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    /// The program template.
    pub program: String,
    /// The argument templates: `${input}` is filled from the submit, `${job_id}` and
    /// `${job_output_dir}` by the worker.
    pub args: Vec<String>,
    /// What a submit must fill.
    pub inputs: Vec<String>,
    pub queues: Vec<String>,
    pub threads: u32,
    pub memory_mb: Option<u32>,
    /// Its time limit, e.g. `30m`.
    pub timeout: Option<String>,
    pub max_tries: u32,
    pub priority: i32,
    /// A paused type's jobs wait queued until it is resumed.
    pub paused: bool,
    /// Its jobs waiting to run.
    pub queued: u64,
    /// Its jobs running.
    pub running: u64,
}

/// The job types, with their counts of queued and running jobs.
#[utoipa::path(
    get, path = "/api/v1/job-types", tag = "jobs",
    responses(
        (status = 200, body = Vec<JobTypeView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn job_types(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<JobTypeView>>, Problem> {
    caller.may(Role::Read, "read job types")?;
    let types = state.jobs.types().await?;
    Ok(Json(types.into_iter().map(JobTypeView::from).collect()))
}

impl From<TypeSummary> for JobTypeView {
    fn from(summary: TypeSummary) -> Self {
        let t = summary.job_type;
        Self {
            id: t.id,
            name: t.name,
            version: t.version,
            title: t.title,
            description: t.description,
            category: t.category,
            program: t.program,
            args: t.args,
            inputs: t.inputs,
            queues: t.queues.iter().map(ToString::to_string).collect(),
            threads: t.threads,
            memory_mb: t.memory_mb,
            timeout: t.timeout.map(|d| humantime::format_duration(d).to_string()),
            max_tries: t.max_tries,
            priority: t.priority,
            paused: t.paused,
            queued: summary.queued,
            running: summary.running,
        }
    }
}
