//! A TaskAPI create (`POST /api/tasks`) as a core submit: the task's id becomes the job's client
//! alias, and its HTCondor submit description (`subParams`) a program, argv, working directory,
//! environment, output files, threads, queue and time limit. Every key that breaks a rule is reported,
//! naming it, and nothing is created.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::body::Body;
use super::condor;
use super::error::Refusal;
use super::settings::Settings;
use crate::jobs::{ClientAlias, JobRequest};
use hopper_common::ProcessSetup;

/// Longest task id, in characters.
const MAX_ID: usize = 64;

/// Reads a create's body into the task's id and the job to submit.
pub(crate) fn read(bytes: &[u8], settings: &Settings) -> Result<(String, JobRequest), Refusal> {
    let mut body = Body::parse(bytes, true)?;
    let id = body.string("id");
    let state = body.int("state", Some(0));
    let sub_params = body.string_map("subParams");
    let tries = body.int("retriesLeft", Some(2));
    body.finish()?;

    let mut checks = Body::parse(b"{}", true)?;
    let id = if id.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        if !valid_id(&id) {
            checks.refuse(
                &["body", "id"],
                format!("a task id is 1-{MAX_ID} of A-Za-z0-9._-"),
                Some(json!(id)),
            );
        }
        id
    };
    if state != 0 {
        checks.refuse(
            &["body", "state"],
            "a new task is queued (state 0); Hopper sets the other states as the task runs",
            Some(json!(state)),
        );
    }
    if !(1..=100).contains(&tries) {
        checks.refuse(
            &["body", "retriesLeft"],
            "a task needs at least 1 start (at most 100): with 0 it would stay queued for ever",
            Some(json!(tries)),
        );
    }
    let request = job(&id, &sub_params, tries, settings, &mut checks);
    checks.finish()?;
    Ok((id, request))
}

fn valid_id(id: &str) -> bool {
    id.len() <= MAX_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && id != "."
        && id != ".."
}

/// The job a submit description asks for; each key at fault is refused on `checks`.
fn job(
    id: &str,
    params: &BTreeMap<String, String>,
    tries: i64,
    settings: &Settings,
    checks: &mut Body,
) -> JobRequest {
    let at = |key: &str| ["body", "subParams", key].map(str::to_owned);
    let mut refuse = |key: &str, why: String| {
        let loc = at(key);
        let loc: Vec<&str> = loc.iter().map(String::as_str).collect();
        checks.refuse(&loc, why, params.get(key).map(|v| json!(v)));
    };
    let executable = params.get("executable").cloned().unwrap_or_default();
    if executable.is_empty() {
        refuse(
            "executable",
            "executable is required: the program to run".to_owned(),
        );
    } else if !Path::new(&executable).is_absolute() {
        refuse(
            "executable",
            "executable must be an absolute path inside the script directories (HOPPER_SCRIPT_DIRS)"
                .to_owned(),
        );
    }
    let args = parse(params, "arguments", &mut refuse, |v| {
        condor::parse_arguments(v).map_err(|e| e.to_string())
    });
    let env = parse(params, "environment", &mut refuse, |v| {
        condor::parse_environment(v).map_err(|e| e.to_string())
    });
    let threads = parse(params, "request_cpus", &mut refuse, |v| {
        condor::parse_request_cpus(v).map_err(|e| e.to_string())
    })
    .map_or(1, i64::from);
    let timeout = match params.get("+MaxRuntime") {
        Some(value) => condor::parse_max_runtime(value)
            .map_err(|e| refuse("+MaxRuntime", e.to_string()))
            .ok(),
        None => Some(settings.expiry),
    }
    .filter(|limit| !limit.is_zero())
    .map(|limit| humantime::format_duration(limit).to_string());
    let (workdir, make_workdir) = match params.get("initialdir") {
        Some(dir) if !dir.is_empty() => (PathBuf::from(dir), false),
        _ => match &settings.root {
            Some(root) => (root.join(id), true),
            None => {
                refuse(
                    "initialdir",
                    "initialdir is required: this node has no HOPPER_TASKAPI_ROOT to make one under"
                        .to_owned(),
                );
                (PathBuf::new(), false)
            }
        },
    };
    let mut output = |key: &str| {
        let value = params.get(key).filter(|v| !v.is_empty())?;
        let path = Path::new(value);
        let relative = if path.is_absolute() {
            path.strip_prefix(&workdir).ok().map(Path::to_owned)
        } else {
            Some(path.to_owned())
        };
        if relative.is_none() {
            refuse(key, format!("{key} must name a file inside initialdir"));
        }
        relative
    };
    let process = ProcessSetup {
        env: env.unwrap_or_default(),
        stdout: output("output"),
        stderr: output("error"),
        make_workdir,
    };
    let queue = params
        .get("queue")
        .filter(|q| !q.is_empty())
        .cloned()
        .unwrap_or_else(|| settings.queue.clone());
    JobRequest {
        door: super::DOOR,
        threads,
        queues: vec![queue],
        script: executable,
        args: args.unwrap_or_default(),
        working_directory: workdir.to_string_lossy().into_owned(),
        name: Some(id.to_owned()),
        max_tries: Some(tries),
        timeout,
        program_by_path: true,
        retry_failures: true,
        process,
        alias: Some(ClientAlias {
            name: id.to_owned(),
            request: Value::from(serde_json::Map::from_iter(
                params.iter().map(|(k, v)| (k.clone(), json!(v))),
            ))
            .to_string(),
        }),
        ..JobRequest::default()
    }
}

