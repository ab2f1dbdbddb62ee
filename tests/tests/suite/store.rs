//! Store transitions that the HTTP tests cannot reach deterministically.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hopper_common::{
    Claim, Claimant, Ending, Failure, HashEncoding, JobSpec, JobState, Namespace, QueueName, Store,
    StoreError,
};
use hopper_tests::redis_url;

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
        ..JobSpec::default()
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

/// A status read (the few fields an update reply needs, one HMGET) says what the whole record says, for
/// a queued, a running and a failed job, and nothing for an unknown one.
#[tokio::test]
async fn status_agrees_with_the_whole_record() {
    let env = TestEnv::new();
    let queue = QueueName::parse("default").expect("queue");
    let agrees = |id| {
        let store = env.store.clone();
        async move {
            let job = store.get(&id).await.expect("get").expect("job");
            let status = store.status(&id).await.expect("status").expect("status");
            assert_eq!(
                (
                    status.state,
                    status.cancel_requested,
                    &status.queue,
                    &status.host
                ),
                (job.state, job.cancel_requested, &job.queue, &job.host)
            );
            assert_eq!(
                (&status.note, &status.output, &status.failure),
                (&job.note, &job.output, &job.failure)
            );
            status
        }
    };
    let id = env.store.create(&spec()).await.expect("create");
    assert_eq!(agrees(id.clone()).await.state, JobState::Queued);
    env.store
        .claim(&id, &claimant("token-1"), &queue, 1, Some("a note"))
        .await
        .expect("claim");
    let running = agrees(id.clone()).await;
    assert_eq!(running.host.as_deref(), Some("host"));
    assert_eq!(running.note.as_deref(), Some("a note"));
    let ending = Ending {
        failure: Some(Failure::Exit(3)),
        output: "the tail".into(),
    };
    env.store.finish(&id, "w1", &ending).await.expect("finish");
    let failed = agrees(id.clone()).await;
    assert_eq!(failed.failure, Some(Failure::Exit(3)));
    assert_eq!(failed.output, "the tail");

    let unknown = hopper_common::JobId::parse("999999").expect("id");
    assert!(env.store.status(&unknown).await.expect("status").is_none());
}

/// The start-up check reads Redis's `hash-max-listpack-value`, the same value `CONFIG GET` shows
/// (read only: the shared server's configuration is left alone).
#[tokio::test]
async fn hash_encoding_reads_the_listpack_limit() {
    let env = TestEnv::new();
    let client = redis::Client::open(redis_url()).expect("Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis");
    let pair: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("hash-max-listpack-value")
        .query_async(&mut conn)
        .await
        .expect("CONFIG GET");
    let limit: u64 = pair[1].parse().expect("a number");
    assert_eq!(
        env.store.hash_encoding().await.expect("hash_encoding"),
        HashEncoding::Limit(limit)
    );
}

/// A store whose Redis is down is made without connecting; its first operation fails trying to
/// connect, and the next ones fail at once, without a connect each, until the backoff is over.
#[tokio::test]
async fn a_store_without_redis_fails_fast_and_backs_off() {
    // A port nobody listens on: connects are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    let ns = Namespace::parse("nobody").expect("namespace");
    let store = Store::new(
        &format!("redis://127.0.0.1:{port}"),
        ns,
        Duration::from_secs(60),
        Duration::from_secs(5),
    )
    .expect("a store, without connecting");
    let first = store.ping().await.expect_err("Redis is down");
    assert!(matches!(first, StoreError::Connect(_)), "{first}");
    assert!(first.to_string().contains("HOPPER_REDIS_URL"), "{first}");
    let failed_at = Instant::now();
    let next = store.hash_encoding().await.expect_err("Redis is down");
    // The first backoff is 100 ms; a machine too busy to ask again within it proves nothing here.
    if failed_at.elapsed() < Duration::from_millis(100) {
        assert!(matches!(next, StoreError::Reconnecting(_)), "{next}");
    }
}

