//! What a job asks of its process beyond its argv ([`ProcessSetup`]): a working directory made when
//! missing, output files of its own inside that directory, and environment variables. The API node
//! checked the request; here it is checked again against this host's filesystem, with links resolved,
//! because only here can a link lead out of the roots.

use std::path::{Component, Path, PathBuf};

use hopper_common::{JobId, JobSpec, excerpt};
use tokio::process::Command;

/// Makes the job's working directory if it asks for that and it does not exist, once the directory is
/// known to lie under a root: by its name, and by where its nearest existing ancestor really is.
pub(crate) fn make_workdir(spec: &JobSpec, roots: &[PathBuf]) -> Result<(), String> {
    let dir = &spec.working_directory;
    if !spec.process.make_workdir || dir.exists() {
        return Ok(());
    }
    let shown = excerpt(&dir.to_string_lossy());
    let plain = dir.is_absolute() && dir.components().all(|c| c != Component::ParentDir);
    let ancestor = dir.ancestors().find(|a| a.exists()).map(Path::canonicalize);
    let inside = |path: &Path| roots.iter().any(|root| path.starts_with(root));
    match ancestor {
        Some(Ok(real)) if plain && inside(dir) && inside(&real) => std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot make working directory '{shown}': {e}")),
        _ => Err(format!(
            "working directory '{shown}' is outside the allowed roots (HOPPER_WORK_ROOTS)"
        )),
    }
}

/// Where the script's stdout and stderr go: the job's own files inside its working directory
/// (`working_directory`, links already resolved), or `<log_dir>/<id>.out` and `.err`.
pub(crate) fn output_files(
    spec: &JobSpec,
    working_directory: &Path,
    log_dir: &Path,
    id: &JobId,
) -> Result<(PathBuf, PathBuf), String> {
    let own = |asked: &Option<PathBuf>, default: String| match asked {
        Some(path) => inside(working_directory, path),
        None => Ok(log_dir.join(default)),
    };
    Ok((
        own(&spec.process.stdout, format!("{id}.out"))?,
        own(&spec.process.stderr, format!("{id}.err"))?,
    ))
}

/// `relative` inside `dir`: its parent must exist and really lie inside `dir`, and the file itself
/// must not be a link, which opening it would follow.
fn inside(dir: &Path, relative: &Path) -> Result<PathBuf, String> {
    let shown = excerpt(&relative.to_string_lossy());
    let path = dir.join(relative);
    let parent = path
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .ok_or_else(|| format!("output file '{shown}': its directory does not exist"))?;
    let is_link = path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain || is_link || !parent.starts_with(dir) {
        return Err(format!(
            "output file '{shown}' must lie inside the working directory, and not be a link"
        ));
    }
    Ok(path)
}

/// Sets the job's own environment variables; Hopper's, set after, win.
pub(crate) fn set_env(command: &mut Command, spec: &JobSpec) {
    command.envs(spec.process.env.iter().map(|(k, v)| (k, v)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path, make: bool, stdout: Option<&str>) -> JobSpec {
        let mut spec = JobSpec {
            working_directory: dir.to_owned(),
            ..JobSpec::default()
        };
        spec.process.make_workdir = make;
        spec.process.stdout = stdout.map(Into::into);
        spec
    }

    /// A missing working directory is made only when asked and only under a root, even through a
    /// link that leads out.
    #[test]
    fn a_working_directory_is_made_only_under_a_root() {
        let root = tempfile::tempdir().expect("root");
        let outside = tempfile::tempdir().expect("outside");
        let root_path = root.path().canonicalize().expect("root");
        let roots = [root_path.clone()];
        let wanted = root_path.join("task-1/sub");
        assert!(make_workdir(&spec(&wanted, false, None), &roots).is_ok());
        assert!(!wanted.exists(), "made without being asked");
        make_workdir(&spec(&wanted, true, None), &roots).expect("made");
        assert!(wanted.is_dir());
        std::os::unix::fs::symlink(outside.path(), root_path.join("link")).expect("link");
        let through = root_path.join("link/task-2");
        assert!(make_workdir(&spec(&through, true, None), &roots).is_err());
        assert!(!outside.path().join("task-2").exists());
        let elsewhere = outside.path().join("task-3");
        assert!(make_workdir(&spec(&elsewhere, true, None), &roots).is_err());
    }

    /// Output files go inside the working directory; a link, or a directory that leads out, is
    /// refused; without a file of its own the job writes into the log directory.
    #[test]
    fn output_files_stay_inside_the_working_directory() {
        let dir = tempfile::tempdir().expect("dir");
        let outside = tempfile::tempdir().expect("outside");
        let work = dir.path().canonicalize().expect("dir");
        let id = JobId::parse("7").expect("id");
        let logs = Path::new("/logs");
        let (out, err) =
            output_files(&spec(&work, false, Some("job.out")), &work, logs, &id).expect("files");
        assert_eq!((out, err), (work.join("job.out"), logs.join("7.err")));
        std::os::unix::fs::symlink(outside.path(), work.join("away")).expect("link");
        std::os::unix::fs::symlink("/etc/passwd", work.join("evil.out")).expect("link");
        for bad in ["away/job.out", "evil.out", "missing/job.out"] {
            assert!(
                output_files(&spec(&work, false, Some(bad)), &work, logs, &id).is_err(),
                "{bad}"
            );
        }
    }
}
