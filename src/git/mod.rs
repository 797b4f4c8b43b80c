//! Running git: every git process anteater starts is made here, so that none depends on the
//! user's git configuration.
//!
//! This runs the `git` binary rather than linking a git library: CI checkouts are made by git
//! itself (shallow clones, alternates, sparse checkouts, safe.directory rules, new index
//! formats), and the user's own git reads them exactly as the checkout made them; a library
//! would add a C dependency or a large crate to parse two plumbing outputs.

pub mod blobs;
pub mod diff;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use anyhow::{bail, Context};

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

/// A git process whose output is read as it comes (`git log` over a long history).
pub struct Streaming {
    child: Child,
    /// git's messages: a file, not a pipe, since nobody reads them until git ends, and a full
    /// pipe would stall it.
    errors: tempfile::NamedTempFile,
    what: String,
}

/// Starts `command`, handing back its standard output to read; `what` names it in errors.
pub fn stream(mut command: Command, what: &str) -> anyhow::Result<(ChildStdout, Streaming)> {
    let errors = tempfile::NamedTempFile::new().context("creating a file for git's messages")?;
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::from(errors.reopen()?));
    let mut child = command
        .spawn()
        .with_context(|| format!("running {what} (is git installed?)"))?;
    let stdout = child
        .stdout
        .take()
        .with_context(|| format!("{what} has no output"))?;
    let what = what.to_string();
    Ok((stdout, Streaming { child, errors, what }))
}

impl Streaming {
    /// Waits for git to end: an error carrying git's message when it failed.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let status = self
            .child
            .wait()
            .with_context(|| format!("waiting for {}", self.what))?;
        if !status.success() {
            let mut stderr = String::new();
            let _ = self.errors.read_to_string(&mut stderr);
            bail!("{}: {}", self.what, stderr.trim());
        }
        Ok(())
    }
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
