//! Git-aware walking: in a git work tree, untracked files that git ignores (build output,
//! `node_modules/`, virtualenvs) are not scanned, the way `git ls-files`-based tools behave;
//! tracked files are scanned even when a `.gitignore` matches them. Such files cannot reach a
//! commit without `git add -f`, which makes them tracked, and scanned again.
//!
//! Git itself says what is ignored (`git ls-files --others --ignored --exclude-standard
//! --directory`), so `.gitignore`, `.git/info/exclude` and `core.excludesFile` count exactly as
//! for git, and a wholly ignored folder is one entry, never walked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Targets;
use crate::paths;

/// Adds the git-ignored untracked paths under `root` to `excluded`, what the walk skips, and
/// returns them (relative to `report_root`, folders ending in `/`) for the summary. Outside a
/// git work tree nothing changes. A path the user named (or a folder holding one) stays scanned.
pub fn skip(
    root: &Path,
    report_root: &Path,
    targets: &Targets,
    excluded: &mut BTreeSet<PathBuf>,
) -> anyhow::Result<Vec<String>> {
    if paths::git_work_tree(root).is_none() {
        return Ok(Vec::new());
    }
    let listed: &[PathBuf] = match targets {
        Targets::Tree => &[],
        Targets::Listed { files, .. } => files,
    };
    let ignored = ignored_under(root)?;
    let mut shown = Vec::new();
    for path in ignored {
        if listed.iter().any(|named| named.starts_with(&path)) {
            continue;
        }
        let mut name = paths::relative_to(&path, report_root);
        if path.is_dir() {
            name.push('/');
        }
        shown.push(name);
        excluded.insert(path);
    }
    shown.sort();
    Ok(shown)
}

/// The untracked paths git ignores under `root` (absolute; a wholly ignored folder once).
fn ignored_under(root: &Path) -> anyhow::Result<BTreeSet<PathBuf>> {
    let out = crate::git::git(
        root,
        &[
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            "--exclude-standard",
            "--directory",
            "--no-empty-directory",
        ],
    )?;
    let mut ignored = BTreeSet::new();
    for name in out.split(|&byte| byte == 0).filter(|name| !name.is_empty()) {
        let name = name.strip_suffix(b"/").unwrap_or(name);
        ignored.insert(root.join(paths::os_path(name.to_vec())?));
    }
    Ok(ignored)
}
