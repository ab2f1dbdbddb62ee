//! Recipe types in Scale's shapes, from the operator's `[[recipe]]` tables: v5's recipe type with its
//! legacy "1.0" definition (what a v5 recipe's details carry), and v6's base object, revision and
//! definition. Every input is a property (`type: "property"` in v5, a required `string` in v6): Hopper's
//! inputs are text, and it keeps no Scale files. Revisions are always 1 (a recipe type changes only with
//! the file, which Hopper does not version); dates Hopper does not keep are null.

use serde_json::{Value, json};

use super::job_type_view;
use crate::jobs::job_types::RecipeType;

/// v5's recipe type (`RecipeTypeSerializer`, as the seed's new-recipe answer shows it).
pub(crate) fn v5(recipe: &RecipeType) -> Value {
    json!({
        "id": recipe.id,
        "name": recipe.name,
        "version": recipe.version,
        "title": title(recipe),
        "description": recipe.description,
        "is_active": true,
        "definition": definition_v5(recipe),
        "created": null,
        "last_modified": null,
        "archived": null,
    })
}

/// The legacy "1.0" definition (`RECIPE_DEFINITION_SCHEMA`): the recipe's inputs, and each job with its
/// type, the recipe inputs it takes (by the same name) and the jobs it waits on.
pub(crate) fn definition_v5(recipe: &RecipeType) -> Value {
    let input_data: Vec<Value> = recipe
        .inputs()
        .into_iter()
        .map(|name| json!({ "name": name, "type": "property", "required": true }))
        .collect();
    let jobs: Vec<Value> = recipe
        .jobs()
        .iter()
        .map(|job| {
            let recipe_inputs: Vec<Value> = job
                .job_type
                .inputs
                .iter()
                .map(|name| json!({ "recipe_input": name, "job_input": name }))
                .collect();
            let dependencies: Vec<Value> = job
                .after
                .iter()
                .map(|parent| json!({ "name": parent }))
                .collect();
            json!({
                "name": job.name,
                "job_type": { "name": job.job_type.name, "version": job.job_type.version },
                "recipe_inputs": recipe_inputs,
                "dependencies": dependencies,
            })
        })
        .collect();
    json!({ "version": "1.0", "input_data": input_data, "jobs": jobs })
}

/// v6's base recipe type (`RecipeTypeBaseSerializerV6`).
pub(crate) fn base_v6(recipe: &RecipeType) -> Value {
    json!({
        "id": recipe.id,
        "name": recipe.name,
        "title": title(recipe),
        "description": recipe.description,
        "revision_num": 1,
    })
}

/// v6's revision details (`RecipeTypeRevisionDetailsSerializerV6`): the type and its definition.
pub(crate) fn revision_v6(recipe: &RecipeType) -> Value {
    let mut recipe_type = base_v6(recipe);
    if let Value::Object(fields) = &mut recipe_type {
        for (key, value) in [
            ("is_active", json!(true)),
            ("is_system", json!(false)),
            ("created", Value::Null),
            ("deprecated", Value::Null),
            ("last_modified", Value::Null),
        ] {
            fields.insert(key.to_owned(), value);
        }
    }
    json!({
        "id": null,
        "recipe_type": recipe_type,
        "revision_num": 1,
        "created": null,
        "definition": definition_v6(recipe),
    })
}

/// v6's definition: the recipe's inputs as JSON inputs, and each job a node fed from the recipe's
/// inputs of the same names.
pub(crate) fn definition_v6(recipe: &RecipeType) -> Value {
    let json_inputs: Vec<Value> = recipe
        .inputs()
        .into_iter()
        .map(|name| json!({ "name": name, "type": "string", "required": true }))
        .collect();
    let nodes: serde_json::Map<String, Value> = recipe
        .jobs()
        .iter()
        .map(|job| {
            let input: serde_json::Map<String, Value> = job
                .job_type
                .inputs
                .iter()
                .map(|name| (name.clone(), json!({ "type": "recipe", "input": name })))
                .collect();
            let node = json!({
                "dependencies": dependencies(&job.after),
                "input": input,
                "node_type": {
                    "node_type": "job",
                    "job_type_name": job.job_type.name,
                    "job_type_version": job.job_type.version,
                    "job_type_revision": 1,
                },
            });
            (job.name.clone(), node)
        })
        .collect();
    json!({ "input": { "files": [], "json": json_inputs }, "nodes": nodes })
}

