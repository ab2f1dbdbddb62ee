#![allow(clippy::unwrap_used)]
//! `open`: what fopen reads, and every way out of the job directory it refuses.

use std::fs;
use std::io::Read;
use std::time::{Duration, UNIX_EPOCH};

use super::archive::{ENTRY_OVERHEAD, dos_time};
use super::tests::{job, job_with_links, names};
use super::*;

const BIG: u64 = DEFAULT_READ_LIMIT;

#[test]
fn every_way_out_of_the_job_directory_is_refused() {
    let (dir, outside) = job_with_links();
    let job = dir.path();
    let refused = |relative: &str| open(job, relative, BIG).unwrap_err();
    for empty in ["", ".", "./", "./."] {
        assert!(matches!(refused(empty), FilesError::Empty), "{empty:?}");
    }
    for absolute in ["/etc/passwd", "/", "//etc/hosts"] {
        assert!(
            matches!(refused(absolute), FilesError::Absolute(_)),
            "{absolute:?}"
        );
    }
    for up in [
        "..",
        "../x",
        "result/..",
        "result/../indata",
        "result/../../etc/passwd",
    ] {
        assert!(matches!(refused(up), FilesError::ParentDir(_)), "{up:?}");
    }
    assert!(matches!(refused("indata\0.txt"), FilesError::Nul));
    for out in ["out.txt", "out", "out/secret.txt"] {
        let e = refused(out);
        assert!(matches!(e, FilesError::Outside(_)), "{out:?}: {e}");
        // The message names what the client sent, never where things are on the server.
        let message = e.to_string();
        assert!(
            !message.contains(&*outside.path().to_string_lossy()),
            "{message}"
        );
        assert!(!message.contains(&*job.to_string_lossy()), "{message}");
    }
    for missing in ["missing.txt", "dangling", "indata/x", "result/nothing"] {
        let e = refused(missing);
        assert!(matches!(e, FilesError::Missing), "{missing:?}: {e}");
        assert_eq!(e.to_string(), "The target file don't exist");
    }
    // A missing job directory is said so, for listing and reading alike.
    let gone = job.join("no-such-job");
    assert!(matches!(list(&gone), Err(FilesError::NoJobDirectory)));
    assert!(matches!(
        open(&gone, "indata", BIG),
        Err(FilesError::NoJobDirectory)
    ));
}

#[test]
fn each_guard_refuses_a_way_out_on_its_own() {
    let (dir, outside) = job_with_links();
    let root = fs::canonicalize(dir.path()).unwrap();
    // The check after resolving, without the check after opening...
    assert!(matches!(
        resolve(&root, "out.txt"),
        Err(FilesError::Outside(_))
    ));
    assert!(matches!(
        resolve(&root, "out/secret.txt"),
        Err(FilesError::Outside(_))
    ));
    // ...and the check after opening, without the one after resolving: what a task swapping a
    // directory for a link between the two would get past the first.
    let secret = fs::canonicalize(outside.path().join("secret.txt")).unwrap();
    assert!(matches!(
        open_inside(&secret, &root, "x"),
        Err(FilesError::Outside(_))
    ));
    // A last component that became a link is not followed at all.
    let link = root.join("latest");
    let e = open_inside(&link, &root, "latest").unwrap_err();
    assert!(matches!(&e, FilesError::Io { .. }), "{e}");
}

#[test]
fn names_with_dots_and_links_inside_are_read() {
    let (dir, _outside) = job_with_links();
    fs::write(dir.path().join("a..b"), "dots").unwrap();
    // '..' inside a name is no parent directory.
    let (bytes, _, name) = open(dir.path(), "a..b", BIG).unwrap().into_parts();
    assert_eq!((bytes.as_slice(), name.as_str()), (&b"dots"[..], "a..b"));
    // A link inside is followed: the target's bytes and type, under the name asked for.
    let opened = open(dir.path(), "latest", BIG).unwrap();
    assert_eq!(
        opened,
        Opened::File {
            bytes: b"dlrow olleh\n".to_vec(),
            mime: "text/plain".to_owned(),
            name: "latest".to_owned()
        }
    );
    assert!(matches!(
        open(dir.path(), "./result//output.txt", BIG),
        Ok(Opened::File { .. })
    ));
}

#[test]
fn a_file_is_read_with_its_bytes_mime_and_name() {
    let dir = job();
    let read = |relative: &str| match open(dir.path(), relative, BIG).unwrap() {
        Opened::File { bytes, mime, name } => (bytes, mime, name),
        Opened::Zip { name, .. } => panic!("{relative} sent as the archive {name}"),
    };
    let (bytes, mime, name) = read("result/output.txt");
    assert_eq!(
        (bytes.as_slice(), mime.as_str(), name.as_str()),
        (&b"dlrow olleh\n"[..], "text/plain", "output.txt")
    );
    let (bytes, mime, name) = read("result/plots/a.png");
    assert_eq!(
        (bytes.as_slice(), mime.as_str(), name.as_str()),
        (&b"\x89PNG\r\n"[..], "image/png", "a.png")
    );
    assert_eq!(read("indata").1, "text/plain");
    assert_eq!(read("blob").1, "application/octet-stream");
}

