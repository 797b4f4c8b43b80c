//! Reporters: one module per output format, all fed the same finished `ScanReport`. The exit
//! code never depends on which reporters ran.

pub mod console;
pub mod sarif;

use std::path::Path;
use std::time::Duration;

use crate::cli::FailOn;
use crate::finding::{Finding, Level};
use crate::outcome::Outcome;
use crate::rules::RuleSet;

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
    /// Patchset entries that do not exist.
    pub missing: Vec<String>,
    pub elapsed: Duration,
}

impl ScanStats {
    pub fn files_looked_at(&self) -> usize {
        self.text_files
            + self.binary_files
            + self.contents_ignored
            + self.too_large.len()
            + self.unreadable.len()
    }
}

/// Everything a reporter may show about a finished run.
pub struct ScanReport<'a> {
    pub rules: &'a RuleSet,
    /// Sorted by path, line, column and rule.
    pub findings: &'a [Finding],
    pub stats: &'a ScanStats,
    pub report_root: &'a Path,
    pub fail_on: FailOn,
    pub outcome: Outcome,
    pub report_url: Option<&'a str>,
    /// Where the SARIF log was written, if it was.
    pub sarif_path: Option<&'a Path>,
}

impl ScanReport<'_> {
    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }
}

/// An output format.
pub trait Reporter {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()>;
}
