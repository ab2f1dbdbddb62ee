//! The files of one Batchelor job directory (`<HOPPER_BATCHELOR_ROOT>/<hostid>/<result>/`), as
//! Batchelor's JSON API lists them (`readdir`) and reads them (`fopen`), and never anything outside
//! that directory: the task that wrote it is not trusted, so a link it left pointing elsewhere is
//! listed as a link and never followed out.
//!
//! What Batchelor 2.x does, and this module matches (`Storage/File.php`, `Storage/File/Source.php`,
//! `Storage/Directory.php`, `Storage/Archive.php`, `Queue/System/SystemDirectory.php`):
//! * `readdir` lists the directory recursively, each directory before its contents, everything but
//!   `.` and `..` (hidden files too). `size` is what stat says (a directory's own size, 4096 on
//!   ext4); `mime` is `directory` for a directory; `lang` comes from the file name's extension
//!   (`Source::getFromExtension`), else `text` for `text/plain`, else empty.
//! * `fopen` of a directory sends `<name>.zip` (`application/zip`): the directory's files, named
//!   relative to it, without directory entries and without links (`Archive::addDirectory`).
//!
//! Where this differs (Batchelor does not confine `fopen` at all, and lists by resolved path):
//! see [`list`] and [`open`].

mod archive;
mod mime;
#[cfg(test)]
mod open_tests;
#[cfg(test)]
mod tests;

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use nix::fcntl::OFlag;
use serde::Serialize;

use mime::{DIRECTORY_MIME, lang, link_target, mime_of_file, sniff};

/// What one `fopen` may read when the settings say nothing else: a file, or a directory's files
/// together, of at most 256 MiB (it is held in memory to be sent).
pub(crate) const DEFAULT_READ_LIMIT: u64 = 256 * 1024 * 1024;

/// The kind of a listed entry: Batchelor's `type`, from `lstat` (PHP's `SplFileInfo::getType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EntryKind {
    Dir,
    File,
    Link,
}

/// One entry of a `readdir` answer: Batchelor's `File` type, `{"name","size","mime","type","lang"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Entry {
    /// The path relative to the job directory, `/`-separated (`result/output.txt`).
    pub(crate) name: String,
    /// Bytes: a file's length, a directory's own size, a link's target's size when the target is
    /// inside the job directory (PHP's `getSize` follows links), else 0.
    pub(crate) size: u64,
    pub(crate) mime: String,
    #[serde(rename = "type")]
    pub(crate) kind: EntryKind,
    /// The source code language, for syntax highlighting: `text`, `python`, `log`..., or empty.
    pub(crate) lang: String,
}

/// What `fopen` sends: a file's bytes, or a directory's files as a ZIP archive.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Opened {
    File {
        bytes: Vec<u8>,
        mime: String,
        name: String,
    },
    /// `name` is the directory's name with `.zip` (`result.zip`), `mime` is `application/zip`.
    Zip {
        bytes: Vec<u8>,
        mime: String,
        name: String,
    },
}

impl Opened {
    /// The bytes to send, their `Content-Type`, and the file name for `Content-Disposition`.
    pub(crate) fn into_parts(self) -> (Vec<u8>, String, String) {
        match self {
            Self::File { bytes, mime, name } | Self::Zip { bytes, mime, name } => {
                (bytes, mime, name)
            }
        }
    }
}

/// Why a job directory could not be listed or a file of it read. Names are the client's, relative to
/// the job directory: no message shows where the job directories are on the server.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FilesError {
    #[error(
        "The job directory is missing: the job's files may have been removed; check the job's result \
         name (opendir lists the jobs)"
    )]
    NoJobDirectory,
    #[error(
        "The file name is empty: name a file or directory inside the job directory, as readdir lists it \
         (e.g. result)"
    )]
    Empty,
    #[error(
        "The file name {0:?} is absolute: name it relative to the job directory, as readdir lists it"
    )]
    Absolute(String),
    #[error(
        "The file name {0:?} contains '..': name it relative to the job directory without '..', as \
         readdir lists it"
    )]
    ParentDir(String),
    #[error("The file name contains a NUL character: send the name as readdir lists it")]
    Nul,
    #[error(
        "The file {0:?} leads outside the job directory (through a link), and only the job's own files \
         can be read: read the file the link points to inside the job directory instead"
    )]
    Outside(String),
    /// Batchelor's words (`Storage/File.php`, `getContent` and `sendFile`).
    #[error("The target file don't exist")]
    Missing,
    #[error(
        "The file {0:?} is neither a regular file nor a directory (a pipe, socket or device), so it \
         cannot be read"
    )]
    NotReadable(String),
    #[error(
        "{name:?} is over the limit of {limit} bytes that one fopen may read: read the files inside \
         it one by one, or ask the operator to raise the limit"
    )]
    TooLarge { name: String, limit: u64 },
    #[error(
        "Failed reading {name:?} in the job directory: {source}; try again, and if it goes on, tell \
         the operator"
    )]
    Io { name: String, source: io::Error },
}

