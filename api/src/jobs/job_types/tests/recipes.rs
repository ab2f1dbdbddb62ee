//! Recipe types a file defines well: read as written, their jobs' types resolved and their jobs in an
//! order that puts parents first.

use super::super::recipe_check::{JOB_KEYS, RECIPE_KEYS};
use super::*;

/// The job types the recipe tests name, for the end of a test's file, so that the recipe's lines keep
/// the numbers they have in the test: kml-footprint 1.0.0 (id 1) and 1.1 (id 2), indexer 1.0 (id 3).
pub(super) const TYPES: [&str; 14] = [
    "[[type]]",
    "name = \"kml-footprint\"",
    "version = \"1.0.0\"",
    "program = \"kml.sh\"",
    "queues = [\"q\"]",
    "[[type]]",
    "name = \"kml-footprint\"",
    "version = \"1.1\"",
    "program = \"kml.sh\"",
    "queues = [\"q\"]",
    "[[type]]",
    "name = \"indexer\"",
    "program = \"index.sh\"",
    "queues = [\"q\"]",
];

/// `recipe`, then [`TYPES`].
pub(super) fn with_types<'a>(recipe: &[&'a str]) -> Vec<&'a str> {
    recipe.iter().copied().chain(TYPES).collect()
}

/// Every key of a recipe and of its jobs set, its jobs written out of order.
const EVERY_KEY: [&str; 9] = [
    "[[recipe]]",
    "name = \"footprint-and-index\"",
    "version = \"1.0.0\"",
    "id = 3",
    "title = \"Footprint and index\"",
    "description = \"Outline a scene, then index it\"",
    "jobs = [ { name = \"index\", type = \"indexer\", after = [\"kml\", \"check\"] },",
    "         { name = \"kml\", type = \"kml-footprint\", version = \"1.0.0\" },",
    "         { name = \"check\", type = \"kml-footprint\", after = [\"kml\"] } ]",
];

fn names(recipe: &RecipeType) -> Vec<&str> {
    recipe.jobs().iter().map(|job| job.name.as_str()).collect()
}

#[test]
fn a_recipe_with_every_key_is_read_with_its_jobs_parents_first() {
    for key in RECIPE_KEYS {
        let prefix = format!("{key} = ");
        assert!(EVERY_KEY.iter().any(|l| l.starts_with(&prefix)), "{key}");
    }
    for key in JOB_KEYS {
        let inline = format!(" {key} = ");
        assert!(EVERY_KEY[6..].iter().any(|l| l.contains(&inline)), "{key}");
    }
    let types = parsed(&with_types(&EVERY_KEY));
    assert_eq!(types.all().len(), 3);
    let [recipe] = types.recipes() else {
        panic!("one recipe: {:?}", types.recipes());
    };
    assert_eq!(
        (recipe.name.as_str(), recipe.version.as_str(), recipe.id),
        ("footprint-and-index", "1.0.0", 3)
    );
    assert_eq!(recipe.title.as_deref(), Some("Footprint and index"));
    assert_eq!(
        recipe.description.as_deref(),
        Some("Outline a scene, then index it")
    );
    assert_eq!(recipe.label(), "footprint-and-index 1.0.0");
    // kml waits on nothing, check on kml, index on both.
    assert_eq!(names(recipe), ["kml", "check", "index"]);
    let resolved: Vec<(String, u32)> = recipe
        .jobs()
        .iter()
        .map(|job| (job.job_type.label(), job.job_type.id))
        .collect();
    assert_eq!(
        resolved,
        [
            ("kml-footprint 1.0.0".to_owned(), 1),
            ("kml-footprint 1.1".to_owned(), 2),
            ("indexer 1.0".to_owned(), 3),
        ]
    );
    assert_eq!(types.by_id(2), Some(&recipe.jobs()[1].job_type));
    let index = recipe.job("index").expect("index is a job");
    assert_eq!(index.after, ["kml", "check"]);
    let roots: Vec<&str> = recipe.roots().map(|job| job.name.as_str()).collect();
    assert_eq!(roots, ["kml"]);
}

#[test]
fn the_example_of_the_issue_loads_and_defaults_apply() {
    let types = parsed(&with_types(&[
        "[[recipe]]",
        "name = \"footprint-and-index\"",
        "version = \"1.0.0\"",
        "id = 3",
        "jobs = [ { name = \"kml\", type = \"kml-footprint\" },",
        "         { name = \"index\", type = \"indexer\", after = [\"kml\"] } ]",
        "",
        "[[recipe]]",
        "name = \"just-kml\"",
        "jobs = [ { name = \"kml\", type = \"kml-footprint\" } ]",
    ]));
    let first = types.recipe_by_id(3).expect("id 3 is defined");
    assert_eq!(names(first), ["kml", "index"]);
    let second = types.recipe("just-kml", None).expect("just-kml is defined");
    // Defaults as for job types: version 1.0, id the position among the recipes.
    assert_eq!((second.version.as_str(), second.id), ("1.0", 2));
    assert_eq!(
        (second.title.as_ref(), second.description.as_ref()),
        (None, None)
    );
    assert_eq!(types.recipe_by_id(2), Some(second));
    assert_eq!(types.recipe_by_id(1), None);
}

#[test]
fn recipes_may_be_written_before_between_or_after_the_types() {
    let recipe = [
        "[[recipe]]",
        "name = \"r\"",
        "jobs = [ { name = \"i\", type = \"indexer\" } ]",
    ];
    let before = parsed(&with_types(&recipe));
    let after: Vec<&str> = TYPES.iter().copied().chain(recipe).collect();
    let between: Vec<&str> = TYPES[..5]
        .iter()
        .copied()
        .chain(recipe)
        .chain(TYPES[5..].iter().copied())
        .collect();
    for lines in [after, between] {
        assert_eq!(parsed(&lines), before);
    }
}

#[test]
fn recipe_finds_a_version_or_the_highest() {
    let recipe = |version: &'static str| {
        [
            "[[recipe]]",
            "name = \"r\"",
            version,
            "jobs = [ { name = \"i\", type = \"indexer\" } ]",
        ]
    };
    let mut lines: Vec<&str> = Vec::new();
    for version in [
        "version = \"1.9\"",
        "version = \"1.10\"",
        "version = \"1.2\"",
    ] {
        lines.extend(recipe(version));
    }
    let types = parsed(&with_types(&lines));
    let versions: Vec<&str> = types.recipes().iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["1.9", "1.10", "1.2"]);
    assert_eq!(types.recipe("r", None).map(|r| r.id), Some(2));
    assert_eq!(types.recipe("r", Some("1.2")).map(|r| r.id), Some(3));
    assert_eq!(types.recipe("r", Some("2")), None);
    assert_eq!(types.recipe("other", None), None);
    assert!(JobTypes::default().recipes().is_empty());
}

#[test]
fn a_job_without_a_version_gets_its_types_highest() {
    let types = parsed(&with_types(&[
        "[[recipe]]",
        "name = \"r\"",
        "jobs = [ { name = \"new\", type = \"kml-footprint\" },",
        "         { name = \"old\", type = \"kml-footprint\", version = \"1.0.0\" } ]",
    ]));
    let recipe = &types.recipes()[0];
    let version = |name| recipe.job(name).map(|job| job.job_type.version.as_str());
    assert_eq!(
        (version("new"), version("old")),
        (Some("1.1"), Some("1.0.0"))
    );
    // No job waits on another: they keep the file's order.
    assert_eq!(names(recipe), ["new", "old"]);
}
