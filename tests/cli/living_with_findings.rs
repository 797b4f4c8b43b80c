//! Living with findings: inline suppressions, baselines and --exit-zero.

use crate::common::{anteater, tree};

const TOKEN_LINE: &[u8] = b"export GITHUB_TOKEN=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\n"; // fake-secret-for-tests

#[test]
fn inline_suppressions_waive_a_line_and_are_counted() {
    let dir = tree(&[
        ("a.sh", b"export GITHUB_TOKEN=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 # anteater:ignore\n"), // fake-secret-for-tests
        ("b.sh", b"export GITHUB_TOKEN=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 # anteater:ignore github-token\n"), // fake-secret-for-tests
        ("c.sh", b"export GITHUB_TOKEN=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 # anteater:ignore aws-access-key-id\n"), // fake-secret-for-tests
    ]);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let paths: Vec<String> = run.result_keys().into_iter().map(|k| k.0).collect();
    assert_eq!(
        paths,
        vec!["c.sh"],
        "only the suppression naming another rule leaves the finding"
    );
    assert!(
        run.stdout.contains("2 findings suppressed inline"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_baseline_accepts_known_findings_and_survives_inserted_lines() {
    let dir = tree(&[("deploy.sh", TOKEN_LINE)]);
    let write = anteater(dir.path())
        .args(&["--path", ".", "--write-baseline", "baseline.json"])
        .run();
    assert_eq!(write.code, 1);
    let baseline = std::fs::read_to_string(dir.path().join("baseline.json")).unwrap();
    assert!(
        !baseline.contains("ghp_"),
        "the baseline holds hashes, not the secret: {baseline}"
    );
    assert!(!baseline.contains("\"line\""), "{baseline}");

    // Lines inserted above the finding: still accepted.
    let mut moved = b"#!/bin/sh\n# deploy script\n\nset -eu\n".to_vec();
    moved.extend_from_slice(TOKEN_LINE);
    std::fs::write(dir.path().join("deploy.sh"), &moved).unwrap();
    let run = anteater(dir.path())
        .args(&["--path", ".", "--baseline", "baseline.json"])
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.results().is_empty());
    assert!(
        run.stdout
            .contains("baseline: 1 finding accepted, 0 stale entries"),
        "{}",
        run.stdout
    );

    // A new secret is still reported.
    moved.extend_from_slice(b"AWS_KEY=AKIAQ3TZ7VK2MXWJ4RNA\n"); // fake-secret-for-tests
    std::fs::write(dir.path().join("deploy.sh"), &moved).unwrap();
    let run = anteater(dir.path())
        .args(&["--path", ".", "--baseline", "baseline.json"])
        .run();
    assert_eq!(run.code, 1);
    assert_eq!(run.result_keys()[0].2, "aws-access-key-id");
}

#[test]
fn stale_baseline_entries_are_listed() {
    let dir = tree(&[("deploy.sh", TOKEN_LINE)]);
    anteater(dir.path())
        .args(&["--path", ".", "--write-baseline", "baseline.json"])
        .run();
    std::fs::write(dir.path().join("deploy.sh"), b"export GITHUB_TOKEN=\"$TOKEN\"\n").unwrap();
    let run = anteater(dir.path())
        .args(&["--path", ".", "--baseline", "baseline.json"])
        .run();
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("0 findings accepted, 1 stale entry"),
        "{}",
        run.stdout
    );
    assert!(run
        .stderr
        .contains("stale baseline entry (no longer found, can be removed): github-token deploy.sh"));
}

#[test]
fn a_malformed_baseline_is_an_error() {
    let dir = tree(&[("a.txt", b"x\n"), ("baseline.json", b"{\"entries\": 3}")]);
    let run = anteater(dir.path())
        .args(&["--path", ".", "--baseline", "baseline.json"])
        .run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("baseline baseline.json"), "{}", run.stderr);
}

#[test]
fn exit_zero_reports_but_never_fails_on_findings() {
    let dir = tree(&[("deploy.sh", TOKEN_LINE)]);
    let run = anteater(dir.path()).args(&["--path", ".", "--exit-zero"]).run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.results().len(), 1);
    // A scan that cannot be done still fails.
    let broken = anteater(dir.path())
        .args(&["--path", "missing", "--exit-zero"])
        .run();
    assert_eq!(broken.code, 2);
}
