//! Walks the scan targets in parallel with the `ignore` crate's walker and inspects each file on
//! the walker's threads. `.git`, ignored directories, the lists and anteater's own outputs are
//! never entered; symbolic links are not followed unless asked.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};

use super::Targets;
use crate::finding::Finding;
use crate::fragment::{Content, Fragment, ALL_LINES, NO_LINES};
use crate::git::diff::AddedLines;
use crate::inspect::exceptions::Exceptions;
use crate::inspect::indicators::UploadSource;
use crate::inspect::stats::ScanStats;
use crate::inspect::{IndicatorHit, Inspector, Settings};
use crate::paths;

/// What a walk needs to know: which files, under which root, what to leave out, and which lines
/// are new. Built by configuration (`Config::walk_plan`); the walk sees nothing else of it.
pub struct WalkPlan<'a> {
    pub targets: &'a Targets,
    pub root: &'a Path,
    /// Finding paths are relative to this folder.
    pub report_root: &'a Path,
    /// Files and folders never scanned: anteater's own configuration and reports, git-ignored
    /// build output.
    pub excluded: &'a BTreeSet<PathBuf>,
    pub exceptions: &'a Exceptions,
    /// --diff: the lines the change adds, by report path; `None` means every line is new.
    pub changed_lines: Option<&'a HashMap<String, AddedLines>>,
    pub follow_symlinks: bool,
    pub threads: usize,
    pub inspect: Settings<'a>,
}

impl WalkPlan<'_> {
    /// Whether `path` is, or lies in, an excluded file or folder.
    pub fn is_excluded(&self, path: &Path) -> bool {
        path.ancestors()
            .take_while(|dir| dir.starts_with(self.root))
            .any(|dir| self.excluded.contains(dir))
    }
}

/// Everything the walk produced.
#[derive(Debug, Default)]
pub struct WalkResults {
    pub findings: Vec<Finding>,
    /// Indicators for VirusTotal, with the report path of the file they are in.
    pub indicators: Vec<(String, IndicatorHit)>,
    /// Binaries VirusTotal may need uploaded, by sha256.
    pub uploads: HashMap<String, UploadSource>,
    /// Counts, plus files and directories that were skipped or could not be read.
    pub stats: ScanStats,
}

pub fn walk(plan: &WalkPlan) -> WalkResults {
    let inspector = Inspector::new(plan.inspect);
    let mut builder = match plan.targets {
        Targets::Tree => WalkBuilder::new(plan.root),
        Targets::Listed { files, .. } => {
            let Some((first, rest)) = files.split_first() else {
                return WalkResults::default();
            };
            let mut builder = WalkBuilder::new(first);
            for file in rest {
                builder.add(file);
            }
            builder
        }
    };
    // A security scan looks at everything: hidden files (.env, .npmrc) and git-ignored files too.
    builder
        .standard_filters(false)
        .follow_links(plan.follow_symlinks)
        .threads(plan.threads)
        .skip_stdout(true);
    let filter = FilterContext::new(plan);
    builder.filter_entry(move |entry| filter.keep(entry));

    let shared = Mutex::new(WalkResults::default());
    let mut visitors = VisitorBuilder {
        plan,
        inspector: &inspector,
        shared: &shared,
    };
    builder.build_parallel().visit(&mut visitors);
    let mut results = shared
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Threads finish in any order; reports must not depend on it.
    results.stats.sort();
    results
}

/// What `filter_entry` needs, owned so the walker can keep it.
struct FilterContext {
    root: PathBuf,
    excluded: BTreeSet<PathBuf>,
}

impl FilterContext {
    fn new(plan: &WalkPlan) -> Self {
        Self {
            root: plan.root.to_path_buf(),
            excluded: plan.excluded.clone(),
        }
    }

    /// Cheap pruning of whole directories; the per-file checks happen in the visitor.
    fn keep(&self, entry: &DirEntry) -> bool {
        if entry.file_type().is_some_and(|t| t.is_dir()) && entry.file_name() == ".git" {
            return false;
        }
        !self.excluded.contains(entry.path()) || entry.path() == self.root
    }
}

struct VisitorBuilder<'s> {
    plan: &'s WalkPlan<'s>,
    inspector: &'s Inspector<'s>,
    shared: &'s Mutex<WalkResults>,
}

impl<'s> ParallelVisitorBuilder<'s> for VisitorBuilder<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Visitor {
            plan: self.plan,
            inspector: self.inspector,
            shared: self.shared,
            local: WalkResults::default(),
            buffer: Vec::new(),
        })
    }
}

/// One walker thread: collects locally, hands its results over once, when the walk ends.
struct Visitor<'s> {
    plan: &'s WalkPlan<'s>,
    inspector: &'s Inspector<'s>,
    shared: &'s Mutex<WalkResults>,
    local: WalkResults,
    /// File contents, reused from file to file.
    buffer: Vec<u8>,
}

/// A thread keeps its read buffer between files, unless one huge file made it huge.
const KEEP_BUFFER_UP_TO: usize = 16 << 20;

