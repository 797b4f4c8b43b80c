//! `--diff`: only what a change adds is reported, in real git repositories built by the tests.

use std::path::PathBuf;

use crate::common::{anteater, Run, IGNORE_LIST, IGNORE_LIST_WAIVING_SH};
use crate::support::git_repo::{git_in, GitRepo as Repo};

const SECRET_LINE: &str = "GITHUB_TOKEN=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\n"; // fake-secret-for-tests
const TOKEN: &str = "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"; // fake-secret-for-tests
const OLD_SECRET_LINE: &str = "OLD_TOKEN=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\n"; // fake-secret-for-tests

/// A scan of the repository, as a CI job in its checkout runs it.
trait Scan {
    fn scan(&self, args: &[&str]) -> Run;
}

impl Scan for Repo {
    fn scan(&self, args: &[&str]) -> Run {
        let mut all = vec!["--path", "."];
        all.extend_from_slice(args);
        anteater(self.path()).args(&all).run()
    }
}

#[test]
fn added_lines_are_flagged_and_preexisting_ones_are_not() {
    let repo = Repo::new();
    repo.write(
        "deploy.sh",
        format!("#!/bin/sh\n{OLD_SECRET_LINE}echo done\n").as_bytes(),
    );
    let base = repo.commit("base");
    repo.write(
        "deploy.sh",
        format!("#!/bin/sh\n{OLD_SECRET_LINE}echo done\n{SECRET_LINE}").as_bytes(),
    );
    repo.commit("change");

    let run = repo.scan(&["--diff", &base]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.found(), vec!["deploy.sh:4:github-token"]);

    // Without --diff both are there.
    assert_eq!(repo.scan(&[]).results().len(), 2);
}

