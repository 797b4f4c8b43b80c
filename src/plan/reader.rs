//! Reading anteater's configuration files at the revision the plan names: a change is judged by
//! the configuration its base had, so it can neither waive its own findings nor drop the rule
//! its secret would break.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Revisions;
use crate::cli::{Cli, ExceptionsFrom};
use crate::git::diff;
use crate::legacy::conf::LegacyConf;
use crate::legacy::lists::{ExceptionFile, FlagList};
use crate::paths;
use crate::rules::RuleMeta;

/// Reads anteater's configuration files as the revision under review had them before the change
/// (`--exceptions-from base`, the default), so that a change cannot waive its own findings or
/// point the folder anteater skips at the code it adds; files outside the repository (a shared
/// lists directory) are read as they are.
pub struct ConfigReader<'a> {
    cwd: &'a Path,
    /// The repository's top level, when a revision matters.
    repository: Option<PathBuf>,
    revision: Option<String>,
}

impl<'a> ConfigReader<'a> {
    pub fn new(cli: &Cli, revisions: &Revisions, root: &Path, cwd: &'a Path) -> anyhow::Result<Self> {
        let repository = if revisions.in_git() {
            Some(crate::git::top_level(root)?)
        } else {
            None
        };
        let revision = revisions
            .change
            .as_ref()
            .map(|change| change.base.clone())
            .or_else(|| revisions.history_range.as_ref().map(|(from, _)| from.clone()))
            .filter(|_| cli.exceptions_from == ExceptionsFrom::Base);
        Ok(ConfigReader {
            cwd,
            repository,
            revision,
        })
    }

    pub fn in_repository(&self, path: &Path) -> bool {
        self.repository
            .as_ref()
            .is_some_and(|top| paths::resolve(path, self.cwd).starts_with(top))
    }

    /// The revision `path` is read at, if any.
    pub fn revision_for(&self, path: &Path) -> Option<&str> {
        self.revision.as_deref().filter(|_| self.in_repository(path))
    }

    /// anteater.conf: it decides which folder is skipped as anteater's own and which lists
    /// apply.
    pub fn conf(&self, cli: &Cli, root: &Path) -> anyhow::Result<Option<LegacyConf>> {
        let conf_path = match &cli.config {
            Some(path) => path.clone(),
            None => self.discover_conf(root)?,
        };
        let Some(revision) = self.revision_for(&conf_path) else {
            return if cli.config.is_some() || conf_path.is_file() {
                LegacyConf::load(&conf_path).map(Some)
            } else {
                Ok(None)
            };
        };
        match diff::file_at(&conf_path, revision)? {
            Some(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    anyhow::anyhow!(
                        "config {} (at the base revision): not valid UTF-8",
                        conf_path.display()
                    )
                })?;
                LegacyConf::parse(&text, &conf_path).map(Some)
            }
            // Not there before the change: the change does not configure itself (its conf is
            // still watched, and reported as a change).
            None if conf_path.is_file() => Ok(Some(LegacyConf {
                path: conf_path.clone(),
                ..LegacyConf::default()
            })),
            // An explicit --config that exists nowhere is an error, as in every mode.
            None if cli.config.is_some() => LegacyConf::load(&conf_path).map(Some),
            None => Ok(None),
        }
    }

    /// The first anteater.conf of the scanned folder and the current one that exists: at the
    /// revision configuration is read at, for a conf in the repository under review (a change
    /// can neither drop the conf that judges it nor put a new one in its place), else in the
    /// file system. The last candidate when none does.
    pub fn discover_conf(&self, root: &Path) -> anyhow::Result<PathBuf> {
        let candidates = crate::plan::scan_paths::conf_candidates(root, self.cwd);
        for candidate in &candidates {
            let exists = match self.revision_for(candidate) {
                Some(revision) => diff::file_at(candidate, revision)?.is_some(),
                None => candidate.is_file(),
            };
            if exists {
                return Ok(candidate.clone());
            }
        }
        Ok(candidates.last().cloned().unwrap_or_default())
    }

    /// The rules of --gitleaks-config, else of the scanned folder's .gitleaks.toml when it
    /// exists; read at the base like the flag list (one the base did not have only adds rules).
    pub fn gitleaks_rules(&self, cli: &Cli, root: &Path) -> anyhow::Result<Option<(Vec<RuleMeta>, PathBuf)>> {
        let path = match &cli.gitleaks_config {
            Some(path) => path.clone(),
            None => {
                let discovered = root.join(crate::legacy::gitleaks::DISCOVERED_NAME);
                if !discovered.is_file() {
                    return Ok(None);
                }
                discovered
            }
        };
        let at_base = match self.revision_for(&path) {
            Some(revision) => diff::file_at(&path, revision)?,
            None => None,
        };
        let bytes = match at_base {
            Some(bytes) => bytes,
            None => {
                std::fs::read(&path).with_context(|| format!("reading gitleaks config {}", path.display()))?
            }
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("gitleaks config {}: not valid UTF-8", path.display()))?;
        Ok(Some((crate::legacy::gitleaks::rules(&text, &path)?, path)))
    }

    /// The scanned folder's .gitleaksignore: a waiver like the exception files, so one the base
    /// did not have waives nothing.
    pub fn gitleaks_ignore(
        &self,
        root: &Path,
    ) -> anyhow::Result<Option<crate::legacy::gitleaks::IgnoreList>> {
        let path = root.join(crate::legacy::gitleaks::IGNORE_NAME);
        let bytes = match self.revision_for(&path) {
            Some(revision) => diff::file_at(&path, revision)?,
            None if path.is_file() => {
                Some(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?)
            }
            None => None,
        };
        bytes
            .map(|bytes| crate::legacy::gitleaks::IgnoreList::parse(&String::from_utf8_lossy(&bytes), &path))
            .transpose()
    }

    /// The --baseline file: a waiver like the exception files, so a change cannot accept its own
    /// findings by adding them to it; one the base did not have accepts nothing.
    pub fn baseline(&self, path: &Path) -> anyhow::Result<crate::decide::baseline::Baseline> {
        match self.revision_for(path) {
            Some(revision) => match diff::file_at(path, revision)? {
                Some(bytes) => crate::decide::baseline::parse(&bytes, path),
                None => Ok(crate::decide::baseline::Baseline::default()),
            },
            None => crate::decide::baseline::load(path),
        }
    }

    /// The flag list; one the base did not have is read as the change has it (it only adds
    /// rules: which list applies is anteater.conf's or the command line's to say).
    pub fn flag_list(&self, path: &Path) -> anyhow::Result<FlagList> {
        match self.revision_for(path) {
            Some(revision) => match diff::file_at(path, revision)? {
                Some(bytes) => FlagList::parse_bytes(&bytes, path),
                None => FlagList::load(path),
            },
            None => FlagList::load(path),
        }
    }

    /// An exception file (ignore list, project file); one the base did not have waives nothing.
    pub fn exceptions(&self, path: &Path, what: &str) -> anyhow::Result<ExceptionFile> {
        match self.revision_for(path) {
            Some(revision) => match diff::file_at(path, revision)? {
                Some(bytes) => {
                    ExceptionFile::parse_bytes(&bytes, path, &format!("{what} (at the base revision)"))
                }
                None => Ok(ExceptionFile::default()),
            },
            None => ExceptionFile::load(path, what),
        }
    }
}
