//! Jobs in Scale's shapes: v5's job list item (`JobSerializerV5`, what requeue answers), v5's details
//! (what new-job answers and `/v5/jobs/{id}/` shows) and v6's details. A Scale job id is Hopper's job
//! id. Fields Hopper has no notion of (revisions, trigger events, file and workspace ids, resources
//! beyond threads and memory, supersession) are null or constant; `docs/scale.md` lists them.

use hopper_common::{Failure, Job, JobState};
use serde_json::{Map, Value, json};

use super::{Version, drf_time, job_type_view, status};
use crate::jobs::job_types::{JobType, JobTypes};
use crate::jobs::recipes::{RECIPE_JOB_LABEL, RECIPE_LABEL, RECIPE_TYPE_LABEL};

/// The job's type, as the types file defines it now; `None` for a job without a type (a GSvar or
/// native job) or whose type the file no longer has.
pub(crate) fn job_type_of<'a>(job: &Job, types: &'a JobTypes) -> Option<&'a JobType> {
    let (name, version) = job.spec.job_type.as_ref()?;
    types.get(name, Some(version))
}

/// The item of a v5 job list (`JobSerializerV5`), as requeue returns them.
pub(crate) fn list_item(job: &Job, types: &JobTypes) -> Value {
    let job_type = job_type_of(job, types);
    let mut fields = common(job, job_type.map(|t| job_type_view::base(t, Version::V5)));
    fields.insert("job_type_rev".into(), Value::Null);
    fields.insert("event".into(), Value::Null);
    Value::Object(fields)
}

/// A job's details for `version`: what new-job answers (201) and what its `Location` shows.
pub(crate) fn details(job: &Job, types: &JobTypes, version: Version) -> Value {
    let job_type = job_type_of(job, types);
    match version {
        Version::V5 => {
            let mut fields = common(job, job_type.map(|t| job_type_view::full(t, Version::V5)));
            fields.insert("job_type_rev".into(), Value::Null);
            fields.insert("event".into(), Value::Null);
            fields.insert("data".into(), data_v5(job));
            fields.insert("results".into(), Value::Null);
            fields.insert("inputs".into(), inputs(job));
            fields.insert("outputs".into(), json!([]));
            fields.insert("job_exes".into(), json!([]));
            // The seed's example (Scale 3's serializer) also lists the input and product files.
            fields.insert("input_files".into(), json!([]));
            fields.insert("products".into(), json!([]));
            fields.insert("recipes".into(), recipes(job));
            Value::Object(fields)
        }
        Version::V6 => {
            let mut fields = common(job, job_type.map(|t| job_type_view::base(t, Version::V6)));
            fields.insert("job_type_rev".into(), Value::Null);
            fields.insert("event".into(), Value::Null);
            fields.insert("recipe".into(), recipe(job).unwrap_or(Value::Null));
            fields.insert("batch".into(), Value::Null);
            fields.insert(
                "node".into(),
                job.host
                    .as_ref()
                    .map_or(Value::Null, |host| json!({ "id": null, "hostname": host })),
            );
            fields.insert(
                "input".into(),
                json!({ "files": {}, "json": job.spec.inputs }),
            );
            fields.insert("output".into(), Value::Null);
            fields.insert("execution".into(), Value::Null);
            fields.insert("resources".into(), resources(job));
            Value::Object(fields)
        }
    }
}

/// The fields every shape has, in Scale's order.
fn common(job: &Job, job_type: Option<Value>) -> Map<String, Value> {
    let time = |ms: Option<u64>| ms.map_or(Value::Null, |ms| Value::String(drf_time(ms)));
    let Value::Object(fields) = json!({
        "id": id_number(job),
        "job_type": job_type,
        "status": status::of(job.state),
        "priority": job.spec.priority.unwrap_or(hopper_common::JobSpec::DEFAULT_PRIORITY),
        "num_exes": num_exes(job),
        "timeout": job.spec.timeout.map(|t| t.as_secs()),
        "max_tries": max_tries(job),
        "cpus_required": f64::from(job.spec.threads),
        "mem_required": null,
        "disk_in_required": null,
        "disk_out_required": null,
        "error": error(job),
        "is_superseded": false,
        "root_superseded_job": null,
        "superseded_job": null,
        "superseded_by_job": null,
        "delete_superseded": false,
        "created": time(Some(job.created_ms)),
        "queued": time(queued_ms(job)),
        "started": time(job.started_ms),
        "ended": time(job.ended_ms),
        "last_status_change": time(job.changed_ms.or(Some(job.created_ms))),
        "superseded": null,
        "last_modified": time(job.changed_ms.or(Some(job.created_ms))),
    }) else {
        unreachable!("a JSON object literal")
    };
    fields
}

