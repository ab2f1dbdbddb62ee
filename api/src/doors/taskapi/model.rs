//! The TaskAPI's JSON, field for field as the original's Pydantic models serialise it: camelCase, the
//! `kind` fields, and dates in ISO 8601. Requests are read by `body.rs`; the request models here only
//! describe them in the OpenAPI document.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// A task: a job with the id its client chose and its HTCondor submit description.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Task {
    /// The client's id (1-64 of `A-Za-z0-9._-`), or a UUID Hopper chose.
    pub id: String,
    /// UTC, without a zone suffix, as the original stores it.
    #[schema(example = "2023-11-06T19:08:54.000000")]
    pub creation_date: String,
    /// The submit description as the client sent it, unknown keys included.
    pub sub_params: BTreeMap<String, String>,
    /// 0 queued, 1 submitted (claimed or running), 2 completed, 3 completed with error, 4 timed out.
    pub state: i32,
    /// When the state last changed (UTC).
    pub state_date: String,
    /// Starts left: each start takes one; a failed or timed-out run with starts left runs again.
    pub retries_left: i64,
    /// Hopper's job id.
    pub cluster_id: Option<u64>,
    /// Always 0: a task is one process.
    pub proc_id: Option<u32>,
    /// When a running task's time limit ends it (UTC); `null` otherwise.
    pub expiration_date: Option<String>,
    /// Always `null`, as in the original.
    pub latest_sub_id: Option<String>,
}

/// `GET /api/tasks` and its filtered lists.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TaskList {
    /// `hpctask-list`.
    pub kind: &'static str,
    /// UTC, with a `Z`.
    pub response_date: String,
    pub items: Vec<Task>,
}

/// `GET /api/status`: the tasks in each state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServerStatus {
    /// `dtaskapi-htc-server-status`.
    pub kind: &'static str,
    pub response_date: String,
    pub n_tasks_queued: usize,
    pub n_tasks_submitted: usize,
    pub n_tasks_completed: usize,
    pub n_tasks_completed_with_error: usize,
    pub n_tasks_timed_out: usize,
}

/// `DELETE /api/tasks/{task_id}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Deleted {
    /// Whether there was such a task.
    pub deleted_flag: bool,
}

/// A task's job as an HTCondor cluster of one process.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HtcCluster {
    /// Hopper's job id.
    pub id: u64,
    pub creation_date: String,
    pub task_id: String,
    pub sub_params: BTreeMap<String, String>,
    /// Always `{}`: there is no HTCondor ClassAd.
    #[schema(value_type = Object)]
    pub cluster_ad: serde_json::Value,
    pub first_proc: u32,
    pub num_procs: u32,
    pub status: HtcClusterStatus,
}

/// The original's `status_json`: the cluster's state and its one process's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HtcClusterStatus {
    /// 0 created, 1 executing, 2 completed, 3 completed with error.
    pub cluster_state: i32,
    /// `[{"index": 0, "state": -1|2|3, "exit_code": ...}]`.
    #[schema(value_type = Vec<Object>)]
    pub procs: Vec<serde_json::Value>,
}

/// `GET /api/htc-clusters/{cluster_id}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HtcClusterWithTask {
    /// `htc-cluster-with-task`.
    pub kind: &'static str,
    pub cluster: HtcCluster,
    pub task: Task,
    #[schema(value_type = Object)]
    pub extra: serde_json::Value,
}

/// `POST /api/tasks`. Every field may be left out.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
#[schema(as = TaskCreate)]
pub(crate) struct TaskCreate {
    /// The task's id: 1-64 of `A-Za-z0-9._-`; left out or empty, Hopper chooses a UUID.
    pub id: Option<String>,
    /// Must be 0 (queued), the default.
    pub state: Option<i32>,
    /// An HTCondor submit description: `executable` (required: an absolute path in HOPPER_SCRIPT_DIRS),
    /// `arguments`, `initialdir`, `output`, `error`, `environment`, `request_cpus`, `queue`,
    /// `+MaxRuntime` (seconds); other keys are kept and shown back. Values are strings.
    #[schema(rename = "subParams")]
    pub sub_params: Option<BTreeMap<String, String>>,
    /// Starts the task may take, at least 1 (default 2).
    #[schema(rename = "retriesLeft")]
    pub retries_left: Option<i64>,
}

/// `POST /api/tasks/{task_id}`. Every field is required, as in the original; `clusterId`, `procId` and
/// `expirationDate` are Hopper's to set, so they must repeat the task's values or be `null`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
#[schema(as = TaskUpdateRequest)]
pub(crate) struct TaskUpdateRequest {
    /// 0 runs an ended task again (or leaves a queued one queued); otherwise the task's current state.
    pub state: i32,
    /// Starts left from now on.
    #[schema(rename = "retriesLeft")]
    pub retries_left: i64,
    #[schema(rename = "clusterId")]
    pub cluster_id: Option<i64>,
    #[schema(rename = "procId")]
    pub proc_id: Option<i64>,
    #[schema(rename = "expirationDate")]
    pub expiration_date: Option<String>,
}
