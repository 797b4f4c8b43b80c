//! History mode: what every commit of a range added, not only the net change. A secret added by
//! one commit of a pull request and removed by the next is in history for good once merged, so
//! it is reported, at the commit that added it. `git log --raw` lists what each commit changed
//! (merges as combined diffs); the versions go through the shared pipeline of
//! [`super::changes`]. Their messages are inspected too ([`super::messages`]).

use std::path::Path;

use anyhow::{bail, Context};

use super::changes::{self, Found, Scope, Side};

/// Scans what each commit of `revisions` (git log arguments: `BASE..HEAD`, `A..B`, `HEAD`) added
/// under `scope.root`, with `scope.threads` workers.
pub fn scan(scope: &Scope<'_>, revisions: &[String]) -> anyhow::Result<Found> {
    let mut found = match scan_with(scope, revisions, "-M") {
        // Finding renamed-and-edited files makes git read blobs, and a partial clone lacks some:
        // then only exact renames are followed (an edited, renamed file counts as added).
        Err(err) if format!("{err:#}").contains("unable to read") => scan_with(scope, revisions, "-M100%"),
        other => other,
    }?;
    // What the range's commits say about themselves is history too.
    super::messages::scan(scope, revisions, &mut found)?;
    Ok(found)
}

fn scan_with(scope: &Scope<'_>, revisions: &[String], renames: &str) -> anyhow::Result<Found> {
    let mut log = crate::git::git_command(scope.root);
    log.args([
        "log",
        "--reverse",
        "--raw",
        "-z",
        "--no-abbrev",
        // Merges as combined diffs: the files a merge's result has in a version no parent had
        // (an "evil merge" is a commit like any other).
        "-c",
        // With a pathspec git simplifies history: a merge whose tree equals one parent's (a side
        // branch that added and removed a secret, `merge -s ours`, GitHub's merge ref of a pull
        // request whose net change is nothing) hides every commit of its other parents.
        "--full-history",
        renames,
        "--relative",
        "--no-color",
        "--diff-filter=AMRCT",
        "--format=%x01%H",
        "--end-of-options",
    ])
    .args(revisions)
    .args(["--", "."]);
    changes::inspect(
        scope,
        log,
        Side::Commits,
        &format!("git log {}", revisions.join(" ")),
    )
}

/// The revision range `--diff` or `--history` asks for, as git log arguments, and the revision
/// exceptions are read from (the range's base), if any.
#[derive(Debug, Clone)]
pub struct HistoryPlan {
    pub revisions: Vec<String>,
    /// `--diff BASE`: the working tree's net change is scanned too, and history adds what it
    /// no longer has. `--history` and `--diff A..B` scan history alone.
    pub with_net_change: bool,
}

/// Parses an explicit `A..B` range: both ends must be commits of the repository.
pub fn explicit_range(root: &Path, spec: &str) -> anyhow::Result<Option<(String, String)>> {
    let Some((from, to)) = spec.split_once("..") else {
        return Ok(None);
    };
    if from.is_empty() || to.is_empty() || to.starts_with('.') || spec.starts_with('-') {
        bail!("--diff {spec}: give a range as BASE..TIP (two revisions), or one base revision");
    }
    let resolve = |rev: &str| {
        crate::git::commit_id(root, rev)
            .with_context(|| format!("--diff {spec}: `{rev}` is not a commit in {}", root.display()))
    };
    Ok(Some((resolve(from)?, resolve(to)?)))
}
