//! What a client asked for ([`JobSpec`]), and how it maps to and from the fields of its Redis hash.
//! This is the one place: the create writes [`JobSpec::to_fields`], and every reader (a whole job, a
//! claim in `claim.lua`, which reads back [`JobSpec::FIELDS`]) parses with [`JobSpec::from_fields`].
//! Adding a field to the spec is one edit here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::{JobId, QueueName};

/// What a client asked for, after its front door and the job core checked it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobSpec {
    pub threads: u32,
    pub queues: Vec<QueueName>,
    /// A bare file name, resolved by the worker inside its script directories.
    pub script: String,
    /// One argv token each; never passed through a shell.
    pub args: Vec<String>,
    pub working_directory: PathBuf,
    /// How many times the job may be started: a worker lost or shut down under a job with tries left
    /// puts it back in its queues; the last try's loss fails it.
    pub max_tries: u32,
    /// A name for people, not unique.
    pub name: Option<String>,
    /// Free `key=value` labels: the front door that made the job, a client's own id.
    pub labels: BTreeMap<String, String>,
    /// How long it may run (time suspended not counted); past it, it is ended and fails with reason
    /// `timeout`, or goes back to its queues while it has tries left.
    pub timeout: Option<Duration>,
    /// The job type it was made from (name, version), if any. A typed job's `script` and `args` are its
    /// type's templates with the inputs filled in; the worker fills `${job_id}` and
    /// `${job_output_dir}` at launch (see `template.rs`).
    pub job_type: Option<(String, String)>,
    /// The inputs a typed job was submitted with, kept to be shown back (Scale's job `inputs`); its
    /// `args` already hold them, filled in.
    pub inputs: BTreeMap<String, String>,
    /// The jobs it waits on: it runs once all of them have succeeded (see `lua/deps.lua`).
    pub after: Vec<JobId>,
    /// Lower runs first; `None` is the default, [`JobSpec::DEFAULT_PRIORITY`]. Each queue's claim
    /// order is by it (`lua/index.lua`, `lua/claim.lua`).
    pub priority: Option<i32>,
    /// Whether a run that fails (an exit code other than 0, or a signal) goes back to its queues while
    /// the job has tries left, as a timeout does. TaskAPI's tasks ask for it.
    pub retry_failures: bool,
    /// How the script's process is set up beyond its argv.
    pub process: ProcessSetup,
}

/// How a job's process is set up beyond its argv, for front doors whose clients say more than GSvar's
/// (the TaskAPI's HTCondor submit descriptions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessSetup {
    /// Environment variables, in order. Hopper's own (`HOPPER_JOB_ID`, ...) win over them.
    pub env: Vec<(String, String)>,
    /// The files stdout and stderr are written to, relative to the working directory (no `..`);
    /// `None`: the worker's log directory.
    pub stdout: Option<PathBuf>,
    pub stderr: Option<PathBuf>,
    /// Whether the worker makes the working directory (under its roots) when it does not exist.
    pub make_workdir: bool,
}

impl JobSpec {
    /// Scale's convention: lower runs first, 100 unless said otherwise. `lua/index.lua` orders claims
    /// by it and has its own copy.
    pub const DEFAULT_PRIORITY: i32 = 100;

    /// Every hash field the spec is stored in, for readers that fetch just these (`claim.lua`).
    pub(crate) const FIELDS: [&'static str; 19] = [
        "threads",
        "queues",
        "script",
        "args",
        "workdir",
        "max_tries",
        "name",
        "labels",
        "timeout",
        "type",
        "type_version",
        "inputs",
        "after",
        "priority",
        "retry_failures",
        "env",
        "stdout_file",
        "stderr_file",
        "make_workdir",
    ];

    /// The hash fields written when the job is created. Empty optional fields are left out.
    pub(crate) fn to_fields(&self) -> Vec<(&'static str, String)> {
        let queues: Vec<&str> = self.queues.iter().map(QueueName::as_str).collect();
        let mut fields = vec![
            ("threads", self.threads.to_string()),
            ("queues", queues.join(",")),
            ("script", self.script.clone()),
            // Serialising strings cannot fail.
            (
                "args",
                serde_json::to_string(&self.args).unwrap_or_default(),
            ),
            (
                "workdir",
                self.working_directory.to_string_lossy().into_owned(),
            ),
            ("max_tries", self.max_tries.max(1).to_string()),
        ];
        if let Some(name) = &self.name {
            fields.push(("name", name.clone()));
        }
        if let Some((name, version)) = &self.job_type {
            fields.push(("type", name.clone()));
            fields.push(("type_version", version.clone()));
        }
        if !self.inputs.is_empty() {
            fields.push((
                "inputs",
                serde_json::to_string(&self.inputs).unwrap_or_default(),
            ));
        }
        if !self.after.is_empty() {
            let ids: Vec<&str> = self.after.iter().map(JobId::as_str).collect();
            fields.push(("after", serde_json::to_string(&ids).unwrap_or_default()));
        }
        if let Some(priority) = self.priority {
            fields.push(("priority", priority.to_string()));
        }
        if let Some(timeout) = self.timeout {
            fields.push(("timeout", timeout.as_millis().to_string()));
        }
        if !self.labels.is_empty() {
            fields.push((
                "labels",
                serde_json::to_string(&self.labels).unwrap_or_default(),
            ));
        }
        if self.retry_failures {
            fields.push(("retry_failures", "1".to_owned()));
        }
        self.process.push_fields(&mut fields);
        fields
    }

