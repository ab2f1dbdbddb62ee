//! Recipes: the jobs of a recipe type (`job_types/recipe.rs`) created together, each waiting on its
//! parents with `after`, and found again by their labels. A recipe has nothing in Redis of its own but
//! its id: it is the set of jobs labelled with it, and its progress is theirs. The dependency machinery
//! (`dependents.rs`, `lua/deps.lua`) runs it: a job is pending until every parent succeeded, then
//! queued; blocked once one failed or was canceled.

use std::collections::BTreeMap;

use hopper_common::JobId;
use tracing::Instrument;

use super::job_types::{RecipeJob, RecipeType};
use super::{
    Invalid, JobRequest, Jobs, NotSubmitted, OnRefusal, Submitted, TypedRequest, Unavailable,
    known_queues, limits,
};

/// The label every job of a recipe carries: the recipe's id.
pub const RECIPE_LABEL: &str = "recipe";
/// The label naming a recipe job's node within its recipe (`kml`).
pub const RECIPE_JOB_LABEL: &str = "recipe.job";
/// The label holding the id of the recipe type the recipe was made from.
pub const RECIPE_TYPE_LABEL: &str = "recipe.type";

/// A recipe a front door asks for: the type, its inputs by name, and what every job of it shares.
#[derive(Debug)]
pub struct RecipeRequest {
    /// The front door that made it, recorded on each job as the label `door`.
    pub door: &'static str,
    pub recipe: RecipeType,
    /// By name: each goes to every job whose type takes an input of that name.
    pub inputs: BTreeMap<String, String>,
    pub working_directory: String,
    /// `None`: each job's type's priority.
    pub priority: Option<i64>,
}

/// A recipe started: its id, and its jobs' ids in the recipe's order (parents first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedRecipe {
    pub id: u64,
    pub jobs: Vec<(String, JobId)>,
}

impl Jobs {
    /// Starts a recipe: every job created parents first, the roots queued at once, the others pending
    /// on their parents. Every job is checked before any is written, so a refused recipe leaves
    /// nothing behind; if Redis or RabbitMQ fail half-way, the jobs already made are canceled, so no
    /// half-made recipe is left looking alive, and the answer is 503.
    ///
    /// Once the checks passed, the jobs are made on a task of their own, as [`Jobs::submit`] does: a
    /// client that disconnects half-way leaves a whole recipe or a canceled one.
    pub async fn submit_recipe(
        &self,
        request: RecipeRequest,
    ) -> Result<StartedRecipe, NotSubmitted> {
        let recipe = &request.recipe;
        let inputs = distribute(recipe, &request.inputs).map_err(NotSubmitted::Invalid)?;
        for (job, inputs) in recipe.jobs().iter().zip(&inputs) {
            // The id is not taken yet: the labels are checked for their shape, which it does not change.
            let dry = job_request(&request, job, inputs.clone(), Vec::new(), 0);
            self.check(dry).await.map_err(|e| in_job(recipe, job, e))?;
        }
        let core = self.clone();
        let create = async move { core.create_recipe(&request, inputs).await };
        match tokio::spawn(create.in_current_span()).await {
            Ok(outcome) => outcome,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // Aborted only when the runtime shuts down, when nobody waits for this answer.
            Err(_) => Err(NotSubmitted::Unavailable(Unavailable::too_slow())),
        }
    }

    /// Takes the recipe's id and creates its jobs, parents first.
    async fn create_recipe(
        &self,
        request: &RecipeRequest,
        inputs: Vec<BTreeMap<String, String>>,
    ) -> Result<StartedRecipe, NotSubmitted> {
        let recipe = &request.recipe;
        let id = self
            .store
            .next_recipe_id()
            .await
            .map_err(Unavailable::store)?;
        let mut created: Vec<(String, JobId)> = Vec::new();
        for (job, inputs) in recipe.jobs().iter().zip(inputs) {
            // `jobs()` puts parents first, so each parent is among those created already.
            let after = job
                .after
                .iter()
                .filter_map(|parent| created.iter().find(|(name, _)| name == parent))
                .map(|(_, parent)| parent.to_string())
                .collect();
            let submitted = self
                .submit(
                    job_request(request, job, inputs, after, id),
                    OnRefusal::Refuse,
                )
                .await;
            match submitted {
                Ok(Submitted::Queued { id: job_id, .. }) => {
                    created.push((job.name.clone(), job_id));
                }
                outcome => {
                    self.take_back(id, &created).await;
                    return Err(match outcome {
                        Err(error) => in_job(recipe, job, error),
                        // `Refuse` records nothing: a refusal comes back as `Invalid`.
                        Ok(Submitted::Recorded { field, reason, .. }) => in_job(
                            recipe,
                            job,
                            NotSubmitted::Invalid(Invalid::new(field, reason)),
                        ),
                        Ok(Submitted::Queued { .. }) => unreachable!("matched above"),
                    });
                }
            }
        }
        tracing::info!(recipe = id, recipe_type = %recipe.label(), jobs = created.len(), "recipe started");
        Ok(StartedRecipe { id, jobs: created })
    }

    /// Every check a submit makes before it writes (see `submit_spawned`), writing nothing.
    async fn check(&self, request: JobRequest) -> Result<(), NotSubmitted> {
        let mut request = request;
        limits::check(&request).map_err(NotSubmitted::Invalid)?;
        self.apply_type(&mut request)
            .map_err(NotSubmitted::Invalid)?;
        let spec = self.admission.admit(request).map_err(|refusal| {
            NotSubmitted::Invalid(Invalid::new(refusal.field, refusal.reason))
        })?;
        let unknown = self
            .known
            .unknown(&self.store, &spec.queues)
            .await
            .map_err(Unavailable::store)?;
        if !unknown.is_empty() {
            let reason = known_queues::refusal(&unknown);
            return Err(NotSubmitted::Invalid(Invalid::new("queues", reason)));
        }
        Ok(())
    }

