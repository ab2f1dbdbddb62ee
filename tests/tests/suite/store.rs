//! Store transitions that the HTTP tests cannot reach deterministically.

use std::path::PathBuf;

use hopper_common::{Claim, Claimant, JobSpec, JobState, QueueName};

use crate::helpers::TestEnv;

fn claimant(token: &str) -> Claimant<'_> {
    Claimant {
        worker: "w1",
        host: "host",
        token,
    }
}

fn spec() -> JobSpec {
    JobSpec {
        threads: 1,
        queues: vec![QueueName::parse("default").expect("queue")],
        script: "analyze.php".into(),
        args: vec!["a b".into()],
        working_directory: PathBuf::from("/tmp"),
        max_tries: 1,
    }
}

/// A job whose publish failed is withdrawn while still queued, but kept once a worker claimed it
/// through a message that got through: it runs, so the submit must stand.
#[tokio::test]
async fn withdraw_only_takes_back_a_job_still_queued() {
    let env = TestEnv::new();
    let queue = QueueName::parse("default").expect("queue");
    let queued = env.store.create(&spec()).await.expect("create");
    assert!(env.store.withdraw(&queued).await.expect("withdraw"));
    assert!(env.store.get(&queued).await.expect("get").is_none());

    let claimed = env.store.create(&spec()).await.expect("create");
    let claim = env
        .store
        .claim(&claimed, &claimant("token-1"), &queue, 1, None)
        .await
        .expect("claim");
    assert!(matches!(claim, Claim::Claimed(_)), "{claim:?}");
    assert!(!env.store.withdraw(&claimed).await.expect("withdraw"));
    let job = env.store.get(&claimed).await.expect("get").expect("kept");
    assert_eq!(job.state, JobState::Running);
}

/// A claim is idempotent for the same claim token (so a claim whose reply was lost can be asked
/// again and answers the same), and refused for any other.
#[tokio::test]
async fn claim_repeats_for_its_own_token_only() {
    let env = TestEnv::new();
    let queue = QueueName::parse("default").expect("queue");
    let id = env.store.create(&spec()).await.expect("create");
    let first = env
        .store
        .claim(&id, &claimant("token-1"), &queue, 1, None)
        .await
        .expect("claim");
    let again = env
        .store
        .claim(&id, &claimant("token-1"), &queue, 1, None)
        .await
        .expect("claim");
    assert_eq!(first, again);
    assert!(
        matches!(first, Claim::Claimed(ref spec) if spec.args == ["a b"]),
        "{first:?}"
    );
    let other = env
        .store
        .claim(&id, &claimant("token-2"), &queue, 1, None)
        .await
        .expect("claim");
    assert_eq!(other, Claim::NotQueued(JobState::Running));
    let job = env.store.get(&id).await.expect("get").expect("job");
    assert_eq!(job.attempts, 1, "a repeated claim is not a new attempt");
}