/// Parses `key` if present; a value that does not parse is refused, naming the key.
fn parse<T>(
    params: &BTreeMap<String, String>,
    key: &str,
    refuse: &mut impl FnMut(&str, String),
    parser: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    let value = params.get(key)?;
    parser(value).map_err(|why| refuse(key, why)).ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings(expiry: Duration) -> Settings {
        Settings {
            root: Some(PathBuf::from("/work/taskroot")),
            queue: "tasks".to_owned(),
            expiry,
            open: true,
        }
    }

    fn read_with(params: Value, expiry: Duration) -> JobRequest {
        let body = json!({"id": "t1", "subParams": params}).to_string();
        read(body.as_bytes(), &settings(expiry)).expect("valid").1
    }

    /// The time limit is `+MaxRuntime`, else HOPPER_TASKAPI_EXPIRY, and `0` (or `0s`) means none; the
    /// working directory defaults to the root's directory for the task, made when it starts; the
    /// queue defaults to HOPPER_TASKAPI_QUEUE; failed runs are retried.
    #[test]
    fn what_subparams_leave_out_comes_from_the_settings() {
        let minute = Duration::from_secs(60);
        let plain = read_with(json!({"executable": "/s/a.sh"}), minute);
        assert_eq!(plain.timeout.as_deref(), Some("1m"));
        assert_eq!(plain.working_directory, "/work/taskroot/t1");
        assert!(plain.process.make_workdir && plain.retry_failures);
        assert_eq!(plain.queues, ["tasks"]);
        assert_eq!(plain.max_tries, Some(2));
        let own = read_with(
            json!({"executable": "/s/a.sh", "+MaxRuntime": "90"}),
            minute,
        );
        assert_eq!(own.timeout.as_deref(), Some("1m 30s"));
        let none = read_with(json!({"executable": "/s/a.sh", "+MaxRuntime": "0"}), minute);
        assert_eq!(none.timeout, None);
        assert_eq!(
            read_with(json!({"executable": "/s/a.sh"}), Duration::ZERO).timeout,
            None
        );
        let given = read_with(
            json!({"executable": "/s/a.sh", "initialdir": "/work/p", "output": "/work/p/o.txt", "queue": "q"}),
            minute,
        );
        assert_eq!(given.working_directory, "/work/p");
        assert!(!given.process.make_workdir);
        assert_eq!(given.process.stdout, Some(PathBuf::from("o.txt")));
        assert_eq!(given.queues, ["q"]);
    }
}
