//! What a listed or read file is, in Batchelor's words: its MIME type, and its `lang` for syntax
//! highlighting (`Storage/File.php`, `Storage/File/Source.php`).

use std::fs;
use std::io::Read;
use std::path::Path;

use super::{FilesError, open_inside};

/// A directory's MIME type, as libmagic (PHP's `mime_content_type`) names it.
pub(super) const DIRECTORY_MIME: &str = "directory";
/// The MIME type of a link that is not followed (outside the job directory, or dangling), as
/// libmagic names a link it does not follow.
const SYMLINK_MIME: &str = "inode/symlink";
/// Batchelor's fallback (`File::getMimeType`) and ours when nothing better is known.
const UNKNOWN_MIME: &str = "application/octet-stream";
/// How much of a file without a known extension is read to tell text from binary.
const SNIFF_BYTES: u64 = 1024;

/// A link's size and MIME type: its target's, when the target is inside the job directory (as
/// Batchelor reports, following the link); nothing of the target's when it is outside or missing,
/// which must not be looked at.
pub(super) fn link_target(link: &Path, root: &Path) -> (u64, String) {
    let inside = fs::canonicalize(link)
        .ok()
        .filter(|target| target.starts_with(root));
    match inside.and_then(|target| Some((fs::metadata(&target).ok()?, target))) {
        Some((meta, _)) if meta.is_dir() => (meta.len(), DIRECTORY_MIME.to_owned()),
        Some((meta, target)) if meta.is_file() => (meta.len(), mime_of_file(&target, root)),
        _ => (0, SYMLINK_MIME.to_owned()),
    }
}

/// A regular file's MIME type: from its name, else (no known extension: Hopper's `indata`) from its
/// first bytes, as Batchelor's libmagic would tell text from binary.
pub(super) fn mime_of_file(path: &Path, root: &Path) -> String {
    if let Some(mime) = mime_guess::from_path(path).first_raw() {
        return mime.to_owned();
    }
    let mut head = Vec::new();
    let read = open_inside(path, root, "").and_then(|(file, _)| {
        file.take(SNIFF_BYTES)
            .read_to_end(&mut head)
            .map_err(FilesError::io(""))
    });
    match read {
        Ok(_) => sniff(&head).to_owned(),
        Err(_) => UNKNOWN_MIME.to_owned(),
    }
}

/// Text or binary, from a file's first bytes: `inode/x-empty` for an empty file and `text/plain` for
/// UTF-8 without NULs, as libmagic names them; else unknown.
pub(super) fn sniff(head: &[u8]) -> &'static str {
    let head = &head[..head.len().min(SNIFF_BYTES as usize)];
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        // Cut in the middle of a character by the sniff's length: still text.
        Err(e) => e.error_len().is_none(),
    };
    if head.is_empty() {
        "inode/x-empty"
    } else if utf8 && !head.contains(&0) {
        "text/plain"
    } else {
        UNKNOWN_MIME
    }
}

/// Batchelor's `lang` (`Storage/File/Source.php`): a language for the name's extension, else the
/// extension itself, else `text` for plain text, else empty.
pub(super) fn lang(name: &str, mime: &str) -> String {
    // PHP's `SplFileInfo::getExtension`: what follows the last dot of the base name (`.bashrc` has
    // the extension `bashrc`), case kept.
    let base = name.rsplit('/').next().unwrap_or(name);
    let extension = base.rfind('.').map_or("", |dot| &base[dot + 1..]);
    let lang = match extension {
        "html" => "html",
        "css" => "css",
        "js" => "javascript",
        "php" | "inc" => "php",
        "c++" | "cpp" | "cxx" | "h++" | "hpp" | "hxx" => "c++",
        "c" | "C" | "h" => "c",
        "cs" => "cs",
        "java" => "java",
        "py" => "python",
        "pl" => "perl",
        "bash" | "sh" | "csh" | "tcsh" | "cron" => "bash",
        "diff" | "patch" => "diff",
        "txt" | "text" => "text",
        "ascii" | "asciidoc" => "asciidoc",
        // PHP takes "0" for false, so the extension "0" falls through to the MIME type too.
        "" | "0" => {
            if mime == "text/plain" {
                "text"
            } else {
                ""
            }
        }
        other => other,
    };
    lang.to_owned()
}
