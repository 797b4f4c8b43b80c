//! anteater's own files: the configuration it reads and the outputs it writes are never scanned
//! as the project's, and the configuration of the repository under review is watched for
//! loosening and kept inside the repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::paths;
use crate::plan::config_change::ConfigKind;

/// anteater's own files: configuration never scanned (and named in the summary), the files
/// watched for loosening in --diff mode, and what the rules and exceptions came from.
#[derive(Default)]
pub(super) struct OwnFiles {
    pub(super) configuration: Vec<PathBuf>,
    pub(super) watched: Vec<(ConfigKind, PathBuf)>,
    pub(super) sources: Vec<String>,
}

impl OwnFiles {
    pub(super) fn watch(&mut self, kind: ConfigKind, path: &Path) {
        self.watched.push((kind, path.to_path_buf()));
    }

    /// What the walk skips (the configuration, and this run's untracked outputs) and the part of
    /// it under the scan root that the summary names.
    pub(super) fn excluded<'p>(
        &mut self,
        outputs: impl Iterator<Item = &'p PathBuf>,
        root: &Path,
        cwd: &Path,
    ) -> (BTreeSet<PathBuf>, Vec<PathBuf>) {
        let mut excluded = BTreeSet::new();
        for path in outputs {
            exclude_own_output(&mut excluded, path, cwd);
        }
        excluded.extend(self.configuration.iter().cloned());
        let own = &mut self.configuration;
        own.sort();
        own.dedup();
        // A list inside the lists folder goes without saying.
        let skipped_as_own = own
            .iter()
            .filter(|path| path.starts_with(root))
            .filter(|path| !own.iter().any(|other| other != *path && path.starts_with(other)))
            .cloned()
            .collect();
        (excluded, skipped_as_own)
    }

    /// The watched files of the repository under review, absolute.
    pub(super) fn watched(
        &self,
        cwd: &Path,
        in_repository: impl Fn(&Path) -> bool,
    ) -> Vec<(ConfigKind, PathBuf)> {
        self.watched
            .iter()
            .map(|(kind, path)| (*kind, paths::resolve(path, cwd)))
            .filter(|(_, path)| in_repository(path))
            .collect()
    }
}

/// Keeps a file this run writes (a report, a baseline) out of the scan, unless git tracks it: a
/// committed file is part of the change like any other, whatever its name, and a secret
/// committed as `anteater.sarif` must not pass because the report happens to be written there.
pub fn exclude_own_output(excluded: &mut BTreeSet<PathBuf>, path: &Path, cwd: &Path) {
    let resolved = paths::resolve(path, cwd);
    if !crate::git::is_tracked(&resolved) {
        excluded.insert(resolved);
    }
}

/// A path that a file inside the scanned repository (`by`, its `key`) names must resolve
/// (symbolic links followed) inside the repository's work tree (`boundary`; the scan root outside
/// git): the repository is the change under review, and must not make anteater read a runner's
/// credential file as a list, nor echo it in an error. Lists outside the repository are given on
/// the command line, which is the user's.
pub(super) fn confined(
    by: &Path,
    key: &str,
    named: &Path,
    boundary: &Path,
    cwd: &Path,
) -> anyhow::Result<()> {
    // `by` is the repository's when its path is inside it, even as a link (then `named` is `by`).
    if !paths::absolute(by, cwd).starts_with(boundary) || paths::resolve(named, cwd).starts_with(boundary) {
        return Ok(());
    }
    bail!(
        "{}: `{key}` names {}, which resolves outside the repository {}; paths named by the \
         repository's own configuration must stay inside it (give a list kept elsewhere on the \
         command line: --flag-list, --ignore-list, --config)",
        by.display(),
        named.display(),
        boundary.display()
    )
}
