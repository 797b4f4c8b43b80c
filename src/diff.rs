//! What a change adds: the files changed between a base revision and `HEAD`, and for each text
//! file the lines it added or changed, read from git.
//!
//! This runs the `git` binary rather than linking a git library: CI checkouts are made by git
//! itself (shallow clones, alternates, sparse checkouts, safe.directory rules, new index
//! formats), and the user's own git reads them exactly as the checkout made them; a library
//! would add a C dependency or a large crate to parse two plumbing outputs.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::platform_env::PlatformEnv;

pub use crate::source::AddedLines;

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

/// A git command in `dir` whose output does not depend on the user's git configuration: names
/// unquoted, no colour, no signature lines in `git log` (the patch that anteater reads names
/// its own prefixes). Every git process anteater starts is made here.
pub fn git_command(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir);
    for setting in [
        "core.quotePath=off",
        "color.ui=never",
        "log.showSignature=false",
        // In a container the checkout belongs to another user (the runner's), and git refuses
        // such repositories unless told otherwise; anteater only reads them, with external
        // diff drivers off.
        "safe.directory=*",
    ] {
        command.args(["-c", setting]);
    }
    command
}

/// Runs git in `dir` and returns its standard output; failures carry git's own message.
pub fn git(dir: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let output = git_command(dir)
        .args(args)
        .output()
        .with_context(|| "running git (is it installed?)".to_string())?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("git {}: {}", args.join(" "), stderr.trim());
    }
    Ok(output.stdout)
}

/// The full id of the commit `revision` names (an error when it names none).
pub fn commit_id(root: &Path, revision: &str) -> anyhow::Result<String> {
    let spec = format!("{revision}^{{commit}}");
    let out = git(
        root,
        &["rev-parse", "--verify", "--quiet", "--end-of-options", &spec],
    )?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
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

/// The files and lines the index changes against HEAD (what `git commit` would record), for
/// `--staged`. A repository without commits yet compares with the empty tree.
pub fn staged_changes(root: &Path) -> anyhow::Result<ChangeSet> {
    let has_head = git(root, &["rev-parse", "--verify", "--quiet", "HEAD"]).is_ok();
    let base = if has_head { "HEAD" } else { EMPTY_TREE };
    changes_of(root, base, &["--cached", base])
}

/// git's well-known id of the empty tree, the base of a repository's first commit.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

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
                modified.push(new.clone());
                set.renamed.push((old, new));
            }
            Some('M' | 'T') => modified.push(path(fields.next())?),
            // Unmerged or unknown: look at the whole file rather than miss something.
            _ => {
                set.files.insert(path(fields.next())?, AddedLines::All);
            }
        }
    }
    if modified.is_empty() {
        return Ok(set);
    }

    // Added lines of modified, retyped and renamed files, from zero-context hunks. Selected by
    // status rather than by pathspec: a pathspec is text, and a name need not be. The prefixes
    // are given, whatever the user's diff.noprefix, diff.mnemonicPrefix or diff.dstPrefix say,
    // and no textconv filter rewrites the lines.
    let common = [
        "diff",
        "--relative",
        "--no-ext-diff",
        "--no-textconv",
        "-M",
        "--diff-filter=MRT",
    ];
    let mut args = common.to_vec();
    args.extend(["--no-color", "-U0", "--src-prefix=a/", "--dst-prefix=b/"]);
    args.extend(revisions.iter().copied());
    let patch = git(root, &args)?;
    for (path, lines) in parse_patch(&patch)? {
        set.files.insert(path, lines);
    }
    // A rename or mode change without content changes has no hunk: no line is new, but the
    // file is still a changed file for file-name and binary checks.
    for path in modified {
        set.files.entry(path).or_insert(AddedLines::none());
    }
    // Binary files (and text marked `-diff`) have no hunks: the whole file counts. Named from
    // NUL-separated --numstat, where binaries count `-` lines, not from the patch's "Binary
    // files a/x and b/y differ", which a name holding " and " makes ambiguous.
    let mut args = common.to_vec();
    args.extend(["--numstat", "-z"]);
    args.extend(revisions.iter().copied());
    let numstat = git(root, &args)?;
    let mut fields = numstat.split(|&b| b == 0).filter(|f| !f.is_empty());
    while let Some(record) = fields.next() {
        let mut parts = record.splitn(3, |&b| b == b'\t');
        let (added, _deleted) = (parts.next(), parts.next());
        // A rename's record ends in a tab; its old and new names follow as their own fields.
        let name = match parts.next() {
            Some(name) if !name.is_empty() => Some(name),
            _ => fields.nth(1),
        };
        let name = name.context("git diff --numstat ended early")?;
        if added == Some(b"-".as_slice()) {
            let path = crate::paths::os_path(name.to_vec())
                .with_context(|| format!("a changed file's name: {}", String::from_utf8_lossy(name)))?;
            set.files.insert(path, AddedLines::All);
        }
    }
    Ok(set)
}

