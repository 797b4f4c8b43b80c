//! A broken configuration is a clear error (exit 2) that names the file, the rule and the
//! problem, found before any file is read; it is never reported as a clean scan.

use crate::common::{anteater, fixture, tree};

fn assert_config_error(run: &crate::common::Run, needles: &[&str]) {
    assert_eq!(run.code, 2, "{}", run.all_output());
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?} in: {}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.sarif.is_none(), "no SARIF for a scan that was not done");
}

#[test]
fn invalid_content_regex_names_file_rule_and_error() {
    let dir = tree(&[
        (
            "lists/flags.yaml",
            b"file_audits:\n  file_contents:\n    broken:\n      regex: 'md5(('\n      desc: x\n",
        ),
        ("src/a.txt", b"md5\n"),
    ]);
    let run = anteater(dir.path())
        .args(&["--flag-list", "lists/flags.yaml", "--path", "src"])
        .run();
    assert_config_error(
        &run,
        &[
            "flag list lists/flags.yaml",
            "rule `broken`",
            "invalid regex `md5((`",
            "unclosed group",
        ],
    );
}

#[test]
fn invalid_file_name_regex_is_an_error() {
    let dir = tree(&[
        ("flags.yaml", b"file_audits:\n  file_names:\n    - '[z-a]'\n"),
        ("src/a", b""),
    ]);
    let run = anteater(dir.path())
        .args(&["--flag-list", "flags.yaml", "--path", "src"])
        .run();
    assert_config_error(&run, &["flags.yaml", "[z-a]", "invalid regex"]);
}

#[test]
fn invalid_exception_regex_is_an_error() {
    let dir = tree(&[
        ("ignore.yaml", b"file_audits:\n  file_contents:\n    - 'a)'\n"),
        ("src/a", b""),
    ]);
    let run = anteater(dir.path())
        .args(&["--ignore-list", "ignore.yaml", "--path", "src"])
        .run();
    assert_config_error(
        &run,
        &["ignore.yaml", "file_audits.file_contents", "invalid regex `a)`"],
    );
}

#[test]
fn malformed_yaml_is_an_error_with_a_location() {
    for (yaml, needle) in [
        (&b"file_audits: [unclosed\n"[..], "flags.yaml"),
        (
            b"file_audits:\n  file_contents:\n    r:\n      desc: no regex\n",
            "regex",
        ),
        (
            b"file_audits:\n  file_contents:\n    r:\n      regex: x\n      regx: typo\n",
            "regx",
        ),
        (b"\xff\xfe not utf-8", "not valid UTF-8"),
    ] {
        let dir = tree(&[("flags.yaml", yaml), ("src/a", b"")]);
        let run = anteater(dir.path())
            .args(&["--flag-list", "flags.yaml", "--path", "src"])
            .run();
        assert_config_error(&run, &["flag list flags.yaml", needle]);
    }
}

#[test]
fn missing_files_are_errors() {
    let dir = tree(&[("src/a", b"")]);
    let run = anteater(dir.path()).args(&["--path", "nowhere"]).run();
    assert_config_error(&run, &["--path nowhere"]);
    let run = anteater(dir.path())
        .args(&["--path", "src", "--flag-list", "none.yaml"])
        .run();
    assert_config_error(&run, &["flag list none.yaml"]);
    let run = anteater(dir.path())
        .args(&["--path", "src", "--config", "none.conf"])
        .run();
    assert_config_error(&run, &["config none.conf"]);
    let run = anteater(dir.path())
        .args(&["--path", "src", "--patchset", "none.txt"])
        .run();
    assert_config_error(&run, &["--patchset none.txt"]);
}

#[test]
fn conf_pointing_at_missing_lists_is_an_error_not_a_pass() {
    // The original exited 0 when its configuration could not be read.
    let dir = tree(&[
        (
            "anteater.conf",
            b"[config]\nanteater_files = lists/\nflag_list = %(anteater_files)s/flags.yaml\n",
        ),
        ("src/a", b""),
    ]);
    let run = anteater(dir.path()).args(&["--path", "src"]).run();
    assert_config_error(&run, &["lists/flags.yaml"]);
}

#[test]
fn missing_project_exception_file_is_an_error() {
    let dir = fixture("anteater-original");
    std::fs::remove_file(dir.path().join("anteater_files/testproject.yaml")).unwrap();
    let run = anteater(dir.path())
        .args(&["--project", "testproject", "--path", "tests/testproject"])
        .run();
    assert_config_error(
        &run,
        &["project `testproject`", "anteater_files/testproject.yaml"],
    );
}

#[test]
fn virustotal_options_need_an_api_key() {
    let dir = tree(&[("src/a", b"")]);
    for flag in ["--ips", "--urls", "--bincheck"] {
        let run = anteater(dir.path()).args(&["--path", "src", flag]).run();
        assert_config_error(&run, &["VT_API_KEY", "secret store"]);
    }
}

#[test]
fn virustotal_settings_are_validated() {
    let dir = tree(&[("src/a", b"")]);
    for (args, needle) in [
        (&["--vt-rate", "fast"][..], "fast"),
        (&["--vt-rate", "0/1m"][..], "0/1m"),
        (&["--vt-cache-ttl", "soon"][..], "soon"),
        (&["--vt-min-detections", "0"][..], "0"),
    ] {
        let mut all = vec!["--path", "src", "--ips"];
        all.extend_from_slice(args);
        let run = anteater(dir.path()).env("VT_API_KEY", "k").args(&all).run();
        assert_eq!(run.code, 2, "{args:?}: {}", run.all_output());
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn bad_option_values_are_usage_errors() {
    let dir = tree(&[("src/a", b"")]);
    let run = anteater(dir.path()).args(&["--fail-on", "sometimes"]).run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("sometimes"));
    let run = anteater(dir.path()).args(&["--max-file-size", "lots"]).run();
    assert_eq!(run.code, 2);
}

#[test]
fn unwritable_sarif_path_fails_the_run() {
    let dir = tree(&[("src/a", b"")]);
    let run = anteater(dir.path())
        .args(&["--path", "src", "--sarif", "no/such/dir/out.sarif"])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("writing SARIF no/such/dir/out.sarif"),
        "{}",
        run.stderr
    );
}