#[test]
fn commits_on_the_base_branch_after_the_fork_are_not_the_changes() {
    let repo = Repo::new();
    repo.write("a.txt", b"one\n");
    repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("b.txt", b"feature work\n");
    repo.commit("feature");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("main.sh", SECRET_LINE.as_bytes());
    repo.commit("main moves on");
    repo.git(&["checkout", "-q", "feature"]);

    let run = repo.scan(&["--diff", "main"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
}

#[test]
fn a_renamed_file_is_checked_by_its_new_name_but_not_for_old_content() {
    let repo = Repo::new();
    repo.write(
        "keys/notes.txt",
        format!("{OLD_SECRET_LINE}more\nlines\nhere\n").as_bytes(),
    );
    let base = repo.commit("base");
    // A key-store name is reported on its own (an id_rsa name needs a key inside since issue 8).
    repo.git(&["mv", "keys/notes.txt", "keys/site.p12"]);
    repo.commit("rename");

    let run = repo.scan(&["--diff", &base]);
    assert_eq!(
        run.found(),
        vec!["keys/site.p12:1:file-name-pkcs12"],
        "{}",
        run.stdout
    );
}

#[test]
fn a_deleted_file_is_nothing_to_report() {
    let repo = Repo::new();
    repo.write("old.sh", SECRET_LINE.as_bytes());
    repo.write("keep.txt", b"x\n");
    let base = repo.commit("base");
    repo.git(&["rm", "-q", "old.sh"]);
    repo.commit("delete");

    let run = repo.scan(&["--diff", &base]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.results().is_empty());
    assert!(
        !run.stderr.contains("old.sh"),
        "a deletion is not a missing file: {}",
        run.stderr
    );
}

#[test]
fn an_added_binary_is_checked() {
    let repo = Repo::new();
    repo.write("README", b"x\n");
    let base = repo.commit("base");
    repo.write("tools/helper.bin", b"\x7fELF\0\0\0binary");
    repo.commit("add binary");

    let run = repo.scan(&["--diff", &base, "--binaries"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.found(), vec!["tools/helper.bin:1:binary-not-allowlisted"]);
}

#[test]
fn a_changed_binary_is_checked_too() {
    let repo = Repo::new();
    repo.write("blob.bin", b"\0one");
    let base = repo.commit("base");
    repo.write("blob.bin", b"\0two");
    repo.commit("change binary");
    let run = repo.scan(&["--diff", &base, "--binaries"]);
    assert_eq!(run.found(), vec!["blob.bin:1:binary-not-allowlisted"]);
}

#[test]
fn a_shallow_clone_without_the_base_says_how_to_fix_it() {
    let repo = Repo::new();
    repo.write("a.txt", b"1\n");
    let base = repo.commit("one");
    repo.write("a.txt", b"2\n");
    repo.commit("two");
    repo.write("a.txt", b"3\n");
    repo.commit("three");

    let clone_parent = tempfile::tempdir().unwrap();
    let clone = clone_parent.path().join("clone");
    let source = format!("file://{}", repo.path().display());
    git_in(
        clone_parent.path(),
        &["clone", "-q", "--depth", "1", &source, clone.to_str().unwrap()],
    );
    let run = anteater(&clone).args(&["--path", ".", "--diff", &base]).run();
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("shallow"), "{}", run.stderr);
    assert!(run.stderr.contains("fetch-depth: 0"), "{}", run.stderr);
}

#[test]
fn an_unknown_base_is_an_error() {
    let repo = Repo::new();
    repo.write("a.txt", b"1\n");
    repo.commit("one");
    let run = repo.scan(&["--diff", "no-such-branch"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no such revision"), "{}", run.stderr);
}

#[test]
fn diff_auto_reads_the_base_from_a_pull_request_event() {
    let repo = Repo::new();
    repo.write("app.py", b"print('hello')\n");
    let base = repo.commit("base");
    repo.write("app.py", format!("print('hello')\n{SECRET_LINE}").as_bytes());
    repo.commit("pr");
    // Shaped like the payload GitHub writes for a pull_request event (trimmed).
    let event = serde_json::json!({
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": {"ref": "main", "sha": base},
            "head": {"ref": "feature", "sha": repo.git(&["rev-parse", "HEAD"]).trim()}
        },
        "repository": {"default_branch": "main"}
    });
    let event_path: PathBuf = repo.path().join("../event.json");
    std::fs::write(&event_path, event.to_string()).unwrap();

    let run = anteater(repo.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", event_path.to_str().unwrap())
        .env("GITHUB_BASE_REF", "main")
        .args(&["--path", ".", "--diff", "auto"])
        .run();
    let _ = std::fs::remove_file(&event_path);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.found(), vec!["app.py:2:github-token"]);
}

#[test]
fn diff_auto_outside_ci_asks_for_a_revision() {
    let repo = Repo::new();
    repo.write("a.txt", b"1\n");
    repo.commit("one");
    let run = repo.scan(&["--diff", "auto"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("give the base revision"), "{}", run.stderr);
}

#[test]
fn a_change_that_waives_its_own_secret_is_still_flagged_and_reported() {
    let repo = Repo::new();
    repo.write("ignore.yaml", IGNORE_LIST);
    repo.write("app.sh", b"echo hi\n");
    let base = repo.commit("base");
    repo.write("app.sh", format!("echo hi\n{SECRET_LINE}").as_bytes());
    repo.write(
        "ignore.yaml",
        b"file_audits:\n  file_contents:\n    - GITHUB_TOKEN\nfile_ignore:\n  - .sh\n",
    );
    repo.commit("sneak");

    let run = repo.scan(&["--diff", &base, "--ignore-list", "ignore.yaml"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        run.found(),
        vec!["app.sh:2:github-token", "ignore.yaml:1:config-changed"]
    );
    assert!(
        run.stdout
            .contains("adds file_audits.file_contents entry `GITHUB_TOKEN`; adds file_ignore entry `.sh`"),
        "{}",
        run.stdout
    );
    let config_changed = run
        .results()
        .iter()
        .find(|r| r["ruleId"] == "config-changed")
        .unwrap()
        .clone();
    assert_eq!(config_changed["level"], "warning");

    // Opting into the head's exceptions waives the line; the loosening is still reported.
    let head = repo.scan(&[
        "--diff",
        &base,
        "--ignore-list",
        "ignore.yaml",
        "--exceptions-from",
        "head",
    ]);
    assert_eq!(head.found(), vec!["ignore.yaml:1:config-changed"]);
    assert_eq!(head.code, 0);
}

/// `--diff A..B` judges the commits of the range, and what they did to the configuration: the
/// ignore list as B has it, compared with A, whatever the working tree holds now.
#[test]
fn an_explicit_range_reports_its_configuration_changes() {
    let repo = Repo::new();
    repo.write("ignore.yaml", IGNORE_LIST);
    repo.write("app.sh", b"echo hi\n");
    let base = repo.commit("base");
    repo.write("ignore.yaml", IGNORE_LIST_WAIVING_SH);
    let sneak = repo.commit("waive .sh files");
    // The working tree moves on and undoes it: the range still did it.
    repo.write("ignore.yaml", IGNORE_LIST);
    repo.commit("undo");

    let range = format!("{base}..{sneak}");
    let run = repo.scan(&["--diff", &range, "--ignore-list", "ignore.yaml"]);
    assert_eq!(
        run.found(),
        vec!["ignore.yaml:1:config-changed"],
        "{}",
        run.all_output()
    );
    assert!(
        run.stdout.contains("adds file_ignore entry `.sh`"),
        "{}",
        run.stdout
    );

    // A range that leaves the configuration as it found it reports nothing.
    let quiet = repo.scan(&[
        "--diff",
        &format!("{base}..{base}"),
        "--ignore-list",
        "ignore.yaml",
    ]);
    assert!(quiet.found().is_empty(), "{}", quiet.stdout);
}

#[test]
fn loosening_the_flag_list_is_reported() {
    let repo = Repo::new();
    repo.write(
        "flags.yaml",
        b"file_audits:\n  file_contents:\n    token:\n      regex: ghp_\n      desc: token\n    md5:\n      regex: md5\n      desc: weak\n",
    );
    repo.write("a.txt", b"x\n");
    let base = repo.commit("base");
    repo.write(
        "flags.yaml",
        b"file_audits:\n  file_contents:\n    token:\n      regex: ghp_[0-9]{99}\n      desc: token\n      severity: low\n",
    );
    repo.commit("loosen");
    let run = repo.scan(&["--diff", &base, "--flag-list", "flags.yaml"]);
    assert!(
        run.stdout.contains(
            "removes rule `md5`; changes the regex of rule `token`; lowers the severity of rule `token`"
        ),
        "{}",
        run.stdout
    );
}

/// The flag list is read at the base, like the exception files: a change that drops the rule
/// its own secret breaks is still judged by it (it passed with only a config-changed warning).
#[test]
fn a_change_cannot_drop_the_rule_its_own_secret_breaks() {
    let repo = Repo::new();
    repo.write(
        "flags.yaml",
        b"file_audits:\n  file_contents:\n    token:\n      regex: ghp_\n      desc: token\n      severity: high\n",
    );
    repo.write("app.sh", b"echo hi\n");
    let base = repo.commit("base");
    repo.write(
        "flags.yaml",
        b"file_audits:\n  file_contents:\n    weak:\n      regex: md5\n      desc: weak\n",
    );
    repo.write("app.sh", format!("echo hi\n{SECRET_LINE}").as_bytes());
    repo.commit("drop the rule, add the token");

    let run = repo.scan(&["--diff", &base, "--flag-list", "flags.yaml"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        run.found(),
        vec!["app.sh:2:token", "flags.yaml:1:config-changed"],
        "{}",
        run.stdout
    );
}

#[test]
fn configuration_kept_outside_the_repository_is_not_part_of_the_change() {
    let repo = Repo::new();
    repo.write("app.sh", b"echo hi\n");
    let base = repo.commit("base");
    repo.write("app.sh", format!("echo hi\n{SECRET_LINE}").as_bytes());
    repo.commit("change");
    let lists = tempfile::tempdir().unwrap();
    let ignore = lists.path().join("ignore.yaml");
    std::fs::write(&ignore, "file_audits:\n  file_contents:\n    - GITHUB_TOKEN\n").unwrap();

    let run = repo.scan(&["--diff", &base, "--ignore-list", ignore.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.results().is_empty(), "{}", run.stdout);
}

#[test]
fn diff_auto_reads_the_previous_head_from_a_push_event() {
    let repo = Repo::new();
    repo.write("app.py", OLD_SECRET_LINE.as_bytes());
    let before = repo.commit("before");
    repo.write("app.py", format!("{OLD_SECRET_LINE}{SECRET_LINE}").as_bytes());
    repo.commit("pushed");
    let event = serde_json::json!({"ref": "refs/heads/main", "before": before, "after": "ignored"});
    let event_path = repo.path().join("../push-event.json");
    std::fs::write(&event_path, event.to_string()).unwrap();
    let run = anteater(repo.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_EVENT_PATH", event_path.to_str().unwrap())
        .args(&["--path", ".", "--diff", "auto"])
        .run();
    let _ = std::fs::remove_file(&event_path);
    assert_eq!(run.found(), vec!["app.py:2:github-token"], "{}", run.all_output());
}

#[test]
fn diff_auto_uses_the_gitlab_merge_request_base() {
    let repo = Repo::new();
    repo.write("a.txt", b"x\n");
    let base = repo.commit("base");
    repo.write("b.sh", SECRET_LINE.as_bytes());
    repo.commit("mr");
    let run = anteater(repo.path())
        .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", &base)
        .args(&["--path", ".", "--diff", "auto"])
        .run();
    assert_eq!(run.found(), vec!["b.sh:1:github-token"], "{}", run.all_output());
}

#[test]
fn a_secret_written_into_the_ignore_list_is_shown_redacted() {
    let repo = Repo::new();
    repo.write("ignore.yaml", b"file_ignore:\n  - nullvalue\n");
    repo.write("app.sh", b"echo hi\n");
    let base = repo.commit("base");
    repo.write(
        "ignore.yaml",
        b"file_audits:\n  file_contents:\n    - 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\n", // fake-secret-for-tests
    );
    repo.commit("waive by value");
    let run = repo.scan(&["--diff", &base, "--ignore-list", "ignore.yaml"]);
    assert!(run.stdout.contains("config-changed"), "{}", run.stdout);
    assert!(!run.all_output().contains(TOKEN), "{}", run.all_output());
}

#[test]
fn diff_outside_a_repository_says_so() {
    let dir = crate::common::tree(&[("a.txt", b"x\n")]);
    let run = anteater(dir.path())
        .args(&["--path", ".", "--diff", "main"])
        .run();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("needs a git repository"), "{}", run.stderr);
}

#[test]
fn diff_auto_compares_a_jenkins_change_request_with_its_target_branch() {
    let repo = Repo::new();
    repo.write("a.txt", b"x\n");
    let base = repo.commit("base");
    // What a multibranch checkout has: the target branch as a remote-tracking ref.
    repo.git(&["update-ref", "refs/remotes/origin/main", &base]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("b.sh", SECRET_LINE.as_bytes());
    repo.commit("change request");
    let run = anteater(repo.path())
        .env("CHANGE_ID", "42")
        .env("CHANGE_TARGET", "main")
        .args(&["--path", ".", "--diff", "auto"])
        .run();
    assert_eq!(run.found(), vec!["b.sh:1:github-token"], "{}", run.all_output());

    // A branch build (no CHANGE_ID) is no change request: --diff auto says what it needs.
    let run = anteater(repo.path())
        .env("CHANGE_TARGET", "main")
        .args(&["--path", ".", "--diff", "auto"])
        .run();
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("CHANGE_ID"), "{}", run.stderr);
}

#[test]
fn a_change_cannot_accept_its_own_findings_into_the_baseline() {
    let repo = Repo::new();
    repo.write("a.txt", b"x\n");
    assert_eq!(repo.scan(&["--write-baseline", "baseline.json"]).code, 0);
    let base = repo.commit("base with an empty baseline");
    // The change adds a token and the token's entry to the baseline in the same commit.
    repo.write("leak.sh", SECRET_LINE.as_bytes());
    repo.scan(&["--write-baseline", "baseline.json"]);
    repo.commit("add a token and baseline it");
    let run = repo.scan(&["--diff", &base, "--baseline", "baseline.json"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.found().contains(&"leak.sh:1:github-token".to_string()),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("config-changed"),
        "the loosening is still named: {}",
        run.stdout
    );
}

/// Git names files with any bytes; a changed file whose name is not UTF-8 is opened by its real
/// name and scanned like any other (it used to be listed as missing, left to history mode).
#[cfg(unix)]
#[test]
fn changed_files_whose_names_are_not_utf8_are_scanned() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::new();
    let modified = repo.path().join(std::ffi::OsStr::from_bytes(b"conf\xfe.sh"));
    let added = repo.path().join(std::ffi::OsStr::from_bytes(b"new\xff.sh"));
    std::fs::write(&modified, b"#!/bin/sh\necho base\n").unwrap();
    let base = repo.commit("base");
    std::fs::write(&modified, format!("#!/bin/sh\necho base\n{SECRET_LINE}")).unwrap();
    std::fs::write(&added, OLD_SECRET_LINE).unwrap();
    repo.commit("change");

    let run = repo.scan(&["--diff", &base]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let output = run.all_output();
    assert!(output.contains("2 files looked at"), "{output}");
    assert!(!output.contains("does not exist"), "{output}");
    let mut lines: Vec<(u64, String)> = run
        .result_keys()
        .into_iter()
        .map(|(_, line, rule)| (line, rule))
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [(1, "github-token".to_string()), (3, "github-token".to_string())]
    );
}
