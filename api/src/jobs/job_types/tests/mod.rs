//! Tests of job types as a whole: what a good file gives (here), the message and line for each thing a
//! file can get wrong (`refusals.rs`), and filling a type (`filling.rs`). Recipe types: what a good one
//! gives (`recipes.rs`), what is refused (`recipe_refusals.rs`), the order of their jobs (`order.rs`);
//! ids of both (`ids.rs`). The placeholder language has its own tests in `template.rs`.

mod filling;
mod ids;
mod order;
mod recipe_refusals;
mod recipes;
mod refusals;

use std::collections::BTreeMap;
use std::time::Duration;

use super::parse::KEYS;
use super::*;

/// A file of `lines`, so a test's line numbers can be read off its source.
fn file(lines: &[&str]) -> String {
    lines.join("\n") + "\n"
}

fn parsed(lines: &[&str]) -> JobTypes {
    JobTypes::parse(&file(lines), "types.toml").expect("the file is valid")
}

/// Asserts that `lines` is refused with a message placed at `line` that holds each of `words`.
fn refused(lines: &[&str], line: usize, words: &[&str]) -> String {
    let message = JobTypes::parse(&file(lines), "types.toml").expect_err("the file is refused");
    let prefix = format!("job types file types.toml, line {line}");
    let placed = message
        .strip_prefix(&prefix)
        .is_some_and(|rest| rest.starts_with(':') || rest.starts_with(", column"));
    assert!(placed, "expected {prefix}: {message}");
    for word in words {
        assert!(message.contains(word), "expected '{word}' in: {message}");
    }
    message
}

fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

const EVERY_KEY: [&str; 18] = [
    "# The example of the documentation, every key set.",
    "[[type]]",
    "name = \"kml-footprint\"",
    "version = \"1.0.0\"",
    "id = 8",
    "title = \"KML Footprint\"",
    "description = \"Outline of a scene, as KML\"",
    "category = \"geo\"",
    "program = \"footprint.sh\"",
    "args = [\"${input_file}\", \"--out\", \"${job_output_dir}\"]",
    "inputs = [\"input_file\"]",
    "queues = [\"default\", \"long.q\"]",
    "threads = 2",
    "memory_mb = 128",
    "timeout = \"30min\"",
    "max_tries = 3",
    "priority = -5",
    "paused = true",
];

/// One valid type, with `line` added as its fifth line.
fn with(line: &str) -> [&str; 5] {
    [
        "[[type]]",
        "name = \"kml\"",
        "program = \"a.sh\"",
        "queues = [\"q\"]",
        line,
    ]
}

fn kml() -> JobType {
    parsed(&EVERY_KEY).all()[0].clone()
}

#[test]
fn a_type_with_every_key_is_read_as_written() {
    for key in KEYS {
        let prefix = format!("{key} = ");
        assert!(
            EVERY_KEY.iter().any(|line| line.starts_with(&prefix)),
            "{key} is not tested"
        );
    }
    let types = parsed(&EVERY_KEY);
    let expected = JobType {
        name: "kml-footprint".to_owned(),
        version: "1.0.0".to_owned(),
        id: 8,
        title: Some("KML Footprint".to_owned()),
        description: Some("Outline of a scene, as KML".to_owned()),
        category: Some("geo".to_owned()),
        program: "footprint.sh".to_owned(),
        args: vec![
            "${input_file}".to_owned(),
            "--out".to_owned(),
            "${job_output_dir}".to_owned(),
        ],
        inputs: vec!["input_file".to_owned()],
        queues: vec![
            QueueName::parse("default").expect("valid"),
            QueueName::parse("long.q").expect("valid"),
        ],
        threads: 2,
        memory_mb: Some(128),
        timeout: Some(Duration::from_secs(30 * 60)),
        max_tries: 3,
        priority: -5,
        paused: true,
    };
    assert_eq!(types.all(), [expected]);
}