/// Parses `git diff -U0` output into added line ranges per file (new paths). Binary files have
/// no `+++` line and are not in it. A hunk's lines are taken by the counts its header gives, never
/// by their first characters: an added line whose text is `++ b/other` reads `+++ b/other` in the
/// patch, and must not start a new file.
fn parse_patch(patch: &[u8]) -> anyhow::Result<Vec<(PathBuf, AddedLines)>> {
    let mut out: Vec<(PathBuf, Vec<Range<u32>>)> = Vec::new();
    let mut current: Option<usize> = None;
    // Every line ends in a line break: the last one leaves no empty line behind.
    let patch = patch.strip_suffix(b"\n").unwrap_or(patch);
    let mut lines = patch.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if line.starts_with(b"diff --git ") {
            current = None;
        } else if let Some(path) = line.strip_prefix(b"+++ ") {
            if path == b"/dev/null" {
                current = None;
                continue;
            }
            // A name anteater cannot read back would leave the file without its added lines:
            // an error, never a silent pass.
            let path = new_side(path).with_context(|| {
                format!(
                    "git diff: cannot read the new name in `+++ {}`",
                    String::from_utf8_lossy(path)
                )
            })?;
            out.push((path, Vec::new()));
            current = Some(out.len() - 1);
        } else if line.starts_with(b"@@ ") {
            let (removed, added) = hunk_counts(line).with_context(|| {
                format!(
                    "git diff: unreadable hunk header `{}`",
                    String::from_utf8_lossy(line)
                )
            })?;
            if let (Some(index), Some(range)) = (current, hunk_added_lines(line)) {
                out[index].1.push(range);
            }
            // The hunk's body: exactly this many removed and added lines, whatever they hold,
            // each possibly followed by git's "\ No newline at end of file".
            let mut body = removed + added;
            while body > 0 {
                match lines.next() {
                    Some(_) => body -= 1,
                    None => bail!("git diff: a hunk ends before its {} lines", removed + added),
                }
                if lines.peek().is_some_and(|next| next.starts_with(b"\\ ")) {
                    lines.next();
                }
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(path, ranges)| (path, AddedLines::from_ranges(ranges)))
        .collect())
}

/// `@@ -a,b +c,d @@`: how many lines the hunk removes (b) and adds (d), each 1 when left out.
fn hunk_counts(header: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(header).ok()?;
    let mut fields = text.split(' ').skip(1);
    let count = |field: &str, sign: char| -> Option<u64> {
        let field = field.strip_prefix(sign)?;
        match field.split_once(',') {
            Some((_, count)) => count.parse().ok(),
            None => Some(1),
        }
    };
    let removed = count(fields.next()?, '-')?;
    let added = count(fields.next()?, '+')?;
    Some((removed, added))
}

/// `@@ -a,b +c,d @@` → lines c..c+d of the new file (d defaults to 1).
fn hunk_added_lines(header: &[u8]) -> Option<Range<u32>> {
    let text = std::str::from_utf8(header).ok()?;
    let new = text.split(' ').find(|part| part.starts_with('+'))?;
    let new = &new[1..];
    let (start, count) = match new.split_once(',') {
        Some((start, count)) => (start.parse::<u32>().ok()?, count.parse::<u32>().ok()?),
        None => (new.parse::<u32>().ok()?, 1),
    };
    Some(start..start.saturating_add(count))
}

/// A path of the new side as `git diff --dst-prefix=b/` prints it (`b/x`, or `"b/\303\251"`
/// quoted, as git quotes unusual names), without its `b/`.
fn new_side(printed: &[u8]) -> Option<PathBuf> {
    let name = if printed.first() == Some(&b'"') {
        crate::patchset::unquote(printed).ok()?
    } else {
        printed.to_vec()
    };
    crate::paths::os_path(name.strip_prefix(b"b/")?.to_vec()).ok()
}

