//! Which jobs a requeue picks, and the requeue of each (reference §1.7, §2). Scale's jobs are the jobs
//! of the types file's types: they are read from each type's index, or exactly the `job_ids` asked for,
//! and every filter given must hold. Only failed and canceled jobs change; the others are matched and
//! shown as they are, as Scale's `test_requeue_ignored` shows a COMPLETED job.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use hopper_common::{Job, JobId, JobQuery, JobState};

use super::{ScaleError, job_view, status};
use crate::jobs::Jobs;
use crate::jobs::job_types::{JobType, JobTypes};
use crate::jobs::recipes::RECIPE_LABEL;

/// Most jobs one requeue may match. Scale queues its own work in batches of 1000 messages; Hopper
/// answers when it is done, so the work of one request is bounded to keep that answer in seconds.
pub(crate) const MAX_MATCHED: usize = 5000;

/// Jobs read from an index at a time.
const PAGE: u32 = 500;

/// The filters of a requeue, v5's and v6's; an empty list is no filter.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Selection {
    /// `last_modified` (the job's last change) at or after, at or before.
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// A Scale status; one Scale does not have matches nothing, as its SQL would.
    pub status: Option<String>,
    pub job_ids: Vec<i64>,
    pub job_type_ids: Vec<i64>,
    pub job_type_names: Vec<String>,
    pub job_type_categories: Vec<String>,
    pub error_categories: Vec<String>,
    /// v6: jobs of these recipes (their label `recipe`).
    pub recipe_ids: Vec<i64>,
    /// A filter no Hopper job can pass (v6's `batch_ids`, `error_ids`, `is_superseded: true`): Hopper
    /// has no batches, no error records and no superseded jobs, so nothing matches rather than
    /// everything, which would requeue jobs the client did not mean.
    pub matches_nothing: bool,
}

/// `MAX_MATCHED` exceeded: the client narrows its filters.
pub(crate) fn too_many() -> ScaleError {
    ScaleError::bad_parameter(format!(
        "This requeue matches more than {MAX_MATCHED} jobs, the most Hopper requeues in one request; \
         nothing was requeued. Narrow it with job_ids, job_type_ids, status, started or ended and ask again."
    ))
}

impl Selection {
    /// The types whose jobs may match: those of the file that pass the type filters.
    fn types<'a>(&self, types: &'a JobTypes) -> Vec<&'a JobType> {
        types
            .all()
            .iter()
            .filter(|t| {
                self.job_type_ids.is_empty() || self.job_type_ids.contains(&i64::from(t.id))
            })
            .filter(|t| self.job_type_names.is_empty() || self.job_type_names.contains(&t.name))
            .filter(|t| {
                self.job_type_categories.is_empty()
                    || t.category
                        .as_ref()
                        .is_some_and(|c| self.job_type_categories.contains(c))
            })
            .collect()
    }

    /// The core states the status filter picks; `None` without one.
    fn states(&self) -> Option<&'static [JobState]> {
        self.status.as_deref().map(status::states)
    }

    /// Whether `job`, of one of `chosen`, passes every filter but the type's.
    fn matches(&self, job: &Job, chosen: &[&JobType], types: &JobTypes) -> bool {
        let Some(job_type) = job_view::job_type_of(job, types) else {
            return false;
        };
        let modified = i128::from(job.changed_ms.unwrap_or(job.created_ms)) * 1000;
        let micros = |t: DateTime<Utc>| i128::from(t.timestamp_micros());
        chosen.iter().any(|t| std::ptr::eq(*t, job_type))
            && self
                .states()
                .is_none_or(|states| states.contains(&job.state))
            && self.started.is_none_or(|t| modified >= micros(t))
            && self.ended.is_none_or(|t| modified <= micros(t))
            && (self.job_ids.is_empty()
                || job_view::id_number(job)
                    .as_i64()
                    .is_some_and(|id| self.job_ids.contains(&id)))
            && (self.error_categories.is_empty() || self.error_category_matches(job))
            && (self.recipe_ids.is_empty() || self.recipe_matches(job))
    }

    /// Scale filters on the job's error, which only a failed job has.
    fn error_category_matches(&self, job: &Job) -> bool {
        job.failure
            .as_ref()
            .filter(|_| job.state == JobState::Failed)
            .is_some_and(|f| {
                let category = job_view::error_category(f);
                self.error_categories.iter().any(|c| c == category)
            })
    }

    fn recipe_matches(&self, job: &Job) -> bool {
        job.spec
            .labels
            .get(RECIPE_LABEL)
            .and_then(|id| id.parse::<i64>().ok())
            .is_some_and(|id| self.recipe_ids.contains(&id))
    }

    /// Every job that matches, at most [`MAX_MATCHED`].
    pub(crate) async fn find(&self, jobs: &Jobs) -> Result<Vec<Job>, ScaleError> {
        let types = &jobs.job_types;
        let chosen = self.types(types);
        if self.matches_nothing || chosen.is_empty() || self.states().is_some_and(<[_]>::is_empty) {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        let mut keep = |job: Job| {
            if self.matches(&job, &chosen, types) {
                found.push(job);
            }
            found.len() <= MAX_MATCHED
        };
        if !self.job_ids.is_empty() {
            let ids: BTreeSet<i64> = self.job_ids.iter().copied().collect();
            for id in ids {
                let Ok(id) = JobId::parse(&id.to_string()) else {
                    continue;
                };
                if let Some(job) = jobs.get(&id).await.map_err(unavailable)?
                    && !keep(job)
                {
                    return Err(too_many());
                }
            }
            return Ok(found);
        }
        let names: BTreeSet<&str> = chosen.iter().map(|t| t.name.as_str()).collect();
        for name in names {
            let mut query = JobQuery {
                states: self.states().map(<[_]>::to_vec).unwrap_or_default(),
                job_type: Some(name.to_owned()),
                limit: PAGE,
                ..JobQuery::default()
            };
            loop {
                let page = jobs.list(&query).await.map_err(unavailable)?;
                for job in page.jobs {
                    if !keep(job) {
                        return Err(too_many());
                    }
                }
                match page.next {
                    Some(next) => query.cursor = Some(next),
                    None => break,
                }
            }
        }
        Ok(found)
    }
}

