//! Job types: commands an operator defines once, in a TOML file (`HOPPER_JOB_TYPES`), that clients then
//! submit by name with a few inputs, instead of sending a script and its arguments. The operator decides
//! what runs and how (program, argument layout, queues, threads, limits); a client only fills the blanks
//! the type declares.
//!
//! ```toml
//! [[type]]
//! name = "kml-footprint"      # required; 1-64 of A-Za-z0-9_.-
//! version = "1.0.0"           # default "1.0"; 1-32 of A-Za-z0-9_.-
//! id = 8                      # unique; default: the type's position in the file, from 1
//! program = "footprint.sh"    # a bare file name, or an absolute path
//! args = ["${input_file}", "--out", "${job_output_dir}"]
//! inputs = ["input_file"]     # what a submit fills; ${job_id} and ${job_output_dir} are always given
//! queues = ["default"]
//! timeout = "30min"
//! ```
//!
//! Beside them, `[[recipe]]` tables define recipe types: jobs of these types that start together, some
//! waiting on others (see `recipe.rs`).
//!
//! The file is read whole at start and checked whole: a node with a bad file does not start, and its
//! message names the line, so a typo is found before any submit meets it. Placeholders and their
//! escaping are described in `template.rs`.

mod check;
mod order;
mod parse;
mod recipe;
mod recipe_check;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hopper_common::QueueName;

use hopper_common::template;
pub use hopper_common::template::{FillError, RESERVED, fill_reserved};
pub use recipe::{RecipeJob, RecipeType};

/// Most inputs one type may declare: a submit fills them all, so more would be a form, not a command.
pub const MAX_INPUTS: usize = 64;

/// One type, as the file defines it, with every default applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobType {
    pub name: String,
    pub version: String,
    /// Unique across the file; a compact handle for clients that store a number (GSvar's `qe_job_type`).
    pub id: u32,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    /// A bare file name (looked up where the worker looks up scripts) or an absolute path; may hold
    /// placeholders.
    pub program: String,
    /// One template per argument; each stays one argument, whatever its inputs hold.
    pub args: Vec<String>,
    /// The names a submit must fill, each exactly once.
    pub inputs: Vec<String>,
    pub queues: Vec<QueueName>,
    pub threads: u32,
    /// What a run needs, for people and schedulers to read; nothing enforces it.
    pub memory_mb: Option<u32>,
    /// How long a run may take before it is stopped; `None` for no limit.
    pub timeout: Option<Duration>,
    pub max_tries: u32,
    /// Lower runs first.
    pub priority: i32,
    /// A paused type still takes submits, but its jobs wait queued and unpublished until an API node
    /// runs with the type resumed (see `jobs/dependents.rs`); `fill` does not look at it.
    pub paused: bool,
}

impl JobType {
    /// `name version`, as messages name a type.
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }

    /// The program and arguments for a submit's `inputs`: each `${input}` replaced by its value, as part
    /// of one argument. `${job_id}`, `${job_output_dir}` and `$$` are left for the worker, which runs
    /// [`fill_reserved`] on every string returned here (see `template.rs` for why values are escaped).
    ///
    /// `inputs` must name each of the type's inputs, and nothing else: a missing input would leave a
    /// blank argument, an extra one is most likely a misspelt one.
    pub fn fill(
        &self,
        inputs: &BTreeMap<String, String>,
    ) -> Result<(String, Vec<String>), FillError> {
        let label = self.label();
        if let Some(unknown) = inputs.keys().find(|name| !self.inputs.contains(name)) {
            let takes = if self.inputs.is_empty() {
                "no inputs".to_owned()
            } else {
                self.inputs.join(", ")
            };
            return Err(FillError {
                input: unknown.clone(),
                message: format!(
                    "unknown input '{}' for type {label}; it takes {takes}",
                    hopper_common::excerpt(unknown)
                ),
            });
        }
        if let Some(missing) = self.inputs.iter().find(|name| !inputs.contains_key(*name)) {
            return Err(FillError {
                input: missing.clone(),
                message: format!(
                    "missing input '{missing}' for type {label}; it needs {}",
                    self.inputs.join(", ")
                ),
            });
        }
        if let Some((name, _)) = inputs.iter().find(|(_, value)| value.contains('\0')) {
            return Err(FillError {
                input: name.clone(),
                message: format!(
                    "input '{name}' for type {label} holds a NUL character, which no program argument \
                     can carry"
                ),
            });
        }
        let program = template::fill(&self.program, inputs, &label)?;
        if let Err(problem) = check::check_program(&program) {
            // The file's check passed the program as written, so an input made it bad: name the one it
            // uses (a type built by hand may have had a bad program all along).
            let input = template::placeholders(&self.program)
                .unwrap_or_default()
                .into_iter()
                .find(|name| !RESERVED.contains(name))
                .unwrap_or_default()
                .to_owned();
            let message = if input.is_empty() {
                format!("type {label} has a program Hopper may not run: {problem}")
            } else {
                format!(
                    "input '{input}' for type {label} makes a program Hopper may not run: {problem}"
                )
            };
            return Err(FillError { input, message });
        }
        let args = self
            .args
            .iter()
            .map(|arg| template::fill(arg, inputs, &label))
            .collect::<Result<_, _>>()?;
        Ok((program, args))
    }
}

