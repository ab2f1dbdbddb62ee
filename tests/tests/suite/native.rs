//! The native REST API, `/api/v1`, against real Redis and RabbitMQ: every answer is also checked
//! against the OpenAPI document (see `native_client.rs`).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{READ_TOKEN, TOKEN, TestEnv};
use crate::native_client::Native;

/// A job submitted with a name and labels answers 201 with its `Location`, runs, and reads back whole:
/// its spec, the door that made it, its times, its attempt and its outcome.
#[tokio::test]
async fn a_submitted_job_runs_and_reads_back_whole() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let native = Native::new(&api, TOKEN);
    let mut body = native.job("analyze.php", &["-exit", "3"], &["default"]);
    body["name"] = json!("Sample 1");
    body["labels"] = json!({"team": "diagnostics", "lims/id": "S-001"});
    body["max_tries"] = json!(2);
    body["priority"] = json!(-5);
    let answer = native
        .call(Method::POST, "/api/v1/jobs", Some(&body), &[])
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let id = answer.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        answer.headers["location"].to_str().expect("location"),
        format!("/api/v1/jobs/{id}")
    );
    let job = native.until_state(&id, &["failed"]).await;
    assert_eq!(job["name"], "Sample 1");
    assert_eq!(
        job["labels"],
        json!({"team": "diagnostics", "lims/id": "S-001", "door": "native"})
    );
    assert_eq!(job["program"], "analyze.php");
    assert_eq!(job["args"], json!(["-exit", "3"]));
    assert_eq!(job["max_tries"], 2);
    assert_eq!(job["priority"], -5);
    assert_eq!(job["failure"]["reason"], "exit");
    assert_eq!(job["exit_code"], 3);
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["history"][0]["outcome"], "exit");
    assert!(
        job["created"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{job}"
    );
    assert!(job["ended"].is_string(), "{job}");
    native.conforms().await;
}