/// v6's `job_types`: each job type of the recipe once, in the recipe's order.
pub(crate) fn job_types_v6(recipe: &RecipeType) -> Value {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    recipe
        .jobs()
        .iter()
        .filter(|job| {
            let key = (job.job_type.name.as_str(), job.job_type.version.as_str());
            let new = !seen.contains(&key);
            seen.push(key);
            new
        })
        .map(|job| job_type_view::base(&job.job_type, super::Version::V6))
        .collect()
}

/// A node's `dependencies`: `[{"name": parent}]`, as v5 and v6 both write them.
pub(crate) fn dependencies(after: &[String]) -> Value {
    after
        .iter()
        .map(|parent| json!({ "name": parent }))
        .collect()
}

/// Scale's `title` is required; a recipe type without one shows its name.
fn title(recipe: &RecipeType) -> &str {
    recipe.title.as_deref().unwrap_or(&recipe.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::job_types::JobTypes;

    const FILE: &str = r#"
[[type]]
name = "kml-footprint"
version = "1.2.3"
program = "kml.sh"
inputs = ["input_file"]
queues = ["default"]

[[type]]
name = "indexer"
program = "index.sh"
inputs = ["input_file", "level"]
queues = ["default"]

[[recipe]]
name = "MyRecipe"
version = "1.0.0"
id = 7
description = "This is a description of the recipe"
jobs = [ { name = "kml", type = "kml-footprint" },
         { name = "index", type = "indexer", after = ["kml"] } ]
"#;

    fn recipe() -> RecipeType {
        let types = JobTypes::parse(FILE, "test").expect("file");
        types.recipe_by_id(7).cloned().expect("recipe")
    }

    /// The v5 definition follows the legacy schema: inputs, and jobs with type, inputs and parents.
    #[test]
    fn v5_definition_lists_inputs_jobs_and_dependencies() {
        assert_eq!(
            definition_v5(&recipe()),
            json!({
                "version": "1.0",
                "input_data": [
                    {"name": "input_file", "type": "property", "required": true},
                    {"name": "level", "type": "property", "required": true},
                ],
                "jobs": [
                    {"name": "kml", "job_type": {"name": "kml-footprint", "version": "1.2.3"},
                     "recipe_inputs": [{"recipe_input": "input_file", "job_input": "input_file"}],
                     "dependencies": []},
                    {"name": "index", "job_type": {"name": "indexer", "version": "1.0"},
                     "recipe_inputs": [{"recipe_input": "input_file", "job_input": "input_file"},
                                       {"recipe_input": "level", "job_input": "level"}],
                     "dependencies": [{"name": "kml"}]},
                ],
            })
        );
        let v5 = v5(&recipe());
        assert_eq!(v5["title"], "MyRecipe", "a missing title shows the name");
        assert_eq!(v5["is_active"], true);
    }

    /// The v6 definition makes each job a node fed by the recipe's inputs of the same names.
    #[test]
    fn v6_definition_makes_nodes_fed_by_recipe_inputs() {
        let definition = definition_v6(&recipe());
        assert_eq!(
            definition["nodes"]["index"],
            json!({
                "dependencies": [{"name": "kml"}],
                "input": {"input_file": {"type": "recipe", "input": "input_file"},
                          "level": {"type": "recipe", "input": "level"}},
                "node_type": {"node_type": "job", "job_type_name": "indexer",
                              "job_type_version": "1.0", "job_type_revision": 1},
            })
        );
        assert_eq!(definition["input"]["json"][1]["name"], "level");
        assert_eq!(revision_v6(&recipe())["recipe_type"]["revision_num"], 1);
        let types = job_types_v6(&recipe());
        assert_eq!(types.as_array().map(Vec::len), Some(2));
    }
}