#[test]
fn a_pipe_is_neither_listed_nor_waited_on() {
    let dir = job();
    let pipe = dir.path().join("result/pipe");
    nix::unistd::mkfifo(pipe.as_path(), nix::sys::stat::Mode::S_IRWXU).unwrap();
    assert!(!names(&list(dir.path()).unwrap()).contains(&"result/pipe"));
    // Opening a pipe for reading waits for a writer; nothing ever writes here, so a read that
    // waited would never end: run it on a thread and give it seconds.
    let (tx, rx) = std::sync::mpsc::channel();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || {
        let file = open(&path, "result/pipe", BIG).map(|_| ());
        let zip = open(&path, "result", BIG).map(|_| ());
        tx.send((file, zip)).unwrap();
    });
    let (file, zip) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("fopen waited on a pipe");
    assert!(matches!(file, Err(FilesError::NotReadable(_))), "{file:?}");
    assert!(zip.is_ok(), "{zip:?}");
}

fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>, zip::CompressionMethod)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (
                file.name().unwrap().into_owned(),
                content,
                file.compression(),
            )
        })
        .collect()
}

#[test]
fn a_directory_is_sent_as_a_zip_of_its_files_named_relative_to_it() {
    let (dir, _outside) = job_with_links();
    let output = dir.path().join("result/output.txt");
    // 2021-03-04 05:06:08 UTC.
    let when = UNIX_EPOCH + Duration::from_secs(1_614_834_368);
    fs::File::options()
        .write(true)
        .open(&output)
        .unwrap()
        .set_modified(when)
        .unwrap();
    fs::write(dir.path().join("result/plots/.seen"), "1").unwrap();
    fs::create_dir(dir.path().join("result/nothing")).unwrap();

    for asked in ["result", "result/"] {
        let Opened::Zip { bytes, mime, name } = open(dir.path(), asked, BIG).unwrap() else {
            panic!("{asked} not sent as an archive");
        };
        assert_eq!(
            (mime.as_str(), name.as_str()),
            ("application/zip", "result.zip")
        );
        let files = unzip(&bytes);
        // Files only, named relative to `result`: no directory entries (`nothing/`), and not the
        // link `again.txt`, as Batchelor leaves links out.
        let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, ["output.txt", "plots/.seen", "plots/a.png"]);
        assert_eq!(files[0].1, b"dlrow olleh\n");
        assert_eq!(files[2].1, b"\x89PNG\r\n");
        assert!(
            files
                .iter()
                .all(|f| f.2 == zip::CompressionMethod::Deflated)
        );
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let stamp = archive
            .by_name("output.txt")
            .unwrap()
            .last_modified()
            .unwrap();
        let fields = (
            stamp.year(),
            stamp.month(),
            stamp.day(),
            stamp.hour(),
            stamp.minute(),
            stamp.second(),
        );
        assert_eq!(fields, (2021, 3, 4, 5, 6, 8));
    }
    // A link to a directory inside is followed, and named as asked.
    let Opened::Zip { name, .. } = open(dir.path(), "loop", BIG).unwrap() else {
        panic!()
    };
    assert_eq!(name, "loop.zip");
    // An empty directory is an empty archive, still one a client can open.
    let Opened::Zip { bytes, .. } = open(dir.path(), "result/nothing", BIG).unwrap() else {
        panic!()
    };
    assert!(unzip(&bytes).is_empty());
}

#[test]
fn what_one_fopen_reads_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("out")).unwrap();
    fs::write(dir.path().join("out/a"), vec![b'a'; 600]).unwrap();
    fs::write(dir.path().join("out/bb"), vec![b'b'; 600]).unwrap();
    let file = |limit| open(dir.path(), "out/a", limit);
    assert!(matches!(file(600), Ok(Opened::File { .. })));
    let e = file(599).unwrap_err();
    assert!(matches!(&e, FilesError::TooLarge { limit: 599, .. }), "{e}");
    assert!(e.to_string().contains("599 bytes"), "{e}");
    // A directory's files count together, with each file's name and headers.
    let exact = 600 + 600 + 2 * ENTRY_OVERHEAD + 1 + 2;
    assert!(matches!(
        open(dir.path(), "out", exact),
        Ok(Opened::Zip { .. })
    ));
    let e = open(dir.path(), "out", exact - 1).unwrap_err();
    assert!(matches!(&e, FilesError::TooLarge { .. }), "{e}");
    // Many empty files are not free either.
    for i in 0..50 {
        fs::write(dir.path().join(format!("out/empty-{i:02}")), "").unwrap();
    }
    let e = open(dir.path(), "out", exact).unwrap_err();
    assert!(matches!(&e, FilesError::TooLarge { .. }), "{e}");
}

#[test]
fn zip_times_are_kept_within_what_zip_can_hold() {
    let fields = |t: zip::DateTime| {
        (
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
        )
    };
    assert_eq!(fields(dos_time(None)), (1980, 1, 1, 0, 0, 0));
    assert_eq!(fields(dos_time(Some(UNIX_EPOCH))), (1980, 1, 1, 0, 0, 0));
    let late = UNIX_EPOCH + Duration::from_secs(5_000_000_000);
    assert_eq!(fields(dos_time(Some(late))), (1980, 1, 1, 0, 0, 0));
    // 2000-02-29 23:59:59 UTC: a leap day, and odd seconds rounded down to ZIP's even ones.
    let leap = UNIX_EPOCH + Duration::from_secs(951_868_799);
    assert_eq!(fields(dos_time(Some(leap))), (2000, 2, 29, 23, 59, 58));
}
