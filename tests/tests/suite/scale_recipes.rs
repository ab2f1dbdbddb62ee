//! NGA Scale's recipes: v5 `POST /queue/new-recipe/` and v6 `POST /v6/recipes/` start a recipe of the
//! types file's `[[recipe]]`s, whose jobs then run in dependency order (reference §1.6, §4), and
//! `/v5/recipes/{id}/`, `/v6/recipes/{id}/` show it. Scale's own `TestQueueNewRecipeView` cases are
//! replayed where they apply.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_client::Api;
use crate::helpers::{TestEnv, eventually};
use crate::scale::runs;
use crate::scale_client::{get, post, scale_node};

pub(crate) const TYPES: &str = r#"
[[type]]
name = "step"
id = 1
program = "record.php"
args = ["${pause}"]
inputs = ["pause"]
queues = ["default"]
[[type]]
name = "hold"
id = 2
program = "hold.php"
queues = ["default"]
[[type]]
name = "fail"
id = 3
program = "analyze.php"
args = ["-exit", "3"]
queues = ["default"]
[[type]]
name = "echo"
id = 4
program = "analyze.php"
args = ["${input_file}"]
inputs = ["input_file"]
queues = ["default"]
[[type]]
name = "noop"
id = 5
program = "noop.sh"
queues = ["default"]
[[type]]
name = "missing"
id = 6
program = "no-such-program.sh"
queues = ["default"]
[[recipe]]
name = "diamond"
id = 1
jobs = [ { name = "a", type = "step" },
         { name = "b", type = "step", after = ["a"] },
         { name = "c", type = "step", after = ["a"] },
         { name = "d", type = "step", after = ["b", "c"] } ]
[[recipe]]
name = "held"
version = "2.0"
id = 2
title = "Held"
jobs = [ { name = "root", type = "hold" },
         { name = "next", type = "echo", after = ["root"] } ]
[[recipe]]
name = "doomed"
id = 3
jobs = [ { name = "root", type = "fail" },
         { name = "child", type = "echo", after = ["root"] },
         { name = "grandchild", type = "echo", after = ["child"] } ]
[[recipe]]
name = "chain"
id = 6
jobs = [ { name = "x", type = "step" },
         { name = "y", type = "step", after = ["x"] },
         { name = "z", type = "step", after = ["y"] } ]
[[recipe]]
name = "lone"
id = 4
jobs = [ { name = "only", type = "noop" } ]
[[recipe]]
name = "broken"
id = 5
jobs = [ { name = "first", type = "noop" },
         { name = "second", type = "missing", after = ["first"] } ]
"#;

async fn node(env: &TestEnv) -> Api {
    scale_node(env, TYPES).await
}

/// The recipe's details at `path` once `done` holds for them.
async fn details_when(api: &Api, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(what, || async {
        let (status, body) = get(api, path).await;
        (status == StatusCode::OK && done(&body)).then_some(body)
    })
    .await
}

/// The Hopper job id of each node of a v6 recipe's details.
fn job_id(details: &Value, node: &str) -> String {
    details["details"]["nodes"][node]["node_type"]["job_id"].to_string()
}

