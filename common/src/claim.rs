//! What a worker's claim answers (see `store/claims.rs` and `store/lua/claim.lua`).

use crate::{JobId, JobSpec, JobState};

/// The answer to a worker's claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This worker now owns the job and must run it.
    Claimed(Box<JobSpec>),
    /// Someone else claimed it, or it was canceled: drop the message.
    NotQueued(JobState),
    /// Redis has no such job (expired, or the message is not ours).
    Missing,
    /// The job is still provisional: its submitter has published it but not confirmed it yet (the
    /// confirm follows the publish within milliseconds), and it may yet refuse the submit, when Redis
    /// did not answer its confirm. Ask again shortly: it is then claimable, or gone.
    Unconfirmed,
}

/// What a submit message claimed when spent as a token for its queue: the best queued job there, which
/// need not be the job the message named (see `lua/claim.lua`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextClaim {
    /// This worker now owns `job` and must run it with `threads` slots (at most those offered).
    Claimed {
        job: JobId,
        threads: u32,
        spec: Box<JobSpec>,
    },
    /// The best job of the queue needs this many slots, more than were offered: nothing was claimed.
    /// Hand the message back and reserve them, so that narrower jobs do not starve it.
    Wider(u32),
    /// The message's own job is still provisional (see [`Claim::Unconfirmed`]); ask again shortly.
    Unconfirmed,
    /// Nothing to claim: the message is left over. The job it named is in this state.
    Nothing(JobState),
    /// Nothing to claim, and Redis has no job of the message's id.
    Missing,
}
