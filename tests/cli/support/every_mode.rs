//! One change, scanned in every mode a user has: a tree scan, `--patchset` (the change's
//! files), `--staged`, `--diff BASE` and `--history`. The hostile-input rounds check that none of them passes what another fails.

use crate::common::{anteater, Run};
use crate::support::git_repo::GitRepo as Repo;

/// Scans the repository at its root, with no SARIF log, and `args`.
pub fn scan(repo: &Repo, args: &[&str]) -> Run {
    let mut all = vec!["--path", ".", "--no-sarif"];
    all.extend_from_slice(args);
    anteater(repo.path()).args(&all).run()
}

/// Adds `files` on top of a base commit and scans the result in every mode.
pub fn in_every_mode(files: &[(&str, Vec<u8>)]) -> Vec<(&'static str, Run)> {
    in_every_mode_with(files, &[])
}

/// `in_every_mode`, each scan given `args` too.
pub fn in_every_mode_with(files: &[(&str, Vec<u8>)], args: &[&str]) -> Vec<(&'static str, Run)> {
    let scan = |repo: &Repo, mode: &[&str]| scan(repo, &[mode, args].concat());
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    let base = repo.commit("base");
    for (path, content) in files {
        repo.write(path, content);
    }
    let mut runs = vec![("tree", scan(&repo, &[]))];
    // The files a change touches, listed as `git diff --name-only` lists them (kept in `.git`,
    // which no scan reads).
    let list: String = files.iter().map(|(path, _)| format!("{path}\n")).collect();
    repo.write(".git/anteater-patchset", list.as_bytes());
    runs.push((
        "--patchset",
        scan(&repo, &["--patchset", ".git/anteater-patchset"]),
    ));
    repo.git(&["add", "-A"]);
    runs.push(("--staged", scan(&repo, &["--staged"])));
    repo.commit("the change");
    runs.push(("--diff", scan(&repo, &["--diff", base.as_str()])));
    runs.push(("--history", scan(&repo, &["--history"])));
    runs
}

/// Every mode fails the gate with a finding of `rule`, and prints none of `secret`.
pub fn fails_everywhere(files: &[(&str, Vec<u8>)], rule: &str, secret: &str) {
    for (mode, run) in in_every_mode(files) {
        let what = files.iter().map(|f| f.0).collect::<Vec<_>>();
        assert_eq!(run.code, 1, "{what:?} {mode}: {}", run.all_output());
        assert!(
            run.stdout.contains(rule),
            "{what:?} {mode}: no {rule} finding\n{}",
            run.all_output()
        );
        assert!(
            !run.all_output().contains(secret),
            "{what:?} {mode}: the secret was printed"
        );
    }
}

/// `fails_everywhere` for one file, whose finding is named by the member it was found in: every
/// mode's output holds `inner` (`bundle.json!/line-1.base64!/etc/app.conf`).
pub fn fails_everywhere_inside(name: &str, bytes: &[u8], rule: &str, secret: &str, inner: &str) {
    fails_everywhere(&[(name, bytes.to_vec())], rule, secret);
    for (mode, run) in in_every_mode(&[(name, bytes.to_vec())]) {
        assert!(
            run.stdout.contains(inner),
            "{name} {mode}: the finding is not named {inner}\n{}",
            run.all_output()
        );
    }
}