    /// Reads the spec back from hash fields (`get` answers `None` for a field the hash lacks). Says
    /// what is wrong when a field cannot be read.
    pub(crate) fn from_fields<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, String> {
        let json = |field: &str| -> Result<Option<serde_json::Value>, String> {
            get(field)
                .filter(|v| !v.is_empty())
                .map(|v| serde_json::from_str(v).map_err(|_| format!("{field} are not JSON")))
                .transpose()
        };
        let args = match json("args")? {
            Some(value) => serde_json::from_value(value).map_err(|_| "args are not strings")?,
            None => Vec::new(),
        };
        let labels = match json("labels")? {
            Some(value) => serde_json::from_value(value).map_err(|_| "labels are not a map")?,
            None => BTreeMap::new(),
        };
        let inputs = match json("inputs")? {
            Some(value) => serde_json::from_value(value).map_err(|_| "inputs are not a map")?,
            None => BTreeMap::new(),
        };
        Ok(Self {
            inputs,
            threads: get("threads").and_then(|v| v.parse().ok()).unwrap_or(1),
            queues: get("queues").map(parse_queue_list).unwrap_or_default(),
            script: get("script").unwrap_or_default().to_owned(),
            args,
            working_directory: get("workdir").unwrap_or_default().into(),
            max_tries: get("max_tries").and_then(|v| v.parse().ok()).unwrap_or(1),
            name: get("name").filter(|v| !v.is_empty()).map(str::to_owned),
            labels,
            timeout: get("timeout")
                .and_then(|v| v.parse().ok())
                .map(Duration::from_millis),
            priority: get("priority").and_then(|v| v.parse().ok()),
            after: match json("after")? {
                Some(value) => {
                    serde_json::from_value(value).map_err(|_| "after is not a list of job ids")?
                }
                None => Vec::new(),
            },
            job_type: get("type").filter(|v| !v.is_empty()).map(|name| {
                let version = get("type_version").unwrap_or_default();
                (name.to_owned(), version.to_owned())
            }),
            retry_failures: get("retry_failures") == Some("1"),
            process: ProcessSetup::from_fields(&get)?,
        })
    }
}

impl ProcessSetup {
    fn push_fields(&self, fields: &mut Vec<(&'static str, String)>) {
        if !self.env.is_empty() {
            fields.push(("env", serde_json::to_string(&self.env).unwrap_or_default()));
        }
        for (field, path) in [("stdout_file", &self.stdout), ("stderr_file", &self.stderr)] {
            if let Some(path) = path {
                fields.push((field, path.to_string_lossy().into_owned()));
            }
        }
        if self.make_workdir {
            fields.push(("make_workdir", "1".to_owned()));
        }
    }

    fn from_fields<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Self, String> {
        let env = match get("env").filter(|v| !v.is_empty()) {
            Some(text) => {
                serde_json::from_str(text).map_err(|_| "env is not a list of name, value pairs")?
            }
            None => Vec::new(),
        };
        let path = |field: &str| get(field).filter(|v| !v.is_empty()).map(PathBuf::from);
        Ok(Self {
            env,
            stdout: path("stdout_file"),
            stderr: path("stderr_file"),
            make_workdir: get("make_workdir") == Some("1"),
        })
    }
}

/// The `queues` field as stored: comma-separated names.
pub(crate) fn parse_queue_list(list: &str) -> Vec<QueueName> {
    list.split(',')
        .filter_map(|q| QueueName::parse(q).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the create writes, a reader gets back, field for field.
    #[test]
    fn a_spec_reads_back_as_written() {
        let spec = JobSpec {
            threads: 4,
            queues: vec![
                QueueName::parse("a").expect("queue"),
                QueueName::parse("b.c").expect("queue"),
            ],
            script: "analyze.php".to_owned(),
            args: vec!["-x".to_owned(), "two words".to_owned(), String::new()],
            working_directory: "/work/p".into(),
            max_tries: 3,
            name: Some("sample 1".to_owned()),
            labels: BTreeMap::from([("door".to_owned(), "native".to_owned())]),
            timeout: Some(Duration::from_secs(90)),
            job_type: Some(("kml-footprint".to_owned(), "1.0.0".to_owned())),
            inputs: BTreeMap::from([("input_file".to_owned(), "a b.kml".to_owned())]),
            after: vec![
                JobId::parse("7").expect("id"),
                JobId::parse("9").expect("id"),
            ],
            priority: Some(-5),
            retry_failures: true,
            process: ProcessSetup {
                env: vec![
                    ("A".to_owned(), "1 2".to_owned()),
                    ("B".to_owned(), String::new()),
                ],
                stdout: Some("out/job.out".into()),
                stderr: Some("job.err".into()),
                make_workdir: true,
            },
        };
        let fields = spec.to_fields();
        assert!(
            fields
                .iter()
                .all(|(field, _)| JobSpec::FIELDS.contains(field)),
            "a field written is missing from FIELDS, so a claim would not read it"
        );
        let get = |name: &str| {
            fields
                .iter()
                .find(|(field, _)| *field == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(JobSpec::from_fields(get), Ok(spec));
    }

    /// The claim order (`lua/index.lua`) falls back to the same default priority as the spec.
    #[test]
    fn the_claim_order_knows_the_default_priority() {
        let expected = format!("local DEFAULT_PRIORITY = {}\n", JobSpec::DEFAULT_PRIORITY);
        assert!(include_str!("store/lua/index.lua").contains(&expected));
    }
}
