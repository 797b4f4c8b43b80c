//! Reporters: one module per output format, all fed the same finished `ScanReport`. The exit
//! code never depends on which reporters ran.

pub mod console;
pub mod github;
pub mod github_output;
pub mod gitlab;
pub mod html;
pub mod json;
pub mod junit;
pub mod sarif;
pub mod sarif_limits;
pub mod stdout_target;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cli::Cli;
use crate::decide::outcome::FailOn;
use crate::decide::outcome::Outcome;
use crate::enrich::virustotal::lookup::Summary;
use crate::finding::{Finding, Level};
pub use crate::inspect::stats::ScanStats;
use crate::rules::{RuleMeta, RuleSet};

/// Everything a reporter may show about a finished run.
pub struct ScanReport<'a> {
    pub rules: &'a RuleSet,
    /// Sorted by path, line, column and rule.
    pub findings: &'a [Finding],
    pub stats: &'a ScanStats,
    pub report_root: &'a Path,
    /// What SARIF URIs are relative to: the git work tree, else the scanned folder.
    pub sarif_root: &'a Path,
    pub fail_on: FailOn,
    pub outcome: Outcome,
    pub report_url: Option<&'a str>,
    /// Where the SARIF log was written, if it was.
    pub sarif_path: Option<&'a Path>,
    /// VirusTotal lookups, when they ran.
    pub virustotal: Option<&'a Summary>,
    /// Findings waived by an inline `anteater:ignore` comment.
    pub suppressed: usize,
    /// What --baseline accepted, when one was given.
    pub baseline: Option<&'a BaselineSummary>,
    /// Findings the SARIF log left out to stay within GitHub's limits.
    pub sarif_dropped: Option<sarif_limits::Dropped>,
}

/// What a baseline did to a run.
#[derive(Debug, Clone, Default)]
pub struct BaselineSummary {
    /// Findings the baseline accepted (not reported).
    pub accepted: usize,
    /// Entries that matched no finding: fixed, or moved; they can be removed from the baseline.
    pub stale: Vec<crate::decide::baseline::Entry>,
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

pub use crate::cli::Format;

/// The output options of the command line, taken before `Config::build` consumes it.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    pub format: Format,
    pub gitlab_codequality: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub html: Option<PathBuf>,
}

impl OutputOptions {
    pub fn from_cli(cli: &Cli) -> Self {
        Self {
            format: cli.format,
            gitlab_codequality: cli.gitlab_codequality.clone(),
            junit: cli.junit.clone(),
            html: cli.html.clone(),
        }
    }

    /// Adds the report files to the paths the walk skips, as `Config` does for the SARIF log: a
    /// report written into the tree holds matched text, and the next run would flag it. A report
    /// path git tracks is scanned all the same (see `config::exclude_own_output`).
    pub fn exclude_from_scan(&self, excluded: &mut BTreeSet<PathBuf>) {
        let Ok(cwd) = std::env::current_dir() else {
            return;
        };
        for path in self
            .gitlab_codequality
            .iter()
            .chain(&self.junit)
            .chain(&self.html)
        {
            crate::config::exclude_own_output(excluded, path, &cwd);
        }
    }
}

/// The fingerprint of every finding, in order: rule, path, a hash of what matched and how many
/// identical earlier matches the file has, so that two equal secrets in one file stay two
/// entries whatever their lines. Every format that deduplicates (SARIF, GitLab, JSON consumers)
/// uses these, so one finding has one identity everywhere.
pub fn fingerprints(report: &ScanReport<'_>) -> Vec<String> {
    crate::finding::fingerprints(report.findings, report.rules)
}

/// The findings, most severe first; equal levels keep the report's path order.
pub fn by_severity<'a>(report: &ScanReport<'a>) -> Vec<&'a Finding> {
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by_key(|finding| std::cmp::Reverse(finding.level));
    findings
}

/// What to call a rule next to its id: its name, or its description when the name is only the
/// id again (rules from an original-format flag list).
pub fn rule_label(rule: &RuleMeta) -> &str {
    let name = rule.name.trim();
    if name.eq_ignore_ascii_case(&rule.id) {
        rule.description.trim()
    } else {
        name
    }
}

