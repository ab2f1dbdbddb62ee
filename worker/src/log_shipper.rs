//! Ships a running job's stdout and stderr from its log files into Redis, so that any API node can
//! serve them while the job runs and after it ended (see `hopper_common::Store::log_write`).
//!
//! The script still writes straight into `<id>.out` and `<id>.err`: no pipe runs through the worker.
//! Every [`TICK`] the shipper looks at how far the files have grown and sends the new bytes, one Redis
//! call per tick for both streams: a stream's head (the first half of `HOPPER_LOG_CAP`) whole, then at
//! most [`MOST_PER_TICK`] of its tail per tick. Of a script that writes faster, the newest bytes are
//! shipped and those in between skipped (a live reader is told how many), so a script printing
//! gigabytes costs the worker and Redis a bounded amount per second. At the job's end a last flush
//! ships the whole tail the cap keeps, and lets the log expire with the job.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::Duration;

use hopper_common::{JobId, LogBudget, LogPiece, Store, StoreError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How often new output is shipped: a reader following the log sees it this much later, at most,
/// plus its own polling.
const TICK: Duration = Duration::from_millis(250);
/// Most bytes of a stream's tail shipped per tick while the job runs (4 MiB/s per stream).
const MOST_PER_TICK: u64 = 1 << 20;
/// Most bytes of a stream in one Redis call, so no call keeps Redis busy for long.
const PIECE: u64 = 1 << 20;

/// The shipping of one running job's output.
#[derive(Debug)]
pub(crate) struct LogShipper {
    stop: CancellationToken,
    task: JoinHandle<Shipping>,
}

impl LogShipper {
    /// Starts shipping the files `stdout` and `stderr` (already created for this attempt).
    pub(crate) fn start(
        store: Store,
        job: JobId,
        [stdout, stderr]: [PathBuf; 2],
        budget: LogBudget,
    ) -> Self {
        let mut shipping = Shipping {
            store,
            job,
            // This attempt's mark on the log: an attempt that lost the job cannot write over the next.
            writer: uuid::Uuid::new_v4().to_string(),
            budget,
            begun: false,
            disowned: false,
            streams: [Stream::new(stdout), Stream::new(stderr)],
        };
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let ticking = async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stopped.cancelled() => break,
                    _ = tick.tick() => {}
                }
                // Safe to drop half-way: what was written is written again, to the same places.
                let shipped = tokio::select! {
                    () = stopped.cancelled() => break,
                    shipped = shipping.ship(false) => shipped,
                };
                if let Err(error) = shipped {
                    log_failure(&error, "cannot ship the job's output yet; trying again");
                }
            }
            shipping
        };
        Self {
            stop,
            task: tokio::spawn(ticking.in_current_span()),
        }
    }

    /// Stops the ticking (at once, even in the middle of a tick); the [`LastFlush`] ships what is left.
    pub(crate) async fn stop(self) -> LastFlush {
        self.stop.cancel();
        match self.task.await {
            Ok(shipping) => LastFlush(Some(shipping)),
            Err(error) => {
                tracing::warn!(%error, "the job's log shipper failed; its log in Redis stays incomplete");
                LastFlush(None)
            }
        }
    }
}

/// What is left to ship of a job whose script has ended.
#[derive(Debug)]
pub(crate) struct LastFlush(Option<Shipping>);

impl LastFlush {
    /// Ships the rest of the output, all of the tail the cap keeps, and lets the log expire with the
    /// job. Done once it succeeds. An outage is returned, for the caller to ask again (before it records
    /// the job's end, with the same patience); any other failure gives the log up, with a warning: a
    /// log must not keep a job's end from being recorded, and the files still have it.
    pub(crate) async fn ship(&mut self) -> Result<(), StoreError> {
        let Some(shipping) = &mut self.0 else {
            return Ok(());
        };
        match shipping.ship(true).await {
            Err(error) if error.is_outage() => return Err(error),
            Err(error) => {
                tracing::warn!(%error, "cannot ship the end of the job's output; its log in Redis stays incomplete");
            }
            Ok(()) => {}
        }
        self.0 = None;
        Ok(())
    }
}

/// What the ticks share.
#[derive(Debug)]
struct Shipping {
    store: Store,
    job: JobId,
    writer: String,
    budget: LogBudget,
    /// Whether this attempt has started the log afresh in Redis.
    begun: bool,
    /// Another attempt writes the log now: ship nothing more.
    disowned: bool,
    streams: [Stream; 2],
}

/// One stream's file, and what Redis has of it.
#[derive(Debug)]
struct Stream {
    path: PathBuf,
    /// Bytes of the file shipped, or skipped: the stream's length in Redis.
    length: u64,
    /// From here to `length`, Redis's tail holds every byte (as `log_write.lua` keeps `from`).
    from: u64,
}

/// Bytes `range` of a file, part of a run shipped in order that began at `since`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Piece {
    range: Range<u64>,
    since: u64,
}

