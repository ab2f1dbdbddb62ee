//! Listing and counting at scale, measured inside the `scale` scenario, which fills Redis with a
//! million finished jobs anyway: the target is that listing a page and counting by state stay
//! within 20 % of their cost on a nearly empty store, because both read the indexes (O(log n + page)),
//! never a scan.
//!
//! The filled jobs are put into the indexes their template job is in, as the Lua transitions would
//! have (`common/src/store/lua/index.lua`): `<ns>:idx:<group>:<state>` scored by id, and
//! `<ns>:idx:created`. Being scored by id, the filled range leaves the state indexes with one
//! `ZREMRANGEBYSCORE` each.

use std::ops::Range;

use anyhow::{Context, bail};

use crate::Bench;
use crate::load::{self, Outcome, Until};

/// What is measured: a page of jobs, newest first, and the counts of every state.
const LIST_PATH: &str = "/api/v1/jobs?limit=";
const COUNT_PATH: &str = "/api/v1/jobs/counts";
/// The page's size, at most: fewer when fewer real jobs exist before the fill, so that the page
/// before and after the fill holds as many jobs.
pub(crate) const PAGE: usize = 100;

/// The index keys a filled copy of a job goes into: one per group (every job, its queues, its labels),
/// in its state.
pub(crate) fn index_keys(ns: &str, fields: &[(String, Vec<u8>)]) -> anyhow::Result<Vec<String>> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let state = field("state").context("the template job has no state")?;
    let mut groups = vec!["all".to_owned()];
    groups.extend(
        field("queues")
            .unwrap_or_default()
            .split(',')
            .filter(|q| !q.is_empty())
            .map(|q| format!("queue:{q}")),
    );
    if let Some(labels) = field("labels") {
        let labels: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&labels).context("the template job's labels are not JSON")?;
        groups.extend(labels.iter().map(|(k, v)| format!("label:{k}={v}")));
    }
    Ok(groups
        .into_iter()
        .map(|g| format!("{ns}:idx:{g}:{state}"))
        .collect())
}

/// Adds filled job `id` to the indexes, as its create and end would have.
pub(crate) fn add(pipe: &mut redis::Pipeline, ns: &str, keys: &[String], id: u64, created: &str) {
    for key in keys {
        pipe.cmd("ZADD").arg(key).arg(id).arg(id).ignore();
    }
    pipe.cmd("ZADD")
        .arg(format!("{ns}:idx:created"))
        .arg(created)
        .arg(id)
        .ignore();
}

/// Removes the filled range from the state indexes (one command each).
pub(crate) async fn remove_range(
    bench: &Bench,
    keys: &[String],
    ids: &Range<u64>,
) -> anyhow::Result<()> {
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(key)
            .arg(ids.start)
            .arg(ids.end.saturating_sub(1))
            .ignore();
    }
    let mut conn = bench.jobs.conn().await?;
    let () = pipe
        .query_async(&mut conn)
        .await
        .context("cannot remove the filled jobs from the indexes")?;
    Ok(())
}

/// Lists a page of `page` jobs and counts, `--clients` at a time for `--duration` each: the two
/// outcomes. Each page must hold jobs, and each count must be an object of counts.
pub(crate) async fn measure(
    bench: &Bench,
    page: usize,
) -> anyhow::Result<(Outcome<()>, Outcome<()>)> {
    let mut outcomes = Vec::new();
    let list = format!("{LIST_PATH}{page}");
    for (path, must_hold) in [(list.as_str(), "\"jobs\":[{"), (COUNT_PATH, "\"counts\":{")] {
        let path: std::sync::Arc<str> = path.into();
        let client = bench.client.clone();
        let outcome = load::run(
            bench.settings.clients,
            Until::Elapsed(bench.settings.duration),
            move |_| {
                let (client, path) = (client.clone(), path.clone());
                async move {
                    let body = client.get_native(&path).await?;
                    if !String::from_utf8_lossy(&body).contains(must_hold) {
                        bail!("GET {path} answered {}", String::from_utf8_lossy(&body));
                    }
                    Ok(())
                }
            },
        )
        .await?;
        outcomes.push(outcome);
    }
    let count = outcomes.pop().context("two outcomes")?;
    let list = outcomes.pop().context("two outcomes")?;
    Ok((list, count))
}
