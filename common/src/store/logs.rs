//! A job's stdout and stderr, as its worker ships them from the log files: readable from any node while
//! the job runs and after it ended.
//!
//! Each stream keeps its first `head` bytes and its last `tail` bytes (a ring buffer), so Redis holds at
//! most `head + tail` bytes of it however much the script writes; a reader is told how many bytes in
//! between were not kept. Keys, beside the job's own hash:
//! - `<ns>:log:<id>`: a hash: which attempt writes the log (`writer`), the budgets (`head`, `ring`), and
//!   per stream its length (`stdout`, `stderr`) and where its tail is complete from (`stdout:from`...);
//! - `<ns>:log:<id>:stdout` and `:stderr`: the head of each stream, a string;
//! - `<ns>:log:<id>:stdout:tail` and `:stderr:tail`: the ring of each stream's tail, a string.
//!
//! They never expire while the job runs; its worker gives them the job's retention when the attempt
//! ends (the sweeper does for a lost worker's job), so they go with the job's hash. A new attempt starts
//! its log afresh, and an attempt that no longer owns the log cannot write into it.

use redis::Script;

use crate::{JobId, JobState, StoreError};

use super::Store;

/// One of a job's two output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    pub const ALL: [Self; 2] = [Self::Stdout, Self::Stderr];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "stdout" => Some(Self::Stdout),
            "stderr" => Some(Self::Stderr),
            _ => None,
        }
    }
}

/// How much of each stream Redis keeps: its first `head` bytes and its last `tail` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogBudget {
    pub head: u64,
    pub tail: u64,
}

impl LogBudget {
    /// A stream's cap (`HOPPER_LOG_CAP`), half for the head and half for the tail.
    pub fn of_cap(cap: u64) -> Self {
        Self {
            head: cap / 2,
            tail: cap - cap / 2,
        }
    }
}

/// Bytes of one stream for [`Store::log_write`]: they start at position `at` of the stream, and belong
/// to a run of bytes shipped in order that began at `since` (a skip, or a tail shipped again).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogPiece<'a> {
    pub at: u64,
    pub since: u64,
    pub bytes: &'a [u8],
}

/// What a read found of one stream, from the offset asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSlice {
    /// The job's state when the log was read: once it has ended, the log is complete. `None` for a
    /// state this version does not know.
    pub state: Option<JobState>,
    /// Bytes the stream has had so far, kept or not.
    pub length: u64,
    /// The kept bytes from the offset on that lie in the head.
    pub head: Vec<u8>,
    /// Bytes after those that were not kept (the stream passed its cap).
    pub omitted: u64,
    /// The kept bytes after the omitted ones, from the tail.
    pub tail: Vec<u8>,
    /// The position after the last byte read: where to read on from.
    pub next: u64,
}

pub(super) struct LogScripts {
    write: Script,
    read: Script,
    expire: Script,
}

impl LogScripts {
    pub(super) fn new() -> Self {
        Self {
            write: Script::new(include_str!("lua/log_write.lua")),
            read: Script::new(include_str!("lua/log_read.lua")),
            expire: Script::new(include_str!("lua/log_expire.lua")),
        }
    }
}

impl Store {
    fn log_key(&self, id: &JobId) -> String {
        self.ns.key(&format!("log:{id}"))
    }

    /// The head and tail keys of one stream.
    fn log_stream_keys(&self, id: &JobId, stream: LogStream) -> [String; 2] {
        let head = format!("{}:{}", self.log_key(id), stream.as_str());
        let tail = format!("{head}:tail");
        [head, tail]
    }

    /// Writes bytes of both streams (either may be empty) for the attempt `writer`. With `begin`, the
    /// attempt first starts the log afresh with that budget: whatever an earlier attempt wrote goes.
    /// With `last`, this is the attempt's last write: from now on the log expires with the job, after
    /// its retention. `false` if another attempt owns the log by now: nothing was written, and this one
    /// should stop.
    pub async fn log_write(
        &self,
        id: &JobId,
        writer: &str,
        begin: Option<LogBudget>,
        last: bool,
        pieces: [LogPiece<'_>; 2],
    ) -> Result<bool, StoreError> {
        let mut invocation = self.scripts.logs.write.key(self.log_key(id));
        for stream in LogStream::ALL {
            invocation.key(&self.log_stream_keys(id, stream)[..]);
        }
        invocation.arg(writer);
        match begin {
            Some(budget) => invocation.arg(budget.head).arg(budget.tail),
            None => invocation.arg("").arg(""),
        };
        if last {
            invocation.arg(self.retention.as_secs());
        } else {
            invocation.arg("");
        }
        for piece in pieces {
            invocation.arg(piece.at).arg(piece.since).arg(piece.bytes);
        }
        let written: u8 = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        Ok(written == 1)
    }

    /// Lets the log of an attempt that ended without its worker (found lost) expire with the job,
    /// unless the job already runs again (its new log must not expire while it runs).
    pub async fn log_expire(&self, id: &JobId) -> Result<(), StoreError> {
        let retention = self.retention.as_secs();
        if retention == 0 {
            return Ok(());
        }
        let mut invocation = self.scripts.logs.expire.key(self.job_key(id));
        invocation.key(self.log_key(id));
        for stream in LogStream::ALL {
            invocation.key(&self.log_stream_keys(id, stream)[..]);
        }
        invocation.arg(retention);
        let _: u8 = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        Ok(())
    }

    /// Reads one stream of a job's log from `offset` on, at most `most` bytes (0: all that is kept).
    /// `None` if there is no such job.
    pub async fn log_read(
        &self,
        id: &JobId,
        stream: LogStream,
        offset: u64,
        most: u64,
    ) -> Result<Option<LogSlice>, StoreError> {
        let mut invocation = self.scripts.logs.read.key(self.job_key(id));
        invocation
            .key(self.log_key(id))
            .key(&self.log_stream_keys(id, stream)[..])
            .arg(stream.as_str())
            .arg(offset)
            .arg(most);
        let (state, length, next, omitted, head, tail): (String, u64, u64, u64, Vec<u8>, Vec<u8>) =
            self.call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
                .await?;
        if state.is_empty() {
            return Ok(None);
        }
        Ok(Some(LogSlice {
            state: JobState::parse(&state),
            length,
            head,
            omitted,
            tail,
            next,
        }))
    }
}
