//! Each thing a recipe type can get wrong: refused with a message naming its line and the fix. Recipes
//! come first in these files and the types they name after them, so the line numbers read off the test.

use super::recipes::with_types;
use super::*;

/// A recipe named `r` whose jobs are `jobs`, the first of them on line 3.
fn recipe<'a>(jobs: &[&'a str]) -> Vec<&'a str> {
    let mut lines = vec!["[[recipe]]", "name = \"r\""];
    lines.extend(jobs);
    with_types(&lines)
}

#[test]
fn a_job_of_an_unknown_type_or_version_is_refused() {
    refused(
        &recipe(&["jobs = [ { name = \"kml\", type = \"kml-footprnt\" } ]"]),
        3,
        &[
            "[[recipe]] 1 (r), job 'kml': type 'kml-footprnt' is not defined",
            "the file defines indexer, kml-footprint",
            "add a [[type]]",
        ],
    );
    refused(
        &recipe(&[
            "jobs = [ { name = \"a\", type = \"indexer\" },",
            "         { name = \"kml\", type = \"kml-footprint\", version = \"2.0\" } ]",
        ]),
        4,
        &[
            "job 'kml': type 'kml-footprint' has no version '2.0'",
            "the file defines 1.0.0, 1.1",
            "leave version out",
        ],
    );
    // A file with recipes and no types at all.
    let lines = [
        "[[recipe]]",
        "name = \"r\"",
        "jobs = [ { name = \"kml\", type = \"kml\" } ]",
    ];
    refused(&lines, 3, &["the file defines no types"]);
}

#[test]
fn a_cycle_is_refused_naming_every_job_in_it() {
    refused(
        &recipe(&[
            "jobs = [ { name = \"d\", type = \"indexer\", after = [\"a\"] },",
            "         { name = \"a\", type = \"indexer\", after = [\"c\"] },",
            "         { name = \"b\", type = \"indexer\", after = [\"a\"] },",
            "         { name = \"c\", type = \"indexer\", after = [\"b\"] } ]",
        ]),
        4,
        &[
            "[[recipe]] 1 (r): jobs wait on each other in a cycle",
            "'a' is after 'c', 'c' is after 'b', 'b' is after 'a';",
            "take one of these out",
        ],
    );
    refused(
        &recipe(&[
            "jobs = [ { name = \"a\", type = \"indexer\", after = [\"b\"] },",
            "         { name = \"b\", type = \"indexer\", after = [\"a\"] } ]",
        ]),
        3,
        &["'a' is after 'b', 'b' is after 'a'"],
    );
    refused(
        &recipe(&["jobs = [ { name = \"a\", type = \"indexer\", after = [\"a\"] } ]"]),
        3,
        &[
            "job 'a': the job is after itself",
            "take 'a' out of its after",
        ],
    );
}

#[test]
fn after_must_name_jobs_of_the_recipe_once() {
    refused(
        &recipe(&[
            "jobs = [ { name = \"kml\", type = \"kml-footprint\" },",
            "         { name = \"index\", type = \"indexer\", after = [\"kmll\"] } ]",
        ]),
        4,
        &[
            "job 'index': after names 'kmll', which is no job of this recipe",
            "name one of its jobs: kml, index",
        ],
    );
    refused(
        &recipe(&[
            "jobs = [ { name = \"kml\", type = \"kml-footprint\" },",
            "         { name = \"index\", type = \"indexer\", after = [\"kml\", \"kml\"] } ]",
        ]),
        4,
        &["after lists 'kml' twice"],
    );
}

#[test]
fn a_job_name_used_twice_in_a_recipe_is_refused_naming_both_lines() {
    refused(
        &recipe(&[
            "jobs = [ { name = \"kml\", type = \"kml-footprint\" },",
            "         { name = \"index\", type = \"indexer\" },",
            "         { name = \"kml\", type = \"indexer\" } ]",
        ]),
        5,
        &[
            "[[recipe]] 1 (r): job name 'kml' is used twice (also at line 3)",
            "its own name",
        ],
    );
    refused(
        &recipe(&["jobs = [ { name = \"k m l\", type = \"kml-footprint\" } ]"]),
        3,
        &["job name 'k m l' must be 1-64 characters"],
    );
}

