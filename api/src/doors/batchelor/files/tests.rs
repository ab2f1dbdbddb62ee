#![allow(clippy::unwrap_used)]
//! `list`, Batchelor's `lang`, and the job directories that both test files read.

use std::fs;
use std::os::unix::fs::symlink;

use super::*;

/// A job directory as a task leaves it: input, results in a subdirectory, a log, and what a task
/// could also leave (hidden, binary and empty files).
pub(super) fn job() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    fs::write(at("indata"), "hello world\n").unwrap();
    fs::create_dir_all(at("result/plots")).unwrap();
    fs::write(at("result/output.txt"), "dlrow olleh\n").unwrap();
    fs::write(at("result/plots/a.png"), b"\x89PNG\r\n").unwrap();
    fs::write(at("result.zip"), b"PK\x05\x06").unwrap();
    fs::write(at("task.log"), "started\n").unwrap();
    fs::write(at(".hidden"), "h").unwrap();
    fs::write(at("blob"), [0u8, 1, 2, 3]).unwrap();
    fs::write(at("empty"), "").unwrap();
    dir
}

pub(super) fn names(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

fn find<'a>(entries: &'a [Entry], name: &str) -> &'a Entry {
    entries.iter().find(|e| e.name == name).unwrap()
}

#[test]
fn the_listing_is_depth_first_sorted_with_batchelors_sizes_types_and_langs() {
    let dir = job();
    let entries = list(dir.path()).unwrap();
    // Each directory right before its contents, and `result.zip` after them: neither a plain sort of
    // the paths ('.' sorts before '/') nor breadth first would give this.
    assert_eq!(
        names(&entries),
        [
            ".hidden",
            "blob",
            "empty",
            "indata",
            "result",
            "result/output.txt",
            "result/plots",
            "result/plots/a.png",
            "result.zip",
            "task.log",
        ]
    );
    let result = find(&entries, "result");
    assert_eq!(result.kind, EntryKind::Dir);
    assert_eq!(
        result.size,
        fs::metadata(dir.path().join("result")).unwrap().len()
    );
    assert_eq!(
        (result.mime.as_str(), result.lang.as_str()),
        ("directory", "")
    );

    let expect = |name: &str, size: u64, mime: &str, lang: &str| {
        let entry = find(&entries, name);
        assert_eq!(entry.kind, EntryKind::File, "{name}");
        assert_eq!(
            (entry.size, entry.mime.as_str(), entry.lang.as_str()),
            (size, mime, lang),
            "{name}"
        );
    };
    expect("result/output.txt", 12, "text/plain", "text");
    expect("result/plots/a.png", 6, "image/png", "png");
    expect("result.zip", 4, "application/zip", "zip");
    expect("task.log", 8, "text/plain", "log");
    // No extension: told from the content, as Batchelor's libmagic tells it.
    expect("indata", 12, "text/plain", "text");
    expect("blob", 4, "application/octet-stream", "");
    expect("empty", 0, "inode/x-empty", "");
    expect(".hidden", 1, "text/plain", "hidden");

    // Batchelor's File JSON, in its order of keys.
    assert_eq!(
        serde_json::to_string(find(&entries, "result/output.txt")).unwrap(),
        r#"{"name":"result/output.txt","size":12,"mime":"text/plain","type":"file","lang":"text"}"#
    );
    assert_eq!(serde_json::to_value(result).unwrap()["type"], "dir");
}

/// A job directory with links: into it, out of it, dangling, and back to itself.
pub(super) fn job_with_links() -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = job();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.txt"), "12345").unwrap();
    let at = |name: &str| dir.path().join(name);
    symlink(outside.path(), at("out")).unwrap();
    symlink(outside.path().join("secret.txt"), at("out.txt")).unwrap();
    symlink("nowhere", at("dangling")).unwrap();
    symlink("result/output.txt", at("latest")).unwrap();
    symlink(".", at("loop")).unwrap();
    symlink("output.txt", at("result/again.txt")).unwrap();
    (dir, outside)
}

#[test]
fn links_are_listed_as_links_and_never_followed_out_or_down() {
    let (dir, _outside) = job_with_links();
    let entries = list(dir.path()).unwrap();
    // Nothing under the links: not the outside directory's file, not the job directory again.
    assert!(
        !names(&entries)
            .iter()
            .any(|n| n.starts_with("out/") || n.starts_with("loop/"))
    );
    assert_eq!(entries.len(), 10 + 6);

    let link = |name: &str| {
        let entry = find(&entries, name);
        assert_eq!(entry.kind, EntryKind::Link, "{name}");
        (entry.size, entry.mime.as_str(), entry.lang.as_str())
    };
    // Outside or dangling: nothing of the target is told, not even its size.
    assert_eq!(link("out"), (0, "inode/symlink", ""));
    assert_eq!(link("out.txt"), (0, "inode/symlink", "text"));
    assert_eq!(link("dangling"), (0, "inode/symlink", ""));
    // Inside: the target's size and type, as Batchelor (following the link) reports them.
    assert_eq!(link("latest"), (12, "text/plain", "text"));
    assert_eq!(link("result/again.txt"), (12, "text/plain", "text"));
    assert_eq!(link("loop").1, "directory");
    assert_eq!(
        serde_json::to_value(find(&entries, "out")).unwrap()["type"],
        "link"
    );
}

#[test]
fn lang_follows_batchelors_source_php() {
    let cases = [
        ("a/b.py", "text/x-python", "python"),
        ("x.C", "", "c"),
        ("x.hxx", "", "c++"),
        ("run.csh", "", "bash"),
        ("a.tar.gz", "application/gzip", "gz"),
        ("Notes.TXT", "text/plain", "TXT"),
        (".bashrc", "", "bashrc"),
        ("README", "text/plain", "text"),
        ("README", "application/octet-stream", ""),
        ("trailing.", "text/plain", "text"),
        ("f.0", "text/plain", "text"),
        ("conf.d", "directory", "d"),
    ];
    for (name, mime, expected) in cases {
        assert_eq!(lang(name, mime), expected, "{name} {mime}");
    }
}
