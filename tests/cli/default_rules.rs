//! The built-in default ruleset, end to end: what it finds, what it leaves alone, and that no
//! secret value reaches any output. Every value here is fake.

use crate::common::{anteater, tree};

const SECRETS: &[(&str, &[u8])] = &[
    (
        "deploy/id_ed25519",
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n", // fake-secret-for-tests
    ),
    ("config/settings.py", b"import os\n\nDB_PASSWORD = \"hunter2!x\"\nREAD_FROM_ENV = os.environ[\"PASSWORD\"]\n"),
    ("ci/deploy.sh", b"export GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyz\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"), // fake-secret-for-tests
    ("app/db.env.example", b"DATABASE_URL=postgres://app:S3cr3tPassw0rd@db.internal:5432/app\n"), // fake-secret-for-tests
    ("home/.bash_history", b"ls\n"),
    ("src/clean.rs", b"fn main() { let password = std::env::var(\"PASSWORD\"); }\n"),
];

#[test]
fn default_ruleset_finds_keys_tokens_passwords_and_credential_files() {
    let dir = tree(SECRETS);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let found: Vec<String> = run
        .result_keys()
        .into_iter()
        .map(|(uri, line, rule)| format!("{uri}:{line}:{rule}"))
        .collect();
    assert_eq!(
        found,
        vec![
            "app/db.env.example:1:credentials-in-url",
            "ci/deploy.sh:1:github-token",
            "ci/deploy.sh:2:aws-access-key-id",
            "config/settings.py:3:hardcoded-password",
            "deploy/id_ed25519:1:file-name-ssh-private-key",
            "deploy/id_ed25519:1:private-key-openssh",
            "home/.bash_history:1:file-name-shell-history",
        ]
    );
}

#[test]
fn secret_values_appear_in_no_output() {
    let dir = tree(SECRETS);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    let output = run.all_output();
    for secret in [
        "hunter2!x",
        "ghp_0123456789abcdefghijklmnopqrstuvwxyz", // fake-secret-for-tests
        "AKIAIOSFODNN7EXAMPLE",                     // fake-secret-for-tests
        "S3cr3tPassw0rd",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
    ] {
        assert!(!output.contains(secret), "{secret} leaked:\n{output}");
    }
    assert!(run.stdout.contains("AKIA… (redacted)"), "{}", run.stdout);
}

#[test]
fn sarif_rules_carry_what_code_scanning_needs() {
    let dir = tree(SECRETS);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    let sarif = run.sarif.as_ref().unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run0 = &sarif["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() > 40);
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        for field in ["shortDescription", "fullDescription", "help"] {
            assert!(
                !rule[field]["text"].as_str().unwrap_or_default().is_empty(),
                "{id}: {field}"
            );
        }
        let score: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.1..=10.0).contains(&score), "{id}");
        assert!(rule["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&"security".into()));
        assert!(rule["properties"]["precision"].is_string());
    }
    for result in run0["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(result["partialFingerprints"]["anteaterFingerprint/v2"].is_string());
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"],
            "%SRCROOT%"
        );
    }
}

#[test]
fn fingerprints_survive_moved_lines() {
    let line = b"export GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyz\n"; // fake-secret-for-tests
    let dir = tree(&[("a.sh", line)]);
    let before = anteater(dir.path()).args(&["--path", "."]).run();
    std::fs::write(
        dir.path().join("a.sh"),
        b"#!/bin/sh\n\n# deploy\nexport GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyz\n", // fake-secret-for-tests
    )
    .unwrap();
    let after = anteater(dir.path()).args(&["--path", "."]).run();
    let fingerprint = |run: &crate::common::Run| run.results()[0]["partialFingerprints"].clone();
    assert_eq!(after.result_keys()[0].1, 4);
    assert_eq!(fingerprint(&before), fingerprint(&after));
}

#[test]
fn classic_ruleset_is_built_in() {
    let dir = tree(&[("run.py", b"hashlib.sha1()\n")]);
    let run = anteater(dir.path())
        .args(&["--path", ".", "--ruleset", "classic"])
        .run();
    assert_eq!(run.code, 1);
    assert_eq!(
        run.result_keys(),
        vec![("run.py".to_string(), 1, "sha".to_string())]
    );
    let default = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(default.code, 0);
}
