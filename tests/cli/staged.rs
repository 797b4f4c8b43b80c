//! `--staged`: a pre-commit hook judges what the commit will record (the index), not the
//! working tree, and only what the commit adds.

use std::path::Path;

use crate::common::{anteater, Run, IGNORE_LIST, IGNORE_LIST_WAIVING_SH};
use crate::support::git_repo::GitRepo;

const TOKEN_LINE: &str = "GITHUB_TOKEN=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\n"; // fake-secret-for-tests

fn staged(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["--staged"];
    args.extend_from_slice(extra);
    anteater(dir).args(&args).run()
}

#[test]
fn the_staged_content_is_judged_not_the_working_tree() {
    let dir = GitRepo::new();
    dir.write("app/settings.py", b"DEBUG = False\n");
    dir.git(&["add", "-A"]);
    dir.git(&["commit", "-q", "-m", "base"]);

    // Staged with a token, then "fixed" on disk only: the commit would still record the token.
    dir.write(
        "app/settings.py",
        format!("DEBUG = False\n{TOKEN_LINE}").as_bytes(),
    );
    dir.git(&["add", "app/settings.py"]);
    dir.write(
        "app/settings.py",
        b"DEBUG = False\nGITHUB_TOKEN = os.environ['T']\n",
    );
    let run = staged(dir.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.found(), vec!["app/settings.py:2:github-token"]);

    // The other way round: a token only in the working tree is not the commit's.
    dir.git(&["add", "app/settings.py"]);
    dir.write(
        "app/settings.py",
        format!("DEBUG = False\n{TOKEN_LINE}").as_bytes(),
    );
    let run = staged(dir.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.found().is_empty());
}

#[test]
fn only_what_the_commit_adds_is_reported() {
    let dir = GitRepo::new();
    dir.write("old.env.sh", TOKEN_LINE.as_bytes());
    dir.git(&["add", "-A"]);
    dir.git(&["commit", "-q", "-m", "an old finding, not this commit's"]);
    dir.write("old.env.sh", format!("{TOKEN_LINE}echo hi\n").as_bytes());
    dir.write("deploy/new.sh", format!("set -e\n{TOKEN_LINE}").as_bytes());
    dir.git(&["add", "-A"]);
    let run = staged(dir.path(), &["--binaries"]);
    assert_eq!(
        run.found(),
        vec!["deploy/new.sh:2:github-token"],
        "{}",
        run.all_output()
    );
}

