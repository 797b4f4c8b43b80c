//! History mode: `--diff BASE` reports what every commit of the pull request added, even what a
//! later commit removed; `--history` and `--diff A..B` scan history alone.

use std::process::Command;

use serde_json::Value;

use crate::common::{anteater, Run};
use crate::support::git_repo::GitRepo as Repo;

const SECRET_LINE: &str = "GITHUB_TOKEN=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\n"; // fake-secret-for-tests
const OTHER_SECRET_LINE: &str = "OLD_TOKEN=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\n"; // fake-secret-for-tests

/// A repository with a first commit on `main`.
fn base_repo() -> Repo {
    let repo = Repo::new();
    repo.write("README.md", b"hello\n");
    repo.commit("base");
    repo
}

/// A scan as a CI job in the checkout runs it.
trait Scan {
    fn scan(&self, args: &[&str]) -> Run;
}

impl Scan for Repo {
    fn scan(&self, args: &[&str]) -> Run {
        anteater(self.path()).args(args).run()
    }
}

fn property<'a>(result: &'a Value, name: &str) -> &'a Value {
    &result["properties"][name]
}

#[test]
fn a_secret_added_and_removed_inside_the_pull_request_is_reported_at_its_commit() {
    let repo = base_repo();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("config/app.env", format!("A=1\n{SECRET_LINE}").as_bytes());
    let added = repo.commit("add settings");
    repo.write("config/app.env", b"A=1\n");
    repo.commit("oops, remove the token");

    let run = repo.scan(&["--diff", "main"]);
    // The net change has no token; the first commit of the pull request does.
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.found(), ["config/app.env:2:github-token"]);
    let result = &run.results()[0];
    assert_eq!(property(result, "commit"), added.as_str());
    assert_eq!(property(result, "locatedInCommit"), true);
    // The line is not in the working tree: no line hash that would point at another line.
    assert!(result["partialFingerprints"]
        .get("primaryLocationLineHash")
        .is_none());
    assert!(
        run.stdout.contains(&format!("[commit {added}]")),
        "{}",
        run.stdout
    );
    assert!(!run.all_output().contains("ghp_0123456789abcdefghij"), "redacted");

    let json = repo.scan(&["--diff", "main", "--format", "json"]);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["findings"][0]["commit"], added.as_str());
    assert_eq!(doc["findings"][0]["located_in_commit"], true);
}

/// A merge whose tree equals one parent's must not hide the commits of its other parents: git
/// log, given a path, simplifies them away unless told not to.
#[test]
fn commits_behind_a_merge_that_changes_nothing_are_still_scanned() {
    let repo = base_repo();
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    // GitHub's pull_request checkout: the base tip merged with the pull request, whose commits
    // add a secret and remove it (net change: nothing, so the merge equals the base tip).
    repo.write("NEWS.md", b"main moved on\n");
    repo.commit("main moves on");
    let tip = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.git(&["checkout", "-q", "-b", "pr", &base]);
    repo.write("deploy/s.env", SECRET_LINE.as_bytes());
    let added = repo.commit("add a secret");
    repo.remove("deploy/s.env");
    repo.commit("remove it");
    repo.git(&["checkout", "-q", "--detach", &tip]);
    repo.git(&["merge", "-q", "--no-ff", "pr", "-m", "Merge pr into main"]);
    for args in [
        &["--diff", &tip][..],
        &["--diff", &format!("{tip}..HEAD")],
        &["--history"],
    ] {
        let run = repo.scan(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all_output());
        assert_eq!(run.found(), ["deploy/s.env:1:github-token"], "{args:?}");
        assert_eq!(property(&run.results()[0], "commit"), added.as_str(), "{args:?}");
    }
    // A side branch that keeps its secret, merged with `-s ours` (the merge takes none of it):
    // the commit is pushed with the branch all the same.
    repo.git(&["checkout", "-q", "-b", "side", &tip]);
    repo.write("side.env", OTHER_SECRET_LINE.as_bytes());
    repo.commit("side adds a token");
    repo.git(&["checkout", "-q", "--detach", &tip]);
    repo.git(&[
        "merge",
        "-q",
        "-s",
        "ours",
        "side",
        "-m",
        "merge side, taking nothing",
    ]);
    let run = repo.scan(&["--diff", &tip]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.found(), ["side.env:1:github-token"]);
}

