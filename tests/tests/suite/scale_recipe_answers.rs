//! NGA Scale's new recipe refused and answered: `TestQueueNewRecipeView`'s cases and Scale's other
//! refusals, each with its exact body, none leaving a job behind (reference §1.6, §6).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestEnv;
use crate::scale_client::{get, post, scale_node};
use crate::scale_recipes::TYPES;

/// Scale's answers and refusals, each refused recipe leaving no job behind: `TestQueueNewRecipeView`'s
/// `test_bad_recipe_id` (404), `test_bad_type_recipe_id` and `test_missing_recipe_id` (400), and
/// `test_successful` (201, a Location, the recipe type's id), plus invalid data in v5's bare string
/// and v6's `{"detail"}`, the v5-only path under `/v6/`, and unknown recipe ids.
#[tokio::test]
async fn new_recipe_answers_and_refusals_are_scales() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let v5 = "/v5/queue/new-recipe/";
    // test_bad_recipe_id
    let (status, _, body) = post(
        &api,
        v5,
        &json!({"recipe_type_id": -1234, "recipe_data": {}}),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );
    let (status, _, _) = post(
        &api,
        "/v6/recipes/",
        &json!({"recipe_type_id": 99, "input": {}}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // test_bad_type_recipe_id, test_missing_recipe_id
    let missing = json!({"detail": "Missing required parameter: \"recipe_type_id\""});
    for body in [
        json!({"recipe_id": "BAD", "recipe_data": {}}),
        json!({"recipe_data": {}}),
    ] {
        let (status, _, answer) = post(&api, v5, &body).await;
        assert_eq!((status, answer), (StatusCode::BAD_REQUEST, missing.clone()));
    }
    let (status, _, body) = post(&api, v5, &json!({"recipe_type_id": "BAD"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, _, body) = post(
        &api,
        v5,
        &json!({"recipe_type_id": 4, "recipe_data": "BAD"}),
    )
    .await;
    assert_eq!(
        body,
        json!({"detail": "Parameter must be a valid JSON object: \"recipe_data\""})
    );

    let bare = |data: Value| json!({"recipe_type_id": 1, "recipe_data": data});
    for (data, want) in [
        (
            json!({"version": "2.0"}),
            "Invalid recipe data: 2.0 is an unsupported version number",
        ),
        (
            json!({"workspace_id": "twelve"}),
            "Invalid recipe data: Workspace ID must be an integer",
        ),
        (
            json!({"input_data": []}),
            "Invalid recipe data: missing input 'pause' for recipe diamond 1.0 (its job 'a' needs it); it takes pause",
        ),
        (
            json!({"input_data": [{"name": "pause", "value": 1}, {"name": "paws", "value": 1}]}),
            "Invalid recipe data: unknown input 'paws' for recipe diamond 1.0; it takes pause",
        ),
    ] {
        let (status, _, body) = post(&api, v5, &bare(data)).await;
        assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!(want)));
    }
    let (status, _, body) = post(
        &api,
        "/v6/recipes/",
        &json!({"recipe_type_id": 1, "input": {"json": {}}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("Invalid recipe data: missing input 'pause'")),
        "{body}"
    );
    // The second job's program is not deployed: found before the first job is made.
    let (status, _, body) = post(&api, v5, &json!({"recipe_type_id": 5})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("job 'second'")),
        "{body}"
    );
    assert_eq!(
        post(&api, "/v6/queue/new-recipe/", &json!({"recipe_type_id": 4}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert!(
        env.job_keys().await.is_empty(),
        "a refused recipe left jobs behind"
    );

    // test_successful
    let data = json!({"version": "1.0", "input_data": [], "workspace_id": 3});
    let (status, location, body) = post(
        &api,
        "/queue/new-recipe/",
        &json!({"recipe_type_id": 4, "recipe_data": data}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(location.is_some_and(|l| l.starts_with(&format!("{}/v5/recipes/", api.url))));
    assert_eq!(body["recipe_type"]["id"], 4);
    assert_eq!(body["jobs"][0]["job"]["status"], "QUEUED");

    for unknown in ["/v5/recipes/999999/", "/v6/recipes/abc/"] {
        assert_eq!(
            get(&api, unknown).await,
            (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
        );
    }
}
