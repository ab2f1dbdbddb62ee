//! What Redis says of its memory: how much it uses, its limit, and whether it is still freeing keys in
//! the background. The `scale` scenario checks room before its fill and waits for the frees after.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::jobs::Jobs;

/// How long to wait for Redis to free the deleted keys in the background before moving on.
const FREE_WAIT: Duration = Duration::from_secs(60);

/// Waits until Redis has freed what `UNLINK` handed to its background thread
/// (`lazyfree_pending_objects` in `INFO memory` is 0), so the next scenario is not measured against it.
pub(crate) async fn wait_freed(jobs: &Jobs) -> anyhow::Result<()> {
    let deadline = Instant::now() + FREE_WAIT;
    loop {
        let info = info_memory(jobs).await?;
        if field(&info, "lazyfree_pending_objects").unwrap_or(0) == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "Redis was still freeing the filled jobs after {}: later scenarios may be slowed",
                humantime::format_duration(FREE_WAIT)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Redis's `used_memory` and `maxmemory` (0: no limit), in bytes.
pub(crate) async fn memory(jobs: &Jobs) -> anyhow::Result<(u64, u64)> {
    let info = info_memory(jobs).await?;
    let used = field(&info, "used_memory")
        .with_context(|| format!("INFO memory has no used_memory: {info}"))?;
    Ok((used, field(&info, "maxmemory").unwrap_or(0)))
}

async fn info_memory(jobs: &Jobs) -> anyhow::Result<String> {
    let mut conn = jobs.conn().await?;
    Ok(redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await?)
}

/// The integer `name` of an `INFO` reply (`name:value` lines).
fn field(info: &str, name: &str) -> Option<u64> {
    info.lines().find_map(|line| {
        let (key, value) = line.trim().split_once(':')?;
        (key == name).then(|| value.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `INFO` fields are read by exact name: `used_memory` is not `used_memory_rss`.
    #[test]
    fn info_fields_by_exact_name() {
        let info = "# Memory\r\nused_memory:1000\r\nused_memory_rss:5000\r\nmaxmemory:0\r\n";
        assert_eq!(field(info, "used_memory"), Some(1000));
        assert_eq!(field(info, "maxmemory"), Some(0));
        assert_eq!(field(info, "lazyfree_pending_objects"), None);
    }
}
