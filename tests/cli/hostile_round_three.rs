//! Never a false pass, round three (issue 18): what git hides, secrets leaving, files outside the
//! workspace. Each test here failed on the code before its fix.

use crate::common::{anteater, Run};
use crate::support::git_repo::GitRepo as Repo;

const TOKEN: &str = "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"; // fake-secret-for-tests
const SECRET_LINE: &str = "GITHUB_TOKEN=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\n"; // fake-secret-for-tests

fn scan(repo: &Repo, args: &[&str]) -> Run {
    let mut all = vec!["--path", "."];
    all.extend_from_slice(args);
    anteater(repo.path()).args(&all).run()
}

// ---------------------------------------------------------------------------------------------
// Item 8: only a path component exactly `.git` is git's.

#[test]
fn folders_whose_names_end_in_dot_git_are_scanned_in_every_mode() {
    let repo = Repo::new();
    repo.write("README", b"hello\n");
    let base = repo.commit("base");
    for path in [
        "deploy/prod.git/config",
        "x.git/hooks/post-receive",
        "a/.gitx/b.sh",
        "nested/.git.d/env",
    ] {
        repo.write(path, SECRET_LINE.as_bytes());
    }
    repo.commit("change");
    let expected = [
        "a/.gitx/b.sh",
        "deploy/prod.git/config",
        "nested/.git.d/env",
        "x.git/hooks/post-receive",
    ];
    let paths = |run: &Run| {
        let mut paths: Vec<String> = run.result_keys().into_iter().map(|k| k.0).collect();
        paths.sort();
        paths.dedup();
        paths
    };
    for args in [vec![], vec!["--diff", base.as_str()], vec!["--history"]] {
        let run = scan(&repo, &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all_output());
        assert_eq!(paths(&run), expected, "{args:?}");
    }
    // Staged: the same files, added to the index of a fresh change.
    repo.git(&["reset", "-q", "--soft", &base]);
    let run = scan(&repo, &["--staged"]);
    assert_eq!(run.code, 1, "--staged: {}", run.all_output());
    assert_eq!(paths(&run), expected, "--staged");
    // An ignore list that names git's folder as the original's did (`.git/`) means git's folder.
    repo.write("ignore.yaml", b"ignore_directories:\n  - .git/\n");
    let run = scan(&repo, &["--ignore-list", "ignore.yaml"]);
    assert_eq!(paths(&run), expected, "ignore list with .git/");
    assert!(!run.all_output().contains(TOKEN));
}
