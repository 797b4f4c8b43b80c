//! Planning: what one run scans, decided before any configuration is read. Which revisions
//! matter (the change under review for `--diff` and `--staged`, the commits of `--diff` and
//! `--history`, the revision configuration is read at), where reports are relative to, and
//! which files of the working tree are walked. Configuration is read at the planned revision by
//! [`reader::ConfigReader`]; `crate::config` turns both into the plain data later stages get.

pub mod config_change;
pub mod patchset;
pub mod reader;
pub mod scan_paths;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::cli::Cli;
use crate::git::diff::{self, AddedLines, ChangeSet};
use crate::paths;
use crate::platform_env::PlatformEnv;
use crate::rules::RuleSet;
use crate::source::history::{self, HistoryPlan};
pub use crate::source::Targets;
use config_change::{ConfigKind, Loosening};

/// Which revisions a run looks at: the change under review (--diff, --staged), the commits
/// whose additions are scanned (--diff, --history), and the revision the configuration and
/// exceptions are read at.
pub struct Revisions {
    /// --staged: the revision the index is compared with.
    pub staged: Option<String>,
    pub change: Option<ChangeSet>,
    pub history: Option<HistoryPlan>,
    /// --diff A..B: history alone, exceptions as of A, configuration changes from A to B.
    pub history_range: Option<(String, String)>,
}

impl Revisions {
    pub fn from_cli(cli: &Cli, env: &PlatformEnv, root: &Path) -> anyhow::Result<Self> {
        let mut revisions = Revisions {
            staged: None,
            change: None,
            history: None,
            history_range: None,
        };
        if cli.staged {
            // The index against HEAD, exceptions and configuration read at HEAD.
            crate::git::top_level(root).with_context(|| {
                format!(
                    "--staged needs a git repository, and {} is not in one",
                    root.display()
                )
            })?;
            let base = crate::source::index::base(root);
            revisions.change = Some(ChangeSet {
                base: base.to_string(),
                ..ChangeSet::default()
            });
            revisions.staged = Some(base.to_string());
        }
        if let Some(spec) = &cli.diff {
            let spec = if spec == "auto" {
                diff::auto_base(env)?
            } else {
                spec.clone()
            };
            match history::explicit_range(root, &spec)? {
                Some((from, to)) => {
                    revisions.history = Some(HistoryPlan {
                        revisions: vec![format!("{from}..{to}")],
                        with_net_change: false,
                    });
                    revisions.history_range = Some((from, to));
                }
                None => {
                    let base = diff::resolve_base(root, &spec)?;
                    revisions.history = Some(HistoryPlan {
                        revisions: vec![format!("{base}..HEAD")],
                        with_net_change: true,
                    });
                    revisions.change = Some(diff::changes(root, &base)?);
                }
            }
        }
        if cli.history {
            if crate::git::git(root, &["rev-parse", "--verify", "--quiet", "HEAD"]).is_err() {
                bail!(
                    "--history needs a git repository with commits, and {} is not in one",
                    root.display()
                );
            }
            revisions.history = Some(HistoryPlan {
                revisions: vec!["HEAD".to_string()],
                with_net_change: false,
            });
        }
        Ok(revisions)
    }

    /// Whether the run judges a change, and so what it does to anteater's own configuration.
    /// What the change does to anteater's own configuration (`watched`, absolute paths of the
    /// repository): compared from the change's base to what it leaves (the working tree, the
    /// index, or the range's tip).
    pub fn loosened(
        &self,
        watched: &[(ConfigKind, PathBuf)],
        rules: &RuleSet,
    ) -> anyhow::Result<Vec<Loosening>> {
        match (&self.change, &self.history_range) {
            (Some(change), _) => {
                let head = if self.staged.is_some() {
                    config_change::Head::Index
                } else {
                    config_change::Head::WorkTree
                };
                config_change::detect(&change.base, head, watched, rules)
            }
            (None, Some((from, to))) => {
                config_change::detect(from, config_change::Head::Commit(to), watched, rules)
            }
            (None, None) => Ok(Vec::new()),
        }
    }

    pub fn watches_configuration(&self) -> bool {
        self.change.is_some() || self.history_range.is_some()
    }

    /// Whether the repository matters: only then is configuration read at a revision.
    pub fn in_git(&self) -> bool {
        self.history.is_some() || self.staged.is_some()
    }
}

/// Where the walk runs and what reports are relative to.
pub struct Layout {
    /// The folder scanned: `--path`.
    pub root: PathBuf,
    /// Report paths are relative to this: the git work tree holding the root, else the
    /// working directory.
    pub report_root: PathBuf,
    /// SARIF URIs are relative to this: code scanning resolves them against the repository
    /// root; outside git the scanned folder is the root, so no URI climbs out with `..`.
    pub sarif_root: PathBuf,
}

impl Layout {
    /// What paths named by the scanned repository's own configuration must stay inside: its
    /// git work tree, or the scanned folder outside git.
    pub fn boundary(&self) -> &Path {
        &self.sarif_root
    }

