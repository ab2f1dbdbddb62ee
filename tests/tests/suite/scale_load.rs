//! NGA Scale's `GET /load/` (`/v5/`, `/v6/`, and the seed's unversioned path): the core's load history
//! summed per sample time over the job types asked for, in DRF's pages, with Scale's 400s (reference
//! §1.1–§1.3; Scale's own `test_max_duration`).

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_client::Api;
use crate::helpers::TestEnv;

const TYPES: &str = r#"
[[type]]
name = "kml-footprint"
id = 1
category = "footprints"
program = "analyze.php"
queues = ["default"]

[[type]]
name = "indexer"
id = 2
program = "analyze.php"
queues = ["default"]
"#;

async fn node(env: &TestEnv, open: bool) -> Api {
    let types = env.path("types.toml");
    std::fs::write(&types, TYPES).expect("types file");
    let mut flags = env
        .api_flags()
        .set("--job-types", types.display().to_string());
    if open {
        flags = flags.set("--open-doors", "scale");
    }
    env.api_with(flags).await
}

async fn get(api: &Api, path: &str) -> (StatusCode, Value) {
    let response = api
        .client
        .get(format!("{}{path}", api.url))
        .send()
        .await
        .expect("GET");
    (response.status(), response.json().await.expect("JSON"))
}

fn iso(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Three samples an hour apart: the whole load, one type's, pages with absolute links, and the
/// original's 400s and 404.
#[tokio::test]
async fn the_load_history_is_summed_per_sample_and_paged() {
    let env = TestEnv::new();
    let api = node(&env, true).await;
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    for (i, back) in [3u32, 2, 1].into_iter().enumerate() {
        let at = now - hour * back;
        let ms = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("time")
            .as_millis() as u64;
        let n = i as u64 + 1;
        let record = json!({
            "at": ms,
            "all": {"pending": 10 * n, "queued": n, "running": 2 * n},
            "queues": {},
            "types": {
                "kml-footprint": {"pending": n, "queued": n, "running": 0},
                "indexer": {"pending": 2, "queued": 0, "running": n},
            },
        });
        env.store
            .record_load(ms, &record.to_string(), Duration::from_secs(31 * 86_400))
            .await
            .expect("Redis");
    }
    // Up to half an hour ago: the node records the load of the moment when it starts, which must not
    // be counted with the test's samples.
    let range = format!(
        "started={}&ended={}",
        iso(now - hour * 4),
        iso(now - hour / 2)
    );
    let (status, all) = get(&api, &format!("/v5/load/?{range}")).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["count"], 3);
    let pending: Vec<&Value> = all["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| &r["pending_count"])
        .collect();
    assert_eq!(
        pending,
        [&json!(10), &json!(20), &json!(30)],
        "oldest first, every job"
    );
    let (_, one) = get(
        &api,
        &format!("/v6/load/?{range}&job_type_name=kml-footprint"),
    )
    .await;
    assert_eq!(
        one["results"][2],
        json!({"time": one["results"][2]["time"], "pending_count": 3, "queued_count": 3, "running_count": 0})
    );
    let (_, both) = get(&api, &format!("/load/?{range}&job_type_id=1&job_type_id=2")).await;
    assert_eq!(
        both["results"][0]["pending_count"], 3,
        "1 + 2 summed: {both}"
    );
    let (_, category) = get(
        &api,
        &format!("/v5/load/?{range}&job_type_category=footprints"),
    )
    .await;
    assert_eq!(category["results"][1]["queued_count"], 2, "{category}");
    let (_, none) = get(&api, &format!("/v5/load/?{range}&job_type_name=unknown")).await;
    assert_eq!(none["count"], 0);

    let (_, first) = get(&api, &format!("/v5/load/?{range}&page_size=2")).await;
    assert_eq!(first["results"].as_array().map(Vec::len), Some(2));
    let next = first["next"].as_str().expect("next");
    assert!(
        next.starts_with(&api.url) && next.contains("page=2"),
        "{next}"
    );
    assert_eq!(first["previous"], Value::Null);
    assert_eq!(
        get(&api, &format!("/v5/load/?{range}&page=9")).await,
        (StatusCode::NOT_FOUND, json!({"detail": "Invalid page."}))
    );

    // Scale's test_max_duration, and its other 400s.
    let refusals = [
        (
            "started=2015-01-01T00:00:00Z&ended=2015-02-02T00:00:00Z",
            "Time range must be between 0 and 31 days, 0:00:00",
        ),
        (
            "started=yesterday",
            "Invalid ISO timestamp format for parameter: started",
        ),
        (
            "started=2015-01-02T00:00:00Z&ended=2015-01-01T00:00:00Z",
            "Start time must come before end time",
        ),
        (
            "job_type_id=abc",
            "Parameter must be a valid integer: \"job_type_id\"",
        ),
    ];
    for (query, detail) in refusals {
        assert_eq!(
            get(&api, &format!("/v5/load/?{query}")).await,
            (StatusCode::BAD_REQUEST, json!({"detail": detail})),
            "{query}"
        );
    }
}

/// Without HOPPER_OPEN_DOORS=scale a request needs a bearer token.
#[tokio::test]
async fn the_load_needs_a_token_unless_the_door_is_open() {
    let env = TestEnv::new();
    let closed = node(&env, false).await;
    let (status, body) = get(&closed, "/v5/load/").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let with_token = closed
        .client
        .get(format!("{}/v5/load/", closed.url))
        .bearer_auth(crate::helpers::TOKEN)
        .send()
        .await
        .expect("GET");
    assert_eq!(with_token.status(), StatusCode::OK);
}