/// Scale's ids are integers; Hopper's are the decimal values of a counter, so they read as one.
pub(crate) fn id_number(job: &Job) -> Value {
    job.id
        .as_str()
        .parse::<u64>()
        .map_or_else(|_| Value::String(job.id.to_string()), Value::from)
}

/// Scale counts an execution each time a job is queued, requeues included: a job waiting for its next
/// run has had its runs so far and one more on its way.
fn num_exes(job: &Job) -> u32 {
    runs_before_retry(job) + job.attempts + u32::from(job.state == JobState::Queued)
}

/// Scale's `max_tries` runs on from `num_exes` (a requeue sets it to `num_exes + job_type.max_tries`),
/// while a retry gives Hopper's job a fresh count: the runs before it make up the difference.
fn max_tries(job: &Job) -> u32 {
    runs_before_retry(job) + job.spec.max_tries
}

/// Runs that ended before the job's last retry: the history keeps every ended run, the current
/// round's (`attempts`, less one running now) among them. A listed job carries no history: 0.
fn runs_before_retry(job: &Job) -> u32 {
    let running = u32::from(matches!(job.state, JobState::Running | JobState::Suspended));
    let ended = u32::try_from(job.history.len()).unwrap_or(u32::MAX);
    ended.saturating_sub(job.attempts.saturating_sub(running))
}

/// When it was queued last, where Hopper knows it: a queued job's last change is its queueing.
fn queued_ms(job: &Job) -> Option<u64> {
    (job.state == JobState::Queued).then_some(job.changed_ms.unwrap_or(job.created_ms))
}

/// Scale's error object (`ErrorBaseSerializer`) for a failed job: the failure reason as its name, and
/// the category Scale would give it (see [`error_category`]).
fn error(job: &Job) -> Value {
    let Some(failure) = job
        .failure
        .as_ref()
        .filter(|_| job.state == JobState::Failed)
    else {
        return Value::Null;
    };
    json!({
        "id": null,
        "name": failure.reason(),
        "title": failure.reason().replace('_', " "),
        "description": describe(failure),
        "category": error_category(failure),
    })
}

/// The category of Scale's errors a failure falls in: the program's own failure is `ALGORITHM`, a
/// refused submit `DATA`, everything the system did (timeouts, lost workers) `SYSTEM`. Requeue's
/// `error_categories` filter goes by it.
pub(crate) fn error_category(failure: &Failure) -> &'static str {
    match failure {
        Failure::Exit(_) | Failure::Signal(_) => "ALGORITHM",
        Failure::Rejected(_) => "DATA",
        Failure::CouldNotStart(_)
        | Failure::WorkerShutdown
        | Failure::WorkerLost
        | Failure::Timeout => "SYSTEM",
    }
}

fn describe(failure: &Failure) -> String {
    match failure {
        Failure::Exit(code) => format!("the program exited with code {code}"),
        Failure::Signal(signal) => format!("the program was killed by signal {signal}"),
        Failure::CouldNotStart(message) | Failure::Rejected(message) => message.clone(),
        Failure::WorkerShutdown => "its worker was shut down while it ran".to_owned(),
        Failure::WorkerLost => "its worker was lost while it ran".to_owned(),
        Failure::Timeout => "it ran past its time limit".to_owned(),
    }
}

/// v5's `data`: the job data 1.0 the inputs came from, each input a property value.
fn data_v5(job: &Job) -> Value {
    let input_data: Vec<Value> = job
        .spec
        .inputs
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    json!({ "version": "1.0", "input_data": input_data, "output_data": [] })
}

/// v5's `inputs` (`JobDetailsInputSerializer`): each input with its type and value.
fn inputs(job: &Job) -> Value {
    job.spec
        .inputs
        .iter()
        .map(|(name, value)| json!({ "name": name, "type": "property", "value": value }))
        .collect()
}

/// v6's `recipe`, for a job of a recipe.
fn recipe(job: &Job) -> Option<Value> {
    let id = job.spec.labels.get(RECIPE_LABEL)?;
    Some(json!({
        "id": id.parse::<u64>().map_or_else(|_| Value::String(id.clone()), Value::from),
        "recipe_type": { "id": job.spec.labels.get(RECIPE_TYPE_LABEL).and_then(|t| t.parse::<u64>().ok()) },
        "node_name": job.spec.labels.get(RECIPE_JOB_LABEL),
    }))
}

/// v5's `recipes`: the recipe the job belongs to, if any.
fn recipes(job: &Job) -> Value {
    recipe(job).map_or_else(|| json!([]), |r| json!([r]))
}

/// v6's `resources`: what Hopper knows a run takes, in Scale's resource names.
fn resources(job: &Job) -> Value {
    json!({ "resources": { "cpus": f64::from(job.spec.threads) } })
}