    /// Cancels the jobs of a recipe that could not be made whole, children first so that each ends
    /// canceled rather than blocked. Best effort: Redis may be what failed, and then the jobs stay as
    /// they are (a root may run; its children wait on it as the recipe says).
    async fn take_back(&self, recipe: u64, created: &[(String, JobId)]) {
        for (name, id) in created.iter().rev() {
            if let Err(error) = self.cancel(id).await {
                tracing::warn!(recipe, job = %id, node = %name, %error, "cannot cancel a job of a recipe that failed half-way");
            }
        }
    }
}

/// A recipe job as a typed job of its type, at the exact version the recipe resolved.
fn job_request(
    request: &RecipeRequest,
    job: &RecipeJob,
    inputs: BTreeMap<String, String>,
    after: Vec<String>,
    recipe_id: u64,
) -> JobRequest {
    let labels = BTreeMap::from([
        (RECIPE_LABEL.to_owned(), recipe_id.to_string()),
        (RECIPE_JOB_LABEL.to_owned(), job.name.clone()),
        (RECIPE_TYPE_LABEL.to_owned(), request.recipe.id.to_string()),
    ]);
    JobRequest {
        door: request.door,
        working_directory: request.working_directory.clone(),
        priority: request.priority,
        labels,
        after,
        typed: Some(TypedRequest {
            name: job.job_type.name.clone(),
            version: Some(job.job_type.version.clone()),
            inputs,
        }),
        ..JobRequest::default()
    }
}

/// Says which job of which recipe a refusal is about; an outage is passed on as it is.
fn in_job(recipe: &RecipeType, job: &RecipeJob, error: NotSubmitted) -> NotSubmitted {
    match error {
        NotSubmitted::Invalid(invalid) => NotSubmitted::Invalid(Invalid::new(
            invalid.field,
            format!(
                "job '{}' of recipe {}: {}",
                job.name,
                recipe.label(),
                invalid.message
            ),
        )),
        unavailable => unavailable,
    }
}

/// Each job's inputs, in [`RecipeType::jobs`] order: every recipe input its type declares, by name.
/// A recipe input no job takes is refused (most likely a misspelt one), as is a job's input the
/// recipe was not given.
pub fn distribute(
    recipe: &RecipeType,
    inputs: &BTreeMap<String, String>,
) -> Result<Vec<BTreeMap<String, String>>, Invalid> {
    let takes = recipe.inputs();
    let listed = if takes.is_empty() {
        "no inputs".to_owned()
    } else {
        takes.join(", ")
    };
    if let Some(unknown) = inputs.keys().find(|name| !takes.contains(&name.as_str())) {
        return Err(Invalid::new(
            "inputs",
            format!(
                "unknown input '{}' for recipe {}; it takes {listed}",
                hopper_common::excerpt(unknown),
                recipe.label()
            ),
        ));
    }
    recipe
        .jobs()
        .iter()
        .map(|job| {
            job.job_type
                .inputs
                .iter()
                .map(|name| match inputs.get(name) {
                    Some(value) => Ok((name.clone(), value.clone())),
                    None => Err(Invalid::new(
                        "inputs",
                        format!(
                            "missing input '{name}' for recipe {} (its job '{}' needs it); it takes {listed}",
                            recipe.label(),
                            job.name
                        ),
                    )),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::job_types::JobTypes;

    const FILE: &str = r#"
[[type]]
name = "kml"
program = "kml.sh"
inputs = ["input_file"]
queues = ["default"]

[[type]]
name = "index"
program = "index.sh"
inputs = ["input_file", "level"]
queues = ["default"]

[[type]]
name = "report"
program = "report.sh"
queues = ["default"]

[[recipe]]
name = "footprint"
jobs = [ { name = "index", type = "index", after = ["kml"] },
         { name = "kml", type = "kml" },
         { name = "report", type = "report", after = ["index"] } ]
"#;

    fn recipe() -> RecipeType {
        let types = JobTypes::parse(FILE, "test").expect("file");
        types.recipe("footprint", None).cloned().expect("recipe")
    }

    fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Each job gets exactly the recipe inputs its type declares, in the recipe's order.
    #[test]
    fn inputs_go_by_name_to_every_job_that_takes_them() {
        let recipe = recipe();
        assert_eq!(recipe.inputs(), ["input_file", "level"]);
        let given = inputs(&[("input_file", "/d/a.tif"), ("level", "3")]);
        let each = distribute(&recipe, &given).expect("distributed");
        let names: Vec<&str> = recipe.jobs().iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, ["kml", "index", "report"]);
        assert_eq!(each[0], inputs(&[("input_file", "/d/a.tif")]));
        assert_eq!(each[1], given);
        assert!(each[2].is_empty());
    }

    /// An input no job takes and an input a job lacks are refused, naming it and what the recipe takes.
    #[test]
    fn unknown_and_missing_inputs_are_refused_naming_them() {
        let recipe = recipe();
        let unknown = distribute(
            &recipe,
            &inputs(&[("input_file", "x"), ("level", "1"), ("levle", "1")]),
        )
        .expect_err("unknown");
        assert_eq!(unknown.field, "inputs");
        assert_eq!(
            unknown.message,
            "unknown input 'levle' for recipe footprint 1.0; it takes input_file, level"
        );
        let missing = distribute(&recipe, &inputs(&[("input_file", "x")])).expect_err("missing");
        assert_eq!(
            missing.message,
            "missing input 'level' for recipe footprint 1.0 (its job 'index' needs it); it takes input_file, level"
        );
    }
}
