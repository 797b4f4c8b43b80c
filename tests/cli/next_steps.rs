//! Issue 21, item 7: the console says what to do next (fix advice per finding, how to waive),
//! counts read right, every report can go to standard output, and `anteater | head` is not a
//! failed scan.

use std::process::Stdio;

use crate::common::{anteater, tree};
use crate::support::git_repo::GitRepo;

const TOKEN: &[u8] = b"export GITHUB_TOKEN=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\n"; // fake-secret-for-tests
const TOKEN_TEXT: &str = "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"; // fake-secret-for-tests

#[test]
fn each_finding_says_how_to_fix_it_and_the_summary_how_to_waive() {
    let dir = tree(&[("deploy.sh", TOKEN), ("notes.txt", b"nothing here\n")]);
    let run = anteater(dir.path()).args(&["--no-sarif"]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let lines: Vec<&str> = run.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.starts_with("deploy.sh:1:"))
        .expect("the finding");
    assert!(
        lines[at + 1].starts_with("    fix: ") && lines[at + 1].to_lowercase().contains("revoke"),
        "advice under the finding: {}",
        run.stdout
    );
    assert!(run.stdout.contains("anteater:ignore RULE-ID"), "{}", run.stdout);
    assert!(run.stdout.contains("--write-baseline FILE"), "{}", run.stdout);
    // Counts in the right number.
    assert!(
        run.stdout.contains("anteater: 2 files looked at"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("anteater: 1 finding (1 error"),
        "{}",
        run.stdout
    );
    assert!(!run.all_output().contains(TOKEN_TEXT));

    let one = tree(&[("a.txt", b"x\n")]);
    let clean = anteater(one.path()).args(&["--no-sarif"]).run();
    assert_eq!(clean.code, 0);
    assert!(
        clean.stdout.contains("anteater: 1 file looked at"),
        "{}",
        clean.stdout
    );
    assert!(
        !clean.stdout.contains("anteater:ignore"),
        "nothing to waive: {}",
        clean.stdout
    );
}

#[test]
fn every_report_can_go_to_standard_output() {
    let dir = tree(&[("deploy.sh", TOKEN)]);
    let run = anteater(dir.path()).args(&["--sarif", "-"]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let sarif: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is the SARIF log alone");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);
    assert!(
        run.stderr.contains("anteater: 1 finding (1 error"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("SARIF written to standard output"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("-").exists(), "no file named `-`");

    for flag in ["--junit", "--gitlab-codequality"] {
        let run = anteater(dir.path()).args(&["--no-sarif", flag, "-"]).run();
        assert_eq!(run.code, 1, "{flag}: {}", run.all_output());
        let first = run.stdout.trim_start().chars().next();
        assert!(matches!(first, Some('<' | '[')), "{flag}: {}", run.stdout);
        assert!(!run.stdout.contains("anteater:"), "{flag}: {}", run.stdout);
        assert!(!dir.path().join("-").exists(), "{flag}");
    }

    let two = anteater(dir.path()).args(&["--sarif", "-", "--junit", "-"]).run();
    assert_eq!(two.code, 2, "{}", two.all_output());
    assert!(
        two.stderr
            .contains("--sarif and --junit both ask for standard output"),
        "{}",
        two.stderr
    );
    let json = anteater(dir.path())
        .args(&["--sarif", "-", "--format", "json"])
        .run();
    assert_eq!(json.code, 2, "{}", json.all_output());
    assert!(
        json.stderr.contains("--sarif - and --format json"),
        "{}",
        json.stderr
    );
    assert!(two.stdout.is_empty() && json.stdout.is_empty());
}

/// `anteater | head`: the reader leaves early; the findings still decide the exit code, with no
/// "Broken pipe" error.
#[test]
fn a_closed_pipe_ends_quietly_with_the_findings_exit_code() {
    let dir = tree(&[("deploy.sh", TOKEN), ("clean.txt", b"x\n")]);
    for (args, code) in [(&["--no-sarif"][..], 1), (&["--no-sarif", "--exit-zero"][..], 0)] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("anteater"))
            .args(args)
            .current_dir(dir.path())
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{stderr}");
        assert!(
            !stderr.contains("Broken pipe") && !stderr.contains("error"),
            "{stderr}"
        );
    }
}

#[test]
fn history_mode_counts_commits_not_files() {
    let repo = GitRepo::new();
    repo.write("a.txt", b"one\n");
    repo.commit("first");
    repo.write("deploy.sh", TOKEN);
    repo.commit("second");
    let run = anteater(repo.path()).args(&["--history", "--no-sarif"]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("anteater: history: 2 commits scanned"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("files looked at"), "{}", run.stdout);
}
