//! What a change adds: the files changed between a base revision and `HEAD`, and for each text
//! file the lines it added or changed, read from git.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::git::blobs::{Blob, BlobReader, OverLimit};
use crate::git::{commit_id, git};
use crate::platform_env::PlatformEnv;

use crate::fragment::lines::DIFF_LIMIT;
pub use crate::fragment::AddedLines;

/// The change under review.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    /// The commit the change is compared with (the merge base of BASE and HEAD).
    pub base: String,
    /// Changed files that exist at HEAD, relative to the scan root, as git names them (any
    /// bytes: a name that is not UTF-8 is still opened and scanned).
    pub files: HashMap<PathBuf, AddedLines>,
    /// Files the change deleted (nothing to scan), relative to the scan root.
    pub deleted: Vec<PathBuf>,
    /// Renames as (old path, new path).
    pub renamed: Vec<(PathBuf, PathBuf)>,
}

/// The base revision for `--diff auto`, from the CI platform's description of the event:
/// a GitHub pull request's base commit, a GitHub push's previous head, a GitLab merge
/// request's diff base, or the target branch of a Jenkins change request.
pub fn auto_base(env: &PlatformEnv) -> anyhow::Result<String> {
    if let Some(sha) = &env.ci_merge_request_diff_base_sha {
        return Ok(sha.clone());
    }
    if let (Some(_), Some(target)) = (&env.change_id, &env.change_target) {
        // Jenkins names the target branch, not a commit: the change is compared with the
        // remote-tracking branch the multibranch checkout fetched.
        return Ok(format!("origin/{target}"));
    }
    if !env.in_github_actions() {
        bail!(
            "--diff auto works in GitHub Actions, GitLab merge request pipelines and Jenkins \
             change requests (CHANGE_ID, CHANGE_TARGET); elsewhere give the base revision \
             (e.g. --diff origin/main)"
        );
    }
    let event_name = env.github_event_name.as_deref().unwrap_or_default();
    let event: serde_json::Value = match &env.github_event_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--diff auto: reading GITHUB_EVENT_PATH {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("--diff auto: GITHUB_EVENT_PATH {} is not JSON", path.display()))?
        }
        None => serde_json::Value::Null,
    };
    let text = |pointer: &str| {
        event
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    match event_name {
        "pull_request" | "pull_request_target" | "pull_request_review" | "pull_request_review_comment" => {
            if let Some(sha) = text("/pull_request/base/sha") {
                return Ok(sha);
            }
            match &env.github_base_ref {
                Some(branch) => Ok(format!("origin/{branch}")),
                None => bail!("--diff auto: the pull request event names no base commit"),
            }
        }
        "push" => {
            let before = text("/before").unwrap_or_default();
            if !before.is_empty() && before.bytes().any(|b| b != b'0') {
                return Ok(before);
            }
            // A new branch: compare with the default branch.
            match text("/repository/default_branch") {
                Some(branch) => Ok(format!("origin/{branch}")),
                None => bail!("--diff auto: a push that creates a branch names no previous commit"),
            }
        }
        "merge_group" => text("/merge_group/base_sha")
            .ok_or_else(|| anyhow::anyhow!("--diff auto: the merge_group event names no base commit")),
        other => bail!(
            "--diff auto: cannot tell the base of a `{other}` event; give the revision (--diff origin/main)"
        ),
    }
}

