//! A job's status in Scale's words (reference §2), mapped from the core's states in this one place:
//! every Scale answer that shows or filters by a status goes through it.

use hopper_common::JobState;

/// Scale's statuses, as its JSON and its `status` filters spell them.
pub(crate) const ALL: [&str; 7] = [
    "PENDING",
    "BLOCKED",
    "QUEUED",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "CANCELED",
];

/// The Scale status of a job in core state `state`. A suspended job is still `RUNNING` to Scale, which
/// has no suspend: its process is alive, and it holds its resources.
pub(crate) fn of(state: JobState) -> &'static str {
    match state {
        JobState::Pending => "PENDING",
        JobState::Blocked => "BLOCKED",
        JobState::Queued => "QUEUED",
        JobState::Running | JobState::Suspended => "RUNNING",
        JobState::Succeeded => "COMPLETED",
        JobState::Failed => "FAILED",
        JobState::Canceled => "CANCELED",
    }
}

/// The core states a Scale status filter picks.
pub(crate) fn states(status: &str) -> &'static [JobState] {
    match status {
        "PENDING" => &[JobState::Pending],
        "BLOCKED" => &[JobState::Blocked],
        "QUEUED" => &[JobState::Queued],
        "RUNNING" => &[JobState::Running, JobState::Suspended],
        "COMPLETED" => &[JobState::Succeeded],
        "FAILED" => &[JobState::Failed],
        "CANCELED" => &[JobState::Canceled],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every core state has a Scale status, every Scale status picks the states that show as it, and
    /// nothing else picks anything.
    #[test]
    fn statuses_and_states_map_both_ways() {
        for state in JobState::ALL {
            let status = of(state);
            assert!(ALL.contains(&status), "{state:?}");
            assert!(
                states(status).contains(&state),
                "{state:?} is not found by {status}"
            );
        }
        for status in ALL {
            assert!(states(status).iter().all(|s| of(*s) == status), "{status}");
        }
        assert!(states("running").is_empty());
    }
}
