//! A recipe in Scale's shapes: v5's recipe details (what v5 new-recipe answers and `/v5/recipes/{id}/`
//! shows, as the seed's example) and v6's (`RecipeDetailsSerializerV6`). A recipe is the set of jobs
//! labelled with its id; everything shown is read from them: when it was created (its first job),
//! completed (its last job, once every job completed), its inputs (the union of its jobs' inputs, which
//! came by name from the recipe's) and its jobs' counts by Scale status. Fields Hopper has no notion of
//! (events, batches, sub-recipes, supersession, source files) are null or zero; `docs/scale.md` lists
//! them.

use std::collections::BTreeMap;

use hopper_common::{Job, JobState};
use serde_json::{Map, Value, json};

use super::{Version, drf_time, job_view, recipe_type_view, status};
use crate::jobs::job_types::{JobTypes, RecipeType};
use crate::jobs::recipes::{RECIPE_JOB_LABEL, RECIPE_TYPE_LABEL};

/// One recipe: its id and its jobs, in the recipe's order.
pub(crate) struct Recipe<'a> {
    pub id: u64,
    /// The recipe type, as the types file defines it now; `None` if the file no longer has it.
    pub recipe_type: Option<&'a RecipeType>,
    type_id: Option<u64>,
    jobs: Vec<Job>,
}

impl<'a> Recipe<'a> {
    /// The recipe `id` made of `jobs` (in any order; at least one). They are put in the recipe type's
    /// order, parents first; jobs the type no longer names go last, oldest first.
    pub(crate) fn new(id: u64, jobs: Vec<Job>, types: &'a JobTypes) -> Self {
        let type_id = jobs
            .iter()
            .find_map(|job| job.spec.labels.get(RECIPE_TYPE_LABEL)?.parse::<u64>().ok());
        let recipe_type = type_id
            .and_then(|id| u32::try_from(id).ok())
            .and_then(|id| types.recipe_by_id(id));
        let mut jobs = jobs;
        let position = |job: &Job| {
            let name = node_name(job);
            recipe_type
                .and_then(|r| r.jobs().iter().position(|j| Some(j.name.as_str()) == name))
                .unwrap_or(usize::MAX)
        };
        jobs.sort_by_key(|job| (position(job), job.created_ms));
        Self {
            id,
            recipe_type,
            type_id,
            jobs,
        }
    }

    fn created_ms(&self) -> Option<u64> {
        self.jobs.iter().map(|job| job.created_ms).min()
    }

    fn is_completed(&self) -> bool {
        self.jobs.iter().all(|job| job.state == JobState::Succeeded)
    }

    /// When the last job ended, once every job completed.
    fn completed_ms(&self) -> Option<u64> {
        if !self.is_completed() {
            return None;
        }
        self.jobs.iter().filter_map(|job| job.ended_ms).max()
    }

    fn last_modified_ms(&self) -> Option<u64> {
        self.jobs
            .iter()
            .map(|job| job.changed_ms.unwrap_or(job.created_ms))
            .max()
    }

    /// The recipe's inputs: each job has those of its type, by the recipe input's name.
    fn inputs(&self) -> BTreeMap<&str, &str> {
        self.jobs
            .iter()
            .flat_map(|job| job.spec.inputs.iter())
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }
}

/// The recipe's details for `version`.
pub(crate) fn details(recipe: &Recipe<'_>, types: &JobTypes, version: Version) -> Value {
    match version {
        Version::V5 => v5(recipe, types),
        Version::V6 => v6(recipe),
    }
}

fn v5(recipe: &Recipe<'_>, types: &JobTypes) -> Value {
    let input_data: Vec<Value> = recipe
        .inputs()
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let jobs: Vec<Value> = recipe
        .jobs
        .iter()
        .map(|job| json!({ "job_name": node_name(job), "job": job_view::list_item(job, types) }))
        .collect();
    json!({
        "id": recipe.id,
        "recipe_type": recipe
            .recipe_type
            .map_or_else(|| json!({ "id": recipe.type_id }), recipe_type_view::v5),
        "event": null,
        "created": time(recipe.created_ms()),
        "completed": time(recipe.completed_ms()),
        "last_modified": time(recipe.last_modified_ms()),
        "data": { "version": "1.0", "input_data": input_data },
        "input_files": [],
        "jobs": jobs,
    })
}

