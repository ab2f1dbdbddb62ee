//! New recipe: v5 `POST /queue/new-recipe/` (`recipe_type_id`, `recipe_data` 1.0) and v6
//! `POST /v6/recipes/` (`recipe_type_id`, `input`, `configuration`), reference §1.6. The recipe is one
//! of the types file's `[[recipe]]`s, started by the core (`Jobs::submit_recipe`): its roots queued at
//! once, the other jobs pending on their parents. The answer is 201, the recipe's details and the
//! `Location` of those details.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::filters::required_int;
use super::new_job::object_param;
use super::post::Post;
use super::recipe_view::{self, Recipe};
use super::{ScaleError, Version, job_data};
use crate::AppState;
use crate::jobs::NotSubmitted;
use crate::jobs::job_types::RecipeType;
use crate::jobs::recipes::{RecipeRequest, StartedRecipe};

pub(crate) async fn v5(post: Post) -> Response {
    answer(post, Version::V5).await
}

pub(crate) async fn v6(post: Post) -> Response {
    answer(post, Version::V6).await
}

async fn answer(post: Post, version: Version) -> Response {
    let made = create(&post, version)
        .await
        .map(|(id, details)| (id.to_string(), details));
    super::created::created(&post.headers, &post.uri, version, "recipes", made)
}

async fn create(post: &Post, version: Version) -> Result<(u64, Value), ScaleError> {
    let (state, body, params) = (&post.state, &post.body, post.params());
    let type_id = required_int(&params, "recipe_type_id")?;
    let data = match version {
        Version::V5 => object_param(body, "recipe_data")?,
        Version::V6 => object_param(body, "input")?,
    };
    if version == Version::V6 {
        // `parse_dict(request, 'configuration', required=False)`: checked for its shape; Hopper has
        // nothing of a recipe configuration to apply (its workspaces, its priority) to a recipe.
        object_param(body, "configuration")?;
    }
    let recipe = u32::try_from(type_id)
        .ok()
        .and_then(|id| state.jobs.job_types.recipe_by_id(id))
        .ok_or_else(ScaleError::http404)?;
    let read = match version {
        Version::V5 => legacy_data(&data),
        Version::V6 => job_data::v6(&data),
    };
    let inputs = read.map_err(|why| invalid_data(version, &why))?;
    let request = RecipeRequest {
        door: "scale",
        recipe: recipe.clone(),
        inputs,
        working_directory: working_directory(state)?,
        priority: None,
    };
    let started = state
        .jobs
        .submit_recipe(request)
        .await
        .map_err(|refused| refusal(recipe, version, refused))?;
    let jobs = read_back(state, &started).await?;
    let recipe = Recipe::new(started.id, jobs, &state.jobs.job_types);
    Ok((
        started.id,
        recipe_view::details(&recipe, &state.jobs.job_types, version),
    ))
}

/// `LegacyRecipeData`: job data 1.0's `input_data`, and a `workspace_id` that must be an integer if
/// given. Hopper has no workspaces (each job writes to its own `${job_output_dir}`), so a valid one is
/// not used.
fn legacy_data(
    data: &Map<String, Value>,
) -> Result<std::collections::BTreeMap<String, String>, job_data::DataError> {
    match data.get("workspace_id") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        Some(_) => return Err("Workspace ID must be an integer".to_owned()),
    }
    job_data::legacy(data)
}

/// The jobs just made, read back for the answer.
async fn read_back(
    state: &AppState,
    started: &StartedRecipe,
) -> Result<Vec<hopper_common::Job>, ScaleError> {
    let mut jobs = Vec::with_capacity(started.jobs.len());
    for (_, id) in &started.jobs {
        let job = state
            .jobs
            .get(id)
            .await
            .map_err(|e| ScaleError::unavailable(e.to_string()))?
            .ok_or_else(|| {
                ScaleError::unavailable(format!(
                    "recipe {} was started but its job {id} cannot be read back; ask for the recipe at its Location",
                    started.id
                ))
            })?;
        jobs.push(job);
    }
    Ok(jobs)
}

/// Where the recipe's jobs run: the door's working directory.
fn working_directory(state: &AppState) -> Result<String, ScaleError> {
    let root = state.scale.root.as_ref().ok_or_else(|| ScaleError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        body: serde_json::json!({ "detail": "this Hopper has no directory for Scale's jobs to run in; its operator must set HOPPER_SCALE_ROOT (or HOPPER_WORK_ROOTS)" }),
    })?;
    Ok(root.to_string_lossy().into_owned())
}

/// Invalid data: v5 answers a bare JSON string (`Response('Invalid recipe data: ...', 400)`), v6
/// `{"detail": ...}`.
fn invalid_data(version: Version, why: &str) -> ScaleError {
    let message = format!("Invalid recipe data: {why}");
    match version {
        Version::V5 => ScaleError::bare(message),
        Version::V6 => ScaleError::bad_parameter(message),
    }
}

/// The core's refusal: a missing or unknown input is invalid recipe data, as Scale's interface check
/// says; anything else is the deployment refusing one of the recipe's jobs (its queues, program or
/// directory), which no client can fix, so a 500 naming the recipe type, for the operator.
fn refusal(recipe: &RecipeType, version: Version, refused: NotSubmitted) -> ScaleError {
    match refused {
        NotSubmitted::Invalid(invalid) if invalid.field == "inputs" => {
            invalid_data(version, &invalid.message)
        }
        NotSubmitted::Invalid(invalid) => ScaleError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: serde_json::json!({ "detail": format!(
                "this Hopper refuses recipes of type {}: {} ({}); its operator must fix the types file or the deployment",
                recipe.label(), invalid.message, invalid.field
            ) }),
        },
        NotSubmitted::Unavailable(error) => ScaleError::unavailable(error.to_string()),
    }
}
