//! `scale`: does status slow down when Redis holds many finished jobs? A deployment keeps every ended job
//! for `HOPPER_RETENTION` (60 days by default), so it may hold a million; the target is a status
//! p99 within 20 % of the one with few jobs stored.
//!
//! 1. Baseline: `--status-jobs` real jobs are run to the end and polled as status does.
//! 2. Fill: `--scale-jobs` finished jobs are written straight into Redis, because running a million
//!    jobs would take hours. Their ids are reserved with one `INCRBY` of `<ns>:job-id`, so later submits
//!    never collide with them; each is a copy of one real finished job's hash (`HGETALL`) with its own
//!    `id` (no other field names the job's id) and the real job's remaining TTL. Written by a few
//!    connections in parallel, in pipelines of [`CHUNK`] jobs. Before the fill, `INFO memory` is asked,
//!    and a fill that would not fit under Redis's `maxmemory` is refused.
//! 3. Poll again the same way, every other request asking for a filled job picked at random, so that
//!    reads land all over the larger keyspace; every reply must still say `finished`.
//!
//! Listing a page and counting by state are measured before and after the fill too (`listing.rs`):
//! the filled jobs join their template's indexes.
//!
//! The filled keys are deleted (`UNLINK`) whatever happened after the ids were reserved, and the
//! scenario then waits until Redis has freed them in the background, so the next scenario starts on a
//! quiet Redis. Only a killed bench leaves them behind: they are `<ns>:job:<first>` to
//! `<ns>:job:<last>` (a failed deletion names the range), and they expire with the real job's TTL.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

use crate::jobs::{CHUNK, Jobs};
use crate::load::Outcome;
use crate::redis_memory::{memory, wait_freed};
use crate::report::Report;
use crate::{Bench, listing, status};

/// Connections writing (and deleting) the filled jobs at once; more do not help a single-threaded Redis
/// on two cores.
const WRITERS: usize = 4;
/// The target: the p99 after the fill over the p99 before.
const TARGET_P99_RATIO: f64 = 1.2;
/// What a key costs beyond its `MEMORY USAGE` (its entry in the table of expiring keys, the keyspace's
/// bucket), used only to refuse a fill that would obviously not fit.
const KEY_OVERHEAD: u64 = 64;

/// A job hash's fields and values, as `HGETALL` gives them (values as bytes: an output tail need not
/// be UTF-8).
type Fields = Vec<(String, Vec<u8>)>;

/// One real finished job, copied by the fill.
#[derive(Debug)]
struct Template {
    fields: Fields,
    /// Its remaining time to live, in ms; `None` if it does not expire.
    ttl_ms: Option<u64>,
    bytes: u64,
    /// The state indexes it is in, which its copies join (see `listing.rs`).
    indexes: Arc<[String]>,
    /// Its creation time (ms), which its copies share.
    created: Arc<str>,
}

