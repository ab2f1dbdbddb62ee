//! Each thing a job types file can get wrong: refused with a message naming its line and the fix.

use super::*;

#[test]
fn an_unknown_key_is_refused_naming_it_its_line_and_its_type() {
    let message = refused(
        &[
            "[[type]]",
            "name = \"a\"",
            "program = \"a.sh\"",
            "queues = [\"q\"]",
            "[[type]]",
            "name = \"b\"",
            "programm = \"b.sh\"",
        ],
        7,
        &["unknown key 'programm' in [[type]] 2", "program, args"],
    );
    assert!(
        message.starts_with("job types file types.toml, line 7: "),
        "{message}"
    );
    refused(
        &["[[types]]", "name = \"a\""],
        1,
        &["unknown key 'types' at the top"],
    );
    refused(
        &["[type]", "name = \"a\""],
        1,
        &["start each type with a [[type]] line"],
    );
    refused(&["type = [1]"], 1, &["[[type]] 1 is not a table"]);
}

#[test]
fn a_missing_required_key_is_refused_at_its_types_header() {
    let head = [
        "[[type]]",
        "name = \"a\"",
        "program = \"a.sh\"",
        "queues = [\"q\"]",
    ];
    for (missing, key) in [(1, "name"), (2, "program"), (3, "queues")] {
        let mut lines = vec!["# one type"];
        lines.extend(
            head.iter()
                .enumerate()
                .filter(|(n, _)| *n != missing)
                .map(|(_, l)| *l),
        );
        refused(
            &lines,
            2,
            &[&format!(
                "[[type]] 1 has no '{key}', which every type needs"
            )],
        );
    }
}

#[test]
fn values_of_the_wrong_toml_type_and_bad_toml_are_refused_at_their_line() {
    let mut lines = vec![
        "[[type]]",
        "name = \"a\"",
        "program = \"a.sh\"",
        "queues = [\"q\"]",
    ];
    lines.push("id = \"eight\"");
    refused(&lines, 5, &["[[type]] 1", "expected an integer"]);
    lines[4] = "args = \"--all\"";
    refused(&lines, 5, &["expected an array"]);
    lines[4] = "paused = 1";
    refused(&lines, 5, &["expected a boolean"]);
    lines[4] = "name = \"b\"";
    refused(&lines, 5, &["not valid TOML", "duplicate key"]);
    lines[4] = "threads = ";
    refused(&lines, 5, &["not valid TOML"]);
}

#[test]
fn names_and_versions_are_bounded_to_a_safe_charset() {
    let long_name = format!("name = \"{}\"", "n".repeat(65));
    let lines = [
        "[[type]]",
        "program = \"a.sh\"",
        "queues = [\"q\"]",
        &long_name,
    ];
    refused(&lines, 4, &["name '", "must be 1-64 characters"]);
    let lines = [
        "[[type]]",
        "program = \"a.sh\"",
        "queues = [\"q\"]",
        "name = \"kml footprint\"",
    ];
    refused(
        &lines,
        4,
        &["[[type]] 1: name 'kml footprint' must be 1-64"],
    );
    refused(
        &with("version = \"1 0\""),
        5,
        &["[[type]] 1 (kml): version '1 0' must be 1-32"],
    );
    refused(
        &with(&format!("version = \"{}\"", "1".repeat(33))),
        5,
        &["version"],
    );
    refused(&with("version = \"\""), 5, &["version '' must be 1-32"]);
    let ok = format!("version = \"{}\"", "1".repeat(32));
    assert_eq!(parsed(&with(&ok)).all()[0].version.len(), 32);
}

#[test]
fn a_name_and_version_defined_twice_is_refused_naming_both_lines() {
    let message = refused(
        &[
            "[[type]]",
            "name = \"kml\"",
            "program = \"a.sh\"",
            "queues = [\"q\"]",
            "[[type]]",
            "name = \"kml\"",
            "version = \"1.0\"",
            "program = \"b.sh\"",
            "queues = [\"q\"]",
        ],
        6,
        &["type 'kml' version '1.0' is defined twice (also at line 2)"],
    );
    assert!(message.contains("another version"), "{message}");
}

#[test]
fn an_id_used_twice_is_refused_whether_set_or_taken_from_the_position() {
    let type_with_id = |name: &'static str, id: &'static str| {
        [
            "[[type]]",
            name,
            "program = \"a.sh\"",
            "queues = [\"q\"]",
            id,
        ]
    };
    let mut lines: Vec<&str> = type_with_id("name = \"a\"", "id = 5").to_vec();
    lines.extend(type_with_id("name = \"b\"", "id = 5"));
    refused(
        &lines,
        10,
        &[
            "type b 1.0 has id 5, which type a 1.0 (line 5) has too",
            "unique",
        ],
    );

    // The second type sets no id: its id is its position, 2, which the first set.
    let mut lines: Vec<&str> = type_with_id("name = \"a\"", "id = 2").to_vec();
    lines.extend(type_with_id("name = \"b\"", "# no id"));
    refused(
        &lines,
        6,
        &["type b 1.0 sets no id, so its id is its position in the file, 2"],
    );

    // The first type's id is its position, 1, which the second sets.
    let mut lines: Vec<&str> = type_with_id("name = \"a\"", "# no id").to_vec();
    lines.extend(type_with_id("name = \"b\"", "id = 1"));
    refused(
        &lines,
        10,
        &["which type a 1.0 (line 1) has too, as its position in the file"],
    );
}

