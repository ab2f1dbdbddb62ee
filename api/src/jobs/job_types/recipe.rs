//! Recipe types: a named, versioned set of jobs of the file's job types, some waiting on others
//! (`after`), that a client starts as one (NGA Scale's recipes). The file defines them beside the job
//! types:
//!
//! ```toml
//! [[recipe]]
//! name = "footprint-and-index"
//! version = "1.0.0"           # default "1.0"
//! id = 3                      # unique among recipes; default: position among the [[recipe]]s, from 1
//! jobs = [ { name = "kml", type = "kml-footprint" },
//!          { name = "index", type = "indexer", version = "2.1", after = ["kml"] } ]
//! ```
//!
//! A loaded recipe is known to run: every job's type exists, and its `after` lists make no cycle. The
//! checks are in `recipe_check.rs`, the order in `order.rs`.

use super::JobType;

/// One recipe type, as the file defines it, with its jobs' types resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipeType {
    pub name: String,
    pub version: String,
    /// Unique among recipe types (job types count their own ids): Scale numbers the two apart, and its
    /// clients start a recipe by this number (`recipe_type_id`).
    pub id: u32,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Parents before children; jobs ready together keep the order the file wrote them in. Private to
    /// the loader so that no recipe with another order can be built.
    pub(super) jobs: Vec<RecipeJob>,
}

/// One job of a recipe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipeJob {
    /// Unique within its recipe; what other jobs' `after` names.
    pub name: String,
    /// The type the job entry names, at the version it asks for or else the highest the file defines
    /// (resolved when the file is read, so a recipe never changes under a running one).
    pub job_type: JobType,
    /// The jobs of the same recipe this one waits on, as written; each comes before it in
    /// [`RecipeType::jobs`].
    pub after: Vec<String>,
}

impl RecipeType {
    /// `name version`, as messages name a recipe.
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }

    /// Every job, each after the jobs it waits on: creating or queuing them in this order never meets
    /// a job whose parents are not there yet.
    pub fn jobs(&self) -> &[RecipeJob] {
        &self.jobs
    }

    pub fn job(&self, name: &str) -> Option<&RecipeJob> {
        self.jobs.iter().find(|job| job.name == name)
    }

    /// The recipe's inputs: every input its jobs' types declare, each once, sorted. A recipe input
    /// goes, by its name, to every job whose type takes it.
    pub fn inputs(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .jobs
            .iter()
            .flat_map(|job| job.job_type.inputs.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The jobs that wait on none, which start when the recipe does.
    pub fn roots(&self) -> impl Iterator<Item = &RecipeJob> {
        self.jobs.iter().filter(|job| job.after.is_empty())
    }
}
