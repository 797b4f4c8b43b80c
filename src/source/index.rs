//! `--staged`: what the next commit would record, before it is made (a pre-commit hook). The
//! index, not the working tree, is what gets committed: a file staged with a secret and then
//! edited on disk (or partly staged with `git add -p`) is judged by its staged content, read
//! straight from git's object store. `git diff-index --cached --raw` lists what the index changes
//! against HEAD (the empty tree before the first commit), and the staged versions go through the
//! shared pipeline of [`super::changes`], their added lines against HEAD's versions.

use super::changes::{self, Found, Scope, Side};

/// git's well-known id of the empty tree: what a repository without commits is compared with.
pub const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// The revision the index is compared with: HEAD, or the empty tree before the first commit.
pub fn base(root: &std::path::Path) -> &'static str {
    if crate::git::git(root, &["rev-parse", "--verify", "--quiet", "HEAD"]).is_ok() {
        "HEAD"
    } else {
        EMPTY_TREE
    }
}

/// Scans the versions the index adds or changes under `scope.root`, against `base`.
pub fn scan(scope: &Scope<'_>, base: &str) -> anyhow::Result<Found> {
    let mut listing = crate::git::git_command(scope.root);
    listing.args([
        "diff-index",
        "--cached",
        "--raw",
        "-z",
        "--no-abbrev",
        "-M",
        "--relative",
        "--diff-filter=AMRCT",
        base,
        "--",
        ".",
    ]);
    changes::inspect(scope, listing, Side::Index, "git diff-index --cached")
}
