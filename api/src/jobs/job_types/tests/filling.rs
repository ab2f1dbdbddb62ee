//! Filling a type's templates from a submit's inputs, and the worker's pass after it.

use super::*;

#[test]
fn fill_puts_each_value_in_its_one_argument_and_leaves_reserved_ones() {
    let (program, args) = kml()
        .fill(&inputs(&[("input_file", "/data/my scene; rm -rf ~.kml")]))
        .expect("fills");
    assert_eq!(program, "footprint.sh");
    assert_eq!(
        args,
        ["/data/my scene; rm -rf ~.kml", "--out", "${job_output_dir}"]
    );
    let launched: Vec<String> = args
        .iter()
        .map(|a| fill_reserved(a, "J7", "/out/J7"))
        .collect();
    assert_eq!(
        launched,
        ["/data/my scene; rm -rf ~.kml", "--out", "/out/J7"]
    );
}

#[test]
fn fill_refuses_a_missing_an_unknown_or_a_nul_input_naming_it() {
    let missing = kml().fill(&inputs(&[])).expect_err("missing");
    assert_eq!(missing.input, "input_file");
    assert_eq!(
        missing.to_string(),
        "missing input 'input_file' for type kml-footprint 1.0.0; it needs input_file"
    );
    let unknown = kml()
        .fill(&inputs(&[("input_file", "a"), ("foo", "b")]))
        .expect_err("unknown");
    assert_eq!(unknown.input, "foo");
    assert_eq!(
        unknown.message,
        "unknown input 'foo' for type kml-footprint 1.0.0; it takes input_file"
    );
    let reserved = kml()
        .fill(&inputs(&[("input_file", "a"), ("job_id", "x")]))
        .expect_err("job_id is no input");
    assert_eq!(reserved.input, "job_id");
    let nul = kml()
        .fill(&inputs(&[("input_file", "a\0b")]))
        .expect_err("NUL");
    assert_eq!(nul.input, "input_file");
    assert!(nul.message.contains("NUL"), "{nul}");
}

#[test]
fn a_value_that_would_make_the_program_a_path_is_refused() {
    let types = parsed(&[
        "[[type]]",
        "name = \"tool\"",
        "program = \"${tool}.sh\"",
        "inputs = [\"tool\"]",
        "queues = [\"q\"]",
    ]);
    let tool = &types.all()[0];
    let (program, _) = tool.fill(&inputs(&[("tool", "a$b")])).expect("a bare name");
    assert_eq!(fill_reserved(&program, "J1", "/o"), "a$b.sh");
    let refused = tool
        .fill(&inputs(&[("tool", "../../bin/rm")]))
        .expect_err("a path");
    assert_eq!(refused.input, "tool");
    assert!(
        refused.message.contains("neither a bare file name"),
        "{refused}"
    );
}

/// A submitter's value that spells a reserved placeholder (or its escape) reaches the program as it
/// was sent, after both passes.
#[test]
fn values_are_never_expanded_twice() {
    for value in ["${job_id}", "$${job_output_dir}", "x$", "$"] {
        let (_, args) = kml()
            .fill(&inputs(&[("input_file", value)]))
            .expect("fills");
        assert_eq!(fill_reserved(&args[0], "J1", "/o"), value);
        assert_eq!(fill_reserved(&args[2], "J1", "/o"), "/o");
    }
}
