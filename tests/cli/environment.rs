//! Every option can be set as ANTEATER_<OPTION>; flags win; empty values count as unset.

use crate::common::{anteater, fixture};

#[test]
fn environment_alone_drives_a_scan() {
    let dir = fixture("anteater-original");
    let run = anteater(dir.path())
        .env("ANTEATER_PROJECT", "testproject")
        .env("ANTEATER_PATH", "tests/testproject")
        .env("ANTEATER_BINARIES", "true")
        .env("ANTEATER_SARIF", "out/report.sarif")
        .run();
    // out/ does not exist: the SARIF cannot be written.
    assert_eq!(run.code, 2, "{}", run.all_output());

    std::fs::create_dir(dir.path().join("out")).unwrap();
    let run = anteater(dir.path())
        .env("ANTEATER_PROJECT", "testproject")
        .env("ANTEATER_PATH", "tests/testproject")
        .env("ANTEATER_BINARIES", "true")
        .env("ANTEATER_SARIF", "out/report.sarif")
        .run();
    assert_eq!(run.code, 1);
    assert_eq!(run.results().len(), 8, "7 content findings and the zip");
}

#[test]
fn command_line_wins_and_empty_values_are_unset() {
    let dir = fixture("anteater-original");
    let run = anteater(dir.path())
        .env("ANTEATER_PROJECT", "testproject")
        .env("ANTEATER_PATH", "nowhere")
        .env("ANTEATER_PATCHSET", "")
        .env("ANTEATER_FAIL_ON", "")
        .env("ANTEATER_BINARIES", "")
        .args(&["--path", "tests/testproject"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.results().len(), 7);

    let run = anteater(dir.path())
        .env("ANTEATER_FAIL_ON", "never")
        .args(&["--project", "testproject", "--path", "tests/testproject"])
        .run();
    assert_eq!(run.code, 0);
}

#[test]
fn help_documents_the_environment() {
    let dir = fixture("anteater-original");
    let run = anteater(dir.path()).args(&["--help"]).run();
    assert_eq!(run.code, 0);
    for needle in [
        "ANTEATER_PATH",
        "ANTEATER_FAIL_ON",
        "VT_API_KEY",
        "REDIS_URL",
        "Exit codes",
    ] {
        assert!(run.stdout.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn github_step_outputs_are_written() {
    let dir = fixture("anteater-original");
    let outputs = dir.path().join("github_output");
    std::fs::write(&outputs, "earlier=1\n").unwrap();
    let run = anteater(dir.path())
        .env("GITHUB_OUTPUT", outputs.to_str().unwrap())
        .args(&["--project", "testproject", "--path", "tests/testproject"])
        .run();
    assert_eq!(run.code, 1);
    let written = std::fs::read_to_string(&outputs).unwrap();
    assert_eq!(
        written,
        "earlier=1\nsarif_file=anteater.sarif\nfindings=7\njunit_file=\ngitlab_codequality_file=\nbaseline_file=\n"
    );
}
