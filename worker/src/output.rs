//! A job's `result`: the head and tail of what it wrote, read back from its log files.
//!
//! The script writes straight into `<id>.out` and `<id>.err` (no pipe through the worker, so a script
//! printing gigabytes costs the worker nothing); only the kept head and tail are read back.

use std::io::SeekFrom;
use std::path::Path;

use hopper_common::clip_middle;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// stdout then stderr, at most `limit` bytes, keeping each file's head and tail.
pub(crate) async fn collect(stdout: &Path, stderr: &Path, limit: usize) -> String {
    let out_len = file_len(stdout).await;
    let err_len = file_len(stderr).await;
    // Each file gets half the budget; what one does not need goes to the other.
    let out_budget = (limit / 2).max(limit.saturating_sub(err_len as usize));
    let out = read_clipped(stdout, out_len, out_budget).await;
    let err = read_clipped(stderr, err_len, limit.saturating_sub(out.len())).await;
    let mut text = out;
    if !text.is_empty() && !err.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&err);
    clip_middle(&text, limit)
}

async fn file_len(path: &Path) -> u64 {
    tokio::fs::metadata(path).await.map_or(0, |m| m.len())
}

async fn read_clipped(path: &Path, len: u64, budget: usize) -> String {
    if len == 0 || budget == 0 {
        return String::new();
    }
    let result = async {
        let mut file = tokio::fs::File::open(path).await?;
        if len <= budget as u64 {
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes).await?;
            return Ok::<_, std::io::Error>(String::from_utf8_lossy(&bytes).into_owned());
        }
        let half = (budget / 2) as u64;
        let mut head = vec![0; half as usize];
        file.read_exact(&mut head).await?;
        file.seek(SeekFrom::Start(len - half)).await?;
        let mut tail = Vec::with_capacity(half as usize);
        file.read_to_end(&mut tail).await?;
        // Lossy decoding replaces a character cut in two; clip_middle then trims back to the budget.
        let omitted = len - 2 * half;
        Ok(format!(
            "{}\n[... {omitted} bytes omitted ...]\n{}",
            String::from_utf8_lossy(&head),
            String::from_utf8_lossy(&tail)
        ))
    }
    .await;
    match result {
        Ok(text) => clip_middle(&text, budget),
        Err(error) => format!("[cannot read {}: {error}]", path.display()),
    }
}
