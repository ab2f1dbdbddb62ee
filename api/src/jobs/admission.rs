//! The checks a job must pass before it is queued. A job that fails one is refused for a lasting reason:
//! asking again will not help, so front doors record it as failed and say why.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use hopper_common::{JobId, JobSpec, ProcessSetup, QueueName, check_script_name, excerpt};

use super::naming;
use crate::TriesPolicy;

/// Most tries a client may ask for, as `HOPPER_MAX_TRIES` allows at most.
const MAX_TRIES: i64 = 100;

/// What a front door hands over for checking, in its own terms already decoded.
#[derive(Debug, Default)]
pub struct JobRequest {
    /// The front door that made it, recorded as the label `door`.
    pub door: &'static str,
    pub threads: i64,
    pub queues: Vec<String>,
    pub script: String,
    pub args: Vec<String>,
    pub working_directory: String,
    pub name: Option<String>,
    /// The client's own labels; `door` is Hopper's.
    pub labels: BTreeMap<String, String>,
    /// Tries the client asks for; `None` takes the queues' policy (`HOPPER_MAX_TRIES`).
    pub max_tries: Option<i64>,
    /// The time limit, as the client wrote it (`30min`).
    pub timeout: Option<String>,
    /// Set by the core when the job was made from a job type: (name, version).
    pub job_type: Option<(String, String)>,
    /// Set by the core with `job_type`: the inputs the type was filled with.
    pub inputs: BTreeMap<String, String>,
    /// Ids of the jobs it waits on.
    pub after: Vec<String>,
    /// Lower runs first; `None`: the default (100), or the job type's.
    pub priority: Option<i64>,
    /// Whether `script` may be an absolute path inside a script directory. GSvar's door says no: megSAP
    /// names its pipelines by bare name, and its contract refuses anything else.
    pub program_by_path: bool,
    /// Set by the core for a job of a paused type: it is recorded and waits, unpublished, until an API
    /// node finds its type resumed.
    pub held: bool,
    /// A job of a type rather than a program: filled by the core ([`super::types`]) before the checks.
    pub typed: Option<TypedRequest>,
    /// Whether a failed run goes back to the queues while the job has tries left (TaskAPI's tasks).
    pub retry_failures: bool,
    /// Environment, output files and whether the working directory is made (see `process.rs`).
    pub process: ProcessSetup,
    /// The name its client gives it, for [`super::Jobs::submit_named`].
    pub alias: Option<super::ClientAlias>,
}

/// "A job of type T with these inputs".
#[derive(Debug, Default)]
pub struct TypedRequest {
    pub name: String,
    /// `None`: the type's highest version.
    pub version: Option<String>,
    pub inputs: BTreeMap<String, String>,
}

/// The admission policy of this node.
#[derive(Debug, Clone)]
pub struct Admission {
    pub work_roots: Vec<PathBuf>,
    pub script_dirs: Option<Vec<PathBuf>>,
    pub max_threads: u32,
    pub tries: TriesPolicy,
}

/// A submit refused for a lasting reason. The spec is kept (as far as it could be read) so the job can
/// be recorded with its reason.
#[derive(Debug)]
pub struct Refusal {
    /// The request field at fault, in the core's terms (`threads`, `queues`, `script`, `args`,
    /// `working_directory`); each front door names it in its own.
    pub field: &'static str,
    pub reason: String,
    pub spec: JobSpec,
}

impl Admission {
    pub fn admit(&self, request: JobRequest) -> Result<JobSpec, Box<Refusal>> {
        // Empty queue names are dropped: GSvar sends `[""]` when a megSAP queue setting is empty.
        let named: Vec<&String> = request.queues.iter().filter(|q| !q.is_empty()).collect();
        let queues: Result<Vec<QueueName>, String> =
            named.iter().map(|q| QueueName::parse(q)).collect();
        let threads = u32::try_from(request.threads).unwrap_or(0);
        let queues_ok = queues.clone().unwrap_or_default();
        let mut labels = request.labels;
        let client_door = labels.insert("door".to_owned(), request.door.to_owned());
        let spec = JobSpec {
            max_tries: request.max_tries.map_or_else(
                || self.tries.for_queues(&queues_ok),
                |n| u32::try_from(n).unwrap_or(0),
            ),
            threads,
            queues: queues_ok,
            script: request.script,
            args: request.args,
            working_directory: PathBuf::from(&request.working_directory),
            name: request.name,
            labels,
            timeout: None,
            job_type: request.job_type,
            inputs: request.inputs,
            priority: request
                .priority
                .and_then(|p| i32::try_from(p).ok())
                .filter(|p| PRIORITIES.contains(p)),
            after: request
                .after
                .iter()
                .filter_map(|id| JobId::parse(id).ok())
                .collect(),
            retry_failures: request.retry_failures,
            process: request.process,
        };
        let after_ok = request.after.iter().try_for_each(|id| {
            JobId::parse(id)
                .map(drop)
                .map_err(|why| format!("after: {why}"))
        });
        let timeout = request.timeout.as_deref().map(check_timeout).transpose();
        let mut spec = spec;
        spec.timeout = timeout.clone().ok().flatten();
        let at = |field: &'static str| move |reason: String| (field, reason);
        let verdict = self
            .check_threads(request.threads)
            .map_err(at("threads"))
            .and_then(|()| check_max_tries(request.max_tries).map_err(at("max_tries")))
            .and_then(|()| timeout.map(drop).map_err(at("timeout")))
            .and_then(|()| after_ok.map_err(at("after")))
            .and_then(|()| check_priority(request.priority).map_err(at("priority")))
            .and_then(|()| naming::check_name(spec.name.as_deref()).map_err(at("name")))
            .and_then(|()| {
                naming::check_labels(&spec.labels, client_door.is_some()).map_err(at("labels"))
            })
            .and(queues.map(drop).map_err(at("queues")))
            .and_then(|()| {
                if spec.queues.is_empty() {
                    Err(("queues", no_queue()))
                } else {
                    Ok(())
                }
            })
            .and_then(|()| {
                self.check_script(&spec.script, request.program_by_path)
                    .map_err(at("script"))
            })
            .and_then(|()| check_arguments(&spec.args).map_err(at("args")))
            .and_then(|()| super::process::check(&spec.process))
            .and_then(|()| {
                self.check_working_directory(&request.working_directory)
                    .map_err(at("working_directory"))
            });
        match verdict {
            Ok(()) => Ok(spec),
            Err((field, reason)) => Err(Box::new(Refusal {
                field,
                reason,
                spec,
            })),
        }
    }