pub(crate) async fn run(bench: &Bench) -> anyhow::Result<Report> {
    let settings = &bench.settings;
    let real: Arc<[String]> = status::finished_jobs(bench, settings.status_jobs)
        .await?
        .into();
    let ids = real.clone();
    let before = status::poll(bench, move |n| ids[n % ids.len()].clone()).await?;
    if let Some(error) = before.first_error {
        bail!("polling the real jobs failed before the fill, so there is no baseline: {error}");
    }
    let page = real.len().min(listing::PAGE);
    let (list_before, count_before) = listing::measure(bench, page).await?;
    if let Some(error) = list_before
        .first_error
        .as_ref()
        .or(count_before.first_error.as_ref())
    {
        bail!("listing or counting failed before the fill, so there is no baseline: {error}");
    }

    let jobs = &bench.jobs;
    let template = template(bench, &real[0]).await?;
    let count = settings.scale_jobs as u64;
    let used_before = check_room(jobs, &template, count).await?;
    let mut conn = jobs.conn().await?;
    let last: u64 = redis::cmd("INCRBY")
        .arg(format!("{}:job-id", bench.jobs.namespace()))
        .arg(count)
        .query_async(&mut conn)
        .await
        .context("cannot reserve the filled jobs' ids")?;
    drop(conn);
    let filled = last + 1 - count..last + 1;

    // From here on keys may exist: whatever happens, they are deleted below.
    let outcome = fill_and_poll(bench, &template, filled.clone(), &real).await;
    let deleted = delete(bench, &template, filled.clone()).await;
    let freed = wait_freed(jobs).await;

    let ((took, used_after, after, (list_after, count_after)), deleted) = match (outcome, deleted) {
        (Ok(outcome), Ok(deleted)) => (outcome, deleted),
        (Ok(_), Err(error)) => return Err(error),
        (Err(error), Ok(_)) => return Err(error),
        (Err(error), Err(deletion)) => return Err(anyhow!("{error:#}; and then {deletion:#}")),
    };
    let before_p99 = before.latencies.quantile_ms(0.99);
    let after_p99 = after.latencies.quantile_ms(0.99);
    let mut report = Report::new(
        "scale",
        format!(
            "{} clients, {} per poll, {} real + {} filled finished jobs",
            settings.clients,
            humantime::format_duration(settings.duration),
            real.len(),
            count
        ),
    )
    .figure("before_requests_per_s", before.rate(), "/s", None)
    .latencies("before_", &before.latencies)
    .figure("fill_seconds", took.as_secs_f64(), "s", None)
    .figure(
        "fill_jobs_per_s",
        count as f64 / took.as_secs_f64().max(1e-9),
        "/s",
        None,
    )
    .figure("template_bytes", template.bytes as f64, "B", None)
    .figure(
        "redis_bytes_per_filled_job",
        used_after.saturating_sub(used_before) as f64 / count as f64,
        "B",
        None,
    )
    .figure(
        "after_requests_per_s",
        after.rate(),
        "/s",
        bench.ceilings.map(|c| c.hsets()),
    )
    .latencies("after_", &after.latencies)
    .figure("p99_ratio", after_p99 / before_p99.max(1e-9), "", None)
    .figure("p99_ratio_target", TARGET_P99_RATIO, "", None)
    .figure("filled_jobs_deleted", deleted as f64, "", None);
    for (name, before, after) in [
        ("list", &list_before, &list_after),
        ("count", &count_before, &count_after),
    ] {
        let (p99_before, p99_after) = (
            before.latencies.quantile_ms(0.99),
            after.latencies.quantile_ms(0.99),
        );
        report = report
            .figure(&format!("{name}_before_p99_ms"), p99_before, "ms", None)
            .figure(&format!("{name}_after_p99_ms"), p99_after, "ms", None)
            .figure(
                &format!("{name}_p99_ratio"),
                p99_after / p99_before.max(1e-9),
                "",
                None,
            );
    }
    let listing_errors = list_after.errors + count_after.errors;
    let listing_error = list_after.first_error.or(count_after.first_error);
    let mut report = report.errors(
        after.errors + listing_errors,
        after.first_error.or(listing_error),
    );
    if deleted != count {
        report.error.get_or_insert(format!(
            "{deleted} of the {count} filled jobs were deleted: the others were gone already, so \
             something else deleted them or the template's TTL was short"
        ));
    }
    if let Err(error) = freed {
        report.error.get_or_insert(format!("{error:#}"));
    }
    Ok(report)
}

/// Reads the real finished job `id` as the fill's template.
async fn template(bench: &Bench, id: &str) -> anyhow::Result<Template> {
    let key = bench.jobs.key(id);
    let mut conn = bench.jobs.conn().await?;
    let (fields, ttl_ms, bytes): (Fields, i64, Option<u64>) = redis::pipe()
        .cmd("HGETALL")
        .arg(&key)
        .cmd("PTTL")
        .arg(&key)
        .cmd("MEMORY")
        .arg("USAGE")
        .arg(&key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut conn)
        .await?;
    let (Some(bytes), false) = (bytes, fields.is_empty()) else {
        bail!(
            "job {id} ended but its hash {key} is gone: is HOPPER_RETENTION shorter than this run?"
        );
    };
    let indexes = listing::index_keys(bench.jobs.namespace(), &fields)?.into();
    let created = fields
        .iter()
        .find(|(f, _)| f == "created")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .with_context(|| format!("job {id} has no creation time"))?
        .into();
    Ok(Template {
        fields,
        ttl_ms: u64::try_from(ttl_ms).ok(),
        bytes,
        indexes,
        created,
    })
}

/// Refuses a fill that would not fit under Redis's `maxmemory` (when one is set); Redis's `used_memory`
/// before it.
async fn check_room(jobs: &Jobs, template: &Template, count: u64) -> anyhow::Result<u64> {
    let (used, maxmemory) = memory(jobs).await?;
    let needed = count.saturating_mul(template.bytes + KEY_OVERHEAD);
    if maxmemory > 0 && used.saturating_add(needed) > maxmemory {
        let mib = |bytes: u64| bytes / (1024 * 1024);
        bail!(
            "filling {count} jobs needs about {} MiB of Redis memory, but Redis uses {} MiB of its \
             maxmemory of {} MiB: lower --scale-jobs or raise Redis's maxmemory",
            mib(needed),
            mib(used),
            mib(maxmemory)
        );
    }
    Ok(used)
}