/// Resolves `base` to the commit a change should be compared with: the merge base of `base` and
/// HEAD, so that commits that landed on the base branch after the change forked off are not
/// counted as part of the change. A shallow clone that lacks the base gets an error that says how
/// to fetch it.
pub fn resolve_base(root: &Path, base: &str) -> anyhow::Result<String> {
    if base.starts_with('-') {
        bail!("--diff `{base}` is not a revision");
    }
    if git(root, &["rev-parse", "--is-inside-work-tree"]).is_err() {
        bail!(
            "--diff needs a git repository, and {} is not inside one",
            root.display()
        );
    }
    // Asked only when something failed: it decides which advice to give.
    let shallow = || {
        git(root, &["rev-parse", "--is-shallow-repository"])
            .is_ok_and(|out| String::from_utf8_lossy(&out).trim() == "true")
    };
    let shallow_hint = |what: &str| {
        format!(
            "--diff {base}: {what}, and this clone is shallow. Fetch the history the comparison needs: \
             with actions/checkout set `fetch-depth: 0` (GitLab: GIT_DEPTH: 0), or run \
             `git fetch --unshallow` (or `git fetch origin {base}`) before anteater"
        )
    };
    let commit = match commit_id(root, base) {
        Ok(commit) => commit,
        Err(_) if shallow() => bail!(shallow_hint("the base revision is not in this clone")),
        Err(_) => bail!(
            "--diff {base}: no such revision in the repository at {}",
            root.display()
        ),
    };
    match git(root, &["merge-base", "--end-of-options", &commit, "HEAD"]) {
        Ok(out) => Ok(String::from_utf8_lossy(&out).trim().to_string()),
        Err(_) if shallow() => bail!(shallow_hint(
            "the base and HEAD have no common history in this clone"
        )),
        Err(_) => bail!("--diff {base}: it shares no history with HEAD"),
    }
}

/// The files and lines changed between `base` (a commit) and HEAD, limited to `root` (paths are
/// relative to it).
pub fn changes(root: &Path, base: &str) -> anyhow::Result<ChangeSet> {
    changes_of(root, base, &[&format!("{base}..HEAD")])
}

/// The files and lines `git diff <revisions>` shows, with `base` as the revision the change
/// is compared with (exceptions and configuration are read there).
fn changes_of(root: &Path, base: &str, revisions: &[&str]) -> anyhow::Result<ChangeSet> {
    let mut set = ChangeSet {
        base: base.to_string(),
        ..ChangeSet::default()
    };

    // Names and statuses, NUL-separated so that any file name survives.
    let status = git(
        root,
        &["diff", "--relative", "--no-ext-diff", "--name-status", "-z", "-M"]
            .into_iter()
            .chain(revisions.iter().copied())
            .collect::<Vec<_>>(),
    )?;
    let mut fields = status.split(|&b| b == 0).filter(|f| !f.is_empty());
    let mut modified = Vec::new();
    while let Some(code) = fields.next() {
        let code = String::from_utf8_lossy(code);
        let path = |field: Option<&[u8]>| -> anyhow::Result<PathBuf> {
            let field = field.context("git diff --name-status ended early")?;
            crate::paths::os_path(field.to_vec())
                .with_context(|| format!("a changed file's name: {}", String::from_utf8_lossy(field)))
        };
        match code.chars().next() {
            Some('A') => {
                set.files.insert(path(fields.next())?, AddedLines::All);
            }
            Some('C') => {
                let _source = path(fields.next())?;
                set.files.insert(path(fields.next())?, AddedLines::All);
            }
            Some('D') => set.deleted.push(path(fields.next())?),
            Some('R') => {
                let old = path(fields.next())?;
                let new = path(fields.next())?;
                modified.push((old.clone(), new.clone()));
                set.renamed.push((old, new));
            }
            Some('M' | 'T') => {
                let path = path(fields.next())?;
                modified.push((path.clone(), path));
            }
            // Unmerged or unknown: look at the whole file rather than miss something.
            _ => {
                set.files.insert(path(fields.next())?, AddedLines::All);
            }
        }
    }
    if modified.is_empty() {
        return Ok(set);
    }

    // Added lines of modified, retyped and renamed files: the old version at the base against
    // the version that is scanned, by the same line diff history mode uses, so that every mode
    // agrees on what a change adds (a re-encoded file adds only its changed lines; a file git
    // would call binary is compared all the same).
    let mut blobs = BlobReader::start(root)?;
    for (old, new) in modified {
        let relative = |path: &Path| format!("./{}", crate::paths::slash_path(path));
        let old_version = blobs.read(&format!("{base}:{}", relative(&old)), DIFF_LIMIT, OverLimit::Skip);
        // The working tree's version: the checkout CI made of the change.
        let new_version = match std::fs::metadata(root.join(&new)) {
            Ok(meta) if meta.len() <= DIFF_LIMIT => std::fs::read(root.join(&new)).ok(),
            _ => None,
        };
        let lines = match (old_version, new_version) {
            (Ok(Blob::Content(old)), Some(new)) => added_lines_between(&old, &new),
            // Not readable or too large to compare: every line counts as new.
            _ => AddedLines::All,
        };
        set.files.insert(new, lines);
    }
    Ok(set)
}

