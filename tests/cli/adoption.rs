//! Issue 21, how the command behaves for a newcomer: the configuration of the scanned folder
//! applies wherever anteater is run from, paths are given the way other tools take them
//! (`anteater .`, `anteater repo`, `anteater config.py`), and refusals say what to do instead.

use crate::common::{anteater, tree};

const TOKEN: &[u8] = b"export GITHUB_TOKEN=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\n"; // fake-secret-for-tests

/// A conf whose flag list has one rule, `marker-NAME`, matching `MARKER_NAME`: which conf applied
/// is told by the rule that fires.
fn conf_files(dir: &str, name: &str) -> Vec<(String, Vec<u8>)> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    vec![
        (
            format!("{prefix}anteater.conf"),
            b"[config]\nanteater_files = lists/\nflag_list = %(anteater_files)s/flags.yaml\n".to_vec(),
        ),
        (
            format!("{prefix}lists/flags.yaml"),
            format!(
                "file_audits:\n  file_contents:\n    marker-{name}:\n      regex: 'MARKER_{upper}'\n      desc: marker\n",
                upper = name.to_uppercase()
            )
            .into_bytes(),
        ),
    ]
}

fn tree_of(files: Vec<(String, Vec<u8>)>) -> tempfile::TempDir {
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
    tree(&borrowed)
}