#[test]
fn numbers_out_of_their_range_are_refused_with_the_range() {
    refused(
        &with("id = 0"),
        5,
        &["id is 0; it must be from 1 to 4294967295"],
    );
    refused(&with("id = 4294967296"), 5, &["id is 4294967296"]);
    refused(
        &with("threads = 0"),
        5,
        &["threads is 0; it must be from 1"],
    );
    refused(
        &with("max_tries = 101"),
        5,
        &["max_tries is 101; it must be from 1 to 100"],
    );
    refused(&with("memory_mb = -1"), 5, &["memory_mb is -1"]);
    refused(
        &with("priority = 2147483648"),
        5,
        &["priority is 2147483648"],
    );
    assert_eq!(
        parsed(&with("priority = -2147483648")).all()[0].priority,
        i32::MIN
    );
}

#[test]
fn a_timeout_must_be_a_duration_longer_than_zero() {
    refused(
        &with("timeout = \"soon\""),
        5,
        &["timeout 'soon' is not a duration", "5min"],
    );
    refused(
        &with("timeout = \"0s\""),
        5,
        &["leave timeout out for no limit"],
    );
}

#[test]
fn every_placeholder_must_name_an_input_or_a_reserved_one() {
    let lines = with("args = [\"${job_id}\", \"-o\", \"${inptu}\"]");
    let message = refused(
        &lines,
        5,
        &["args[2] uses ${inptu}", "it declares none", "add 'inptu'"],
    );
    // The column points into the line, at the argument.
    assert!(message.contains("line 5, column 28"), "{message}");
    let lines = [
        "[[type]]",
        "name = \"kml\"",
        "queues = [\"q\"]",
        "inputs = [\"input\"]",
        "program = \"${tool}.sh\"",
    ];
    refused(&lines, 5, &["program uses ${tool}", "(input)"]);
    refused(
        &with("args = [\"${in put}\"]"),
        5,
        &["args[0] '${in put}' has a '${' that starts no"],
    );
    refused(&with("args = [\"a\\u0000b\"]"), 5, &["args[0] holds a NUL"]);
    // An escaped `${` is text, not a placeholder.
    assert_eq!(
        parsed(&with("args = [\"$${inptu}\"]")).all()[0].args,
        ["$${inptu}"]
    );
}

#[test]
fn inputs_must_be_plain_unreserved_distinct_names_and_few() {
    refused(
        &with("inputs = [\"in-put\"]"),
        5,
        &["input 'in-put' must be 1-64 characters"],
    );
    refused(
        &with("inputs = [\"job_id\"]"),
        5,
        &["input 'job_id' is reserved"],
    );
    refused(
        &with("inputs = [\"a\", \"a\"]"),
        5,
        &["input 'a' is declared twice"],
    );
    let names: Vec<String> = (0..=MAX_INPUTS).map(|n| format!("\"i{n}\"")).collect();
    let many = format!("inputs = [{}]", names.join(", "));
    refused(&with(&many), 5, &["inputs lists more than 64 names"]);
    let most = format!("inputs = [{}]", names[..MAX_INPUTS].join(", "));
    assert_eq!(parsed(&with(&most)).all()[0].inputs.len(), MAX_INPUTS);
}

#[test]
fn queues_must_be_valid_distinct_and_between_1_and_32() {
    let lines = [
        "[[type]]",
        "name = \"kml\"",
        "program = \"a.sh\"",
        "queues = []",
    ];
    refused(&lines, 4, &["queues is empty; name at least one queue"]);
    let lines = [
        "[[type]]",
        "name = \"kml\"",
        "program = \"a.sh\"",
        "queues = [\"a\", \"b c\"]",
    ];
    refused(&lines, 4, &["queue name 'b c' may only contain"]);
    let lines = [
        "[[type]]",
        "name = \"kml\"",
        "program = \"a.sh\"",
        "queues = [\"a\", \"a\"]",
    ];
    refused(&lines, 4, &["queue 'a' is listed twice"]);
    let names: Vec<String> = (0..33).map(|n| format!("\"q{n}\"")).collect();
    let many = format!("queues = [{}]", names.join(", "));
    let lines = ["[[type]]", "name = \"kml\"", "program = \"a.sh\"", &many];
    refused(&lines, 4, &["queues lists more than 32 queues"]);
}

#[test]
fn a_program_is_a_bare_file_name_or_an_absolute_path_without_dot_dot() {
    let program = |program: &str| {
        let line = format!("program = \"{program}\"");
        let text = file(&["[[type]]", "name = \"kml\"", "queues = [\"q\"]", &line]);
        JobTypes::parse(&text, "types.toml")
    };
    for good in [
        "run.sh",
        "/opt/tools/run",
        "${job_output_dir}/run.sh",
        "${job_id}.sh",
    ] {
        assert!(program(good).is_ok(), "{good}: {:?}", program(good));
    }
    for (bad, why) in [
        ("bin/run.sh", "neither a bare file name"),
        (".hidden", "neither a bare file name"),
        ("", "neither a bare file name"),
        ("/opt/../bin/sh", "holds '..'"),
        ("${job_output_dir}/../x", "holds '..'"),
        ("x${job_output_dir}", "neither a bare file name"),
    ] {
        let message = program(bad).expect_err(bad);
        assert!(
            message.starts_with("job types file types.toml, line 4"),
            "{message}"
        );
        assert!(message.contains(why), "{bad}: {message}");
    }
}
