//! `--staged`: what the next commit would record, before it is made (a pre-commit hook).
//!
//! The index, not the working tree, is what gets committed: a file staged with a secret and then
//! edited on disk (or partly staged with `git add -p`) must be judged by its staged content. The
//! staged files are written out of the index into a temporary folder laid out like the
//! repository (`git checkout-index --prefix`), and the scan runs there, so every check, report
//! path and exception works exactly as on the working tree. Content findings are limited to the
//! lines the index adds against HEAD, as `--diff` limits them to the lines a change adds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context};

use crate::diff::{self, ChangeSet};

/// The staged files, written out of the index, and what the index changes against HEAD.
pub struct Snapshot {
    /// Keeps the folder alive for as long as the scan needs it; removed on drop.
    _dir: tempfile::TempDir,
    /// The snapshot's counterpart of the repository's top level: reports are relative to it.
    pub top: PathBuf,
    /// The snapshot's counterpart of `--path`.
    pub root: PathBuf,
    /// The repository's own top level, which `top` stands for.
    pub repository: PathBuf,
}

impl Snapshot {
    /// The snapshot's counterpart of `path`, a path of the repository; `None` outside it.
    pub fn counterpart(&self, path: &Path) -> Option<PathBuf> {
        path.strip_prefix(&self.repository)
            .ok()
            .map(|relative| self.top.join(relative))
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("root", &self.root)
            .field("top", &self.top)
            .field("repository", &self.repository)
            .finish()
    }
}

/// Writes the files the index adds or changes under `root` (a folder of a git work tree) into a
/// fresh temporary folder; returns it with the staged change (paths relative to `root`,
/// compared with HEAD).
pub fn snapshot(root: &Path) -> anyhow::Result<(Snapshot, ChangeSet)> {
    let top = crate::git::top_level(root).with_context(|| {
        format!(
            "--staged needs a git repository, and {} is not in one",
            root.display()
        )
    })?;
    let below_top = root
        .strip_prefix(&top)
        .with_context(|| format!("--staged: {} is outside its repository", root.display()))?
        .to_path_buf();
    let change = diff::staged_changes(root)?;

    let dir = tempfile::Builder::new()
        .prefix("anteater-staged-")
        .tempdir()
        .context("--staged: creating a folder for the staged files")?;
    let snapshot_top = dir.path().to_path_buf();
    // checkout-index takes paths relative to the top level, NUL-separated so that any name
    // survives.
    let mut names = Vec::new();
    for relative in change.files.keys() {
        names.extend_from_slice(&crate::paths::os_bytes(&below_top.join(relative)));
        names.push(0);
    }
    if !names.is_empty() {
        check_out_from_index(&top, &snapshot_top, &names)?;
    }
    let snapshot = Snapshot {
        root: snapshot_top.join(&below_top),
        top: snapshot_top,
        repository: top,
        _dir: dir,
    };
    Ok((snapshot, change))
}

/// `git checkout-index --prefix=<into>/ -z --stdin`: the index's version of each named file.
fn check_out_from_index(top: &Path, into: &Path, names: &[u8]) -> anyhow::Result<()> {
    let mut prefix = into.as_os_str().to_owned();
    prefix.push("/");
    let mut child = crate::git::git_command(top)
        .args(["-c", "core.symlinks=true"])
        .arg("checkout-index")
        .arg({
            let mut arg = std::ffi::OsString::from("--prefix=");
            arg.push(&prefix);
            arg
        })
        .args(["-z", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running git (is it installed?)")?;
    child
        .stdin
        .take()
        .context("git checkout-index: no standard input")?
        .write_all(names)
        .context("git checkout-index: writing the file names")?;
    let output = child
        .wait_with_output()
        .context("git checkout-index: waiting for it")?;
    if !output.status.success() {
        bail!(
            "--staged: git checkout-index failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
