//! The `[[recipe]]` tables of a job types file, from TOML to checked [`RecipeType`]s. They are read
//! after every `[[type]]`, whatever the order of the file, so a recipe may name a type defined below it.
//!
//! Keys are checked against the lists below before `serde` sees a table: a recipe holds tables (its
//! jobs) inside itself, and `serde`'s message for an unknown key would not say which of the two it is in.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use hopper_common::excerpt;

use super::check::{Heading, MAX_NAME, MAX_VERSION, heading, token};
use super::order::order;
use super::parse::{Located, line_of, serde_words};
use super::recipe::{RecipeJob, RecipeType};
use super::{JobType, pick};

/// Every key a `[[recipe]]` may have; must list the fields of [`RawRecipe`].
pub(super) const RECIPE_KEYS: [&str; 6] = ["name", "version", "id", "title", "description", "jobs"];
/// Every key one of its jobs may have; must list the fields of [`RawJob`].
pub(super) const JOB_KEYS: [&str; 4] = ["name", "type", "version", "after"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipe {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    id: Option<Spanned<i64>>,
    title: Option<String>,
    description: Option<String>,
    jobs: Spanned<Vec<RawJob>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    name: Spanned<String>,
    #[serde(rename = "type")]
    job_type: Spanned<String>,
    version: Option<Spanned<String>>,
    #[serde(default)]
    after: Vec<Spanned<String>>,
}

/// A checked recipe, and where the file defines what must be unique across recipes.
struct Placed {
    recipe: RecipeType,
    name_at: usize,
    id_at: usize,
    id_by_position: bool,
}

/// Checks every `[[recipe]]` entry, in file order, against the file's `types`.
pub(super) fn recipes(
    text: &str,
    types: &[JobType],
    entries: &[Spanned<DeValue<'_>>],
) -> Result<Vec<RecipeType>, Located> {
    let mut placed: Vec<Placed> = Vec::with_capacity(entries.len());
    for (n, entry) in entries.iter().enumerate() {
        let index = n + 1;
        let at = format!("[[recipe]] {index}");
        shape(entry, &RECIPE_KEYS, &["name", "jobs"], &at, "a recipe")?;
        if let DeValue::Table(table) = entry.get_ref()
            && let Some((_, DeValue::Array(jobs))) = table
                .iter()
                .map(|(k, v)| (k.get_ref().as_ref(), v.get_ref()))
                .find(|(k, _)| *k == "jobs")
        {
            for (j, job) in jobs.iter().enumerate() {
                let at = format!("{at}, job {}", j + 1);
                shape(job, &JOB_KEYS, &["name", "type"], &at, "a job")?;
            }
        }
        let raw = RawRecipe::deserialize(ValueDeserializer::from(entry.clone())).map_err(|e| {
            Located {
                span: e.span(),
                problem: format!("{at}: {}", serde_words(e.message())),
            }
        })?;
        let checked = check(text, types, raw, index, entry.span().start)?;
        unique(text, &placed, &checked)?;
        placed.push(checked);
    }
    Ok(placed.into_iter().map(|p| p.recipe).collect())
}

/// `entry` is a table with only `allowed` keys and every `required` one.
fn shape(
    entry: &Spanned<DeValue<'_>>,
    allowed: &[&str],
    required: &[&str],
    at: &str,
    what: &str,
) -> Result<(), Located> {
    let DeValue::Table(table) = entry.get_ref() else {
        return Err(Located::at(
            entry.span(),
            format!("{at} is not a table: write {what} as a table of keys"),
        ));
    };
    if let Some(key) = table
        .keys()
        .find(|k| !allowed.contains(&k.get_ref().as_ref()))
    {
        return Err(Located::at(
            key.span(),
            format!(
                "unknown key '{}' in {at}; {what} may have {}",
                excerpt(key.get_ref()),
                allowed.join(", ")
            ),
        ));
    }
    if let Some(key) = required
        .iter()
        .find(|r| !table.keys().any(|k| k.get_ref().as_ref() == **r))
    {
        return Err(Located::at(
            entry.span(),
            format!("{at} has no '{key}', which {what} needs"),
        ));
    }
    Ok(())
}

fn check(
    text: &str,
    types: &[JobType],
    raw: RawRecipe,
    index: usize,
    header: usize,
) -> Result<Placed, Located> {
    let Heading {
        at,
        name,
        name_at,
        version,
        id,
        id_at,
        id_by_position,
    } = heading(
        "recipe",
        index,
        header,
        raw.name,
        raw.version,
        raw.id.as_ref(),
    )?;
    let jobs_at = raw.jobs.span();
    let raw_jobs = raw.jobs.into_inner();
    if raw_jobs.is_empty() {
        return Err(Located::at(
            jobs_at,
            format!(
                "{at}: jobs is empty; list at least one job, as {{ name = \"...\", type = \"...\" }}"
            ),
        ));
    }
    // Names first, so that `after` can name a job written below it.
    let mut names: Vec<(String, usize)> = Vec::with_capacity(raw_jobs.len());
    for job in &raw_jobs {
        let (job_name, job_at) = token(job.name.clone(), "job name", MAX_NAME, &at)?;
        if let Some((_, first)) = names.iter().find(|(n, _)| *n == job_name) {
            return Err(Located::at(
                job_at..job_at,
                format!(
                    "{at}: job name '{job_name}' is used twice (also at line {}); give each job of \
                     a recipe its own name",
                    line_of(text, *first)
                ),
            ));
        }
        names.push((job_name, job_at));
    }
    let mut jobs = Vec::with_capacity(raw_jobs.len());
    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(raw_jobs.len());
    let mut after_spans: Vec<Vec<Range<usize>>> = Vec::with_capacity(raw_jobs.len());
    for (job, (job_name, _)) in raw_jobs.into_iter().zip(&names) {
        let at = format!("{at}, job '{job_name}'");
        let job_type = resolve(types, &job, &at)?;
        let mut waits_on = Vec::with_capacity(job.after.len());
        let mut after = Vec::with_capacity(job.after.len());
        let mut spans = Vec::with_capacity(job.after.len());
        for parent in job.after {
            let parent_name = parent.get_ref();
            let problem = match names.iter().position(|(n, _)| n == parent_name) {
                None => format!(
                    "after names '{}', which is no job of this recipe; name one of its jobs: {}",
                    excerpt(parent_name),
                    names
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(_) if after.contains(parent_name) => {
                    format!("after lists '{parent_name}' twice; list it once")
                }
                Some(_) if parent_name == job_name => format!(
                    "the job is after itself, so it could never start; take '{parent_name}' out \
                     of its after"
                ),
                Some(p) => {
                    waits_on.push(p);
                    spans.push(parent.span());
                    after.push(parent.into_inner());
                    continue;
                }
            };
            return Err(Located::at(parent.span(), format!("{at}: {problem}")));
        }
        parents.push(waits_on);
        after_spans.push(spans);
        jobs.push(Some(RecipeJob {
            name: job_name.clone(),
            job_type,
            after,
        }));
    }
    let ordered = order(&parents).map_err(|cycle| {
        // Point at the first link of the cycle: the `after` entry of its first job that names the next.
        let (first, second) = (cycle[0], cycle[1 % cycle.len()]);
        let link = parents[first].iter().position(|&p| p == second).unwrap_or(0);
        let steps: Vec<String> = (0..cycle.len())
            .map(|k| {
                let (job, parent) = (cycle[k], cycle[(k + 1) % cycle.len()]);
                format!("'{}' is after '{}'", names[job].0, names[parent].0)
            })
            .collect();
        Located::at(
            after_spans[first][link].clone(),
            format!(
                "{at}: jobs wait on each other in a cycle, so none of them could start: {}; take one \
                 of these out of its job's after",
                steps.join(", ")
            ),
        )
    })?;
    let jobs = ordered.into_iter().filter_map(|j| jobs[j].take()).collect();
    Ok(Placed {
        recipe: RecipeType {
            name,
            version,
            id,
            title: raw.title,
            description: raw.description,
            jobs,
        },
        name_at,
        id_at,
        id_by_position,
    })
}

/// The job type a recipe's job names, at its version or else the highest.
fn resolve(types: &[JobType], job: &RawJob, at: &str) -> Result<JobType, Located> {
    let type_name = job.job_type.get_ref();
    let version = match &job.version {
        Some(version) => Some(token(version.clone(), "version", MAX_VERSION, at)?.0),
        None => None,
    };
    if let Some(found) = pick(types, type_name, version.as_deref()) {
        return Ok(found.clone());
    }
    let mut versions: Vec<&str> = types
        .iter()
        .filter(|t| t.name == *type_name)
        .map(|t| t.version.as_str())
        .collect();
    let (span, problem) = match (&job.version, versions.is_empty()) {
        (Some(version), false) => {
            versions.sort_by(|a, b| super::compare_versions(a, b));
            (
                version.span(),
                format!(
                    "type '{type_name}' has no version '{}'; the file defines {}: name one of them, \
                     or leave version out for the highest",
                    version.get_ref(),
                    versions.join(", ")
                ),
            )
        }
        _ => {
            let mut defined: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
            defined.sort_unstable();
            defined.dedup();
            let offer = if defined.is_empty() {
                "the file defines no types".to_owned()
            } else {
                format!("the file defines {}", defined.join(", "))
            };
            (
                job.job_type.span(),
                format!(
                    "type '{}' is not defined; {offer}: name one of them, or add a [[type]] for it",
                    excerpt(type_name)
                ),
            )
        }
    };
    Err(Located::at(span, format!("{at}: {problem}")))
}

/// `next` repeats no earlier recipe's name and version, nor its id.
fn unique(text: &str, earlier: &[Placed], next: &Placed) -> Result<(), Located> {
    let new = &next.recipe;
    if let Some(twin) = earlier
        .iter()
        .find(|p| p.recipe.name == new.name && p.recipe.version == new.version)
    {
        return Err(Located::at(
            next.name_at..next.name_at,
            format!(
                "recipe '{}' version '{}' is defined twice (also at line {}); give one of them \
                 another version",
                new.name,
                new.version,
                line_of(text, twin.name_at)
            ),
        ));
    }
    let Some(holder) = earlier.iter().find(|p| p.recipe.id == new.id) else {
        return Ok(());
    };
    let whose = if next.id_by_position {
        format!(
            "recipe {} sets no id, so its id is its position among the recipes, {}",
            new.label(),
            new.id
        )
    } else {
        format!("recipe {} has id {}", new.label(), new.id)
    };
    let by_position = if holder.id_by_position {
        ", as its position among the recipes"
    } else {
        ""
    };
    Err(Located::at(
        next.id_at..next.id_at,
        format!(
            "{whose}, which recipe {} (line {}) has too{by_position}; recipe ids must be unique: \
             give one of them another id",
            holder.recipe.label(),
            line_of(text, holder.id_at),
        ),
    ))
}