    pub fn new(root: PathBuf, cwd: &Path) -> Self {
        let git_root = paths::git_work_tree(&root);
        Layout {
            sarif_root: git_root.clone().unwrap_or_else(|| root.clone()),
            report_root: git_root.unwrap_or_else(|| paths::resolve(cwd, cwd)),
            root,
        }
    }
}

/// The files to walk: a patchset's, the change's (with the lines it changed, for content
/// findings), none for history alone or the index, or the whole tree.
pub fn targets(
    cli: &Cli,
    revisions: &Revisions,
    layout: &Layout,
) -> anyhow::Result<(Targets, Option<HashMap<String, AddedLines>>)> {
    if let Some(path) = &cli.patchset {
        return Ok((read_patchset(path, &layout.root, cli.patchset0)?, None));
    }
    let change = revisions.change.as_ref().filter(|_| revisions.staged.is_none());
    let Some(change) = change else {
        let targets = if revisions.history.is_some() || revisions.staged.is_some() {
            // History alone, or the index: no file of the working tree is scanned.
            Targets::Listed {
                files: Vec::new(),
                missing: Vec::new(),
            }
        } else {
            Targets::Tree
        };
        return Ok((targets, None));
    };
    let mut files = Vec::new();
    let mut missing = Vec::new();
    let mut lines = HashMap::new();
    for (relative, changed) in &change.files {
        let path = layout.root.join(relative);
        if path.is_file() {
            lines.insert(paths::relative_to(&path, &layout.report_root), changed.clone());
            files.push(path);
        } else {
            missing.push(relative.to_string_lossy().into_owned());
        }
    }
    files.sort();
    missing.sort();
    Ok((Targets::Listed { files, missing }, Some(lines)))
}

/// Reads a patchset: one path per line (git's quoting undone) or NUL-separated, relative to the
/// root or absolute inside it. A path that resolves outside the root (through `..`, an absolute
/// path or a symlink) is refused: a patchset comes from the change under review and must not make
/// anteater read other files. An entry that cannot be parsed is an error, not a missing file.
pub fn read_patchset(path: &Path, root: &Path, nul_separated: bool) -> anyhow::Result<Targets> {
    let bytes = std::fs::read(path).with_context(|| format!("reading --patchset {}", path.display()))?;
    let separator = crate::plan::patchset::Separator::detect(&bytes, nul_separated);
    let entries = crate::plan::patchset::parse(&bytes, separator).map_err(|err| {
        anyhow::anyhow!(
            "--patchset {} {} {}: {} (git diff --name-only quotes unusual names; \
             `git diff -z --name-only` with --patchset0 avoids quoting altogether)",
            path.display(),
            match separator {
                crate::plan::patchset::Separator::Lines => "line",
                crate::plan::patchset::Separator::Nul => "entry",
            },
            err.number,
            err.reason
        )
    })?;
    let mut files = Vec::new();
    let mut missing = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in entries {
        let written = String::from_utf8_lossy(&entry.name).into_owned();
        let shown = crate::redact::escape(&written);
        let name = paths::os_path(entry.name).with_context(|| {
            format!(
                "--patchset {} entry {}: `{shown}` is not a valid path here",
                path.display(),
                entry.number
            )
        })?;
        let candidate = if name.is_absolute() { name } else { root.join(name) };
        let resolved = paths::resolve(&candidate, root);
        if !resolved.starts_with(root) {
            bail!(
                "--patchset {} line {}: `{shown}` resolves outside the scanned root {}; refusing to read it",
                path.display(),
                entry.number,
                root.display()
            );
        }
        if !resolved.exists() {
            missing.push(written);
        } else if seen.insert(resolved.clone()) {
            files.push(resolved);
        }
    }
    Ok(Targets::Listed { files, missing })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patchset_paths_must_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/a.rs"), "x").unwrap();
        let root = root.canonicalize().unwrap();
        let list = dir.path().join("patch");

        std::fs::write(
            &list,
            format!("src/a.rs\n{}/src/a.rs\nsrc/gone.rs\n\n", root.display()),
        )
        .unwrap();
        match read_patchset(&list, &root, false).unwrap() {
            Targets::Listed { files, missing } => {
                assert_eq!(files, vec![root.join("src/a.rs")]);
                assert_eq!(missing, vec!["src/gone.rs"]);
            }
            Targets::Tree => unreachable!(),
        }

        for escape in ["../outside.txt", "src/../../outside.txt", "/etc/passwd"] {
            std::fs::write(&list, format!("{escape}\n")).unwrap();
            let err = read_patchset(&list, &root, false).unwrap_err();
            assert!(
                format!("{err:#}").contains("outside the scanned root"),
                "{escape}: {err:#}"
            );
        }

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
            std::fs::write(&list, "link/passwd\n").unwrap();
            assert!(read_patchset(&list, &root, false).is_err());
        }
    }
}