impl ParallelVisitor for Visitor<'_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                if let Some(problem) = walk_problem(&err, self.plan.report_root) {
                    self.local.stats.unreadable.push(problem);
                }
                return WalkState::Continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            return WalkState::Continue;
        };
        let path = entry.path();
        let relative = paths::slash_path(path.strip_prefix(self.plan.root).unwrap_or(path));
        if file_type.is_dir() {
            if !relative.is_empty() && self.plan.exceptions.ignores_path(&format!("{relative}/")) {
                return WalkState::Skip;
            }
            return WalkState::Continue;
        }
        // An unfollowed symbolic link is never read through (it may point outside the tree), but
        // its own text is what git stores for it, and is searched as git modes search it: a
        // secret can be a link's target.
        let link = file_type.is_symlink();
        if !(file_type.is_file() || link) || self.plan.exceptions.ignores_path(&relative) {
            return WalkState::Continue;
        }
        if self.plan.excluded.contains(path) || in_excluded_dir(path, self.plan) {
            return WalkState::Continue;
        }
        if leaves_the_tree(path, self.plan) {
            return WalkState::Continue;
        }
        let report_path = paths::relative_to(path, self.plan.report_root);
        // A --diff change names the lines it added; anything else is new in every line.
        let added = match self.plan.changed_lines {
            None => &ALL_LINES,
            Some(lines) => lines.get(&report_path).unwrap_or(&NO_LINES),
        };
        let target;
        let content = if link {
            target = match link_text(path) {
                Ok(target) => target,
                Err(err) => {
                    self.local.stats.unreadable.push((report_path, err.to_string()));
                    return WalkState::Continue;
                }
            };
            Content::Bytes(&target)
        } else {
            Content::File { path, upload: true }
        };
        let fragment = Fragment {
            scan_path: &relative,
            report_path,
            content,
            added,
            name_is_new: true,
        };
        let mut report = self.inspector.inspect(&fragment, &mut self.buffer);
        // The size the inspector opened: no second look at the file for the progress line.
        if crate::source::progress::enabled() {
            crate::source::progress::file_done(report.length);
        }
        self.local.findings.append(&mut report.findings);
        let file = &report.path;
        self.local
            .indicators
            .extend(report.indicators.drain(..).map(|hit| (file.clone(), hit)));
        self.local.uploads.extend(report.upload.take());
        self.local.stats.record(report);
        if self.buffer.capacity() > KEEP_BUFFER_UP_TO {
            self.buffer = Vec::new();
        }
        WalkState::Continue
    }
}

impl Drop for Visitor<'_> {
    fn drop(&mut self) {
        let local = std::mem::take(&mut self.local);
        let mut shared = self
            .shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        shared.findings.extend(local.findings);
        shared.indicators.extend(local.indicators);
        shared.uploads.extend(local.uploads);
        shared.stats.merge(local.stats);
    }
}

/// What git stores for a symbolic link: the path it points to, as written.
fn link_text(path: &Path) -> std::io::Result<Vec<u8>> {
    let target = std::fs::read_link(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(target.as_os_str().as_bytes().to_vec())
    }
    #[cfg(not(unix))]
    {
        Ok(target.to_string_lossy().replace('\\', "/").into_bytes())
    }
}

/// Listed files (patchsets) do not pass through `filter_entry`'s directory pruning.
fn in_excluded_dir(path: &Path, plan: &WalkPlan) -> bool {
    matches!(plan.targets, Targets::Listed { .. })
        && (plan.is_excluded(path)
            || path
                .ancestors()
                .skip(1)
                .take_while(|dir| dir.starts_with(plan.root))
                .any(|dir| dir.file_name().is_some_and(|n| n == ".git")))
}

/// A listed file (`--diff`, patchsets) reached through a symbolic link, when links
/// are not followed: the repository provides its links, and a link may point anywhere (a
/// runner's credentials). Listed files are opened by name, so the walker's own rule (links are
/// not followed unless `--follow-symlinks` asks) is checked here, for the file and each folder
/// between it and the root.
fn leaves_the_tree(path: &Path, plan: &WalkPlan) -> bool {
    if plan.follow_symlinks || !matches!(plan.targets, Targets::Listed { .. }) {
        return false;
    }
    path.ancestors()
        .take_while(|dir| dir.starts_with(plan.root) && *dir != plan.root)
        .any(|dir| std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()))
}

/// A walk error worth reporting. Symlink loops and dangling links (only seen when following
/// links) are not errors: there is nothing to scan there.
fn walk_problem(err: &ignore::Error, report_root: &Path) -> Option<(String, String)> {
    match err {
        ignore::Error::Loop { .. } => None,
        ignore::Error::WithPath { path, err } => {
            let inner = walk_problem(err, report_root)?;
            Some((paths::relative_to(path, report_root), inner.1))
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_problem(err, report_root)
        }
        ignore::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => None,
        other => Some((String::new(), other.to_string())),
    }
}
