//! SARIF that code scanning keeps straight: upload-sarif's line hash, a category only when asked,
//! GitHub's upload limits, URIs under the right root and a help anchor per rule.

use std::process::Command;

use serde_json::Value;

use crate::common::{anteater, tree};

fn run_log(run: &crate::common::Run) -> &Value {
    &run.sarif.as_ref().expect("a SARIF log")["runs"][0]
}

#[test]
fn results_carry_upload_sarifs_line_hash_and_anteaters_fingerprint() {
    // A whole-file finding sits on line 1; the file's text is one of codeql-action's own test
    // inputs (fingerprints.test.ts), whose first line hashes to 271789c17abda88f:1.
    let dir = tree(&[("src/server.pem", b" a\nb\n  \t\tc\n d")]);
    let run = anteater(dir.path())
        .args(&["--ruleset", "classic", "--path", "src"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let result = &run.results()[0];
    assert_eq!(result["ruleId"], "file-name-pem");
    let prints = &result["partialFingerprints"];
    assert_eq!(prints["primaryLocationLineHash"], "271789c17abda88f:1");
    assert_eq!(prints["anteaterFingerprint/v2"].as_str().unwrap().len(), 32);
}

#[test]
fn equal_lines_get_counted_line_hashes() {
    // Not a secret (a secret's line gets no line hash): a weak hash call, three times.
    let line = "digest = hashlib.md5(data)\n";
    let dir = tree(&[
        (
            "flags.yaml",
            b"file_audits:\n  file_contents:\n    md5:\n      regex: md5\\(\n      desc: Weak hash\n      redact: false\n",
        ),
        ("src/a.py", line.repeat(3).as_bytes()),
    ]);
    let run = anteater(dir.path())
        .args(&["--flag-list", "flags.yaml", "--path", "src"])
        .run();
    let hashes: Vec<String> = run
        .results()
        .iter()
        .map(|r| {
            r["partialFingerprints"]["primaryLocationLineHash"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(hashes.len(), 3, "{}", run.all_output());
    // The window runs past the end of each line, so only lines with the same text *after* them
    // share a hash; the counter tells equal hashes apart.
    assert!(hashes.iter().all(|h| h.contains(':')), "{hashes:?}");
    let unique: std::collections::BTreeSet<&String> = hashes.iter().collect();
    assert_eq!(unique.len(), 3, "{hashes:?}");
}

#[test]
fn category_is_set_only_when_asked() {
    let files: &[(&str, &[u8])] = &[("src/main.rs", b"fn main() {}\n")];
    let dir = tree(files);
    let plain = anteater(dir.path()).args(&["--path", "src"]).run();
    assert_eq!(plain.code, 0, "{}", plain.all_output());
    assert!(run_log(&plain).get("automationDetails").is_none());

    let flag = anteater(dir.path())
        .args(&["--path", "src", "--sarif-category", "monorepo-backend"])
        .run();
    assert_eq!(run_log(&flag)["automationDetails"]["id"], "monorepo-backend/");

    let env = anteater(dir.path())
        .args(&["--path", "src"])
        .env("ANTEATER_SARIF_CATEGORY", "frontend/")
        .run();
    assert_eq!(run_log(&env)["automationDetails"]["id"], "frontend/");

    let bad = anteater(dir.path())
        .args(&["--path", "src", "--sarif-category", "  "])
        .run();
    assert_eq!(bad.code, 2, "{}", bad.all_output());
    assert!(bad.stderr.contains("--sarif-category"), "{}", bad.stderr);
}

#[test]
fn over_25000_results_keep_the_most_severe_and_say_what_was_dropped() {
    // 25,000 errors and 30 notes: the notes are the ones left out.
    let mut text = "secret_token = 1\n".repeat(25_000);
    text.push_str(&"weak_hash md5\n".repeat(30));
    let dir = tree(&[
        (
            "flags.yaml",
            b"file_audits:\n  file_contents:\n    token:\n      regex: secret_token\n      desc: A token\n      redact: false\n    weak:\n      regex: md5\n      desc: Weak hash\n      severity: low\n      redact: false\n",
        ),
        ("src/many.txt", text.as_bytes()),
    ]);
    let run = anteater(dir.path())
        .args(&["--flag-list", "flags.yaml", "--path", "src"])
        .run();
    assert_eq!(run.code, 1);
    let results = run.results();
    assert_eq!(results.len(), 25_000);
    assert!(results.iter().all(|r| r["level"] == "error"));
    let notifications = run_log(&run)["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    let text = notifications
        .iter()
        .map(|n| n["message"]["text"].as_str().unwrap())
        .find(|t| t.contains("left out"))
        .expect("a notification says what was left out");
    assert!(
        text.contains("25000 most severe of 25030 findings: 30 left out"),
        "{text}"
    );
    assert!(text.contains("0 error, 0 warning, 30 note"), "{text}");
    // The console summary says so too, and still lists every finding.
    assert!(run
        .stdout
        .contains("anteater: warning: The SARIF log holds the 25000 most severe"));
    assert!(
        run.stdout.contains("25030 findings"),
        "{}",
        run.stdout.lines().last().unwrap()
    );
    let compressed = gzip_size(&std::fs::read(dir.path().join("anteater.sarif")).unwrap());
    assert!(compressed < 10_000_000, "{compressed}");
}

fn gzip_size(bytes: &[u8]) -> usize {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap().len()
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.email=t@example.org", "-c", "user.name=t"])
        .args(args)
        .output()
        .unwrap();
    assert!(status.status.success(), "git {args:?}: {:?}", status);
}

#[test]
fn uris_are_relative_to_the_repository_or_to_path_never_climbing() {
    let secret: &[u8] = b"aws_secret_access_key = \"q8Vt3Rz/X5mK2wN7pL4sD9gH1jF6cB0yA+eU3iO8\"\n"; // fake-secret-for-tests
                                                                                                   // Outside git, run from a sibling folder: the URI is relative to --path, and %SRCROOT% is it.
    let dir = tree(&[("nogit/sub/settings.py", secret), ("elsewhere/.keep", b"")]);
    let run = anteater(&dir.path().join("elsewhere"))
        .args(&["--path", "../nogit/sub"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.result_keys()[0].0, "settings.py");
    let root = run_log(&run)["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    let sub = dir.path().join("nogit/sub").canonicalize().unwrap();
    assert_eq!(root, format!("file://{}/", sub.display()));
    let sarif = run.sarif.as_ref().unwrap().to_string();
    assert!(!sarif.contains("../"), "{sarif}");

    // Inside git, URIs are relative to the work tree whatever --path is.
    let repo = tree(&[("app/sub/settings.py", secret)]);
    git(repo.path(), &["init", "-q"]);
    let run = anteater(repo.path()).args(&["--path", "app/sub"]).run();
    assert_eq!(run.result_keys()[0].0, "app/sub/settings.py");
    let root = run_log(&run)["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert_eq!(
        root,
        format!("file://{}/", repo.path().canonicalize().unwrap().display())
    );
}

#[test]
fn every_rule_has_its_own_help_anchor_in_the_readme() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let dir = tree(&[("src/main.rs", b"fn main() {}\n")]);
    for ruleset in ["default", "classic"] {
        let run = anteater(dir.path())
            .args(&["--path", "src", "--ruleset", ruleset])
            .run();
        let rules = run_log(&run)["tool"]["driver"]["rules"].as_array().unwrap();
        let mut anchors = std::collections::BTreeSet::new();
        for rule in rules {
            let uri = rule["helpUri"].as_str().unwrap();
            let (_, anchor) = uri.split_once('#').expect("an anchor");
            assert!(
                readme.contains(&format!("<a id=\"{anchor}\"></a>")),
                "{}: README has no anchor {anchor}",
                rule["id"]
            );
            assert!(anchors.insert(anchor.to_string()), "{anchor} is shared");
        }
    }
}
