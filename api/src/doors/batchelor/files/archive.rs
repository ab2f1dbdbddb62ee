//! A directory's files as a ZIP archive, as Batchelor's `Archive::addDirectory` (`Storage/Archive.php`)
//! makes it: the regular files under the directory, named relative to it (`output.txt`,
//! `plots/a.png`), hidden ones included, without directory entries and without links.

use std::fs;
use std::io::{self, Cursor, Read};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{FilesError, children, open_inside};

/// What each file costs the limit beyond its bytes: its local and central headers, to which its
/// name is added; so that a directory of a million empty files cannot make an archive of unbounded
/// size either.
pub(super) const ENTRY_OVERHEAD: u64 = 128;

/// The ZIP archive of `dir` (inside `root`, named `relative` by the client), of at most `limit` bytes
/// of files, names and headers together.
pub(super) fn zip_directory(
    dir: &Path,
    root: &Path,
    relative: &str,
    limit: u64,
) -> Result<Vec<u8>, FilesError> {
    let too_large = || FilesError::TooLarge {
        name: relative.to_owned(),
        limit,
    };
    let zip_error = |e: zip::result::ZipError| FilesError::Io {
        name: relative.to_owned(),
        source: io::Error::other(e),
    };
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut budget = limit;
    // Depth first, each directory's entries sorted by name, as `list` walks (see there).
    let mut pending = children(dir, "")?;
    pending.reverse();
    while let Some((path, name)) = pending.pop() {
        let shown = format!("{}/{name}", relative.trim_end_matches('/'));
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(FilesError::Io {
                    name: shown,
                    source: e,
                });
            }
        };
        if meta.is_dir() {
            let mut inside = children(&path, &name)?;
            inside.reverse();
            pending.extend(inside);
            continue;
        }
        // Links are left out, as Batchelor leaves them out (`Scanner::SKIP_LINKS`), and so are pipes,
        // sockets and devices, which have no content to archive.
        if !meta.is_file() {
            continue;
        }
        let (file, meta) = match open_inside(&path, root, &shown) {
            Ok(opened) => opened,
            // A task's temporary file, gone since the directory was read.
            Err(FilesError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                continue;
            }
            Err(e) => return Err(e),
        };
        let cost = ENTRY_OVERHEAD.saturating_add(name.len() as u64);
        budget = budget.checked_sub(cost).ok_or_else(too_large)?;
        if meta.len() > budget {
            return Err(too_large());
        }
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(dos_time(meta.modified().ok()))
            .large_file(meta.len() >= u64::from(u32::MAX));
        zip.start_file(name.as_str(), options).map_err(zip_error)?;
        // One more than the budget, to see a file that grew past it since it was measured.
        let copied =
            io::copy(&mut file.take(budget.saturating_add(1)), &mut zip).map_err(|source| {
                FilesError::Io {
                    name: shown,
                    source,
                }
            })?;
        budget = budget.checked_sub(copied).ok_or_else(too_large)?;
    }
    Ok(zip.finish().map_err(zip_error)?.into_inner())
}

/// A file's modification time as a ZIP entry's (MS-DOS date and time, no time zone: UTC here), or
/// ZIP's 1980-01-01 for a time it cannot hold.
pub(super) fn dos_time(modified: Option<SystemTime>) -> DateTime {
    // ZIP's range, 1980-01-01 to 2107-12-31, within which humantime cannot panic either.
    const FIRST: u64 = 315_532_800;
    const LAST: u64 = 4_354_819_199;
    let Some(seconds) = modified
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
        .map(|since| since.as_secs())
        .filter(|seconds| (FIRST..=LAST).contains(seconds))
    else {
        return DateTime::default();
    };
    // `YYYY-MM-DDTHH:MM:SSZ`: humantime does the calendar, which is no place for arithmetic of ours.
    let text =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(seconds))
            .to_string();
    let field = |from: usize, to: usize| text.get(from..to).and_then(|s| s.parse::<u16>().ok());
    let parts = (
        field(0, 4),
        field(5, 7),
        field(8, 10),
        field(11, 13),
        field(14, 16),
        field(17, 19),
    );
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = parts else {
        return DateTime::default();
    };
    let narrow = |v: u16| u8::try_from(v).unwrap_or(0);
    DateTime::from_date_and_time(
        year,
        narrow(month),
        narrow(day),
        narrow(hour),
        narrow(minute),
        narrow(second),
    )
    .unwrap_or_default()
}