#[test]
fn keys_left_out_take_their_defaults_and_ids_count_positions_from_1() {
    let types = parsed(&[
        "[[type]]",
        "name = \"a\"",
        "program = \"/opt/tools/a\"",
        "queues = [\"q\"]",
        "[[type]]",
        "name = \"b\"",
        "id = 7",
        "program = \"b.sh\"",
        "queues = [\"q\"]",
        "[[type]]",
        "name = \"c\"",
        "program = \"c.sh\"",
        "queues = [\"q\"]",
    ]);
    let ids: Vec<u32> = types.all().iter().map(|t| t.id).collect();
    assert_eq!(ids, [1, 7, 3]);
    let a = &types.all()[0];
    assert_eq!(
        (
            a.version.as_str(),
            a.threads,
            a.max_tries,
            a.priority,
            a.paused
        ),
        ("1.0", 1, 1, 100, false)
    );
    assert_eq!((a.title.as_ref(), a.description.as_ref()), (None, None));
    assert_eq!(
        (a.category.as_ref(), a.memory_mb, a.timeout),
        (None, None, None)
    );
    assert!(a.args.is_empty() && a.inputs.is_empty());
}

#[test]
fn a_file_with_no_types_is_valid() {
    assert!(parsed(&[]).all().is_empty());
    assert!(parsed(&["# nothing offered yet"]).all().is_empty());
}

#[test]
fn load_reads_a_file_and_names_one_it_cannot_read() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("types.toml");
    std::fs::write(&path, file(&EVERY_KEY)).expect("write the file");
    let types = JobTypes::load(&path).expect("the file loads");
    assert_eq!(types.all().len(), 1);

    let missing = dir.path().join("absent.toml");
    let message = JobTypes::load(&missing).expect_err("no such file");
    assert!(
        message.starts_with(&format!(
            "job types file {}: cannot read it (",
            missing.display()
        )),
        "{message}"
    );
    assert!(message.contains("No such file"), "{message}");
}

#[test]
fn get_without_a_version_finds_the_highest_and_by_id_finds_any() {
    let version = |v: &'static str, id: &'static str| {
        [
            "[[type]]",
            "name = \"kml\"",
            v,
            id,
            "program = \"a.sh\"",
            "queues = [\"q\"]",
        ]
    };
    let mut lines = Vec::new();
    for (v, id) in [
        ("version = \"1.9\"", "id = 1"),
        ("version = \"1.10\"", "id = 2"),
        ("version = \"1.2.7\"", "id = 3"),
    ] {
        lines.extend(version(v, id));
    }
    let types = parsed(&lines);
    let highest = types.get("kml", None).expect("kml is defined");
    assert_eq!((highest.version.as_str(), highest.id), ("1.10", 2));
    assert_eq!(types.get("kml", Some("1.9")).map(|t| t.id), Some(1));
    assert_eq!(types.get("kml", Some("2.0")), None);
    assert_eq!(types.get("other", None), None);
    assert_eq!(types.by_id(3).map(|t| t.version.as_str()), Some("1.2.7"));
    assert_eq!(types.by_id(4), None);
}

#[test]
fn versions_compare_by_numeric_parts_then_as_text() {
    use std::cmp::Ordering::{Greater, Less};
    for (low, high) in [
        ("1.9", "1.10"),
        ("1.0", "1.0.1"),
        ("2", "10"),
        ("1.0.0", "1.0.0-rc1"),
        ("1.a", "1.b"),
        ("1.00", "1.0.1"),
        ("1.0", "1.00"),
        ("99999999999999999999999", "100000000000000000000000"),
    ] {
        assert_eq!(compare_versions(low, high), Less, "{low} < {high}");
        assert_eq!(compare_versions(high, low), Greater, "{high} > {low}");
    }
    assert_eq!(compare_versions("1.0", "1.0"), std::cmp::Ordering::Equal);
}