fn fired_rules(run: &crate::common::Run) -> Vec<String> {
    run.finding_lines()
        .iter()
        .filter_map(|line| line.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

#[test]
fn the_scanned_folders_conf_applies_when_run_from_elsewhere() {
    let mut files = conf_files("repo", "repo");
    files.push(("repo/app.txt".into(), b"MARKER_REPO MARKER_HERE\n".to_vec()));
    files.push(("elsewhere/.keep".into(), Vec::new()));
    let dir = tree_of(files);
    let run = anteater(&dir.path().join("elsewhere"))
        .args(&["--no-sarif", "../repo"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(fired_rules(&run), ["marker-repo"], "{}", run.stdout);
    assert!(run.stdout.contains("repo/lists/"), "{}", run.stdout);
    // --path DIR finds it the same way.
    let run = anteater(&dir.path().join("elsewhere"))
        .args(&["--no-sarif", "--path", "../repo"])
        .run();
    assert_eq!(fired_rules(&run), ["marker-repo"], "{}", run.stdout);
}

#[test]
fn the_scanned_folders_conf_wins_over_the_current_folders() {
    let mut files = conf_files("", "here");
    files.extend(conf_files("repo", "repo"));
    files.push(("repo/app.txt".into(), b"MARKER_REPO MARKER_HERE\n".to_vec()));
    files.push(("plain/app.txt".into(), b"MARKER_REPO MARKER_HERE\n".to_vec()));
    let dir = tree_of(files);
    let run = anteater(dir.path()).args(&["--no-sarif", "repo"]).run();
    assert_eq!(fired_rules(&run), ["marker-repo"], "{}", run.all_output());
    // No conf in the scanned folder: the current folder's, as the original read it.
    let run = anteater(dir.path()).args(&["--no-sarif", "plain"]).run();
    assert_eq!(fired_rules(&run), ["marker-here"], "{}", run.all_output());
    // --config names one explicitly, whatever is discovered.
    let run = anteater(dir.path())
        .args(&["--no-sarif", "--config", "anteater.conf", "repo"])
        .run();
    assert_eq!(fired_rules(&run), ["marker-here"], "{}", run.all_output());
}

#[test]
fn single_files_and_several_paths_are_scanned_as_given() {
    let dir = tree(&[
        ("config.py", TOKEN),
        ("src/a.sh", TOKEN),
        ("src/deep/b.sh", TOKEN),
        ("other/c.sh", TOKEN),
    ]);
    let run = anteater(dir.path()).args(&["config.py"]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.found(), ["config.py:1:github-token"]);
    // --path takes a file too.
    let run = anteater(dir.path()).args(&["--path", "config.py"]).run();
    assert_eq!(run.found(), ["config.py:1:github-token"], "{}", run.all_output());

    // Several paths: each once, even when one is inside another.
    let run = anteater(dir.path())
        .args(&["src", "other/c.sh", "src/deep/b.sh"])
        .run();
    assert_eq!(
        run.found(),
        [
            "other/c.sh:1:github-token",
            "src/a.sh:1:github-token",
            "src/deep/b.sh:1:github-token"
        ],
        "{}",
        run.all_output()
    );
    // `anteater .` is the whole tree.
    let run = anteater(dir.path()).args(&["."]).run();
    assert_eq!(run.found().len(), 4, "{}", run.all_output());
}

#[test]
fn paths_that_cannot_be_combined_are_refused_clearly() {
    let dir = tree(&[("config.py", TOKEN), ("src/a.sh", TOKEN)]);
    let both = anteater(dir.path()).args(&["--path", "src", "config.py"]).run();
    assert_eq!(both.code, 2, "{}", both.all_output());
    assert!(
        both.stderr.contains("either as PATH arguments or as --path"),
        "{}",
        both.stderr
    );
    let history = anteater(dir.path()).args(&["--history", "config.py"]).run();
    assert_eq!(history.code, 2, "{}", history.all_output());
    assert!(
        history.stderr.contains("--history scans one folder"),
        "{}",
        history.stderr
    );
    let missing = anteater(dir.path()).args(&["src", "nowhere.py"]).run();
    assert_eq!(missing.code, 2, "{}", missing.all_output());
    assert!(
        missing.stderr.contains("nowhere.py: cannot open"),
        "{}",
        missing.stderr
    );
    for run in [&both, &history, &missing] {
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(run.sarif.is_none());
    }
}

/// A repository whose .gitignore matches a dependency folder, a log and a tracked file.
fn repo_with_ignored_files() -> crate::support::git_repo::GitRepo {
    let repo = crate::support::git_repo::GitRepo::new();
    repo.write(".gitignore", b"node_modules/\n*.log\ndist/\n");
    repo.write("dist/keep.js", TOKEN);
    repo.git(&["add", "-f", "dist/keep.js"]);
    repo.commit("a tracked file under an ignored folder");
    repo.write("node_modules/pkg/index.js", TOKEN);
    repo.write("debug.log", TOKEN);
    repo.write("dist/new.js", TOKEN);
    repo.write("new.sh", TOKEN);
    repo
}

#[test]
fn git_ignored_untracked_files_are_skipped_and_tracked_ones_are_not() {
    let repo = repo_with_ignored_files();
    let run = anteater(repo.path()).args(&["."]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        run.found(),
        ["dist/keep.js:1:github-token", "new.sh:1:github-token"],
        "{}",
        run.all_output()
    );
    assert!(
        run.stdout.contains(
            "anteater: 3 paths not scanned, untracked and ignored by git (debug.log, dist/new.js, node_modules/); --no-ignore scans them"
        ),
        "{}",
        run.stdout
    );
    let json = anteater(repo.path())
        .args(&["--no-sarif", "--format", "json"])
        .run();
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["summary"]["files"]["git_ignored"], 3, "{}", json.stdout);
    assert_eq!(
        document["summary"]["git_ignored"],
        serde_json::json!(["debug.log", "dist/new.js", "node_modules/"]),
        "{}",
        json.stdout
    );

    // A file named on the command line is scanned, ignored or not.
    let named = anteater(repo.path()).args(&["debug.log"]).run();
    assert_eq!(
        named.found(),
        ["debug.log:1:github-token"],
        "{}",
        named.all_output()
    );
}

#[test]
fn no_ignore_scans_everything_and_outside_git_nothing_is_skipped() {
    let repo = repo_with_ignored_files();
    let expected = [
        "debug.log:1:github-token",
        "dist/keep.js:1:github-token",
        "dist/new.js:1:github-token",
        "new.sh:1:github-token",
        "node_modules/pkg/index.js:1:github-token",
    ];
    let run = anteater(repo.path()).args(&["--no-ignore"]).run();
    assert_eq!(run.found(), expected, "{}", run.all_output());
    assert!(!run.stdout.contains("ignored by git"), "{}", run.stdout);
    let run = anteater(repo.path()).env("ANTEATER_NO_IGNORE", "true").run();
    assert_eq!(run.found(), expected, "{}", run.all_output());

    // The same files without git: a .gitignore alone decides nothing.
    std::fs::remove_dir_all(repo.path().join(".git")).unwrap();
    let run = anteater(repo.path()).run();
    assert_eq!(run.found(), expected, "{}", run.all_output());
}

/// In --diff the scanned folder's conf is read at the base, even when the change deletes it and
/// anteater runs from another folder: a change cannot drop the configuration that judges it.
#[test]
fn a_change_deleting_the_scanned_folders_conf_is_judged_by_it() {
    let repo = crate::support::git_repo::GitRepo::new();
    for (path, content) in conf_files("", "repo") {
        repo.write(&path, &content);
    }
    let base = repo.commit("configured");
    repo.remove("anteater.conf");
    repo.write("app.txt", b"MARKER_REPO\n");
    repo.commit("drops the conf, adds a marker");
    let elsewhere = tempfile::tempdir().unwrap();
    let root = repo.path().to_str().unwrap();
    let run = anteater(elsewhere.path())
        .args(&["--no-sarif", "--path", root, "--diff", &base])
        .run();
    assert!(
        fired_rules(&run).contains(&"marker-repo".to_string()),
        "{}",
        run.all_output()
    );
}

/// The other way round: a change that adds a conf to the scanned folder does not displace the
/// conf that judged it (here the current folder's, outside the repository).
#[test]
fn a_change_adding_a_conf_to_the_scanned_folder_does_not_replace_the_current_one() {
    let repo = crate::support::git_repo::GitRepo::new();
    repo.write("a.txt", b"one\n");
    let base = repo.commit("base");
    for (path, content) in conf_files("", "new") {
        repo.write(&path, &content);
    }
    repo.write("app.txt", b"MARKER_HERE MARKER_NEW\n");
    repo.commit("brings its own conf");
    let here = tree_of(conf_files("", "here"));
    let root = repo.path().to_str().unwrap();
    let run = anteater(here.path())
        .args(&["--no-sarif", "--path", root, "--diff", &base])
        .run();
    let fired = fired_rules(&run);
    assert!(fired.contains(&"marker-here".to_string()), "{}", run.all_output());
    assert!(!fired.contains(&"marker-new".to_string()), "{}", run.all_output());
}
