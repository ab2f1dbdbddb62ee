//! `store`: how much Redis memory a finished job keeps for the whole of `HOPPER_RETENTION` (60 days by
//! default). The target is at most 1 KiB per finished job besides its output tail, because a
//! busy deployment keeps hundreds of thousands of them.
//!
//! `--store-jobs` jobs are submitted and run to the end, then each job's hash (`<ns>:job:<id>`, see
//! docs/architecture.md) is measured with `MEMORY USAGE <key> SAMPLES 0` (every field counted, not a
//! sample) and `HSTRLEN` of its `output` and `history`. `MEMORY USAGE` counts the key's name, its value
//! and its entry in the keyspace, not its entry in the table of expiring keys (a few dozen bytes), so it
//! slightly understates; scale's `redis_bytes_per_filled_job` (from `INFO memory`) counts everything.
//!
//! A finished job should leave nothing but its hash: the Lua scripts (common/src/store/lua) put a claimed job
//! in its worker's job set (`<ns>:worker:<worker>:jobs`) and a re-queued one in `<ns>:requeue`, and take
//! it out again when the attempt ends. Both memberships are checked for every job, and any left is a
//! failure (a leak that would grow with every job). The counter `<ns>:job-id`, the worker sets and the
//! heartbeats are shared by all jobs, so they do not grow with the number of jobs stored.
//!
//! Also reported: the least TTL seen (in days, to show that the retention applies), how many jobs have
//! none (none is right only with `HOPPER_RETENTION=0s`), and the share of hashes Redis keeps as a
//! `hashtable` rather than a compact `listpack`: any field over `hash-max-listpack-value` (64 bytes by
//! default) makes the whole hash a hashtable, which costs several times more per field.

use anyhow::bail;

use crate::jobs::CHUNK;
use crate::report::Report;
use crate::{Bench, status};

/// The target: bytes per finished job, besides its output tail.
const TARGET_BYTES: f64 = 1024.0;
const SECONDS_PER_DAY: f64 = 86_400.0;

/// One job's replies: `MEMORY USAGE`, `HSTRLEN` of `output` and `history`, `TTL`, `OBJECT ENCODING`.
type Row = (Option<u64>, u64, u64, i64, Option<String>);

/// What Redis says of one finished job's hash.
#[derive(Debug)]
struct Footprint {
    bytes: u64,
    output: u64,
    history: u64,
    /// Seconds; -1 when the key does not expire.
    ttl: i64,
    hashtable: bool,
}

pub(crate) async fn run(bench: &Bench) -> anyhow::Result<Report> {
    let settings = &bench.settings;
    let ids = status::finished_jobs(bench, settings.store_jobs).await?;
    let footprints = measure(bench, &ids).await?;
    let leftovers = leftover_memberships(bench, &ids).await?;

    let count = footprints.len() as f64;
    let mean =
        |value: fn(&Footprint) -> u64| footprints.iter().map(value).sum::<u64>() as f64 / count;
    let max = |value: fn(&Footprint) -> u64| footprints.iter().map(value).max().unwrap_or(0) as f64;
    let besides_output = |f: &Footprint| f.bytes.saturating_sub(f.output);
    let without_ttl = footprints.iter().filter(|f| f.ttl < 0).count();
    let min_ttl = footprints
        .iter()
        .filter(|f| f.ttl >= 0)
        .map(|f| f.ttl)
        .min();
    let hashtables = footprints.iter().filter(|f| f.hashtable).count();

    let mut report = Report::new(
        "store",
        format!("{} finished jobs, MEMORY USAGE of each hash", ids.len()),
    )
    .figure("bytes_per_job", mean(|f| f.bytes), "B", None)
    .figure("max_bytes_per_job", max(|f| f.bytes), "B", None)
    .figure("output_bytes_per_job", mean(|f| f.output), "B", None)
    .figure("history_bytes_per_job", mean(|f| f.history), "B", None)
    .figure("bytes_besides_output", mean(besides_output), "B", None)
    .figure("max_bytes_besides_output", max(besides_output), "B", None)
    .figure("bytes_besides_output_target", TARGET_BYTES, "B", None)
    .figure("hashtable_share", hashtables as f64 / count, "", None)
    .figure("jobs_without_ttl", without_ttl as f64, "", None);
    if let Some(ttl) = min_ttl {
        report = report.figure("min_ttl_days", ttl as f64 / SECONDS_PER_DAY, "d", None);
    }
    if leftovers > 0 {
        report.error = Some(format!(
            "{leftovers} finished job(s) are still in a worker's job set or in the requeue set: the end \
             of an attempt (common/src/store/lua/end_attempt.lua) must remove them, or they leak"
        ));
    }
    Ok(report)
}

/// The footprint of each job's hash, in the order of `ids`.
async fn measure(bench: &Bench, ids: &[String]) -> anyhow::Result<Vec<Footprint>> {
    let mut conn = bench.jobs.conn().await?;
    let mut footprints = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut pipe = redis::pipe();
        for id in chunk {
            let key = bench.jobs.key(id);
            pipe.cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .arg("SAMPLES")
                .arg(0);
            pipe.cmd("HSTRLEN").arg(&key).arg("output");
            pipe.cmd("HSTRLEN").arg(&key).arg("history");
            pipe.cmd("TTL").arg(&key);
            pipe.cmd("OBJECT").arg("ENCODING").arg(&key);
        }
        let rows: Vec<Row> = pipe.query_async(&mut conn).await?;
        for (id, (bytes, output, history, ttl, encoding)) in chunk.iter().zip(rows) {
            let Some(bytes) = bytes else {
                bail!(
                    "job {id} ended but its hash {} is gone: is HOPPER_RETENTION shorter than this run?",
                    bench.jobs.key(id)
                );
            };
            footprints.push(Footprint {
                bytes,
                output,
                history,
                ttl,
                hashtable: encoding.as_deref() == Some("hashtable"),
            });
        }
    }
    Ok(footprints)
}

/// How many of the jobs are still members of their last worker's job set or of the requeue set.
async fn leftover_memberships(bench: &Bench, ids: &[String]) -> anyhow::Result<usize> {
    let mut conn = bench.jobs.conn().await?;
    let ns = bench.jobs.namespace();
    let mut left = 0;
    for chunk in ids.chunks(CHUNK) {
        let mut pipe = redis::pipe();
        for id in chunk {
            pipe.cmd("HGET").arg(bench.jobs.key(id)).arg("worker");
        }
        let workers: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
        let mut pipe = redis::pipe();
        for (id, worker) in chunk.iter().zip(&workers) {
            let worker = worker.as_deref().unwrap_or_default();
            pipe.cmd("SISMEMBER")
                .arg(format!("{ns}:worker:{worker}:jobs"))
                .arg(id);
            pipe.cmd("SISMEMBER").arg(format!("{ns}:requeue")).arg(id);
        }
        let members: Vec<bool> = pipe.query_async(&mut conn).await?;
        left += members.into_iter().filter(|&member| member).count();
    }
    Ok(left)
}