/// Every type and recipe type of one file, each in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobTypes {
    types: Vec<JobType>,
    recipes: Vec<RecipeType>,
}

impl JobTypes {
    /// Reads and checks the file at `path`. The error names the file, and the line where there is one:
    /// it is meant to be shown to the operator as it is, ending the node's start.
    pub fn load(path: &Path) -> Result<Self, String> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| {
            format!(
                "job types file {origin}: cannot read it ({error}); check the path HOPPER_JOB_TYPES \
                 gives and that this node's user may read it"
            )
        })?;
        Self::parse(&text, &origin)
    }

    /// Checks `text`, a job types file; `origin` names it in errors (a path, or what a test likes).
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        parse::parse(text, origin).map(|(types, recipes)| Self { types, recipes })
    }

    /// The type `name` at `version`, or with no version its highest (see [`compare_versions`]): a
    /// client that names no version gets the newest the operator offers.
    pub fn get(&self, name: &str, version: Option<&str>) -> Option<&JobType> {
        pick(&self.types, name, version)
    }

    /// The job type with this id (ids are unique among job types).
    pub fn by_id(&self, id: u32) -> Option<&JobType> {
        self.types.iter().find(|t| t.id == id)
    }

    pub fn all(&self) -> &[JobType] {
        &self.types
    }

    /// Every recipe type, in file order.
    pub fn recipes(&self) -> &[RecipeType] {
        &self.recipes
    }

    /// The recipe type `name` at `version`, or with no version its highest, as [`JobTypes::get`].
    pub fn recipe(&self, name: &str, version: Option<&str>) -> Option<&RecipeType> {
        let mut named = self.recipes.iter().filter(|r| r.name == name);
        match version {
            Some(version) => named.find(|r| r.version == version),
            None => named.max_by(|a, b| compare_versions(&a.version, &b.version)),
        }
    }

    /// The recipe type with this id (ids are unique among recipe types, apart from job types' ids).
    pub fn recipe_by_id(&self, id: u32) -> Option<&RecipeType> {
        self.recipes.iter().find(|r| r.id == id)
    }
}

/// The type `name` among `types` at `version`, or with no version its highest: shared by lookups and
/// by the recipes' check, so a recipe's job resolves to the type a submit of the same name would get.
fn pick<'a>(types: &'a [JobType], name: &str, version: Option<&str>) -> Option<&'a JobType> {
    let mut named = types.iter().filter(|t| t.name == name);
    match version {
        Some(version) => named.find(|t| t.version == version),
        None => named.max_by(|a, b| compare_versions(&a.version, &b.version)),
    }
}

/// Orders versions by their dot-separated parts, left to right: two parts that are both numbers compare
/// as numbers (so `1.10` is above `1.9`), any other two as text; when one version's parts run out first,
/// it is the lower (`1.0` is below `1.0.1`). Versions that tie (`1.0` and `1.00`) are ordered as text,
/// so the order is total and a lookup never depends on file order.
///
/// Text parts compare as text: `1.0.0-rc1` is above `1.0.0`, unlike semver. Operators who want a
/// release candidate not to be the default name it with a lower number.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        let order = match (left.next(), right.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(l), Some(r)) => compare_parts(l, r),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}

/// Numbers of any length compare by value: without their leading zeros, the longer is the larger.
fn compare_parts(l: &str, r: &str) -> Ordering {
    let is_number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if is_number(l) && is_number(r) {
        let (l, r) = (l.trim_start_matches('0'), r.trim_start_matches('0'));
        l.len().cmp(&r.len()).then_with(|| l.cmp(r))
    } else {
        l.cmp(r)
    }
}