    fn check_threads(&self, threads: i64) -> Result<(), String> {
        if threads < 1 || threads > i64::from(self.max_threads) {
            return Err(format!(
                "threads must be between 1 and {}, not {threads}",
                self.max_threads
            ));
        }
        Ok(())
    }

    fn check_script(&self, script: &str, by_path: bool) -> Result<(), String> {
        if by_path && Path::new(script).is_absolute() {
            return self.check_program_path(script);
        }
        check_script_name(script)?;
        let Some(dirs) = &self.script_dirs else {
            return Ok(());
        };
        if dirs.iter().any(|dir| dir.join(script).is_file()) {
            Ok(())
        } else {
            Err(format!(
                "script '{}' is not in the script directories",
                excerpt(script)
            ))
        }
    }

    /// A program named by absolute path must lie in a script directory once links are resolved. A node
    /// without HOPPER_SCRIPT_DIRS refuses such programs, since it cannot tell (the worker checks again).
    fn check_program_path(&self, raw: &str) -> Result<(), String> {
        let shown = excerpt(raw);
        let Some(dirs) = &self.script_dirs else {
            return Err(format!(
                "program '{shown}' is a path, which this node accepts only with HOPPER_SCRIPT_DIRS set"
            ));
        };
        let path = Path::new(raw);
        if raw.contains('\0') || path.components().any(|c| c == Component::ParentDir) {
            return Err(format!(
                "program '{shown}' must be an absolute path without '..'"
            ));
        }
        let real = path
            .canonicalize()
            .map_err(|_| format!("program '{shown}' does not exist"))?;
        let inside = dirs.iter().any(|dir| {
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            real.starts_with(&dir)
        });
        if inside && real.is_file() {
            Ok(())
        } else {
            Err(format!(
                "program '{shown}' is not a file in the script directories (HOPPER_SCRIPT_DIRS)"
            ))
        }
    }

    fn check_working_directory(&self, raw: &str) -> Result<(), String> {
        let path = Path::new(raw);
        let shown = excerpt(raw);
        if raw.contains('\0') {
            return Err(format!(
                "working directory '{shown}' contains a NUL byte, which no path can hold"
            ));
        }
        if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
            return Err(format!(
                "working directory '{shown}' must be an absolute path without '..'"
            ));
        }
        // A symbolic link could lead out of the roots; when this node sees the directory, judge where
        // it really is. The worker checks again before it runs anything.
        let real = path.canonicalize().unwrap_or_else(|_| path.to_owned());
        if under_roots(path, &self.work_roots) && under_roots(&real, &self.work_roots) {
            Ok(())
        } else {
            Err(format!(
                "working directory '{shown}' is outside the allowed roots (HOPPER_WORK_ROOTS)"
            ))
        }
    }
}

/// An argument travels to the script as a C string, which ends at its first NUL byte: the worker could
/// only fail to start such a job, so it is refused here, where the client hears why.
fn check_arguments(args: &[String]) -> Result<(), String> {
    match args.iter().position(|arg| arg.contains('\0')) {
        Some(index) => Err(format!(
            "script argument {} contains a NUL byte, which no program can be given",
            index + 1
        )),
        None => Ok(()),
    }
}

/// The priorities a job may have: room for the ordering's planned encoding (priority, then id, in one
/// sorted-set score), and more than any deployment needs.
const PRIORITIES: std::ops::RangeInclusive<i32> = -99_999..=99_999;

pub(crate) fn check_priority(asked: Option<i64>) -> Result<(), String> {
    match asked {
        Some(p) if !(-99_999..=99_999).contains(&p) => Err(format!(
            "priority must be between -99999 and 99999 (lower runs first), not {p}"
        )),
        _ => Ok(()),
    }
}

fn check_max_tries(asked: Option<i64>) -> Result<(), String> {
    match asked {
        Some(n) if !(1..=MAX_TRIES).contains(&n) => Err(format!(
            "max_tries must be between 1 and {MAX_TRIES}, not {n}"
        )),
        _ => Ok(()),
    }
}

/// A time limit of at least a second and at most a year.
fn check_timeout(raw: &str) -> Result<std::time::Duration, String> {
    let limit = hopper_common::parse_duration(raw).map_err(|_| {
        format!(
            "timeout '{}' is not a duration such as 30min or 2h",
            excerpt(raw)
        )
    })?;
    if limit < std::time::Duration::from_secs(1)
        || limit > std::time::Duration::from_secs(366 * 86_400)
    {
        return Err(format!("timeout must be between 1s and 366days, not {raw}"));
    }
    Ok(limit)
}

fn under_roots(path: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|root| {
        let real_root = root.canonicalize().unwrap_or_else(|_| root.clone());
        path.starts_with(root) || path.starts_with(&real_root)
    })
}

fn no_queue() -> String {
    "no usable queue: the list of queues is empty".to_owned()
}