#[test]
fn a_first_commit_and_staged_binaries_are_checked() {
    let dir = GitRepo::new();
    dir.write("tool.bin", b"\x7fELF\x02\x01\x01\0\0\0\0\0binary");
    dir.write(".aws/credentials", b"[default]\n");
    dir.git(&["add", "-A"]);
    let run = staged(dir.path(), &["--binaries"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let found = run.found();
    assert!(
        found.contains(&"tool.bin:1:binary-not-allowlisted".to_string()),
        "{found:?}"
    );
    // A credential file's name alone, with no secret in it, is no finding.
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn outside_git_it_says_so_and_no_sarif_writes_none() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"x\n").unwrap();
    let run = staged(dir.path(), &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--staged needs a git repository"),
        "{}",
        run.stderr
    );

    let dir = GitRepo::new();
    dir.write("a.txt", b"x\n");
    dir.git(&["add", "-A"]);
    let run = staged(dir.path(), &["--no-sarif"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(!dir.path().join("anteater.sarif").exists());
    assert!(!run.stdout.contains("SARIF written"), "{}", run.stdout);
}

/// Every hook in `.pre-commit-hooks.yaml` runs the binary with options it accepts, and the hook
/// blocks a staged secret and lets a clean commit through.
#[test]
fn the_pre_commit_hooks_work_as_declared() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.pre-commit-hooks.yaml")).unwrap();
    let hooks: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let hooks = hooks.as_array().expect("a list of hooks");
    assert!(hooks.len() >= 2);
    for hook in hooks {
        let entry = hook["entry"].as_str().unwrap();
        let mut words = entry.split_whitespace();
        assert_eq!(words.next(), Some("anteater"), "{entry}");
        let args: Vec<&str> = words.collect();
        assert_eq!(hook["pass_filenames"], false, "the hook reads the index itself");
        assert!(["rust", "system"].contains(&hook["language"].as_str().unwrap()));

        let dir = GitRepo::new();
        dir.write("ok.txt", b"fine\n");
        dir.git(&["add", "-A"]);
        let clean = anteater(dir.path()).args(&args).run();
        assert_eq!(clean.code, 0, "{entry}: {}", clean.all_output());
        dir.write("ci/secrets.sh", TOKEN_LINE.as_bytes());
        dir.git(&["add", "-A"]);
        let blocked = anteater(dir.path()).args(&args).run();
        assert_eq!(blocked.code, 1, "{entry}: {}", blocked.all_output());
        assert!(blocked.stdout.contains("ci/secrets.sh:1"), "{}", blocked.stdout);
        assert!(
            !dir.path().join("anteater.sarif").exists(),
            "the hook leaves no file behind"
        );
    }
}

/// A staged file whose name is not UTF-8 is checked out of the index and judged (it used to
/// stop the hook with exit 2).
#[cfg(unix)]
#[test]
fn a_staged_file_whose_name_is_not_utf8_is_judged() {
    use std::os::unix::ffi::OsStrExt;
    let dir = GitRepo::new();
    dir.write("README", b"hello\n");
    dir.git(&["add", "-A"]);
    dir.git(&["commit", "-q", "-m", "base"]);
    std::fs::write(
        dir.path().join(std::ffi::OsStr::from_bytes(b"env\xff.sh")),
        TOKEN_LINE,
    )
    .unwrap();
    dir.git(&["add", "-A"]);

    let run = staged(dir.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.result_keys().len(), 1, "{}", run.all_output());
    assert_eq!(run.result_keys()[0].2, "github-token");
}

/// The user's git configuration cannot hide a staged line: with diff.mnemonicPrefix the index
/// side of a diff is `i/`, with diff.noprefix there is none, and a file under `b/` looked like
/// another file (it stopped the hook with exit 2, or could take the added lines from it).
#[test]
fn the_users_diff_prefix_settings_change_nothing() {
    for setting in ["diff.mnemonicPrefix", "diff.noprefix"] {
        let dir = GitRepo::new();
        dir.write("b/app.sh", b"echo hi\n");
        dir.write("app.sh", b"echo top\n");
        dir.git(&["add", "-A"]);
        dir.git(&["commit", "-q", "-m", "base"]);
        dir.git(&["config", setting, "true"]);
        dir.write("b/app.sh", format!("echo hi\n{TOKEN_LINE}").as_bytes());
        dir.git(&["add", "-A"]);
        let run = staged(dir.path(), &[]);
        assert_eq!(run.code, 1, "{setting}: {}", run.all_output());
        assert_eq!(run.found(), vec!["b/app.sh:2:github-token"], "{setting}");
    }
}

/// A text file marked `-diff` is shown as "Binary files a/x and y.txt and b/x and y.txt differ",
/// where " and " in the name made the new name `y.txt`: another file's, and the staged token
/// passed. Binaries are now named from `--numstat -z`; and a user's diff.dstPrefix changes
/// nothing either.
#[test]
fn names_holding_and_or_a_custom_prefix_change_nothing() {
    let dir = GitRepo::new();
    dir.write(".gitattributes", b"*.txt -diff\n");
    dir.write("x and y.txt", b"notes\n");
    dir.write("y.txt", b"other\n");
    dir.write("a.sh", b"echo a\n");
    dir.write("X/a.sh", b"echo x\n");
    dir.git(&["add", "-A"]);
    dir.git(&["commit", "-q", "-m", "base"]);
    dir.git(&["config", "diff.dstPrefix", "X/"]);
    dir.write("x and y.txt", format!("notes\n{TOKEN_LINE}").as_bytes());
    dir.write("a.sh", format!("echo a\n{TOKEN_LINE}").as_bytes());
    dir.git(&["add", "-A"]);
    let run = staged(dir.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        run.found(),
        vec!["a.sh:2:github-token", "x%20and%20y.txt:2:github-token"]
    );
}

/// `--staged` compares anteater's configuration as the commit will record it (the index): a
/// loosening staged and then undone on disk is still reported, and one only on disk is not.
#[test]
fn configuration_loosening_is_judged_in_the_index() {
    let dir = GitRepo::new();
    dir.write("ignore.yaml", IGNORE_LIST);
    dir.write("app.sh", b"echo hi\n");
    dir.git(&["add", "-A"]);
    dir.git(&["commit", "-q", "-m", "base"]);
    dir.write("ignore.yaml", IGNORE_LIST_WAIVING_SH);
    dir.git(&["add", "-A"]);
    dir.write("ignore.yaml", IGNORE_LIST);
    let run = staged(dir.path(), &["--ignore-list", "ignore.yaml"]);
    assert_eq!(
        run.found(),
        vec!["ignore.yaml:1:config-changed"],
        "{}",
        run.stdout
    );

    dir.git(&["add", "-A"]);
    dir.write("ignore.yaml", IGNORE_LIST_WAIVING_SH);
    let run = staged(dir.path(), &["--ignore-list", "ignore.yaml"]);
    assert!(run.found().is_empty(), "{}", run.stdout);
}

#[test]
fn anteaters_own_files_are_skipped_in_the_index_as_in_the_work_tree() {
    let dir = GitRepo::new();
    dir.write(
        "anteater.conf",
        b"[config]\nanteater_files = .anteater/\nignore_list = .anteater/ignore.yaml\n",
    );
    dir.write(".anteater/ignore.yaml", b"file_ignore: []\n");
    dir.write(".anteater/notes.txt", b"notes\n");
    dir.write("app.py", b"print('hi')\n");
    dir.git(&["add", "-A"]);
    dir.git(&["commit", "-q", "-m", "base"]);

    // A token staged in the folder anteater skips as its own, and one in the code.
    dir.write(".anteater/notes.txt", TOKEN_LINE.as_bytes());
    dir.write("app.py", TOKEN_LINE.as_bytes());
    dir.git(&["add", "-A"]);

    // A tree scan skips the whole folder; a change is judged on everything it adds but the
    // files anteater reads as configuration (issue 18, item 14: this test asserted that the
    // staged notes.txt passed, like the tree scan).
    let full = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(
        full.found(),
        vec!["app.py:1:github-token"],
        "{}",
        full.all_output()
    );
    let run = staged(dir.path(), &[]);
    assert_eq!(
        run.found(),
        vec![".anteater/notes.txt:1:github-token", "app.py:1:github-token"],
        "{}",
        run.all_output()
    );
    assert!(
        run.stdout
            .contains("not scanned, anteater's own configuration: .anteater/ignore.yaml"),
        "{}",
        run.stdout
    );
}