/// Milliseconds until Redis forgets job `id` (`PTTL`): -1 for never, -2 if it is gone.
async fn pttl(env: &TestEnv, id: &hopper_common::JobId) -> i64 {
    let client = redis::Client::open(redis_url()).expect("Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis");
    redis::cmd("PTTL")
        .arg(format!("{}:job:{id}", env.ns))
        .query_async(&mut conn)
        .await
        .expect("PTTL")
}

/// A provisional job (a front door's, until its submit is published) is forgotten unless it is
/// confirmed, and cannot be claimed before; confirming keeps it for good, and confirming a job that has
/// already ended leaves its retention alone.
#[tokio::test]
async fn provisional_jobs_last_and_run_only_once_confirmed() {
    let env = TestEnv::new();
    let queue = QueueName::parse("default").expect("queue");
    let brief = Duration::from_millis(300);

    let abandoned = env
        .store
        .create_provisional(&spec(), brief)
        .await
        .expect("create");
    assert!(pttl(&env, &abandoned).await > 0);
    crate::helpers::eventually("an unconfirmed job to be forgotten", || async {
        (pttl(&env, &abandoned).await == -2).then_some(())
    })
    .await;
    assert!(!env.store.confirm(&abandoned).await.expect("confirm"));

    let confirmed = env
        .store
        .create_provisional(&spec(), brief)
        .await
        .expect("create");
    assert!(env.store.confirm(&confirmed).await.expect("confirm"));
    assert_eq!(pttl(&env, &confirmed).await, -1);

    // Not claimable before its submitter confirms it (it may yet refuse the submit); then claimable,
    // and a claimed job never expires under its worker.
    let claimed = env
        .store
        .create_provisional(&spec(), Duration::from_secs(60))
        .await
        .expect("create");
    let early = env
        .store
        .claim(&claimed, &claimant("token"), &queue, 1, None)
        .await
        .expect("claim");
    assert_eq!(early, Claim::Unconfirmed);
    assert!(env.store.confirm(&claimed).await.expect("confirm"));
    let claim = env
        .store
        .claim(&claimed, &claimant("token"), &queue, 1, None)
        .await
        .expect("claim");
    assert!(matches!(claim, Claim::Claimed(_)), "{claim:?}");
    assert_eq!(pttl(&env, &claimed).await, -1);
    let ending = Ending {
        failure: None,
        output: String::new(),
    };
    env.store
        .finish(&claimed, "w1", &ending)
        .await
        .expect("finish");
    let retention = pttl(&env, &claimed).await;
    assert!(
        retention > 60_000,
        "an ended job keeps its retention: {retention}"
    );
    assert!(env.store.confirm(&claimed).await.expect("confirm"));
    assert!(
        pttl(&env, &claimed).await > 60_000,
        "the confirm took the retention away"
    );
}

/// Confirms asked at once (as under load, when they go to Redis in batches) each get their own job's
/// answer: every queued job is made lasting, and a job that is gone answers so.
#[tokio::test]
async fn confirms_asked_together_each_get_their_own_answer() {
    let env = TestEnv::new();
    let mut ids = Vec::new();
    for _ in 0..50 {
        let id = env
            .store
            .create_provisional(&spec(), Duration::from_secs(60))
            .await
            .expect("create");
        ids.push(id);
    }
    let gone = ids.pop().expect("a job");
    assert!(env.store.withdraw(&gone).await.expect("withdraw"));
    let mut asked = tokio::task::JoinSet::new();
    for id in ids.iter().chain([&gone]).cloned() {
        let store = env.store.clone();
        asked.spawn(async move { (store.confirm(&id).await.expect("confirm"), id) });
    }
    while let Some(answer) = asked.join_next().await {
        let (confirmed, id) = answer.expect("task");
        assert_eq!(confirmed, id != gone, "job {id}");
        if id != gone {
            assert_eq!(pttl(&env, &id).await, -1, "job {id} is still provisional");
        }
    }
}