/// The content of the file at `path` as it is at `revision` (`""`: in the index), or `None` when
/// it did not exist there. Resolved from the file's own directory, so any file of the repository
/// works. One git process: `cat-file --batch` says "missing" itself.
pub fn file_at(path: &Path, revision: &str) -> anyhow::Result<Option<Vec<u8>>> {
    use std::io::Write as _;
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
    let mut child = git_command(dir)
        .args(["cat-file", "--batch"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running git (is it installed?)")?;
    // Written, then closed (dropped), so that git answers and ends.
    child
        .stdin
        .take()
        .context("git's standard input")?
        .write_all(format!("{spec}\n").as_bytes())
        .context("asking git cat-file")?;
    let output = child.wait_with_output().context("running git cat-file")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("git cat-file --batch {spec}: {}", stderr.trim());
    }
    batch_answer(&output.stdout).with_context(|| format!("git cat-file --batch {spec}"))
}

/// The object in one answer of `git cat-file --batch`: `<oid> blob <size>`, a line break and the
/// content, or `<name> missing`.
fn batch_answer(answer: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    let header_end = memchr::memchr(b'\n', answer).context("no answer")?;
    let header = String::from_utf8_lossy(&answer[..header_end]);
    let mut fields = header.rsplitn(3, ' ');
    let (last, kind) = (fields.next().unwrap_or_default(), fields.next());
    if last == "missing" {
        return Ok(None);
    }
    let size: usize = last
        .parse()
        .with_context(|| format!("unexpected answer `{header}`"))?;
    if kind != Some("blob") {
        bail!("not a file there but a {}", kind.unwrap_or("nothing"));
    }
    answer
        .get(header_end + 1..header_end + 1 + size)
        .map(|content| Some(content.to_vec()))
        .context("the answer is cut short")
}

/// Whether git tracks the file at `path` (it is in the index of the work tree holding it).
/// `false` outside a repository, or when git is not installed.
pub fn is_tracked(path: &Path) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    if !dir.is_dir() {
        return false;
    }
    let name = name.to_string_lossy();
    git(dir, &["ls-files", "--error-unmatch", "--", &name]).is_ok()
}

/// The top of the work tree holding `dir`.
pub fn top_level(dir: &Path) -> anyhow::Result<PathBuf> {
    let out = git(dir, &["rev-parse", "--show-toplevel"])?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out).trim()))
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

    #[test]
    fn hunks_give_added_lines() {
        assert_eq!(hunk_added_lines(b"@@ -3,0 +4,2 @@ fn x"), Some(4..6));
        assert_eq!(hunk_added_lines(b"@@ -3 +3 @@"), Some(3..4));
        assert_eq!(hunk_added_lines(b"@@ -3,2 +2,0 @@"), Some(2..2));
    }

    #[test]
    fn patches_parse_into_ranges() {
        let patch = b"diff --git a/src/a.rs b/src/a.rs\nindex 1..2 100644\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1,0 +2,1 @@\n+x\n@@ -5,1 +7,2 @@\n-y\n+z\n+w\ndiff --git a/img.png b/img.png\nBinary files a/img.png and b/img.png differ\ndiff --git \"a/\\377.c\" \"b/\\377.c\"\n--- \"a/\\377.c\"\n+++ \"b/\\377.c\"\n@@ -1 +1 @@\n-a\n+b\n";
        let parsed = parse_patch(patch).unwrap();
        assert_eq!(
            parsed,
            [
                ("src/a.rs".into(), AddedLines::Ranges(vec![2..3, 7..9])),
                (
                    crate::paths::os_path(b"\xff.c".to_vec()).unwrap(),
                    AddedLines::Ranges(vec![Range { start: 1, end: 2 }])
                ),
            ]
        );
        // A new name without the `b/` anteater asked for is an error, never a file without lines.
        assert!(parse_patch(b"+++ i/src/a.rs\n@@ -1 +1 @@\n").is_err());
    }

    #[test]
    fn quoted_paths_are_unquoted() {
        assert_eq!(new_side(b"\"b/a\\tb\\303\\251.txt\""), Some("a\tbé.txt".into()));
        assert_eq!(new_side(b"b/plain.txt"), Some("plain.txt".into()));
        assert_eq!(new_side(b"plain.txt"), None);
        assert_eq!(
            new_side(b"\"b/\\377x\""),
            crate::paths::os_path(b"\xffx".to_vec()).ok()
        );
    }

    #[test]
    fn hunks_are_read_by_their_counts_not_their_first_characters() {
        // The added line `++ b/other` is `+++ b/other` in the patch: it is a line of a.rs.
        let patch = b"diff --git a/a.rs b/a.rs\n--- a/a.rs\n+++ b/a.rs\n@@ -1,0 +2,3 @@\n+x\n+++ b/other\n+@@ -1 +1 @@\n\\ No newline at end of file\n@@ -9 +10,0 @@\n--- a/gone\n";
        let parsed = parse_patch(patch).unwrap();
        assert_eq!(
            parsed,
            [("a.rs".into(), AddedLines::from_ranges(std::iter::once(2..5)))]
        );
        assert!(
            parse_patch(b"+++ b/a.rs\n@@ -1,0 +1,2 @@\n+x\n").is_err(),
            "a cut hunk"
        );
        assert_eq!(hunk_counts(b"@@ -3 +4,2 @@ fn x"), Some((1, 2)));
    }
}
