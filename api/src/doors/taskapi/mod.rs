//! The TaskAPI front door: the REST API of "TaskAPI for HTCondor" (simple-task-api-htc), under `/api`,
//! so that its clients work against Hopper unchanged. A task is a job the client names
//! ([`crate::jobs::Jobs::submit_named`]) described by an HTCondor submit description (`subParams`),
//! which this door reads as HTCondor does (`condor/`) and Hopper runs itself. Shapes, states and errors
//! follow the original's source; where Hopper differs, docs/taskapi.md says how and why.

mod auth;
mod body;
pub(crate) mod condor;
mod error;
mod htcondor;
mod listing;
mod model;
mod settings;
mod submit;
mod tasks;
mod view;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub(crate) use error::Refusal;
pub(crate) use settings::Settings;
pub use settings::TaskApiArgs;
pub(crate) use tasks::no_such_path;

/// The door's name: its jobs' `door` label, and the namespace of its task ids.
pub(crate) const DOOR: &str = "taskapi";

#[derive(OpenApi)]
#[openapi(tags(
    (name = "Tasks", description = "TaskAPI for HTCondor: tasks, run by Hopper itself (docs/taskapi.md)"),
    (name = "General", description = "TaskAPI for HTCondor: server status"),
    (name = "HTCondor", description = "TaskAPI for HTCondor: a task's job seen as an HTCondor cluster"),
))]
struct TaskApiDoc;

/// Adds the door's routes, and its tags, to the node's OpenAPI router.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .merge(OpenApiRouter::with_openapi(TaskApiDoc::openapi()))
        .routes(routes!(listing::status))
        .routes(routes!(listing::all, tasks::create))
        .routes(routes!(listing::queued))
        .routes(routes!(listing::completed))
        .routes(routes!(tasks::get, tasks::update, tasks::delete))
        .routes(routes!(htcondor::new_cluster))
        .routes(routes!(htcondor::cluster))
        .routes(routes!(htcondor::job_event))
        .routes(routes!(htcondor::post_log))
        .routes(routes!(htcondor::get_log))
}