/// Every refusal is a problem document naming what is wrong (and the field, where there is one), and
/// none writes anything.
#[tokio::test]
async fn refusals_are_problem_details_and_write_nothing() {
    let env = TestEnv::new();
    let api = env
        .api_with(env.api_flags().set("--max-body", "4096"))
        .await;
    let native = Native::new(&api, TOKEN);
    let reader = Native::new(&api, READ_TOKEN);
    let anonymous = Native::anonymous(&api);
    let stranger = Native::new(&api, "not-a-token");
    let good = native.job("analyze.php", &[], &["default"]);
    let with = |field: &str, value: serde_json::Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let post = Method::POST;
    let jobs = "/api/v1/jobs";
    let cases = [
        (
            &anonymous,
            good.clone(),
            StatusCode::UNAUTHORIZED,
            None,
            "missing token",
        ),
        (
            &stranger,
            good.clone(),
            StatusCode::UNAUTHORIZED,
            None,
            "invalid token",
        ),
        (
            &reader,
            good.clone(),
            StatusCode::FORBIDDEN,
            None,
            "role read may not submit",
        ),
        (
            &native,
            json!([1]),
            StatusCode::BAD_REQUEST,
            None,
            "the body is not a job",
        ),
        (
            &native,
            with("colour", json!("red")),
            StatusCode::BAD_REQUEST,
            Some("colour"),
            "unknown field `colour`",
        ),
        (
            &native,
            with("threads", json!("two")),
            StatusCode::BAD_REQUEST,
            Some("threads"),
            "invalid type",
        ),
        (
            &native,
            with("threads", json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("threads"),
            "threads must be between",
        ),
        (
            &native,
            with("queues", json!(["nowhere"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("queues"),
            "unknown queue nowhere",
        ),
        (
            &native,
            with("program", json!("../x.sh")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("program"),
            "not a bare file name",
        ),
        (
            &native,
            with("labels", json!({"door": "mine"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("labels"),
            "label 'door' is Hopper's",
        ),
        (
            &native,
            with("timeout", json!("soon")),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("timeout"),
            "not a duration",
        ),
        (
            &native,
            with("priority", json!(100_000)),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("priority"),
            "between -99999 and 99999",
        ),
        (
            &native,
            with("max_tries", json!(101)),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("max_tries"),
            "between 1 and 100",
        ),
        (
            &native,
            with("queues", json!(vec!["default"; 33])),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("queues"),
            "at most 32",
        ),
        (
            &native,
            with("name", json!("x".repeat(5000))),
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            "larger than 4096 bytes",
        ),
    ];
    for (client, body, status, field, detail) in cases {
        let answer = client.call(post.clone(), jobs, Some(&body), &[]).await;
        let problem = &answer.body;
        assert_eq!(answer.status, status, "{problem}");
        assert_eq!(
            answer.headers["content-type"], "application/problem+json",
            "{problem}"
        );
        assert_eq!(problem["status"], status.as_u16(), "{problem}");
        assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:hopper:problem:"))
        );
        assert!(problem["title"].is_string(), "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(detail)),
            "expected {detail:?}: {problem}"
        );
        assert_eq!(problem["field"].as_str(), field, "{problem}");
    }
    let unauthorized = anonymous
        .call(Method::GET, "/api/v1/jobs/1", None, &[])
        .await;
    assert_eq!(
        unauthorized.headers["www-authenticate"],
        "Bearer realm=\"hopper\""
    );
    assert_eq!(env.request_keys().await, Vec::<String>::new());
    let missing = native.get("12345").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no job '12345'"))
    );
    // Not through the recording client: this path is not in the document, on purpose.
    let nowhere = api
        .client
        .get(format!("{}/api/v1/nothing", api.url))
        .send()
        .await
        .expect("GET");
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        nowhere.headers()["content-type"],
        "application/problem+json"
    );
    native.conforms().await;
    reader.conforms().await;
}

/// A submit sent again with the same `Idempotency-Key` returns the first job, however often; another
/// key makes another job.
#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_job() {
    let env = TestEnv::new();
    let api = env.api().await;
    let native = Native::new(&api, TOKEN);
    let body = native.job("analyze.php", &[], &["default"]);
    let post = |key: &'static str| {
        let (native, body) = (&native, &body);
        async move {
            native
                .call(
                    Method::POST,
                    "/api/v1/jobs",
                    Some(body),
                    &[("Idempotency-Key", key)],
                )
                .await
        }
    };
    let first = post("run-7f3a").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    for _ in 0..3 {
        let again = post("run-7f3a").await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert_eq!(again.body["id"], first.body["id"]);
    }
    let other = post("run-8b21").await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_ne!(other.body["id"], first.body["id"]);
    assert_eq!(env.job_keys().await.len(), 2);
    native.conforms().await;
}

/// A queued job is canceled at once (200), a second cancel is a conflict (409); a running job's worker
/// is told to end it (202) and it ends canceled; an unknown job is 404; a read token may not cancel.
#[tokio::test]
async fn cancel_answers_by_what_the_job_was_doing() {
    let env = TestEnv::new();
    let api = env.api().await;
    let native = Native::new(&api, TOKEN);
    let queued = native
        .submit(&native.job("analyze.php", &[], &["default"]))
        .await;
    let queued_id = queued["id"].as_str().expect("id").to_owned();
    let canceled = native.delete(&queued_id).await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.body);
    assert_eq!(canceled.body["state"], "canceled");
    assert_eq!(native.delete(&queued_id).await.status, StatusCode::CONFLICT);
    assert_eq!(native.delete("999999").await.status, StatusCode::NOT_FOUND);
    let reader = Native::new(&api, READ_TOKEN);
    let refused = reader
        .call(
            Method::DELETE,
            &format!("/api/v1/jobs/{queued_id}"),
            None,
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let _worker = env.worker("w1", &["default"], 1).await;
    let running = native
        .submit(&native.job("hold.php", &[], &["default"]))
        .await;
    let running_id = running["id"].as_str().expect("id").to_owned();
    native.until_state(&running_id, &["running"]).await;
    let stopping = native.delete(&running_id).await;
    assert_eq!(stopping.status, StatusCode::ACCEPTED, "{}", stopping.body);
    assert_eq!(stopping.body["cancel_requested"], true);
    native.until_state(&running_id, &["canceled"]).await;
    native.conforms().await;
}

/// The OpenAPI document is served, is a valid OpenAPI 3.1 document, and Swagger UI is served from the
/// binary itself, with nothing fetched from elsewhere.
#[tokio::test]
async fn the_openapi_document_validates_and_swagger_ui_is_local() {
    let env = TestEnv::new();
    let api = env.api().await;
    let document: serde_json::Value = api
        .client
        .get(format!("{}/openapi.json", api.url))
        .send()
        .await
        .expect("GET /openapi.json")
        .json()
        .await
        .expect("JSON");
    let meta: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/openapi-3.1-schema.json"))
            .expect("the OpenAPI 3.1 schema");
    let validator = jsonschema::validator_for(&meta).expect("the OpenAPI 3.1 schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for path in ["/api/v1/jobs", "/api/v1/jobs/{id}"] {
        assert!(document["paths"][path].is_object(), "{path} undocumented");
    }
    let page = api
        .client
        .get(format!("{}/docs/", api.url))
        .send()
        .await
        .expect("GET /docs/");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("HTML");
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("://"),
        "Swagger UI loads something from elsewhere: {html}"
    );
    let script = api
        .client
        .get(format!("{}/docs/swagger-initializer.js", api.url))
        .send()
        .await
        .expect("GET initializer");
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.text().await.expect("JS").contains("/openapi.json"));
}
