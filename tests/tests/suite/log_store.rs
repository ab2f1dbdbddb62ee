//! The log layout in Redis (`log_write.lua`, `log_read.lua`) against the real Redis, byte by byte: the
//! head, the ring that keeps the tail, skips and their repair, reads from any offset, the attempt that
//! owns the log, and its expiry.

use hopper_common::{JobId, LogBudget, LogPiece, LogSlice, LogStream, Store};

use crate::helpers::TestEnv;

const BUDGET: LogBudget = LogBudget { head: 4, tail: 6 };

fn piece(at: u64, since: u64, bytes: &[u8]) -> LogPiece<'_> {
    LogPiece { at, since, bytes }
}

const NONE: LogPiece<'static> = LogPiece {
    at: 0,
    since: 0,
    bytes: b"",
};

/// (head, omitted, tail, next, length) of a read of stdout.
async fn read(
    store: &Store,
    id: &JobId,
    offset: u64,
    most: u64,
) -> (String, u64, String, u64, u64) {
    let slice: LogSlice = store
        .log_read(id, LogStream::Stdout, offset, most)
        .await
        .expect("Redis")
        .expect("the job");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("ASCII");
    (
        text(slice.head),
        slice.omitted,
        text(slice.tail),
        slice.next,
        slice.length,
    )
}

fn found(
    head: &str,
    omitted: u64,
    tail: &str,
    next: u64,
    length: u64,
) -> (String, u64, String, u64, u64) {
    (head.to_owned(), omitted, tail.to_owned(), next, length)
}

/// A stream keeps its first 4 and last 6 bytes whatever is written; reads from any offset say what
/// was left out; a skip moves where the tail is complete from, and shipping the tail again repairs it.
#[tokio::test]
async fn a_stream_keeps_its_head_and_its_tail() {
    let env = TestEnv::new();
    let store = &env.store;
    env.set_fields("7", &[("state", "running")]).await;
    let id = JobId::parse("7").expect("id");
    let write = |pieces| store.log_write(&id, "a", None, false, pieces);
    let begun = store.log_write(
        &id,
        "a",
        Some(BUDGET),
        false,
        [piece(0, 0, b"abcdefgh"), NONE],
    );
    assert!(begun.await.expect("Redis"));
    assert_eq!(read(store, &id, 0, 0).await, found("abcd", 0, "efgh", 8, 8));
    assert!(write([piece(8, 8, b"ijklmn"), NONE]).await.expect("Redis"));
    assert_eq!(
        read(store, &id, 0, 0).await,
        found("abcd", 4, "ijklmn", 14, 14)
    );
    assert_eq!(read(store, &id, 5, 0).await, found("", 3, "ijklmn", 14, 14));
    assert_eq!(read(store, &id, 10, 2).await, found("", 0, "kl", 12, 14));
    assert_eq!(read(store, &id, 2, 1).await, found("c", 0, "", 3, 14));
    assert_eq!(read(store, &id, 99, 0).await, found("", 0, "", 14, 14));
    // The writer skipped ahead (the script wrote faster than it ships): 14..20 were never written.
    assert!(write([piece(20, 20, b"uv"), NONE]).await.expect("Redis"));
    assert_eq!(read(store, &id, 14, 0).await, found("", 6, "uv", 22, 22));
    // At the end it ships the tail again, in two pieces; the first alone does not reach the kept part.
    assert!(write([piece(16, 16, b"qr"), NONE]).await.expect("Redis"));
    assert_eq!(
        read(store, &id, 0, 0).await,
        found("abcd", 16, "uv", 22, 22)
    );
    assert!(write([piece(18, 16, b"stuv"), NONE]).await.expect("Redis"));
    assert_eq!(
        read(store, &id, 0, 0).await,
        found("abcd", 12, "qrstuv", 22, 22)
    );
    assert_eq!(env.key_ttl("log:7").await, -1, "no expiry while it runs");
}

/// Only the attempt that owns a log writes it; a new attempt starts it afresh; the last write lets it
/// expire with the job; a job with no log reads empty, and an unknown job not at all.
#[tokio::test]
async fn each_attempt_owns_its_log_until_it_expires() {
    let env = TestEnv::new();
    let store = &env.store;
    env.set_fields("7", &[("state", "running")]).await;
    let id = JobId::parse("7").expect("id");
    assert_eq!(read(store, &id, 0, 0).await, found("", 0, "", 0, 0));
    let first = store.log_write(&id, "a", Some(BUDGET), false, [piece(0, 0, b"old"), NONE]);
    assert!(first.await.expect("Redis"));
    let second = store.log_write(&id, "b", Some(BUDGET), false, [NONE, piece(0, 0, b"err")]);
    assert!(second.await.expect("Redis"));
    let late = store.log_write(&id, "a", None, true, [piece(3, 3, b"more"), NONE]);
    assert!(
        !late.await.expect("Redis"),
        "the first attempt lost the log"
    );
    assert_eq!(read(store, &id, 0, 0).await, found("", 0, "", 0, 0));
    let err = store
        .log_read(&id, LogStream::Stderr, 0, 0)
        .await
        .expect("Redis")
        .expect("the job");
    assert_eq!((err.head, err.length), (b"err".to_vec(), 3));
    let last = store.log_write(&id, "b", None, true, [piece(0, 0, b"out"), NONE]);
    assert!(last.await.expect("Redis"));
    for key in ["log:7", "log:7:stdout", "log:7:stderr"] {
        let ttl = env.key_ttl(key).await;
        assert!((3590..=3600).contains(&ttl), "{key}: {ttl}");
    }
    let unknown = JobId::parse("8").expect("id");
    let read = store.log_read(&unknown, LogStream::Stdout, 0, 0).await;
    assert_eq!(read.expect("Redis"), None);
}

/// A sweeper lets a lost attempt's log expire, but never the log of a job that already runs again.
#[tokio::test]
async fn a_lost_attempts_log_expires_unless_the_job_runs_again() {
    let env = TestEnv::new();
    let store = &env.store;
    env.set_fields("7", &[("state", "running")]).await;
    let id = JobId::parse("7").expect("id");
    let begun = store.log_write(&id, "b", Some(BUDGET), false, [piece(0, 0, b"new"), NONE]);
    assert!(begun.await.expect("Redis"));
    store.log_expire(&id).await.expect("Redis");
    assert_eq!(
        env.key_ttl("log:7").await,
        -1,
        "a running job's log expired"
    );
    env.set_fields("7", &[("state", "queued")]).await;
    store.log_expire(&id).await.expect("Redis");
    for key in ["log:7", "log:7:stdout"] {
        let ttl = env.key_ttl(key).await;
        assert!((3590..=3600).contains(&ttl), "{key}: {ttl}");
    }
}