/// The outcome as machine-readable formats name it.
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::ScanFailed => "scan_incomplete",
    }
}

pub fn fail_on_name(fail_on: FailOn) -> &'static str {
    match fail_on {
        FailOn::Error => "error",
        FailOn::Warning => "warning",
        FailOn::Note => "note",
        FailOn::Never => "never",
    }
}

/// Whether a finding of this level makes the run fail under `fail_on`.
pub fn fails_gate(level: Level, fail_on: FailOn) -> bool {
    match fail_on {
        FailOn::Error => level >= Level::Error,
        FailOn::Warning => level >= Level::Warning,
        FailOn::Note => true,
        FailOn::Never => false,
    }
}

/// A small report over a fixed rule set, for the reporters' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;

    use super::*;
    use crate::rules::{Precision, RuleKind, RuleMeta, Severity};

    pub fn rules() -> RuleSet {
        let rule = |id: &str, severity| RuleMeta {
            id: id.into(),
            name: format!("Rule {id}"),
            description: format!("Description of {id}"),
            remediation: None,
            severity,
            redact: false,
            kind: RuleKind::Content,
            pattern: Some(id.into()),
            origin: "test".into(),
            precision: Precision::High,
            filter: None,
            demote_in_tests: false,
        };
        RuleSet::compile(vec![
            rule("crit", Severity::Critical),
            rule("high", Severity::High),
            rule("medium", Severity::Medium),
            rule("low", Severity::Low),
        ])
        .unwrap()
    }

    pub fn finding(rules: &RuleSet, id: &str, path: &str, line: u32, evidence: &str) -> Finding {
        let rule = rules.index_of(id).unwrap();
        Finding {
            rule,
            level: rules.rule(rule).severity.level(),
            path: path.into(),
            line,
            columns: Some((3, 3 + evidence.len() as u32)),
            evidence: evidence.into(),
            match_hash: crate::finding::sha256_hex(evidence.as_bytes()),
            detail: None,
            introduced: None,
            secret: None,
            validation: None,
        }
    }

    pub fn report<'a>(rules: &'a RuleSet, findings: &'a [Finding], stats: &'a ScanStats) -> ScanReport<'a> {
        let outcome = Outcome::decide(findings.iter().map(|f| f.level), FailOn::Error, false);
        ScanReport {
            rules,
            findings,
            stats,
            report_root: Path::new("/repo"),
            sarif_root: Path::new("/repo"),
            fail_on: FailOn::Error,
            outcome,
            report_url: None,
            sarif_path: Some(Path::new("anteater.sarif")),
            virustotal: None,
            suppressed: 0,
            baseline: None,
            sarif_dropped: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn equal_matches_in_one_file_get_distinct_fingerprints() {
        let rules = rules();
        let findings = [
            finding(&rules, "high", "a.txt", 1, "same"),
            finding(&rules, "high", "a.txt", 9, "same"),
            finding(&rules, "high", "b.txt", 1, "same"),
        ];
        let stats = ScanStats::default();
        let prints = fingerprints(&report(&rules, &findings, &stats));
        let unique: BTreeSet<_> = prints.iter().collect();
        assert_eq!(unique.len(), 3);
        // Occurrence 0 does not depend on the line: moving the secret keeps its identity.
        let moved = [finding(&rules, "high", "a.txt", 40, "same")];
        assert_eq!(fingerprints(&report(&rules, &moved, &stats))[0], prints[0]);
    }

    #[test]
    fn severity_order_is_stable() {
        let rules = rules();
        let findings = [
            finding(&rules, "low", "a", 1, "x"),
            finding(&rules, "high", "b", 1, "x"),
            finding(&rules, "medium", "c", 1, "x"),
            finding(&rules, "crit", "d", 1, "x"),
        ];
        let stats = ScanStats::default();
        let report = report(&rules, &findings, &stats);
        let order: Vec<&str> = by_severity(&report).iter().map(|f| f.path.as_str()).collect();
        assert_eq!(order, ["b", "d", "c", "a"]);
    }
}
