//! A typed job's last placeholders: its type's templates were filled with the submit's inputs by the
//! API node, and `${job_id}` and `${job_output_dir}` are filled here, at launch, when the id is known
//! and the directory can be made. Only typed jobs go through this: a bare job's arguments are the
//! client's own, and a `$` in them means `$`.

use std::borrow::Cow;
use std::path::PathBuf;

use hopper_common::template::fill_reserved;
use hopper_common::{JobId, JobSpec};

/// The directory a typed job's outputs go to: `job-<id>` in its working directory, made before it
/// starts.
pub(crate) fn output_dir(spec: &JobSpec, id: &JobId) -> PathBuf {
    spec.working_directory.join(format!("job-{id}"))
}

/// `spec` with its reserved placeholders filled; unchanged for a bare job.
pub(crate) fn resolve<'a>(spec: &'a JobSpec, id: &JobId) -> Cow<'a, JobSpec> {
    if spec.job_type.is_none() {
        return Cow::Borrowed(spec);
    }
    let dir = output_dir(spec, id);
    let dir = dir.to_string_lossy();
    let fill = |text: &String| fill_reserved(text, id.as_str(), &dir);
    let mut resolved = spec.clone();
    resolved.script = fill(&spec.script);
    resolved.args = spec.args.iter().map(fill).collect();
    Cow::Owned(resolved)
}

/// Makes a typed job's output directory, once its working directory has passed the launcher's checks.
/// The error is the job's "could not start" reason.
pub(crate) fn make_output_dir(spec: &JobSpec, id: &JobId) -> Result<(), String> {
    if spec.job_type.is_none() {
        return Ok(());
    }
    let dir = output_dir(spec, id);
    std::fs::create_dir_all(&dir).map_err(|e| {
        format!(
            "cannot make the job's output directory {}: {e}",
            dir.display()
        )
    })
}
