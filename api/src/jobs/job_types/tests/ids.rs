//! Ids: unique within job types and within recipe types, and the same for the same file, whether set
//! or taken from the position. Refusals of ids used twice are in `refusals.rs` and `recipe_refusals.rs`.

use super::recipes::TYPES;
use super::*;

fn job_type(name: &'static str, id: &'static str) -> [&'static str; 5] {
    [
        "[[type]]",
        name,
        "program = \"a.sh\"",
        "queues = [\"q\"]",
        id,
    ]
}

fn recipe(name: &'static str, id: &'static str) -> [&'static str; 4] {
    [
        "[[recipe]]",
        name,
        "jobs = [ { name = \"a\", type = \"indexer\" } ]",
        id,
    ]
}

#[test]
fn every_id_is_unique_and_found_by_id() {
    let mut lines: Vec<&str> = Vec::new();
    lines.extend(job_type("name = \"a\"", "id = 40"));
    lines.extend(job_type("name = \"b\"", "# no id"));
    lines.extend(job_type("name = \"c\"", "id = 7"));
    lines.extend(TYPES);
    lines.extend(recipe("name = \"r\"", "# no id"));
    lines.extend(recipe("name = \"s\"", "id = 40"));
    let types = parsed(&lines);
    let ids: Vec<u32> = types.all().iter().map(|t| t.id).collect();
    // Positions from 1 for those without an id: b is second, TYPES are fourth to sixth.
    assert_eq!(ids, [40, 2, 7, 4, 5, 6]);
    for t in types.all() {
        assert_eq!(types.by_id(t.id), Some(t));
    }
    let recipe_ids: Vec<u32> = types.recipes().iter().map(|r| r.id).collect();
    assert_eq!(recipe_ids, [1, 40]);
    // Recipe ids are apart from job type ids: 40 names type a and recipe s.
    assert_eq!(types.by_id(40).map(|t| t.name.as_str()), Some("a"));
    assert_eq!(types.recipe_by_id(40).map(|r| r.name.as_str()), Some("s"));
    assert_eq!(types.recipe_by_id(2), None);
}

#[test]
fn ids_are_the_same_for_the_same_types_whatever_else_the_file_holds() {
    let mut plain: Vec<&str> = TYPES.to_vec();
    plain.extend(job_type("name = \"a\"", "# no id"));
    let first = parsed(&plain);
    assert_eq!(first, parsed(&plain));
    // Recipes, between the types or not, take no job type's position; comments and blank lines
    // neither.
    let mut busier: Vec<&str> = vec!["# Types of the lab", ""];
    busier.extend(&TYPES[..5]);
    busier.extend(recipe("name = \"r\"", "# no id"));
    busier.extend(&TYPES[5..]);
    busier.extend(recipe("name = \"s\"", ""));
    busier.extend(job_type("name = \"a\"", "# no id"));
    let second = parsed(&busier);
    assert_eq!(first.all(), second.all());
    let ids: Vec<u32> = second.all().iter().map(|t| t.id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    let recipe_ids: Vec<u32> = second.recipes().iter().map(|r| r.id).collect();
    assert_eq!(recipe_ids, [1, 2]);
}