fn v6(recipe: &Recipe<'_>) -> Value {
    let rt = recipe.recipe_type;
    let mut fields = Map::new();
    let mut put = |key: &str, value: Value| {
        fields.insert(key.to_owned(), value);
    };
    put("id", json!(recipe.id));
    put(
        "recipe_type",
        rt.map_or_else(
            || json!({ "id": recipe.type_id }),
            recipe_type_view::base_v6,
        ),
    );
    put(
        "recipe_type_rev",
        rt.map_or(Value::Null, recipe_type_view::revision_v6),
    );
    for absent in ["event", "ingest_event", "recipe", "root_recipe", "batch"] {
        put(absent, Value::Null);
    }
    put("is_superseded", json!(false));
    put("superseded_recipe", Value::Null);
    put("superseded_by_recipe", Value::Null);
    put("input", json!({ "files": {}, "json": recipe.inputs() }));
    for absent in [
        "input_file_size",
        "source_started",
        "source_ended",
        "source_sensor_class",
        "source_sensor",
        "source_collection",
        "source_task",
    ] {
        put(absent, Value::Null);
    }
    put("jobs_total", json!(recipe.jobs.len()));
    let counts = counts(&recipe.jobs);
    for scale_status in status::ALL {
        let key = format!("jobs_{}", scale_status.to_ascii_lowercase());
        put(&key, json!(counts.get(scale_status).copied().unwrap_or(0)));
    }
    put("sub_recipes_total", json!(0));
    put("sub_recipes_completed", json!(0));
    put("is_completed", json!(recipe.is_completed()));
    put("created", time(recipe.created_ms()));
    put("completed", time(recipe.completed_ms()));
    put("superseded", Value::Null);
    put("last_modified", time(recipe.last_modified_ms()));
    put("details", instance(recipe));
    put(
        "job_types",
        rt.map_or_else(|| json!([]), recipe_type_view::job_types_v6),
    );
    put("sub_recipe_types", json!([]));
    Value::Object(fields)
}

/// v6's recipe instance (`details`): each job a node with its parents, its type, its id and status.
fn instance(recipe: &Recipe<'_>) -> Value {
    let nodes: Map<String, Value> = recipe
        .jobs
        .iter()
        .filter_map(|job| {
            let name = node_name(job)?;
            let after = recipe
                .recipe_type
                .and_then(|r| r.job(name))
                .map_or(&[][..], |j| j.after.as_slice());
            let (type_name, type_version) = job
                .spec
                .job_type
                .as_ref()
                .map_or((None, None), |(n, v)| (Some(n), Some(v)));
            let node = json!({
                "dependencies": recipe_type_view::dependencies(after),
                "node_type": {
                    "node_type": "job",
                    "job_type_name": type_name,
                    "job_type_version": type_version,
                    "job_type_revision": 1,
                    "job_id": job_view::id_number(job),
                    "status": status::of(job.state),
                },
            });
            Some((name.to_owned(), node))
        })
        .collect();
    json!({ "nodes": nodes })
}

/// How many of the jobs are in each Scale status.
fn counts(jobs: &[Job]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for job in jobs {
        *counts.entry(status::of(job.state)).or_default() += 1;
    }
    counts
}

/// The job's node name within its recipe.
fn node_name(job: &Job) -> Option<&str> {
    job.spec.labels.get(RECIPE_JOB_LABEL).map(String::as_str)
}

fn time(ms: Option<u64>) -> Value {
    ms.map_or(Value::Null, |ms| Value::String(drf_time(ms)))
}
