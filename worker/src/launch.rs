//! Turning a job's spec into a command line, checking everything that could make it run something it
//! should not: the script is a bare name found in a script directory, the working directory really lies
//! under a root, and arguments stay argv tokens.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hopper_common::{JobSpec, check_script_name, excerpt};

use crate::Interpreters;

/// Where and how to run a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Launch {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    pub(crate) working_directory: PathBuf,
}

/// The worker's rules for what may run.
#[derive(Debug, Clone)]
pub(crate) struct Launcher {
    pub(crate) script_dirs: Vec<PathBuf>,
    /// Resolved once ([`Launcher::canonical_roots`]), not for every job.
    pub(crate) work_roots: Vec<PathBuf>,
    pub(crate) interpreters: Interpreters,
}

impl Launcher {
    /// The roots with symlinks resolved, as a job's working directory is compared with them. A root
    /// that cannot be resolved (the worker checks at start that they exist) is kept as given.
    pub(crate) fn canonical_roots(roots: &[PathBuf]) -> Vec<PathBuf> {
        roots
            .iter()
            .map(|root| root.canonicalize().unwrap_or_else(|_| root.clone()))
            .collect()
    }

    /// The command line for `spec`, or why it cannot run (the job's "could not start" reason).
    pub(crate) fn plan(&self, spec: &JobSpec) -> Result<Launch, String> {
        let script = if Path::new(&spec.script).is_absolute() {
            self.script_by_path(&spec.script)?
        } else {
            check_script_name(&spec.script)?;
            self.find_script(&spec.script)?
        };
        let working_directory = self.check_working_directory(&spec.working_directory)?;
        let args = spec.args.iter().map(OsString::from);
        let (program, args) = match self.interpreters.for_script(&spec.script) {
            Some([program, own_args @ ..]) => {
                let args = own_args
                    .iter()
                    .map(OsString::from)
                    .chain([script.into_os_string()]);
                (
                    OsString::from(program),
                    args.chain(spec.args.iter().map(OsString::from)).collect(),
                )
            }
            _ if is_executable(&script) => (script.into_os_string(), args.collect()),
            _ => {
                return Err(format!(
                    "script '{}' has no interpreter for its extension (HOPPER_INTERPRETERS) and is not executable",
                    spec.script
                ));
            }
        };
        Ok(Launch {
            program,
            args,
            working_directory,
        })
    }

    fn find_script(&self, name: &str) -> Result<PathBuf, String> {
        self.script_dirs
            .iter()
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
            .ok_or_else(|| {
                format!(
                    "script '{}' is not in the script directories",
                    excerpt(name)
                )
            })
    }

    /// A program named by absolute path runs only if, links resolved, it lies in a script directory.
    fn script_by_path(&self, raw: &str) -> Result<PathBuf, String> {
        let shown = excerpt(raw);
        let real = Path::new(raw)
            .canonicalize()
            .map_err(|e| format!("program '{shown}' is not accessible: {e}"))?;
        let inside = self.script_dirs.iter().any(|dir| {
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            real.starts_with(&dir)
        });
        if inside && real.is_file() {
            Ok(real)
        } else {
            Err(format!(
                "program '{shown}' is not a file in the script directories (HOPPER_SCRIPT_DIRS)"
            ))
        }
    }

    fn check_working_directory(&self, path: &Path) -> Result<PathBuf, String> {
        let shown = excerpt(&path.to_string_lossy());
        let real = path
            .canonicalize()
            .map_err(|e| format!("working directory '{shown}' is not accessible: {e}"))?;
        if !real.is_dir() {
            return Err(format!("working directory '{shown}' is not a directory"));
        }
        let inside = self.work_roots.iter().any(|root| real.starts_with(root));
        if inside {
            Ok(real)
        } else {
            Err(format!(
                "working directory '{shown}' is outside the allowed roots (HOPPER_WORK_ROOTS)"
            ))
        }
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}
