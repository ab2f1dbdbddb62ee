//! A job's `result`: the head and tail of what it wrote, read back from its log files.
//!
//! The script writes straight into `<id>.out` and `<id>.err` (no pipe through the worker, so a script
//! printing gigabytes costs the worker nothing); only the kept head and tail are read back.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use hopper_common::{clip_middle, omission_marker};

/// stdout then stderr, at most `limit` bytes, keeping each file's head and tail; a cut is marked with
/// the number of bytes it left out. The reading is one blocking task, not one per file operation: a
/// job's end should cost the runtime one hand-off to the blocking pool.
pub(crate) async fn collect(stdout: &Path, stderr: &Path, limit: usize) -> String {
    let (stdout, stderr): (PathBuf, PathBuf) = (stdout.into(), stderr.into());
    tokio::task::spawn_blocking(move || collect_now(&stdout, &stderr, limit))
        .await
        .unwrap_or_else(|error| format!("[cannot read the job's output: {error}]"))
}

fn collect_now(stdout: &Path, stderr: &Path, limit: usize) -> String {
    let out_len = file_len(stdout);
    let err_len = file_len(stderr);
    // One byte is kept for the newline that may separate the two.
    let limit = limit.saturating_sub(1);
    // Each file gets half the budget; what one does not need goes to the other.
    let out_budget = (limit / 2).max(limit.saturating_sub(err_len as usize));
    let out = read_clipped(stdout, out_len, out_budget);
    let err = read_clipped(stderr, err_len, limit.saturating_sub(out.len()));
    let mut text = out;
    if !text.is_empty() && !err.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&err);
    // Only invalid UTF-8 (a binary dump), widened by replacement characters, can still be too long.
    clip_middle(&text, limit + 1)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The file's text within `budget` bytes: all of it, or its head and tail around a marker.
fn read_clipped(path: &Path, len: u64, budget: usize) -> String {
    if len == 0 || budget == 0 {
        return String::new();
    }
    let read = || {
        let mut file = File::open(path)?;
        if len <= budget as u64 {
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes)?;
            return Ok::<_, std::io::Error>(String::from_utf8_lossy(&bytes).into_owned());
        }
        let keep = budget.saturating_sub(omission_marker(len).len()) as u64;
        let mut head = vec![0; (keep / 2) as usize];
        file.read_exact(&mut head)?;
        file.seek(SeekFrom::Start(len - (keep - keep / 2)))?;
        let mut tail = Vec::with_capacity((keep - keep / 2) as usize);
        file.read_to_end(&mut tail)?;
        // Cut at character boundaries, so a character split by the cut is left out rather than shown
        // as a replacement character (which would be longer than the bytes it replaces).
        let head = &head[..utf8_prefix(&head)];
        let tail = &tail[utf8_continuations(&tail)..];
        let omitted = len - head.len() as u64 - tail.len() as u64;
        Ok(format!(
            "{}{}{}",
            String::from_utf8_lossy(head),
            omission_marker(omitted),
            String::from_utf8_lossy(tail)
        ))
    };
    match read() {
        Ok(text) => text,
        Err(error) => format!("[cannot read {}: {error}]", path.display()),
    }
}

/// The length of `bytes` without a UTF-8 sequence cut short at its end.
fn utf8_prefix(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        _ => bytes.len(),
    }
}

/// How many bytes at the start of `bytes` continue a character that began before it.
fn utf8_continuations(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take(3)
        .take_while(|&&b| b & 0b1100_0000 == 0b1000_0000)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long file keeps its head and tail within the budget, never splits a character, and the
    /// marker states exactly how many bytes were left out.
    #[tokio::test]
    async fn long_output_is_clipped_with_an_exact_count() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let text = format!("BEGIN{}END", "ü".repeat(100_000));
        std::fs::write(&out, &text).expect("write");
        let clipped = collect(&out, &dir.path().join("missing"), 1000).await;
        assert!(clipped.len() <= 1000, "{} bytes", clipped.len());
        assert!(
            clipped.starts_with("BEGIN") && clipped.ends_with("END"),
            "{clipped}"
        );
        assert!(!clipped.contains('\u{FFFD}'), "a character was split");
        let stated: u64 = hopper_common::stated_omission(&clipped).expect("a marker with a count");
        let shown = clipped.len() - omission_marker(stated).len();
        assert_eq!(stated + shown as u64, text.len() as u64);
    }
}