/// Requeues each failed or canceled job of `matched` with a fresh set of its type's tries (Scale's
/// `max_tries = num_exes + job_type.max_tries`) and `priority` when given; a dependent job that never
/// ran goes back to waiting on its parents (Scale's "uncancel" to PENDING). Answers every matched job
/// read again, by last change, oldest first, as Scale orders by `last_modified`.
pub(crate) async fn requeue(
    jobs: &Jobs,
    matched: Vec<Job>,
    priority: Option<i32>,
) -> Result<Vec<Job>, ScaleError> {
    let mut after = Vec::with_capacity(matched.len());
    for (done, job) in matched.into_iter().enumerate() {
        if matches!(job.state, JobState::Failed | JobState::Canceled) {
            let tries = job_view::job_type_of(&job, &jobs.job_types).map_or(1, |t| t.max_tries);
            // A job another client retried first, or one refused at submit, is shown as it is now.
            jobs.requeue(&job.id, tries, priority)
                .await
                .map_err(|e| partly(done, &e))?;
        }
        // A job removed meanwhile (past its retention) is no longer Scale's to show.
        if let Some(now) = jobs.get(&job.id).await.map_err(|e| partly(done, &e))? {
            after.push(now);
        }
    }
    after.sort_by_key(|job| {
        (
            job.changed_ms.unwrap_or(job.created_ms),
            job_view::id_number(job).as_u64(),
        )
    });
    Ok(after)
}

fn unavailable(error: crate::jobs::Unavailable) -> ScaleError {
    ScaleError::unavailable(error.to_string())
}

/// Redis stopped answering part way: say how far the requeue got, and that asking again is safe
/// (a job already requeued is no longer failed or canceled, so it is not requeued twice).
fn partly(done: usize, _error: &crate::jobs::Unavailable) -> ScaleError {
    ScaleError::unavailable(format!(
        "Hopper lost its job store (Redis) part way through this requeue, after {done} of the matched \
         jobs; ask again to requeue the rest (a job already requeued is not requeued twice)"
    ))
}

#[cfg(test)]
mod tests {
    // A failed unwrap in a test names the case in its panic; that is the point here.
    #![allow(clippy::unwrap_used)]

    use super::*;

    const TYPES: &str = r#"
[[type]]
name = "a"
id = 1
category = "x"
program = "a.php"
queues = ["q"]

[[type]]
name = "a"
version = "2.0"
id = 2
program = "a.php"
queues = ["q"]

[[type]]
name = "b"
id = 3
category = "x"
program = "b.php"
queues = ["q"]
"#;

    fn chosen(selection: &Selection) -> Vec<u32> {
        let types = JobTypes::parse(TYPES, "test").unwrap();
        selection.types(&types).iter().map(|t| t.id).collect()
    }

    /// Every type filter given must hold; within one, any value does; none given is every type.
    #[test]
    fn type_filters_combine() {
        assert_eq!(chosen(&Selection::default()), [1, 2, 3]);
        let names = Selection {
            job_type_names: vec!["a".into()],
            ..Selection::default()
        };
        assert_eq!(chosen(&names), [1, 2]);
        let both = Selection {
            job_type_categories: vec!["x".into()],
            ..names.clone()
        };
        assert_eq!(chosen(&both), [1]);
        let ids = Selection {
            job_type_ids: vec![2, 3, 99],
            ..Selection::default()
        };
        assert_eq!(chosen(&ids), [2, 3]);
        let none = Selection {
            job_type_ids: vec![3],
            ..names
        };
        assert!(chosen(&none).is_empty());
    }

    /// A status Scale does not have picks no state, so it matches nothing (as Scale's SQL would).
    #[test]
    fn an_unknown_status_picks_nothing() {
        let selection = Selection {
            status: Some("failed".into()),
            ..Selection::default()
        };
        assert_eq!(selection.states(), Some(&[][..]));
        assert_eq!(Selection::default().states(), None);
        assert_eq!(too_many().status.as_u16(), 400);
    }
}
