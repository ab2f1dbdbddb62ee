//! The TaskAPI front door, driven as the original's clients drive it (docs/taskapi.md).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestEnv;
use crate::taskapi_client::{TaskApi, node};

pub(crate) fn script(env: &TestEnv, name: &str) -> String {
    env.scripts.join(name).display().to_string()
}

/// The test's working directory, where `hold.php` writes the marker `started_pids` reads.
pub(crate) fn work(env: &TestEnv) -> String {
    env.work.display().to_string()
}

/// Every path, as the original's README drives it: a task created with its id and submit
/// description runs, shows in the lists, the status and as a cluster, and is deleted; the HTCondor
/// paths answer as docs/taskapi.md says; the OpenAPI document covers them.
#[tokio::test]
async fn every_path_answers_as_the_original_does() {
    let env = TestEnv::new();
    let api = node(&env, "2min").await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let client = TaskApi::open(&api);
    let id = "41a694e0-5b66-4e79-9abd-7ea9d351f0e6";
    let created = client
        .create(&json!({
            "id": id,
            "subParams": {"executable": script(&env, "analyze.php"), "initialdir": env.work.display().to_string(), "arguments": "5 0", "log": "ignored.log"}
        }))
        .await;
    assert_eq!(created["id"], id);
    // The answer shows the task as it is by then: a worker may have started it already.
    let fresh = (created["state"].as_i64(), created["retriesLeft"].as_i64());
    assert!(
        matches!(fresh, (Some(0), Some(2)) | (Some(1 | 2), Some(1))),
        "{created}"
    );
    assert_eq!(created["procId"], 0);
    assert_eq!(
        created["subParams"]["log"], "ignored.log",
        "unknown keys are kept"
    );
    let cluster_id = created["clusterId"]
        .as_u64()
        .expect("clusterId is Hopper's job id");
    let done = client.until_state(id, 2).await;
    assert_eq!(done["retriesLeft"], 1, "{done}");
    assert_ne!(done["stateDate"], created["stateDate"]);
    assert_eq!(done["expirationDate"], Value::Null);
    assert_eq!(done["latestSubId"], Value::Null);

    let (status, all) = client.get("/api/tasks").await;
    assert_eq!(
        (status, &all["kind"]),
        (StatusCode::OK, &json!("hpctask-list"))
    );
    assert_eq!(all["items"][0]["id"], id);
    assert!(
        all["responseDate"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z'))
    );
    assert_eq!(
        client.get("/api/tasks-completed").await.1["items"][0]["id"],
        id
    );
    assert_eq!(client.get("/api/tasks-queued").await.1["items"], json!([]));
    let (_, server) = client.get("/api/status").await;
    assert_eq!(server["kind"], "dtaskapi-htc-server-status");
    assert_eq!(
        [
            &server["nTasksQueued"],
            &server["nTasksSubmitted"],
            &server["nTasksCompleted"],
            &server["nTasksCompletedWithError"],
            &server["nTasksTimedOut"]
        ],
        [&json!(0), &json!(0), &json!(1), &json!(0), &json!(0)]
    );
    let (status, cluster) = client.get(&format!("/api/htc-clusters/{cluster_id}")).await;
    assert_eq!(status, StatusCode::OK, "{cluster}");
    assert_eq!(cluster["kind"], "htc-cluster-with-task");
    assert_eq!(cluster["cluster"]["taskId"], id);
    assert_eq!(cluster["cluster"]["status"]["clusterState"], 2);
    assert_eq!(cluster["task"]["id"], id);
    assert_eq!(
        client.get("/api/htc-clusters/999999").await.0,
        StatusCode::NOT_FOUND
    );
    for path in ["/api/htc-clusters", "/api/htc-job-events"] {
        let (status, answer) = client.post(path, &json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {answer}");
        assert!(
            answer["detail"]
                .as_str()
                .is_some_and(|d| d.contains("runs tasks itself"))
        );
    }
    assert_eq!(
        client.post("/api/log", &json!({})).await,
        (StatusCode::OK, Value::Null)
    );
    assert_eq!(
        client.get("/api/log/1").await,
        (StatusCode::OK, Value::Null)
    );
    let (status, answer) = client.get("/api/log/one").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["detail"][0]["loc"], json!(["path", "entry_id"]));

    let (status, deleted) = client
        .call(Method::DELETE, &format!("/api/tasks/{id}"), None)
        .await;
    assert_eq!(
        (status, deleted),
        (StatusCode::OK, json!({"deleted_flag": true}))
    );
    assert_eq!(
        client.get(&format!("/api/tasks/{id}")).await,
        (StatusCode::NOT_FOUND, json!({"detail": "not-found"}))
    );
    let (_, again) = client
        .call(Method::DELETE, &format!("/api/tasks/{id}"), None)
        .await;
    assert_eq!(again, json!({"deleted_flag": false}));
    assert_eq!(
        client.get("/api/no-such-path").await,
        (StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
    );

    let document: Value = api
        .client
        .get(format!("{}/openapi.json", api.url))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    for path in [
        "/api/status",
        "/api/tasks",
        "/api/tasks-queued",
        "/api/tasks-completed",
        "/api/tasks/{task_id}",
        "/api/htc-clusters",
        "/api/htc-clusters/{cluster_id}",
        "/api/htc-job-events",
        "/api/log",
        "/api/log/{entry_id}",
    ] {
        assert!(
            document["paths"][path].is_object(),
            "{path} missing from /openapi.json"
        );
    }
}

/// `arguments` and `environment` are read as HTCondor reads them, into an argv and variables that no
/// shell sees; `output` and `error` name files in `initialdir`, which defaults to a directory of the
/// task's own, made when it starts; `request_cpus` gives the threads.
#[tokio::test]
async fn a_submit_description_means_what_it_means_to_htcondor() {
    let env = TestEnv::new();
    let api = node(&env, "2min").await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let client = TaskApi::open(&api);
    client
        .create(&json!({"id": "args", "subParams": {
            "executable": script(&env, "echo.py"),
            "arguments": "\"'two words' $HOME ''\"",
            "output": "out.txt", "error": "err.txt", "request_cpus": "2"
        }}))
        .await;
    client
        .create(&json!({"id": "env", "subParams": {
            "executable": script(&env, "printenv.sh"),
            "environment": "\"GREETING='hello there' EMPTY=\"",
            "output": "env.txt"
        }}))
        .await;
    client.until_state("args", 2).await;
    client.until_state("env", 2).await;
    let dir = env.path("taskroot/args");
    let out = std::fs::read_to_string(dir.join("out.txt"))
        .expect("output file in the task's own directory");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["two words", "$HOME", ""]);
    assert!(dir.join("err.txt").is_file());
    let printed = std::fs::read_to_string(env.path("taskroot/env/env.txt")).expect("env.txt");
    assert!(
        printed.lines().any(|l| l == "GREETING=hello there"),
        "{printed}"
    );
    assert!(printed.lines().any(|l| l == "EMPTY="), "{printed}");
    assert!(
        printed.lines().any(|l| l == "HOPPER_THREADS=1"),
        "{printed}"
    );
    let job = env
        .job(&client.get("/api/tasks/args").await.1["clusterId"].to_string())
        .await
        .expect("job");
    assert_eq!(job.spec.threads, 2);
}

/// Each rule of a create refuses with 422 naming the field, in FastAPI's shape, and leaves nothing:
/// no task, no job.
#[tokio::test]
async fn a_create_that_breaks_a_rule_is_refused_naming_the_field_and_makes_nothing() {
    let env = TestEnv::new();
    let api = node(&env, "2min").await;
    let client = TaskApi::open(&api);
    let good = script(&env, "analyze.php");
    let outside = std::env::temp_dir().display().to_string();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"subParams": {"executable": "/bin/sh"}}),
            vec!["body", "subParams", "executable"],
        ),
        (
            json!({"subParams": {"executable": "analyze.php"}}),
            vec!["body", "subParams", "executable"],
        ),
        (
            json!({"subParams": {}}),
            vec!["body", "subParams", "executable"],
        ),
        (
            json!({"subParams": {"executable": good, "arguments": "\"'open"}}),
            vec!["body", "subParams", "arguments"],
        ),
        (
            json!({"subParams": {"executable": good, "environment": "\"=x\""}}),
            vec!["body", "subParams", "environment"],
        ),
        (
            json!({"subParams": {"executable": good, "initialdir": outside}}),
            vec!["body", "subParams", "initialdir"],
        ),
        (
            json!({"subParams": {"executable": good, "output": "../x"}}),
            vec!["body", "subParams", "output"],
        ),
        (
            json!({"subParams": {"executable": good, "request_cpus": "zero"}}),
            vec!["body", "subParams", "request_cpus"],
        ),
        (
            json!({"subParams": {"executable": good, "+MaxRuntime": "soon"}}),
            vec!["body", "subParams", "+MaxRuntime"],
        ),
        (
            json!({"subParams": {"executable": good, "queue": "nowhere"}}),
            vec!["body", "subParams", "queue"],
        ),
        (
            json!({"subParams": {"executable": good, "request_cpus": 2}}),
            vec!["body", "subParams", "request_cpus"],
        ),
        (
            json!({"subParams": {"executable": good}, "retriesLeft": 0}),
            vec!["body", "retriesLeft"],
        ),
        (
            json!({"subParams": {"executable": good}, "state": 2}),
            vec!["body", "state"],
        ),
        (
            json!({"subParams": {"executable": good}, "id": "a b"}),
            vec!["body", "id"],
        ),
        (
            json!({"subParams": {"executable": good}, "retriesLeft": "many"}),
            vec!["body", "retriesLeft"],
        ),
    ];
    for (body, loc) in cases {
        let (status, answer) = client.post("/api/tasks", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        let errors = answer["detail"]
            .as_array()
            .expect("FastAPI's list of errors");
        assert!(
            errors
                .iter()
                .any(|e| e["loc"] == json!(loc) && e["msg"].is_string() && e["type"].is_string()),
            "{body}: {answer}"
        );
    }
    let (status, answer) = client.call(Method::POST, "/api/tasks", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(client.get("/api/tasks").await.1["items"], json!([]));
    assert!(
        env.keys()
            .await
            .iter()
            .all(|k| !k.contains(":job:") && !k.contains(":alias:")),
        "{:?}",
        env.keys().await
    );
}

/// A client's id is the task's: a second create with it answers 409 while the task exists, and a
/// create without one gets a UUID.
#[tokio::test]
async fn a_task_id_is_the_clients_and_unique() {
    let env = TestEnv::new();
    let api = node(&env, "2min").await;
    let client = TaskApi::open(&api);
    let body =
        json!({"id": "sample-1.v2", "subParams": {"executable": script(&env, "analyze.php")}});
    client.create(&body).await;
    let (status, answer) = client.post("/api/tasks", &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .is_some_and(|d| d.contains("sample-1.v2")),
        "{answer}"
    );
    let task = client
        .create(&json!({"subParams": {"executable": script(&env, "analyze.php")}}))
        .await;
    let chosen = task["id"].as_str().expect("id");
    assert!(uuid::Uuid::parse_str(chosen).is_ok(), "{chosen}");
}

/// Without HOPPER_OPEN_DOORS a request needs a token (401 without, 403 for a role too low); with the
/// door open, a request without one is let in as `submit`, and a wrong one is still refused.
#[tokio::test]
async fn tokens_are_needed_unless_the_door_is_open() {
    let env = TestEnv::new();
    let closed = env.api().await;
    let (status, answer) = TaskApi::open(&closed).get("/api/tasks").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(answer["detail"].is_string());
    assert_eq!(
        TaskApi::with_token(&closed).get("/api/tasks").await.0,
        StatusCode::OK
    );
    let reader = TaskApi {
        api: &closed,
        token: Some(crate::helpers::READ_TOKEN),
    };
    let body = json!({"subParams": {"executable": script(&env, "analyze.php")}});
    assert_eq!(
        reader.post("/api/tasks", &body).await.0,
        StatusCode::FORBIDDEN
    );

    let open = node(&env, "2min").await;
    assert_eq!(
        TaskApi::open(&open).post("/api/tasks", &body).await.0,
        StatusCode::OK
    );
    let wrong = TaskApi {
        api: &open,
        token: Some("wrong"),
    };
    assert_eq!(wrong.get("/api/tasks").await.0, StatusCode::UNAUTHORIZED);
}
