//! Jobs made from job types: "a job of type T with these inputs" becomes a program, its arguments and
//! its settings, from the operator's templates (`HOPPER_JOB_TYPES`, see `job_types/`).

use hopper_common::JobState;

use super::job_types::JobType;
use super::{Invalid, JobRequest, Jobs, Unavailable};

/// A job type as listed, with how many of its jobs wait and run.
#[derive(Clone, Debug)]
pub struct TypeSummary {
    pub job_type: JobType,
    pub queued: u64,
    pub running: u64,
}

impl Jobs {
    /// Fills a typed request from its type; a bare request is left as it is. The client's own queues,
    /// threads, tries and time limit win over the type's.
    pub(super) fn apply_type(&self, request: &mut JobRequest) -> Result<(), Invalid> {
        let Some(typed) = request.typed.take() else {
            return Ok(());
        };
        let found = self
            .job_types
            .get(&typed.name, typed.version.as_deref())
            .ok_or_else(|| {
                let known: Vec<String> = self.job_types.all().iter().map(JobType::label).collect();
                Invalid::new(
                    "type",
                    match (&typed.version, known.is_empty()) {
                        (_, true) => format!(
                            "unknown job type '{}': this deployment defines none (HOPPER_JOB_TYPES)",
                            hopper_common::excerpt(&typed.name)
                        ),
                        (Some(version), false) => format!(
                            "unknown job type '{}' version '{}'; known: {}",
                            hopper_common::excerpt(&typed.name),
                            hopper_common::excerpt(version),
                            known.join(", ")
                        ),
                        (None, false) => format!(
                            "unknown job type '{}'; known: {}",
                            hopper_common::excerpt(&typed.name),
                            known.join(", ")
                        ),
                    },
                )
            })?;
        // A paused type's jobs are taken and wait, queued and unpublished, until it is resumed.
        request.held = found.paused;
        let (program, args) = found
            .fill(&typed.inputs)
            .map_err(|error| Invalid::new("inputs", error.message))?;
        request.script = program;
        request.args = args;
        if request.queues.is_empty() {
            request.queues = found.queues.iter().map(ToString::to_string).collect();
        }
        if request.threads == 0 {
            request.threads = i64::from(found.threads);
        }
        request.max_tries = request.max_tries.or(Some(i64::from(found.max_tries)));
        request.priority = request.priority.or(Some(i64::from(found.priority)));
        if request.timeout.is_none() {
            request.timeout = found
                .timeout
                .map(|t| humantime::format_duration(t).to_string());
        }
        request.job_type = Some((found.name.clone(), found.version.clone()));
        request.inputs = typed.inputs;
        Ok(())
    }

    /// Every job type, with its jobs queued and running.
    pub async fn types(&self) -> Result<Vec<TypeSummary>, Unavailable> {
        let mut summaries = Vec::new();
        for job_type in self.job_types.all() {
            let group = hopper_common::Group::Type(job_type.name.clone());
            let counts = self
                .store
                .count(&group, &[JobState::Queued, JobState::Running], (None, None))
                .await?;
            let count = |state| {
                counts
                    .iter()
                    .find(|(s, _)| *s == state)
                    .map_or(0, |(_, n)| *n)
            };
            summaries.push(TypeSummary {
                queued: count(JobState::Queued),
                running: count(JobState::Running),
                job_type: job_type.clone(),
            });
        }
        Ok(summaries)
    }
}