/// A diamond (a; b and c after a; d after both) runs end to end with a worker: each job starts only
/// after its parents ended, every job completes, and the recipe shows itself completed.
#[tokio::test]
async fn a_diamond_recipe_runs_in_dependency_order() {
    let env = TestEnv::new();
    let api = node(&env).await;
    let _worker = env.worker("w", &["default"], 2).await;
    let body = json!({"recipe_type_id": 1, "input": {"files": {}, "json": {"pause": 20000}}});
    let (status, location, created) = post(&api, "/v6/recipes/", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_u64().expect("recipe id");
    let path = format!("/v6/recipes/{id}/");
    assert_eq!(location, Some(format!("{}{path}", api.url)));
    assert_eq!(created["jobs_total"], 4);
    let done = details_when(&api, &path, "the recipe to complete", |d| {
        d["is_completed"] == true
    })
    .await;
    assert_eq!(done["jobs_completed"], 4, "{done}");
    assert!(done["completed"].is_string(), "{done}");
    assert_eq!(done["input"]["json"], json!({"pause": "20000"}));

    let runs = runs(&env);
    let run = |node: &str| {
        let id = job_id(&done, node);
        runs.iter()
            .find(|r| r.job == id)
            .cloned()
            .unwrap_or_else(|| panic!("no run of {node} ({id}) in {runs:?}"))
    };
    for (child, parents) in [("b", &["a"][..]), ("c", &["a"]), ("d", &["b", "c"])] {
        for parent in parents {
            assert!(
                run(child).start >= run(parent).end,
                "{child} started before its parent {parent} ended"
            );
        }
    }
}

/// The issue's recipe of three jobs, x then y then z, through v5: each starts after the one before
/// ended, and the v5 details show every job COMPLETED and the recipe `completed`.
#[tokio::test]
async fn a_three_job_recipe_runs_in_dependency_order() {
    let env = TestEnv::new();
    let api = node(&env).await;
    let _worker = env.worker("w", &["default"], 3).await;
    let body = json!({"recipe_type_id": 6, "recipe_data": {"version": "1.0",
                      "input_data": [{"name": "pause", "value": "20000"}]}});
    let (status, _, created) = post(&api, "/queue/new-recipe/", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/v5/recipes/{}/", created["id"]);
    let done = details_when(&api, &path, "the chain to complete", |d| {
        d["completed"].is_string()
    })
    .await;
    let jobs = done["jobs"].as_array().expect("jobs");
    let names: Vec<&Value> = jobs.iter().map(|j| &j["job_name"]).collect();
    assert_eq!(
        names,
        [&json!("x"), &json!("y"), &json!("z")],
        "parents first"
    );
    assert!(
        jobs.iter().all(|j| j["job"]["status"] == "COMPLETED"),
        "{done}"
    );
    let runs = runs(&env);
    let run = |n: usize| {
        let id = jobs[n]["job"]["id"].to_string();
        runs.iter()
            .find(|r| r.job == id)
            .cloned()
            .unwrap_or_else(|| panic!("no run of {id}"))
    };
    assert!(run(1).start >= run(0).end, "y started before x ended");
    assert!(run(2).start >= run(1).end, "z started before y ended");
}

/// At creation the root is QUEUED and its child PENDING (v5, the seed's shape); held by hold.php the
/// root is RUNNING and the child still PENDING; released, both complete.
#[tokio::test]
async fn the_root_is_queued_and_the_others_pending_until_it_completes() {
    let env = TestEnv::new();
    let api = node(&env).await;
    let body = json!({"recipe_type_id": 2, "recipe_data": {"version": "1.0",
        "input_data": [{"name": "input_file", "value": "/data/scene.tif"}], "workspace_id": 12}});
    let (status, location, created) = post(&api, "/v5/queue/new-recipe/", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_u64().expect("recipe id");
    assert_eq!(location, Some(format!("{}/v5/recipes/{id}/", api.url)));
    let recipe_type = &created["recipe_type"];
    assert_eq!(
        (
            &recipe_type["id"],
            &recipe_type["name"],
            &recipe_type["version"],
            &recipe_type["title"]
        ),
        (&json!(2), &json!("held"), &json!("2.0"), &json!("Held"))
    );
    assert_eq!(
        recipe_type["definition"]["jobs"][1]["dependencies"],
        json!([{"name": "root"}])
    );
    assert_eq!(created["event"], Value::Null);
    assert_eq!(created["completed"], Value::Null);
    assert_eq!(created["input_files"], json!([]));
    assert_eq!(
        created["data"],
        json!({"version": "1.0", "input_data": [{"name": "input_file", "value": "/data/scene.tif"}]})
    );
    let statuses = |d: &Value| -> Vec<(String, String)> {
        d["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .map(|j| {
                let name = j["job_name"].as_str().expect("name").to_owned();
                (
                    name,
                    j["job"]["status"].as_str().expect("status").to_owned(),
                )
            })
            .collect()
    };
    let pair = |a: &str, b: &str| {
        vec![
            ("root".to_owned(), a.to_owned()),
            ("next".to_owned(), b.to_owned()),
        ]
    };
    assert_eq!(statuses(&created), pair("QUEUED", "PENDING"));
    assert_eq!(created["jobs"][0]["job"]["job_type"]["name"], "hold");

    let path = format!("/v5/recipes/{id}/");
    let (status, shown) = get(&api, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["id"], created["id"]);
    let _worker = env.worker("w", &["default"], 2).await;
    let root = created["jobs"][0]["job"]["id"].to_string();
    env.started_pids(&root).await;
    let (_, running) = get(&api, &path).await;
    assert_eq!(statuses(&running), pair("RUNNING", "PENDING"));
    env.release(&root);
    let done = details_when(&api, &path, "both jobs to complete", |d| {
        d["completed"].is_string()
    })
    .await;
    assert_eq!(statuses(&done), pair("COMPLETED", "COMPLETED"));
}

/// A failing root blocks its child and grandchild: BLOCKED, never run, and the recipe not completed.
#[tokio::test]
async fn a_failed_root_blocks_its_descendants() {
    let env = TestEnv::new();
    let api = node(&env).await;
    let _worker = env.worker("w", &["default"], 1).await;
    let body = json!({"recipe_type_id": 3, "input": {"json": {"input_file": "/data/x"}}});
    let (status, _, created) = post(&api, "/v6/recipes/", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/v6/recipes/{}/", created["id"]);
    let failed = details_when(&api, &path, "the root to fail", |d| d["jobs_failed"] == 1).await;
    let node_status = |node: &str| failed["details"]["nodes"][node]["node_type"]["status"].clone();
    assert_eq!(node_status("root"), "FAILED");
    assert_eq!(node_status("child"), "BLOCKED");
    assert_eq!(node_status("grandchild"), "BLOCKED");
    assert_eq!(
        (
            &failed["jobs_blocked"],
            &failed["is_completed"],
            &failed["completed"]
        ),
        (&json!(2), &json!(false), &Value::Null)
    );
    let (_, v5) = get(&api, &format!("/v5/recipes/{}/", created["id"])).await;
    assert_eq!(
        v5["jobs"][0]["job"]["error"]["category"], "ALGORITHM",
        "{v5}"
    );
}
