//! Names clients give their jobs (the TaskAPI's task ids): taken in the same step as the job is made,
//! refused while their job exists, free again once it is gone.

use std::path::PathBuf;
use std::time::Duration;

use hopper_common::{Alias, JobSpec, Named, QueueName};

use crate::helpers::{TestEnv, eventually};

fn spec() -> JobSpec {
    JobSpec {
        threads: 1,
        queues: vec![QueueName::parse("default").expect("queue")],
        script: "analyze.php".into(),
        working_directory: PathBuf::from("/tmp"),
        max_tries: 1,
        ..JobSpec::default()
    }
}

const ALIAS: Alias<'static> = Alias {
    door: "taskapi",
    name: "task-1",
    request: r#"{"executable":"/x"}"#,
};

/// A name is taken with its job and refused while that job exists; the job keeps the name and the
/// request as sent; a name freed, or whose job expired unconfirmed, is free for a new job.
#[tokio::test]
async fn a_name_is_taken_with_its_job_and_free_once_the_job_is_gone() {
    let env = TestEnv::new();
    let store = &env.store;
    let long = Duration::from_secs(60);
    let Named::Created(first) = store
        .create_provisional_named(&spec(), long, &ALIAS)
        .await
        .expect("create")
    else {
        panic!("the name was free");
    };
    let again = store
        .create_provisional_named(&spec(), long, &ALIAS)
        .await
        .expect("create");
    assert_eq!(again, Named::Taken(first.clone()));
    assert!(store.confirm(&first).await.expect("confirm"));
    assert_eq!(
        store.named("taskapi", "task-1").await.expect("named"),
        Some(first.clone())
    );
    assert_eq!(store.named("other", "task-1").await.expect("named"), None);
    assert_eq!(
        store.names("taskapi").await.expect("names"),
        [("task-1".to_owned(), first.clone())]
    );
    let job = store.get(&first).await.expect("get").expect("job");
    assert_eq!(job.alias.as_deref(), Some("task-1"));
    assert_eq!(job.client_request.as_deref(), Some(ALIAS.request));

    assert!(
        store
            .forget_name("taskapi", "task-1", &first)
            .await
            .expect("forget")
    );
    assert_eq!(store.named("taskapi", "task-1").await.expect("named"), None);
    assert!(store.names("taskapi").await.expect("names").is_empty());

    // A job that is never confirmed expires, and its name with it.
    let short = Duration::from_millis(50);
    let Named::Created(unconfirmed) = store
        .create_provisional_named(&spec(), short, &ALIAS)
        .await
        .expect("create")
    else {
        panic!("the name was freed");
    };
    eventually("the unconfirmed job to expire", || async {
        store
            .get(&unconfirmed)
            .await
            .expect("get")
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(store.named("taskapi", "task-1").await.expect("named"), None);
    let third = store
        .create_provisional_named(&spec(), long, &ALIAS)
        .await
        .expect("create");
    assert!(
        matches!(third, Named::Created(ref id) if *id != unconfirmed),
        "{third:?}"
    );
}
