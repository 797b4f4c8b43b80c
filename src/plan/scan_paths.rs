//! Where a run looks: the scan root and, when the user named files or several paths, the paths
//! themselves; and where anteater.conf is found when --config does not say. People type
//! `anteater .`, `anteater repo` or `anteater config.py` (pre-commit passes file names), and run
//! from anywhere: the configuration of the scanned folder must apply, not the current folder's.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::cli::Cli;

/// The name anteater.conf is discovered under.
pub const CONF_NAME: &str = "anteater.conf";

/// What the command line asked to scan.
#[derive(Debug)]
pub struct ScanPaths {
    /// The scan root, canonical: exceptions, --project and the conf are relative to it.
    pub root: PathBuf,
    /// Files and folders to walk instead of the whole root (canonical, none inside another).
    pub listed: Option<Vec<PathBuf>>,
}

/// The positional PATHs, else --path, else `.`. One folder is the root; anything else is listed.
pub fn resolve(cli: &Cli, cwd: &Path) -> anyhow::Result<ScanPaths> {
    let given: Vec<(PathBuf, String)> = match (&cli.path, cli.paths.is_empty()) {
        (Some(_), false) => {
            bail!("give the paths to scan either as PATH arguments or as --path (ANTEATER_PATH), not both")
        }
        (Some(path), true) => vec![(path.clone(), "--path ")],
        (None, true) => vec![(PathBuf::from("."), "--path ")],
        (None, false) => cli.paths.iter().map(|path| (path.clone(), "")).collect(),
    }
    .into_iter()
    .map(|(path, flag)| {
        let shown = format!("{flag}{}", crate::redact::escape(&path.display().to_string()));
        (path, shown)
    })
    .collect();
    let mut canonical = Vec::with_capacity(given.len());
    for (path, shown) in &given {
        if let Some((link, target)) = through_committed_link(path, cwd) {
            bail!(
                "{shown}: {} is a symbolic link the repository commits, and it points outside the \
                 repository (to {}); anteater does not follow links a repository provides: name \
                 the folder itself",
                crate::redact::escape(&link.display().to_string()),
                crate::redact::escape(&target.display().to_string())
            );
        }
        let resolved = path
            .canonicalize()
            .with_context(|| format!("{shown}: cannot open"))?;
        if !resolved.is_dir() && !resolved.is_file() {
            bail!("{shown}: neither a folder nor a regular file");
        }
        canonical.push(resolved);
    }
    if let [only] = canonical.as_slice() {
        if only.is_dir() {
            return Ok(ScanPaths {
                root: only.clone(),
                listed: None,
            });
        }
    }
    if let Some(mode) = whole_folder_mode(cli) {
        bail!(
            "{mode} scans one folder: give it as --path DIR or a single PATH, not {}",
            if canonical.len() == 1 {
                "a file"
            } else {
                "several paths"
            }
        );
    }
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let root = if canonical.iter().all(|path| path.starts_with(&cwd)) {
        cwd
    } else {
        common_folder(&canonical)
    };
    Ok(ScanPaths {
        root,
        listed: Some(outermost(canonical)),
    })
}

/// The committed symbolic link a command-line path passes through that points outside its
/// repository, and where it points. CI scripts name fixed paths (`anteater src`): a change can
/// make `src` a link to a runner's credentials, so such a path is refused, never followed.
fn through_committed_link(path: &Path, cwd: &Path) -> Option<(PathBuf, PathBuf)> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut prefix = PathBuf::new();
    for component in absolute.components() {
        prefix.push(component);
        let is_link = std::fs::symlink_metadata(&prefix).is_ok_and(|meta| meta.file_type().is_symlink());
        if !is_link || !crate::git::is_tracked(&prefix) {
            continue;
        }
        let top = crate::git::top_level(prefix.parent()?)
            .ok()?
            .canonicalize()
            .ok()?;
        let target = prefix.canonicalize().ok()?;
        if !target.starts_with(&top) {
            return Some((prefix, target));
        }
    }
    None
}

/// The mode that needs a whole folder, if one was asked for.
fn whole_folder_mode(cli: &Cli) -> Option<&'static str> {
    if cli.patchset.is_some() {
        Some("--patchset")
    } else if cli.diff.is_some() {
        Some("--diff")
    } else if cli.history {
        Some("--history")
    } else if cli.staged {
        Some("--staged")
    } else {
        None
    }
}

/// The deepest folder holding every path (a file counts by its folder).
fn common_folder(paths: &[PathBuf]) -> PathBuf {
    let folder = |path: &PathBuf| -> PathBuf {
        if path.is_dir() {
            path.clone()
        } else {
            path.parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| path.clone())
        }
    };
    let mut common = folder(&paths[0]);
    for path in &paths[1..] {
        while !path.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

/// The paths without duplicates and without those inside another listed folder: the walker would
/// report their findings twice.
fn outermost(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    paths.dedup();
    let folders: Vec<PathBuf> = paths.iter().filter(|path| path.is_dir()).cloned().collect();
    paths
        .into_iter()
        .filter(|path| {
            !folders
                .iter()
                .any(|folder| folder != path && path.starts_with(folder))
        })
        .collect()
}

/// Where anteater.conf may be, in order: the scanned folder, then the current folder (where the
/// original anteater read it). The current folder's is named relatively, as users wrote it.
pub fn conf_candidates(root: &Path, cwd: &Path) -> Vec<PathBuf> {
    let here = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let mut candidates = Vec::with_capacity(2);
    if root != here {
        candidates.push(root.join(CONF_NAME));
    }
    candidates.push(PathBuf::from(CONF_NAME));
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_folder_climbs_until_every_path_is_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for folder in ["a/b", "a/c", "d"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        std::fs::write(root.join("a/b/f.txt"), "x").unwrap();
        assert_eq!(common_folder(&[root.join("a/b/f.txt")]), root.join("a/b"));
        assert_eq!(
            common_folder(&[root.join("a/b/f.txt"), root.join("a/c")]),
            root.join("a")
        );
        assert_eq!(common_folder(&[root.join("a/b"), root.join("d")]), root);
    }

    #[test]
    fn paths_inside_a_listed_folder_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f.txt"), "x").unwrap();
        std::fs::write(root.join("g.txt"), "x").unwrap();
        let kept = outermost(vec![
            root.join("a/b/f.txt"),
            root.join("g.txt"),
            root.join("a"),
            root.join("g.txt"),
        ]);
        assert_eq!(kept, [root.join("a"), root.join("g.txt")]);
    }

    #[test]
    fn the_scanned_folder_is_asked_before_the_current_one() {
        let candidates = conf_candidates(Path::new("/nowhere/repo"), Path::new("/nowhere/else"));
        assert_eq!(
            candidates,
            [
                PathBuf::from("/nowhere/repo/anteater.conf"),
                PathBuf::from("anteater.conf")
            ]
        );
    }
}