/// Fills the jobs `ids` and polls the real and the filled jobs: how long the fill took, Redis's
/// `used_memory` after it, and the poll.
async fn fill_and_poll(
    bench: &Bench,
    template: &Template,
    ids: Range<u64>,
    real: &Arc<[String]>,
) -> anyhow::Result<(Duration, u64, Outcome<()>, (Outcome<()>, Outcome<()>))> {
    let started = Instant::now();
    let fields: Arc<[(String, Vec<u8>)]> = template.fields.clone().into();
    let (ttl_ms, jobs) = (template.ttl_ms, bench.jobs.clone());
    let (indexes, created) = (template.indexes.clone(), template.created.clone());
    in_chunks(bench, ids.clone(), move |chunk| {
        let mut pipe = redis::pipe();
        for id in chunk {
            listing::add(&mut pipe, jobs.namespace(), &indexes, id, &created);
            let key = jobs.key(id);
            pipe.cmd("HSET").arg(&key);
            for (field, value) in fields.iter() {
                if field == "id" {
                    pipe.arg(field).arg(id);
                } else {
                    pipe.arg(field).arg(value.as_slice());
                }
            }
            pipe.ignore();
            if let Some(ttl_ms) = ttl_ms {
                pipe.cmd("PEXPIRE").arg(&key).arg(ttl_ms).ignore();
            }
        }
        pipe
    })
    .await
    .context("filling Redis with finished jobs failed")?;
    let took = started.elapsed();
    let (used, _) = memory(&bench.jobs).await?;

    let page = real.len().min(listing::PAGE);
    let (real, first, count) = (real.clone(), ids.start, ids.end - ids.start);
    let after = status::poll(bench, move |n| {
        if n % 2 == 0 {
            real[n / 2 % real.len()].clone()
        } else {
            (first + mix(n as u64) % count).to_string()
        }
    })
    .await?;
    let listed = listing::measure(bench, page).await?;
    Ok((took, used, after, listed))
}

/// Deletes the filled jobs `ids` (UNLINK, so Redis frees them in the background): how many were
/// deleted. Every chunk is tried even if some fail.
async fn delete(bench: &Bench, template: &Template, ids: Range<u64>) -> anyhow::Result<u64> {
    let jobs = bench.jobs.clone();
    let (first, last) = (ids.start, ids.end.saturating_sub(1));
    listing::remove_range(bench, &template.indexes, &ids).await?;
    let deleted = in_chunks(bench, ids, move |chunk| {
        let mut pipe = redis::pipe();
        let created = format!("{}:idx:created", jobs.namespace());
        pipe.cmd("ZREM").arg(&created);
        for id in chunk.clone() {
            pipe.arg(id);
        }
        pipe.ignore();
        pipe.cmd("UNLINK");
        for id in chunk {
            pipe.arg(jobs.key(id));
        }
        pipe
    })
    .await
    .with_context(|| {
        let ns = bench.jobs.namespace();
        format!(
            "cannot delete all filled jobs {ns}:job:{first} to {ns}:job:{last}; delete them by hand \
             (redis-cli UNLINK), or let them expire with the retention"
        )
    })?;
    Ok(deleted)
}

/// Runs the pipeline `build(chunk)` for every chunk of [`CHUNK`] ids of `ids`, on [`WRITERS`] connections
/// at once: the sum of the integer replies that were not ignored. Goes through every chunk even when some
/// fail, then fails with the first error and the number of failed chunks.
async fn in_chunks<B>(bench: &Bench, ids: Range<u64>, build: B) -> anyhow::Result<u64>
where
    B: Fn(Range<u64>) -> redis::Pipeline + Clone + Send + Sync + 'static,
{
    let next = Arc::new(AtomicU64::new(ids.start));
    let mut tasks = Vec::with_capacity(WRITERS);
    for _ in 0..WRITERS {
        let (jobs, next, build, end) = (bench.jobs.clone(), next.clone(), build.clone(), ids.end);
        tasks.push(tokio::spawn(async move {
            let (mut sum, mut failed, mut first_error) = (0, 0, None);
            loop {
                let start = next.fetch_add(CHUNK as u64, Ordering::Relaxed);
                if start >= end {
                    break;
                }
                let pipe = build(start..(start + CHUNK as u64).min(end));
                let replies: anyhow::Result<Vec<u64>> = async {
                    let mut conn = jobs.conn().await?;
                    Ok(pipe.query_async(&mut conn).await?)
                }
                .await;
                match replies {
                    Ok(replies) => sum += replies.iter().sum::<u64>(),
                    Err(error) => {
                        failed += 1;
                        first_error.get_or_insert(error);
                    }
                }
            }
            (sum, failed, first_error)
        }));
    }
    let (mut sum, mut failed, mut first_error) = (0, 0, None);
    for task in tasks {
        let (part, part_failed, part_error) = task.await?;
        sum += part;
        failed += part_failed;
        if first_error.is_none() {
            first_error = part_error;
        }
    }
    match first_error {
        None => Ok(sum),
        Some(error) => Err(error.context(format!("{failed} pipeline(s) of {CHUNK} jobs failed"))),
    }
}

/// SplitMix64: spreads request numbers over the filled ids, without a random number crate.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Consecutive request numbers land far apart among the filled ids.
    #[test]
    fn mix_spreads_requests() {
        let picks: std::collections::HashSet<u64> = (0..1000).map(|n| mix(n) % 1000).collect();
        assert!(picks.len() > 500, "{} distinct of 1000", picks.len());
    }
}