impl FilesError {
    fn io(name: &str) -> impl FnOnce(io::Error) -> Self + '_ {
        move |source| Self::Io {
            name: name.to_owned(),
            source,
        }
    }
}

/// The recursive listing `readdir` answers: each directory before its contents, entries of one
/// directory sorted by name (Batchelor gives them in the order the file system does, which is no
/// order at all; a sorted one is one of those, and the same on every call).
///
/// A link is listed as a link, under its own name, and never descended through. (Batchelor names
/// each entry by its *resolved* path and drops duplicates, so a link inside the directory shows up
/// as its target; one outside gets a nonsense name.) Pipes, sockets and devices are left out: a File
/// is a dir, a file or a link. An entry that vanishes while it is listed (a task's temporary file)
/// is left out too.
pub(crate) fn list(job_dir: &Path) -> Result<Vec<Entry>, FilesError> {
    let root = job_root(job_dir)?;
    let mut entries = Vec::new();
    // Entries still to list, the next on top: a stack rather than recursion, so that a deep tree
    // cannot exhaust the thread's stack, and a directory's children are pushed (reversed) on top of
    // its later siblings, which gives Batchelor's order: each directory, then all of its contents.
    let mut pending = children(&root, "")?;
    pending.reverse();
    while let Some((path, name)) = pending.pop() {
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(FilesError::io(&name)(e)),
        };
        let file_type = meta.file_type();
        let (kind, size, mime) = if file_type.is_symlink() {
            let (size, mime) = link_target(&path, &root);
            (EntryKind::Link, size, mime)
        } else if file_type.is_dir() {
            let mut inside = children(&path, &name)?;
            inside.reverse();
            pending.extend(inside);
            (EntryKind::Dir, meta.len(), DIRECTORY_MIME.to_owned())
        } else if file_type.is_file() {
            (EntryKind::File, meta.len(), mime_of_file(&path, &root))
        } else {
            continue;
        };
        let lang = lang(&name, &mime);
        entries.push(Entry {
            name,
            size,
            mime,
            kind,
            lang,
        });
    }
    Ok(entries)
}