#[test]
fn each_secret_is_reported_once_at_the_commit_that_first_added_it() {
    let repo = base_repo();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("app.env", SECRET_LINE.as_bytes());
    let first = repo.commit("add token");
    // The same token moves down and its line is rewritten: same rule, path and text.
    repo.write("app.env", format!("X=1\n{SECRET_LINE}").as_bytes());
    repo.commit("move it");
    repo.write("app.env", format!("X=1\nexport {SECRET_LINE}").as_bytes());
    repo.commit("export it");

    let run = repo.scan(&["--diff", "main"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    // Still in the working tree: reported there (line 2 at HEAD), naming the first commit.
    assert_eq!(run.found(), ["app.env:2:github-token"]);
    let result = &run.results()[0];
    assert_eq!(property(result, "commit"), first.as_str());
    assert!(result["properties"].get("locatedInCommit").is_none());
    // A secret's line gets no line hash, which would confirm an offline guess of it.
    assert!(result["partialFingerprints"]
        .get("primaryLocationLineHash")
        .is_none());
}

#[test]
fn file_names_and_binaries_of_intermediate_commits_are_checked() {
    let repo = base_repo();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("deploy/id_rsa.pem", b"not really a key\n");
    repo.write("tools/helper.bin", b"\x7fELF\x00\x00\x01binary");
    let added = repo.commit("add a key file and a binary");
    repo.remove("deploy/id_rsa.pem");
    repo.remove("tools/helper.bin");
    repo.commit("remove them");

    let run = repo.scan(&["--diff", "main", "--ruleset", "classic", "--binaries"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let found = run.found();
    assert!(
        found.contains(&"deploy/id_rsa.pem:1:file-name-pem".to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(&"tools/helper.bin:1:binary-not-allowlisted".to_string()),
        "{found:?}"
    );
    for result in run.results() {
        assert_eq!(property(result, "commit"), added.as_str());
    }
}

#[test]
fn history_scans_the_whole_branch_and_explicit_ranges_scan_theirs() {
    let repo = base_repo();
    repo.write("old.env", OTHER_SECRET_LINE.as_bytes());
    let old = repo.commit("an old secret");
    repo.remove("old.env");
    let cleaned = repo.commit("cleaned up long ago");
    repo.write("new.env", SECRET_LINE.as_bytes());
    let new = repo.commit("a new secret");

    // A clean working tree scan misses the old one; history does not.
    let run = repo.scan(&["--history"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.found(), ["new.env:1:github-token", "old.env:1:github-token"]);
    let commits: Vec<&str> = run
        .results()
        .iter()
        .map(|r| property(r, "commit").as_str().unwrap())
        .collect();
    assert_eq!(commits, [new.as_str(), old.as_str()]);

    let range = format!("{cleaned}..HEAD");
    let run = repo.scan(&["--diff", &range]);
    assert_eq!(run.found(), ["new.env:1:github-token"], "{}", run.all_output());

    let bad = repo.scan(&["--diff", "nosuchbranch..HEAD"]);
    assert_eq!(bad.code, 2, "{}", bad.all_output());
    assert!(bad.stderr.contains("nosuchbranch"), "{}", bad.stderr);
}

#[test]
fn history_outside_git_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = anteater(dir.path()).args(&["--history"]).run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--history needs a git repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_waiver_added_by_the_pull_request_does_not_hide_its_history() {
    let repo = base_repo();
    repo.write(
        "ignore.yaml",
        b"file_audits:\n  file_contents:\n    - nothing-waived-yet\n",
    );
    repo.commit("lists");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("app.env", SECRET_LINE.as_bytes());
    repo.commit("token");
    repo.remove("app.env");
    repo.write(
        "ignore.yaml",
        b"file_audits:\n  file_contents:\n    - GITHUB_TOKEN\n",
    );
    repo.commit("remove it, and waive it");

    let run = repo.scan(&["--diff", "main", "--ignore-list", "ignore.yaml"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let found = run.found();
    assert!(found.contains(&"app.env:1:github-token".to_string()), "{found:?}");
    assert!(found.iter().any(|k| k.ends_with(":config-changed")), "{found:?}");
}

#[test]
fn a_partial_clone_missing_blobs_is_scanned_as_far_as_it_goes_and_never_passes() {
    // A partial clone without its promisor remote lacks the blobs over 1 KiB: git log -M would
    // stop at the renamed one with "unable to read".
    let source = base_repo();
    source.write("big.txt", "x = 1\n".repeat(600).as_bytes());
    source.write("app.env", SECRET_LINE.as_bytes());
    let added = source.commit("one");
    source.git(&["mv", "big.txt", "big2.txt"]);
    source.write("big2.txt", format!("{}y = 2\n", "x = 1\n".repeat(600)).as_bytes());
    source.commit("two");
    source.git(&["config", "uploadpack.allowFilter", "true"]);
    let parent = tempfile::tempdir().unwrap();
    let url = format!("file://{}", source.path().display());
    let clone = parent.path().join("clone");
    for args in [
        vec![
            "clone",
            "-q",
            "--no-local",
            "--filter=blob:limit=1k",
            "--no-checkout",
            &url,
        ],
        vec!["-C", clone.to_str().unwrap(), "remote", "remove", "origin"],
    ] {
        let mut command = Command::new("git");
        command.args(&args);
        if args[0] == "clone" {
            command.arg(&clone);
        }
        assert!(command.status().unwrap().success(), "git {args:?}");
    }

    let run = anteater(&clone).args(&["--history"]).run();
    assert_eq!(run.found(), ["app.env:1:github-token"], "{}", run.all_output());
    assert_eq!(property(&run.results()[0], "commit"), added.as_str());
    assert!(
        run.stderr.contains("big.txt: could not be read"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("missing from this clone"), "{}", run.stderr);
    assert_eq!(run.code, 1, "findings decide first");

    // Only the rename: nothing found, but a blob unread, so the scan cannot pass.
    let range = format!("{added}..HEAD");
    let run = anteater(&clone).args(&["--diff", &range]).run();
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("big2.txt: could not be read"),
        "{}",
        run.stderr
    );
}

#[test]
fn history_under_a_subfolder_reports_repository_paths_and_keeps_to_the_folder() {
    let repo = base_repo();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("service/app.env", SECRET_LINE.as_bytes());
    repo.write("other/app.env", OTHER_SECRET_LINE.as_bytes());
    repo.commit("two tokens");
    repo.remove("service/app.env");
    repo.remove("other/app.env");
    repo.commit("gone");

    let run = repo.scan(&["--path", "service", "--diff", "main"]);
    assert_eq!(
        run.found(),
        ["service/app.env:1:github-token"],
        "{}",
        run.all_output()
    );
}
