//! A job's stdout and stderr, as its worker ships them to Redis: read from an offset, whole or what
//! came since, or followed as they grow until the job ends.
//!
//! A stream keeps its head and its tail up to the worker's `HOPPER_LOG_CAP`; where bytes were not kept,
//! a read puts [`omission_marker`] stating how many, and cuts at character boundaries so that the
//! bytes shown plus the number stated are the stream's length.

use std::time::Duration;

use hopper_common::{JobId, JobState, LogSlice, LogStream, omission_marker};
use tokio_util::sync::CancellationToken;

use super::{Jobs, Unavailable, record_job};

/// How often a follower looks for new output. With the worker's own 250 ms, new output reaches a
/// follower within about half a second.
const FOLLOW_POLL: Duration = Duration::from_millis(250);
/// Most bytes of the stream one followed chunk carries.
const FOLLOW_CHUNK: u64 = 256 * 1024;

/// What a read found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogText {
    /// The stream's bytes from the offset on, as the script wrote them, with a marker where bytes
    /// were not kept.
    pub bytes: Vec<u8>,
    /// Where to read on from: the position after the last byte read.
    pub next: u64,
    /// The job's state when read (`None`: one this version does not know). Once it has ended, the
    /// stream is complete.
    pub state: Option<JobState>,
}

/// What following a stream brings, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Followed {
    /// New output, cut at a character boundary; `next` is the stream position after it.
    Output { text: String, next: u64 },
    /// The job has ended and everything was sent (`state` is `None` if the job is gone).
    End { state: Option<JobState>, next: u64 },
}

impl Jobs {
    /// One stream of a job's output from `offset` on; `None` for an unknown job.
    pub async fn log(
        &self,
        id: &JobId,
        stream: LogStream,
        offset: u64,
    ) -> Result<Option<LogText>, Unavailable> {
        record_job(id);
        let slice = self.store.log_read(id, stream, offset, 0).await?;
        Ok(slice.map(|slice| LogText {
            next: slice.next,
            state: slice.state,
            bytes: joined(slice),
        }))
    }

    /// Follows one stream of a job from `offset` on until the job has ended and all of it was sent,
    /// or `stop`; `None` for an unknown job.
    pub async fn follow(
        &self,
        id: &JobId,
        stream: LogStream,
        offset: u64,
        stop: CancellationToken,
    ) -> Result<Option<Follow>, Unavailable> {
        record_job(id);
        let Some(first) = self
            .store
            .log_read(id, stream, offset, FOLLOW_CHUNK)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(Follow {
            jobs: self.clone(),
            id: id.clone(),
            stream,
            next: offset,
            read: Some(first),
            more_now: false,
            stop,
            done: false,
        }))
    }
}

/// A stream being followed: ask [`next`](Self::next) until it says `None`.
#[derive(Debug)]
pub struct Follow {
    jobs: Jobs,
    id: JobId,
    stream: LogStream,
    next: u64,
    /// A read not yet handed on.
    read: Option<LogSlice>,
    /// Whether more output is there already: read it without waiting.
    more_now: bool,
    stop: CancellationToken,
    done: bool,
}

impl Follow {
    /// The next output, or the end; `None` once ended, stopped, or after an error (the client may
    /// resume from the last position it was given).
    pub async fn next(&mut self) -> Option<Result<Followed, Unavailable>> {
        while !self.done {
            let slice = match self.read.take() {
                Some(slice) => slice,
                None => {
                    if !self.more_now {
                        tokio::select! {
                            () = self.stop.cancelled() => return None,
                            () = tokio::time::sleep(FOLLOW_POLL) => {}
                        }
                    }
                    let read =
                        self.jobs
                            .store
                            .log_read(&self.id, self.stream, self.next, FOLLOW_CHUNK);
                    let read = tokio::select! {
                        () = self.stop.cancelled() => return None,
                        read = read => read,
                    };
                    match read {
                        Ok(Some(slice)) => slice,
                        Ok(None) => {
                            // Gone (past its retention) while followed: nothing more will come.
                            self.done = true;
                            return Some(Ok(Followed::End {
                                state: None,
                                next: self.next,
                            }));
                        }
                        Err(error) => {
                            self.done = true;
                            return Some(Err(error.into()));
                        }
                    }
                }
            };
            let ended = slice.state.is_some_and(JobState::is_final);
            let (length, state) = (slice.length, slice.state);
            let mut next = slice.next;
            let mut bytes = joined(slice);
            if !ended {
                // A character the script is half-way through writing comes with its end.
                let partial = incomplete_end(&bytes);
                bytes.truncate(bytes.len() - partial);
                next -= partial as u64;
            }
            // After output, read again at once if more is there already, or to find the end.
            self.more_now = !bytes.is_empty() && (next < length || ended);
            self.next = next;
            if !bytes.is_empty() {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                return Some(Ok(Followed::Output { text, next }));
            }
            if ended {
                // An ended job's log is whole: its worker shipped it all before recording the end.
                self.done = true;
                return Some(Ok(Followed::End { state, next }));
            }
        }
        None
    }
}

/// The slice's bytes, with a marker where bytes were not kept. A character cut by the omission is
/// left out, and counted with it, so the bytes shown plus the number stated are what the stream had.
fn joined(slice: LogSlice) -> Vec<u8> {
    let LogSlice {
        mut head,
        omitted,
        tail,
        ..
    } = slice;
    if omitted == 0 {
        head.extend_from_slice(&tail);
        return head;
    }
    let cut = incomplete_end(&head);
    head.truncate(head.len() - cut);
    let skip = tail
        .iter()
        .take(3)
        .take_while(|&&b| b & 0b1100_0000 == 0b1000_0000)
        .count();
    let omitted = omitted + (cut + skip) as u64;
    head.extend_from_slice(omission_marker(omitted).as_bytes());
    head.extend_from_slice(&tail[skip..]);
    head
}

/// How many bytes at the end of `bytes` begin a UTF-8 character they do not finish.
fn incomplete_end(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let byte = bytes[bytes.len() - back];
        if byte & 0b1100_0000 == 0b1000_0000 {
            continue;
        }
        let needs = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            // ASCII, or a byte no character begins with: nothing to wait for.
            _ => 1,
        };
        return if needs > back { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(head: &[u8], omitted: u64, tail: &[u8]) -> LogSlice {
        LogSlice {
            state: Some(JobState::Running),
            length: 0,
            head: head.to_vec(),
            omitted,
            tail: tail.to_vec(),
            next: 0,
        }
    }

    /// A character cut where bytes were omitted is left out and counted, so shown + stated = length.
    #[test]
    fn omissions_cut_at_character_boundaries() {
        let text = "aé".as_bytes();
        let cut = joined(slice(&text[..2], 10, &[0xA9, b'z']));
        let shown = String::from_utf8(cut).expect("UTF-8");
        assert_eq!(shown, format!("a{}z", omission_marker(12)));
        assert_eq!(joined(slice(b"abc", 0, b"def")), b"abcdef".to_vec());
    }

    /// Only a character begun and not finished at the end counts as incomplete.
    #[test]
    fn incomplete_ends_are_found() {
        assert_eq!(incomplete_end(b"abc"), 0);
        assert_eq!(incomplete_end("é".as_bytes()), 0);
        assert_eq!(incomplete_end(&"é".as_bytes()[..1]), 1);
        assert_eq!(incomplete_end(&"😀".as_bytes()[..3]), 3);
        assert_eq!(incomplete_end(&[b'a', 0xFF]), 0);
    }
}