impl Shipping {
    /// Ships what the files gained since the last time; `last` at the job's end.
    async fn ship(&mut self, last: bool) -> Result<(), StoreError> {
        if self.disowned {
            return Ok(());
        }
        let paths = self.streams.each_ref().map(|s| s.path.clone());
        let lengths = blocking(move || paths.map(|path| file_len(&path))).await;
        let pieces = [0, 1].map(|i| {
            let stream = &self.streams[i];
            let runs = plan(stream.length, stream.from, lengths[i], self.budget, last);
            runs.into_iter().flat_map(pieces_of).collect::<Vec<_>>()
        });
        let calls = pieces[0]
            .len()
            .max(pieces[1].len())
            .max(usize::from(!self.begun || last));
        for call in 0..calls {
            let wanted = pieces.each_ref().map(|p| p.get(call).cloned());
            let paths = self.streams.each_ref().map(|s| s.path.clone());
            let (wanted, bytes) = blocking(move || {
                let bytes = [0, 1].map(|i| wanted[i].as_ref().map(|p| read(&paths[i], p)));
                (wanted, bytes)
            })
            .await;
            let at = |i: usize| {
                wanted[i]
                    .as_ref()
                    .map_or(LogPiece::default(), |p| LogPiece {
                        at: p.range.start,
                        since: p.since,
                        bytes: bytes[i].as_deref().unwrap_or_default(),
                    })
            };
            let begin = (!self.begun).then_some(self.budget);
            let is_last = last && call + 1 == calls;
            let written = self
                .store
                .log_write(&self.job, &self.writer, begin, is_last, [at(0), at(1)])
                .await?;
            if !written {
                self.disowned = true;
                tracing::debug!("another attempt of this job writes its log now; shipping stopped");
                return Ok(());
            }
            self.begun = true;
            let mut short = false;
            for (i, stream) in self.streams.iter_mut().enumerate() {
                if let (Some(piece), Some(bytes)) = (&wanted[i], &bytes[i]) {
                    if !bytes.is_empty() {
                        stream.shipped(piece.since, piece.range.start + bytes.len() as u64);
                    }
                    short |= (bytes.len() as u64) < piece.range.end - piece.range.start;
                }
            }
            if short {
                // The file was not what it said (shortened, or unreadable): measure it again next time.
                break;
            }
        }
        Ok(())
    }
}

impl Stream {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            length: 0,
            from: 0,
        }
    }

    /// Redis now has the bytes up to `stop` of a run that began at `since` (as `log_write.lua` counts).
    fn shipped(&mut self, since: u64, stop: u64) {
        // A run that skipped bytes is complete only from its start; one that reaches the complete
        // part from before makes it complete from its own start.
        if since > self.length || (since < self.from && stop >= self.from) {
            self.from = since;
        }
        self.length = self.length.max(stop);
    }
}

/// The runs of a stream to ship when its file has `len` bytes and Redis `length` of them, complete
/// in the tail from `from`: the rest of the head, then the tail: at most [`MOST_PER_TICK`] of its
/// newest bytes while the job runs, and at its end all the cap keeps, shipping again whatever part of
/// that was skipped.
fn plan(length: u64, from: u64, len: u64, budget: LogBudget, last: bool) -> Vec<Range<u64>> {
    let mut runs = Vec::new();
    if length < budget.head && len > length {
        runs.push(length..len.min(budget.head));
    }
    let unshipped = length.max(budget.head);
    let start = if last {
        // The tail a finished log keeps.
        let window = budget.head.max(len.saturating_sub(budget.tail));
        if from > window && length > window {
            window
        } else {
            unshipped.max(window)
        }
    } else {
        unshipped.max(len.saturating_sub(MOST_PER_TICK.min(budget.tail)))
    };
    if start < len {
        runs.push(start..len);
    }
    runs
}

/// A run cut into pieces of at most [`PIECE`] bytes, in order.
fn pieces_of(run: Range<u64>) -> impl Iterator<Item = Piece> {
    let since = run.start;
    (run.start..run.end)
        .step_by(PIECE as usize)
        .map(move |at| Piece {
            range: at..(at + PIECE).min(run.end),
            since,
        })
}

/// The file's length; 0 while it cannot be read (it is created before the script starts).
fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The bytes of `piece` of a file: fewer if the file is shorter, none if it cannot be read.
fn read(path: &std::path::Path, piece: &Piece) -> Vec<u8> {
    let read = || {
        let file = File::open(path)?;
        let mut bytes = vec![0; (piece.range.end - piece.range.start) as usize];
        let mut filled = 0;
        while filled < bytes.len() {
            match file.read_at(&mut bytes[filled..], piece.range.start + filled as u64)? {
                0 => break,
                n => filled += n,
            }
        }
        bytes.truncate(filled);
        Ok::<_, std::io::Error>(bytes)
    };
    read().unwrap_or_else(|error| {
        tracing::debug!(%error, path = %path.display(), "cannot read the job's log file");
        Vec::new()
    })
}

/// Runs file work on the blocking pool: one hand-off per tick or piece, not one per file operation.
/// Nothing if the runtime is shutting down: then nobody waits for the log.
async fn blocking<T: Default + Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => T::default(),
    }
}

/// An outage is logged once by the store itself, so here only at debug.
fn log_failure(error: &StoreError, what: &str) {
    if error.is_outage() {
        tracing::debug!(%error, "{what}");
    } else {
        tracing::warn!(%error, "{what}");
    }
}

#[cfg(test)]
mod tests;