#[test]
fn a_recipe_defined_twice_is_refused_naming_both_lines() {
    refused(
        &with_types(&[
            "[[recipe]]",
            "name = \"r\"",
            "jobs = [ { name = \"a\", type = \"indexer\" } ]",
            "[[recipe]]",
            "version = \"1.0\"",
            "name = \"r\"",
            "jobs = [ { name = \"b\", type = \"indexer\" } ]",
        ]),
        6,
        &[
            "recipe 'r' version '1.0' is defined twice (also at line 2)",
            "another version",
        ],
    );
}

#[test]
fn a_recipe_id_used_twice_is_refused_whether_set_or_taken_from_the_position() {
    let with_id = |name: &'static str, id: &'static str| {
        [
            "[[recipe]]",
            name,
            "jobs = [ { name = \"a\", type = \"indexer\" } ]",
            id,
        ]
    };
    let mut lines: Vec<&str> = with_id("name = \"a\"", "id = 5").to_vec();
    lines.extend(with_id("name = \"b\"", "id = 5"));
    refused(
        &with_types(&lines),
        8,
        &[
            "recipe b 1.0 has id 5, which recipe a 1.0 (line 4) has too",
            "recipe ids must be unique",
        ],
    );
    let mut lines: Vec<&str> = with_id("name = \"a\"", "id = 2").to_vec();
    lines.extend(with_id("name = \"b\"", "# no id"));
    refused(
        &with_types(&lines),
        5,
        &["recipe b 1.0 sets no id, so its id is its position among the recipes, 2"],
    );
    let mut lines: Vec<&str> = with_id("name = \"a\"", "id = 0").to_vec();
    lines.truncate(4);
    refused(
        &with_types(&lines),
        4,
        &["[[recipe]] 1 (a): id is 0; it must be from 1"],
    );
}

#[test]
fn a_recipe_without_jobs_is_refused() {
    refused(
        &recipe(&["title = \"Nothing\"", "jobs = []"]),
        4,
        &["[[recipe]] 1 (r): jobs is empty; list at least one job"],
    );
    refused(
        &with_types(&["# no jobs", "[[recipe]]", "name = \"r\""]),
        2,
        &["[[recipe]] 1 has no 'jobs', which a recipe needs"],
    );
}

#[test]
fn unknown_and_missing_keys_are_refused_naming_their_table() {
    refused(
        &recipe(&[
            "titel = \"R\"",
            "jobs = [ { name = \"a\", type = \"indexer\" } ]",
        ]),
        3,
        &[
            "unknown key 'titel' in [[recipe]] 1",
            "a recipe may have name, version, id, title, description, jobs",
        ],
    );
    refused(
        &recipe(&[
            "jobs = [ { name = \"a\", type = \"indexer\" },",
            "         { name = \"b\", type = \"indexer\", before = [\"a\"] } ]",
        ]),
        4,
        &[
            "unknown key 'before' in [[recipe]] 1, job 2",
            "a job may have name, type, version, after",
        ],
    );
    refused(
        &recipe(&[
            "jobs = [ { name = \"a\", type = \"indexer\" },",
            "         { name = \"b\" } ]",
        ]),
        4,
        &["[[recipe]] 1, job 2 has no 'type', which a job needs"],
    );
    refused(
        &with_types(&["[recipe]", "name = \"r\""]),
        1,
        &["start each recipe with a [[recipe]] line"],
    );
    refused(
        &recipe(&["jobs = [ \"a\" ]"]),
        3,
        &["[[recipe]] 1, job 1 is not a table"],
    );
}

#[test]
fn values_of_the_wrong_toml_type_are_refused_at_their_line() {
    refused(
        &recipe(&[
            "id = \"three\"",
            "jobs = [ { name = \"a\", type = \"indexer\" } ]",
        ]),
        3,
        &["[[recipe]] 1", "expected an integer"],
    );
    refused(
        &recipe(&["jobs = [ { name = \"a\", type = \"indexer\", after = \"b\" } ]"]),
        3,
        &["[[recipe]] 1", "expected an array"],
    );
    refused(
        &recipe(&["jobs = { name = \"a\", type = \"indexer\" }"]),
        3,
        &["[[recipe]] 1", "expected an array"],
    );
}
