//! Reporters: one module per output format, all fed the same finished `ScanReport`. The exit
//! code never depends on which reporters ran.

pub mod console;
pub mod github_output;
pub mod sarif;

use std::path::Path;

use crate::cli::FailOn;
use crate::finding::{Finding, Level};
use crate::outcome::Outcome;
use crate::rules::RuleSet;
pub use crate::stats::ScanStats;
use crate::virustotal::lookup::Summary;

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
    /// VirusTotal lookups, when they ran.
    pub virustotal: Option<&'a Summary>,
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
