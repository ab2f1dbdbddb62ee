//! `enqueue`: a job for a task processor, with its input data. The task names a job type (`default`
//! when none is given) whose program gets the input file and the result directory as its inputs
//! `indata` and `result`. Each job gets its own directory, `<HOPPER_BATCHELOR_ROOT>/<hostid>/<result>/`,
//! made here with the input in `indata` and an empty `result/`; a refused enqueue removes it again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::reply::Failure;
use super::view::Kept;
use crate::AppState;
use crate::jobs::{ClientAlias, JobRequest, NamedSubmitted, NotSubmitted, TypedRequest};

/// The input of an enqueue, as `JobData` reads it (or a multipart upload, as type `file`).
pub(crate) struct JobData {
    pub data: Vec<u8>,
    pub kind: String,
    pub task: String,
    pub name: Option<String>,
}

impl JobData {
    /// Reads `JobData` from a JSON body, with the original's messages for what is missing.
    pub(crate) fn from_json(input: &serde_json::Map<String, Value>) -> Result<Self, Failure> {
        let text = |key: &str| {
            input
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let data =
            text("data").ok_or_else(|| Failure::new("The data key is missing in job data"))?;
        let kind =
            text("type").ok_or_else(|| Failure::new("The type key is missing in job data"))?;
        Ok(Self {
            data: data.as_bytes().to_vec(),
            kind: kind.to_owned(),
            task: text("task").unwrap_or("default").to_owned(),
            name: text("name").map(str::to_owned),
        })
    }
}

/// Queues `input` for `hostid`; the new job's id.
pub(crate) async fn enqueue(
    state: &AppState,
    hostid: &str,
    input: JobData,
) -> Result<hopper_common::JobId, Failure> {
    let mut input = input;
    match input.kind.as_str() {
        "data" | "file" => {}
        "url" => {
            let url = String::from_utf8_lossy(&input.data).into_owned();
            input.data = super::fetch::fetch(&url, &state.batchelor.fetch_hosts).await?;
        }
        "pipe" => {
            return Err(Failure::new(
                "Input type pipe (another job's output) is not supported here; send the data itself",
            ));
        }
        other => return Err(Failure::new(format!("Invalid enum value {other}"))),
    }
    if state.jobs.job_types.get(&input.task, None).is_none() {
        return Err(Failure::new(format!(
            "The task processor {} is missing",
            input.task
        )));
    }
    let root = state.batchelor.root.as_ref().ok_or_else(|| {
        Failure::new("This server takes no jobs: set HOPPER_BATCHELOR_ROOT to a directory for them")
    })?;
    let (result, dir) = make_directory(&root.join(hostid))?;
    let indata = dir.join("indata");
    let output = dir.join("result");
    let written = std::fs::write(&indata, &input.data).and_then(|()| std::fs::create_dir(&output));
    if let Err(error) = written {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(Failure::new(format!("Failed save job data: {error}")));
    }
    let jobid = uuid::Uuid::new_v4().to_string();
    let kept = Kept {
        result,
        hostid: hostid.to_owned(),
        task: input.task.clone(),
        name: input.name.clone(),
    };
    let request = JobRequest {
        door: super::DOOR,
        working_directory: dir.to_string_lossy().into_owned(),
        name: input.name,
        labels: BTreeMap::from([("hostid".to_owned(), hostid.to_owned())]),
        typed: Some(TypedRequest {
            name: input.task,
            version: None,
            inputs: BTreeMap::from([
                ("indata".to_owned(), path(&indata)),
                ("result".to_owned(), path(&output)),
            ]),
        }),
        alias: Some(ClientAlias {
            name: jobid,
            request: serde_json::to_string(&kept).unwrap_or_default(),
        }),
        ..JobRequest::default()
    };
    let refused = |message: String| {
        let _ = std::fs::remove_dir_all(&dir);
        Failure::new(message)
    };
    match state.jobs.submit_named(request).await {
        Ok(NamedSubmitted::Queued { id, .. }) => Ok(id),
        // A fresh UUID: another job cannot have it.
        Ok(NamedSubmitted::Taken(_)) => Err(refused(
            "The job identity is taken; enqueue again".to_owned(),
        )),
        Err(NotSubmitted::Invalid(invalid)) => Err(refused(invalid.message)),
        Err(NotSubmitted::Unavailable(unavailable)) => Err(refused(unavailable.to_string())),
    }
}

fn path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Makes the job's directory under `queue_dir`, named as the original names it: the Unix time and four
/// random digits (another name is drawn if it exists).
fn make_directory(queue_dir: &Path) -> Result<(String, PathBuf), Failure> {
    std::fs::create_dir_all(queue_dir)
        .map_err(|e| Failure::new(format!("Failed create queue directory: {e}")))?;
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for _ in 0..20 {
        let digits = 1000 + uuid::Uuid::new_v4().as_u128() % 9000;
        let name = format!("{seconds}{digits}");
        let dir = queue_dir.join(&name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((name, dir)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(Failure::new(format!(
                    "Failed create job directory: {error}"
                )));
            }
        }
    }
    Err(Failure::new(
        "Failed create job directory: every name tried exists",
    ))
}
