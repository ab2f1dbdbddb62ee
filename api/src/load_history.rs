//! Records the load history (see `hopper_common::Store::take_load_turn`): every interval, one API node
//! counts the pending, queued and running jobs in all, per known queue and per job type, and stores
//! them, kept for [`KEPT`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hopper_common::{Group, JobState};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::jobs::{Jobs, Unavailable};

/// How long the history is kept.
pub const KEPT: Duration = Duration::from_secs(31 * 86_400);

/// The states a load record counts.
const COUNTED: [JobState; 3] = [JobState::Pending, JobState::Queued, JobState::Running];

/// Jobs pending, queued and running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub pending: u64,
    pub queued: u64,
    pub running: u64,
}

/// One record: its time (Unix ms), and the counts in all, per queue and per job type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub at: u64,
    pub all: Counts,
    pub queues: BTreeMap<String, Counts>,
    pub types: BTreeMap<String, Counts>,
}

/// Records the load every `interval` until `stop`, when it is this node's turn.
pub async fn run(jobs: Jobs, interval: Duration, stop: CancellationToken) {
    let interval = interval.max(Duration::from_secs(1));
    loop {
        let now = now_ms();
        let step = interval.as_millis() as u64;
        let slot = now - now % step;
        let next = Duration::from_millis(slot + step - now);
        if let Err(error) = record(&jobs, slot, interval).await {
            tracing::debug!(%error, "cannot record the load history now");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(next) => {}
        }
    }
}

async fn record(jobs: &Jobs, slot: u64, interval: Duration) -> Result<(), Unavailable> {
    if !jobs.store.take_load_turn(slot, interval).await? {
        return Ok(());
    }
    let mut record = Record {
        at: slot,
        all: counts(jobs, &Group::All).await?,
        ..Record::default()
    };
    for queue in jobs.known_queue_names().await? {
        let counted = counts(jobs, &Group::Queue(queue.clone())).await?;
        record.queues.insert(queue.to_string(), counted);
    }
    for job_type in jobs.job_types.all() {
        let counted = counts(jobs, &Group::Type(job_type.name.clone())).await?;
        record.types.insert(job_type.name.clone(), counted);
    }
    let text = serde_json::to_string(&record).unwrap_or_default();
    Ok(jobs.store.record_load(slot, &text, KEPT).await?)
}

async fn counts(jobs: &Jobs, group: &Group) -> Result<Counts, Unavailable> {
    let counted = jobs.count(group, &COUNTED, (None, None)).await?;
    let of = |state| {
        counted
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n)
    };
    Ok(Counts {
        pending: of(JobState::Pending),
        queued: of(JobState::Queued),
        running: of(JobState::Running),
    })
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