/// The content of the file at `path` as it is at `revision` (`""`: in the index), or `None` when
/// it did not exist there. Resolved from the file's own directory, so any file of the repository
/// works. One git process: `cat-file --batch` says "missing" itself.
pub fn file_at(path: &Path, revision: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().context("not a file path")?.to_string_lossy();
    let spec = format!("{revision}:./{name}");
    if spec.contains('\n') {
        bail!(
            "{}: a name holding a line break cannot be read at a revision",
            path.display()
        );
    }
    let version = BlobReader::start(dir)?.read(&spec, u64::MAX, OverLimit::Skip)?;
    file_version(version).with_context(|| format!("git cat-file --batch {spec}"))
}

/// A configuration file's version: its content, `None` when the revision lacks it, an error
/// when the revision has something else there (a folder).
fn file_version(version: Blob) -> anyhow::Result<Option<Vec<u8>>> {
    match version {
        Blob::Content(content) => Ok(Some(content)),
        Blob::Missing => Ok(None),
        Blob::Other(kind) => bail!("not a file there but a {kind}"),
        Blob::Spooled(_) | Blob::Large(_) => bail!("too large to read"),
    }
}

/// One answer of `git cat-file --batch` as a configuration file's version.
#[cfg(test)]
fn batch_answer(answer: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    file_version(crate::git::blobs::answer(
        &mut &answer[..],
        u64::MAX,
        OverLimit::Skip,
    )?)
}

/// The lines `new` adds to `old`, both as stored (either may be in a wide encoding): compared
/// as the rules read them.
fn added_lines_between(old: &[u8], new: &[u8]) -> AddedLines {
    use crate::inspect::text::comparable;
    crate::fragment::lines::added_lines(&comparable(old), &comparable(new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cat_file_answers_give_the_content_or_none() {
        let blob = b"ce013625030ba8dba906f756967f9e9ca394464a blob 6\nhello\n\n";
        assert_eq!(batch_answer(blob).unwrap(), Some(b"hello\n".to_vec()));
        assert_eq!(batch_answer(b"HEAD:./x missing missing\n").unwrap(), None);
        let tree = b"2e81171448eb9f2ee3821e3d447aa6b2fe3ddba1 tree 33\n...\n";
        assert!(batch_answer(tree).unwrap_err().to_string().contains("a tree"));
        assert!(batch_answer(b"ce01 blob 60\nhello\n").is_err(), "cut short");
        assert!(batch_answer(b"").is_err());
    }

    #[test]
    fn file_at_reads_a_revision_the_index_and_says_when_a_file_is_missing() {
        let repo = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| git(repo.path(), args).unwrap();
        run(&["init", "-q"]);
        std::fs::create_dir(repo.path().join("sub")).unwrap();
        std::fs::write(repo.path().join("sub/a b.yaml"), "one\n").unwrap();
        run(&["add", "-A"]);
        run(&[
            "-c",
            "user.email=t@example.org",
            "-c",
            "user.name=t",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-qm",
            "x",
        ]);
        std::fs::write(repo.path().join("sub/a b.yaml"), "two\n").unwrap();
        run(&["add", "-A"]);
        let path = repo.path().join("sub/a b.yaml");
        assert_eq!(file_at(&path, "HEAD").unwrap(), Some(b"one\n".to_vec()));
        assert_eq!(file_at(&path, "").unwrap(), Some(b"two\n".to_vec()));
        assert_eq!(file_at(&repo.path().join("sub/none.yaml"), "HEAD").unwrap(), None);
    }
}
