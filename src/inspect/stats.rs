//! Counts and problems of a run, gathered per walker thread and merged at the end. Only counts
//! and the (few) problem paths are kept per file, so memory does not grow with the tree.

use std::time::Duration;

use crate::inspect::{FileOutcome, FileReport};

/// Counts and problems of a run, for summaries.
#[derive(Debug, Default, Clone)]
pub struct ScanStats {
    pub text_files: usize,
    pub binary_files: usize,
    /// Text files whose suffix is in `file_ignore`.
    pub contents_ignored: usize,
    /// Files over the size cap (path, size).
    pub too_large: Vec<(String, u64)>,
    /// Files or directories that could not be read (path, reason).
    pub unreadable: Vec<(String, String)>,
    /// Findings waived by inline `anteater:ignore` markers.
    pub suppressed: usize,
    /// Archives in formats anteater recognises but cannot open (path, format): their bytes were
    /// searched as a binary's, their members were not.
    pub not_opened: Vec<(String, String)>,
    /// Patchset entries that do not exist.
    pub missing: Vec<String>,
    /// anteater's own configuration under the scan root, never scanned (folders end in `/`).
    pub skipped_as_own: Vec<String>,
    pub elapsed: Duration,
    /// Untracked paths git ignores, not scanned (report paths; folders end in `/`).
    pub git_ignored: Vec<String>,
    /// Findings waived by a fingerprint in .gitleaksignore.
    pub gitleaks_ignored: usize,
    /// History mode: commits whose additions were scanned.
    pub commits: Option<usize>,
    /// History mode: the file versions those commits wrote that were inspected.
    pub versions: usize,
}

impl ScanStats {
    /// Counts one inspected file (its findings are kept elsewhere).
    pub fn record(&mut self, file: FileReport) {
        self.suppressed += file.suppressed;
        self.not_opened.extend(
            file.not_opened
                .into_iter()
                .map(|(path, format)| (path, format.to_string())),
        );
        match file.outcome {
            FileOutcome::Text => self.text_files += 1,
            FileOutcome::Binary => self.binary_files += 1,
            FileOutcome::ContentsIgnored => self.contents_ignored += 1,
            FileOutcome::TooLarge(size) => self.too_large.push((file.path, size)),
            FileOutcome::Unreadable(reason) => self.unreadable.push((file.path, reason)),
        }
    }

    /// Adds another thread's counts.
    pub fn merge(&mut self, other: ScanStats) {
        self.text_files += other.text_files;
        self.suppressed += other.suppressed;
        self.binary_files += other.binary_files;
        self.contents_ignored += other.contents_ignored;
        self.too_large.extend(other.too_large);
        self.unreadable.extend(other.unreadable);
        self.not_opened.extend(other.not_opened);
        self.missing.extend(other.missing);
    }

    /// Sorts the problem lists: threads finish in any order, reports must not depend on it.
    pub fn sort(&mut self) {
        self.too_large.sort();
        self.unreadable.sort();
        self.not_opened.sort();
        self.not_opened.dedup();
        self.missing.sort();
    }

    pub fn files_looked_at(&self) -> usize {
        self.text_files
            + self.binary_files
            + self.contents_ignored
            + self.too_large.len()
            + self.unreadable.len()
    }
}
