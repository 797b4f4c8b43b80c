//! Issue 21, item 6: a team's gitleaks rules come along. `.gitleaks.toml` in the scanned folder
//! (or --gitleaks-config) adds its rules and allowlists to anteater's, and what cannot be mapped
//! is an error naming it.

use crate::common::{anteater, tree};

const ACME_KEY: &str = "acme_k3j9x8q2m4n7p1z5v6w0"; // fake-secret-for-tests
const TOKEN_LINE: &[u8] = b"export GITHUB_TOKEN=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\n"; // fake-secret-for-tests

const GITLEAKS_TOML: &[u8] = br#"title = "team rules"

[[rules]]
id = "acme-api-key"
description = "ACME API key"
regex = '''acme_key\s*=\s*"(acme_[a-z0-9]{20})"'''
secretGroup = 1
entropy = 3.0
keywords = ["acme_key"]
tags = ["key"]

[[rules.allowlists]]
stopwords = ["example"]

[[allowlists]]
description = "lines marked as fixtures"
regexTarget = "line"
regexes = ['''#\s*fixture''']
"#;

#[test]
fn a_gitleaks_toml_in_the_scanned_folder_adds_its_rules_and_allowlists() {
    let dir = tree(&[
        (".gitleaks.toml", GITLEAKS_TOML),
        ("app.py", format!("acme_key = \"{ACME_KEY}\"\n").as_bytes()),
        ("docs.py", b"acme_key = \"acme_example0example0exam\"\n"),
        (
            "fixture.py",
            b"acme_key = \"acme_q8w7e6r5t4y3u2i1o0p9\"  # fixture\n",
        ),
        ("low.py", b"acme_key = \"acme_aaaaaaaaaaaaaaaaaaaa\"\n"),
        ("deploy.sh", TOKEN_LINE),
    ]);
    let elsewhere = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let run = anteater(elsewhere.path())
        .args(&["--no-sarif", "--format", "json", root])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let mut found: Vec<String> = document["findings"]
        .as_array()
        .unwrap()
        .iter()
        // Errors: the default ruleset's generic assignment rule may warn about a fixture too.
        .filter(|f| f["level"] == "error")
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let name = path.rsplit('/').next().unwrap();
            format!("{name}:{}", f["rule_id"].as_str().unwrap())
        })
        .collect();
    found.sort();
    // The built-in rules stay on; stop word, line allowlist and entropy each keep one out.
    assert_eq!(
        found,
        ["app.py:acme-api-key", "deploy.sh:github-token"],
        "{}",
        run.stdout
    );
    assert!(
        !run.all_output().contains(ACME_KEY),
        "the secret group is redacted"
    );
}

#[test]
fn what_a_gitleaks_config_cannot_say_to_anteater_is_an_error() {
    let dir = tree(&[
        (
            "team.toml",
            b"[[rules]]\nid = \"r\"\nregex = 'x'\n[[rules.allowlists]]\npaths = ['''vendor/''']\n",
        ),
        ("a.txt", b"x\n"),
    ]);
    let run = anteater(dir.path())
        .args(&["--no-sarif", "--gitleaks-config", "team.toml"])
        .run();
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr
            .contains("gitleaks config team.toml: rule `r`: allowlist: `paths` cannot be mapped"),
        "{}",
        run.stderr
    );
    let missing = anteater(dir.path())
        .args(&["--no-sarif", "--gitleaks-config", "none.toml"])
        .run();
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("none.toml"), "{}", missing.stderr);
}

#[test]
fn gitleaksignore_fingerprints_waive_findings_but_not_a_changes_own() {
    let dir = tree(&[
        (".gitleaks.toml", GITLEAKS_TOML),
        ("src/app.py", format!("acme_key = \"{ACME_KEY}\"\n").as_bytes()),
        (".gitleaksignore", b"# reviewed\nsrc/app.py:acme-api-key:1\n"),
    ]);
    let run = anteater(dir.path()).args(&["--no-sarif"]).run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .contains("anteater: 1 finding waived by .gitleaksignore"),
        "{}",
        run.stdout
    );
    let json = anteater(dir.path())
        .args(&["--no-sarif", "--format", "json"])
        .run();
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["summary"]["gitleaks_ignored"], 1, "{}", json.stdout);

    // In --diff the waiver is read at the base: a change cannot add its own.
    let repo = crate::support::git_repo::GitRepo::new();
    repo.write(".gitleaks.toml", GITLEAKS_TOML);
    let base = repo.commit("rules");
    repo.write("src/app.py", format!("acme_key = \"{ACME_KEY}\"\n").as_bytes());
    repo.write(".gitleaksignore", b"src/app.py:acme-api-key:1\n");
    repo.commit("a key, waived by the same change");
    let run = anteater(repo.path()).args(&["--no-sarif", "--diff", &base]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("src/app.py:1:13  acme-api-key"),
        "{}",
        run.stdout
    );
}
