//! A user of the original anteater points the binary at their anteater.conf and lists and gets
//! the same findings (shared/fixtures/anteater-original/EXPECTED.md).

use crate::common::{anteater, fixture};

const EXPECTED: [(&str, u64, &str); 7] = [
    ("tests/testproject/python/app.py", 11, "autoescape"),
    ("tests/testproject/python/run.py", 10, "sha"),
    ("tests/testproject/python/run.py", 13, "apprun"),
    ("tests/testproject/python/run.py", 16, "apprun"),
    ("tests/testproject/shell/test.sh", 3, "password"),
    ("tests/testproject/shell/test.sh", 5, "tmp"),
    ("tests/testproject/tests/script.sh", 1, "md245"),
];

#[test]
fn original_test_project_gives_exactly_the_seven_expected_findings() {
    let dir = fixture("anteater-original");
    let run = anteater(dir.path())
        .args(&["--project", "testproject", "--path", "tests/testproject"])
        .run();

    assert_eq!(run.code, 1, "{}", run.all_output());
    let expected: Vec<(String, u64, String)> = EXPECTED
        .iter()
        .map(|(path, line, rule)| (path.to_string(), *line, rule.to_string()))
        .collect();
    // Outside git, SARIF URIs are relative to --path (the console's paths to the working folder).
    let sarif_expected: Vec<(String, u64, String)> = expected
        .iter()
        .map(|(path, line, rule)| {
            (
                path["tests/testproject/".len()..].to_string(),
                *line,
                rule.clone(),
            )
        })
        .collect();
    assert_eq!(run.result_keys(), sarif_expected);

    let console: Vec<(String, u64, String)> = run
        .finding_lines()
        .iter()
        .map(|line| {
            let mut fields = line.split("  ");
            let location = fields.next().unwrap();
            let rule = fields.next().unwrap().to_string();
            let mut parts = location.split(':');
            let path = parts.next().unwrap().to_string();
            let line = parts.next().unwrap().parse().unwrap();
            (path, line, rule)
        })
        .collect();
    assert_eq!(console, expected);
    assert!(run
        .stdout
        .contains("7 findings (7 error, 0 warning, 0 note): FAILED"));
    assert!(run
        .stdout
        .contains("how to resolve findings: http://anteater.readthedocs.io/en/latest/"));
    // The hard-coded password is shown as a short prefix only.
    assert!(!run.all_output().contains("s908u3oijskj"));
}

#[test]
fn original_columns_point_at_the_match() {
    let dir = fixture("anteater-original");
    let run = anteater(dir.path())
        .args(&["--project", "testproject", "--path", "tests/testproject"])
        .run();
    let sha = &run.results()[1]["locations"][0]["physicalLocation"]["region"];
    // `hashlib.sha1()`: "sha0/1" starts at column 9.
    assert_eq!(sha["startColumn"], 9);
    // Flag-list rules are secrets unless they say `redact: false`: the region is the match's
    // first column, so that no report gives the secret's length.
    assert_eq!(sha["endColumn"], 10);
    assert!(run
        .stdout
        .contains("tests/testproject/python/run.py:10:9  sha  Insecure hashing algorithm"));
}

#[test]
fn binaries_flag_blocks_the_binary_missing_from_the_allowlist() {
    let dir = fixture("anteater-original");
    let run = anteater(dir.path())
        .args(&[
            "--project",
            "testproject",
            "--path",
            "tests/testproject",
            "--binaries",
        ])
        .run();
    assert_eq!(run.code, 1);
    let binaries: Vec<_> = run
        .result_keys()
        .into_iter()
        .filter(|(_, _, rule)| rule == "binary-not-allowlisted")
        .collect();
    // The pngs are allowlisted by sha256 in testproject.yaml; the zip is not.
    assert_eq!(
        binaries,
        vec![(
            "infected/eicar_com.zip".to_string(),
            1,
            "binary-not-allowlisted".to_string()
        )]
    );
}

#[test]
fn allowlist_is_per_checksum_not_per_name() {
    let dir = fixture("anteater-original");
    // Same name as an allowlisted png, different content: blocked.
    std::fs::write(
        dir.path().join("tests/testproject/images/pal.png"),
        b"\x89PNG\r\n\x1a\n\0\0changed",
    )
    .unwrap();
    let run = anteater(dir.path())
        .args(&[
            "--project",
            "testproject",
            "--path",
            "tests/testproject",
            "--binaries",
        ])
        .run();
    let flagged: Vec<String> = run
        .result_keys()
        .into_iter()
        .filter(|(_, _, rule)| rule == "binary-not-allowlisted")
        .map(|(uri, _, _)| uri)
        .collect();
    assert_eq!(flagged, vec!["images/pal.png", "infected/eicar_com.zip"]);
}

#[test]
fn project_exceptions_apply_to_their_project_only() {
    let dir = fixture("anteater-original");
    std::fs::write(
        dir.path().join("tests/testproject/shell/waived.sh"),
        "password = hunter22 # ignore-this-string\n",
    )
    .unwrap();
    let own = anteater(dir.path())
        .args(&["--project", "testproject", "--path", "tests/testproject"])
        .run();
    assert!(!own.stdout.contains("waived.sh"), "{}", own.stdout);

    // Another project has no such exception (and no exception file at all): the line is flagged,
    // and file names are still checked (the original reported none for such projects).
    std::fs::write(dir.path().join("tests/testproject/server.pem"), "x\n").unwrap();
    let other = anteater(dir.path())
        .args(&["--project", "unknown", "--path", "tests/testproject"])
        .run();
    assert!(
        other.stdout.contains("shell/waived.sh:1:1  password"),
        "{}",
        other.stdout
    );
    assert!(
        other
            .stdout
            .contains("tests/testproject/server.pem:1:1  file-name:pem"),
        "{}",
        other.stdout
    );
}

#[test]
fn lists_directory_is_never_scanned() {
    let dir = fixture("anteater-original");
    // Scanning the whole fixture: the flag list itself holds every pattern, but is not scanned.
    let run = anteater(dir.path()).args(&["--project", "testproject"]).run();
    let findings = run.finding_lines().join("\n");
    assert!(!findings.contains("anteater_files"), "{findings}");
    assert!(!findings.contains("anteater.sarif"), "{findings}");
    assert_eq!(run.code, 1);
}