/// What `fopen` sends for `relative`, a name as `readdir` lists it: the file's bytes, or a
/// directory's files as `<name>.zip`, of at most `limit` bytes (a directory's files counted
/// together, with a little for each file's name and headers).
///
/// Refused: an empty name, an absolute one, one with a `..` component or a NUL, one that resolves
/// (following links) outside the job directory, and one that does not exist. Batchelor refuses none
/// of these but the last: its `fopen` reads any path the web server can. Unlike Batchelor, the
/// archive is made in memory, not written into the job directory beside the directory it holds (so
/// `result.zip` does not appear in later listings), and an empty directory gives an empty archive
/// where Batchelor's would be missing.
pub(crate) fn open(job_dir: &Path, relative: &str, limit: u64) -> Result<Opened, FilesError> {
    let root = job_root(job_dir)?;
    let (real, base) = resolve(&root, relative)?;
    let meta = fs::metadata(&real).map_err(FilesError::io(relative))?;
    if meta.is_dir() {
        let bytes = archive::zip_directory(&real, &root, relative, limit)?;
        return Ok(Opened::Zip {
            bytes,
            mime: "application/zip".to_owned(),
            name: format!("{base}.zip"),
        });
    }
    let (file, meta) = open_inside(&real, &root, relative)?;
    if meta.len() > limit {
        return Err(FilesError::TooLarge {
            name: relative.to_owned(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // One more than the limit, to see a file that grew past it since it was measured.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(FilesError::io(relative))?;
    if bytes.len() as u64 > limit {
        return Err(FilesError::TooLarge {
            name: relative.to_owned(),
            limit,
        });
    }
    // From the name of what is read (a link's target's name, as Batchelor looks at the target).
    let mime = mime_guess::from_path(&real)
        .first_raw()
        .map_or_else(|| sniff(&bytes).to_owned(), str::to_owned);
    Ok(Opened::File {
        bytes,
        mime,
        name: base,
    })
}

/// The job directory with every link in its path resolved: the root that everything read must be
/// inside.
fn job_root(job_dir: &Path) -> Result<PathBuf, FilesError> {
    match fs::canonicalize(job_dir) {
        Ok(root) if root.is_dir() => Ok(root),
        Ok(_) => Err(FilesError::NoJobDirectory),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(FilesError::NoJobDirectory),
        Err(e) => Err(FilesError::io(".")(e)),
    }
}

/// Where `relative` leads, links followed, after the checks that keep it inside `root`; and its last
/// component, the name the client gets it under.
fn resolve(root: &Path, relative: &str) -> Result<(PathBuf, String), FilesError> {
    if relative.contains('\0') {
        return Err(FilesError::Nul);
    }
    if relative.starts_with('/') {
        return Err(FilesError::Absolute(relative.to_owned()));
    }
    let mut path = root.to_path_buf();
    let mut base = None;
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => {
                path.push(part);
                base = Some(part);
            }
            Component::CurDir => {}
            Component::ParentDir => return Err(FilesError::ParentDir(relative.to_owned())),
            Component::RootDir | Component::Prefix(_) => {
                return Err(FilesError::Absolute(relative.to_owned()));
            }
        }
    }
    let Some(base) = base.map(|part| part.to_string_lossy().into_owned()) else {
        return Err(FilesError::Empty);
    };
    let real = match fs::canonicalize(&path) {
        Ok(real) => real,
        // A dangling link, a missing file, or a file name used as a directory (`out.txt/x`).
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(FilesError::Missing);
        }
        Err(e) => return Err(FilesError::io(relative)(e)),
    };
    if !real.starts_with(root) {
        return Err(FilesError::Outside(relative.to_owned()));
    }
    Ok((real, base))
}

/// Opens `real`, a regular file inside `root` when it was resolved, for reading, and makes sure
/// that what was opened still is: between the check and the open, a task still running could have
/// swapped a directory on the way for a link out. `O_NOFOLLOW` refuses a last component turned
/// into a link, `O_NONBLOCK` keeps a file turned into a pipe from blocking the open forever, and
/// on Linux the path the kernel reports for the open file is checked again.
fn open_inside(
    real: &Path,
    root: &Path,
    name: &str,
) -> Result<(fs::File, fs::Metadata), FilesError> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(real)
        .map_err(FilesError::io(name))?;
    if let Some(opened) = opened_path(&file)
        && !opened.starts_with(root)
    {
        return Err(FilesError::Outside(name.to_owned()));
    }
    let meta = file.metadata().map_err(FilesError::io(name))?;
    if !meta.is_file() {
        return Err(FilesError::NotReadable(name.to_owned()));
    }
    Ok((file, meta))
}

/// The path of an open file as the kernel knows it, where `/proc` tells it.
fn opened_path(file: &fs::File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    if cfg!(target_os = "linux") {
        fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
    } else {
        None
    }
}

/// The entries of one directory, sorted by name, as (path, name relative to the job directory).
fn children(dir: &Path, prefix: &str) -> Result<Vec<(PathBuf, String)>, FilesError> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        // Removed since its parent was read.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FilesError::io(prefix)(e)),
    };
    let mut found = Vec::new();
    for entry in read {
        let entry = entry.map_err(FilesError::io(prefix))?;
        let file_name = entry.file_name();
        // A name that is not UTF-8 is shown with U+FFFD in it: JSON strings must be Unicode (PHP's
        // `json_encode` fails the whole answer on such a name).
        let file_name = file_name.to_string_lossy();
        let name = if prefix.is_empty() {
            file_name.into_owned()
        } else {
            format!("{prefix}/{file_name}")
        };
        found.push((entry.path(), name));
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(found)
}
