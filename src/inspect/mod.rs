//! Inspects one file: its name, then its contents (text) or its checksum (binary).

pub mod binary;
pub mod content;
pub mod network;
pub mod suppress;

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::config::Config;
use crate::finding::{sha256_hex, Finding};
use crate::paths;
use crate::redact;
use crate::virustotal::lookup::{Indicator, UploadSource};
use crate::virustotal::verdict::IndicatorKind;

/// What happened to a file's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// Text, scanned with the content rules.
    Text,
    /// Binary: checked against the allowlist when asked to, never scanned as text.
    Binary,
    /// Text whose suffix is in `file_ignore`: name checked, contents not scanned.
    ContentsIgnored,
    /// Larger than `--max-file-size`: name checked, contents not read.
    TooLarge(u64),
    /// Could not be read.
    Unreadable(String),
}

/// The result of inspecting one file.
#[derive(Debug)]
pub struct FileReport {
    /// '/'-separated path relative to the report root.
    pub path: String,
    pub outcome: FileOutcome,
    pub findings: Vec<Finding>,
    /// Indicators to look up on VirusTotal, where they occur in this file.
    pub indicators: Vec<IndicatorHit>,
    /// A binary VirusTotal may need uploaded: (sha256, where it is).
    pub upload: Option<(String, UploadSource)>,
    /// Findings waived by inline `anteater:ignore` markers.
    pub suppressed: usize,
}

/// An indicator found in a file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorHit {
    pub indicator: Indicator,
    pub line: u32,
    /// As in `Finding::columns`.
    pub columns: Option<(u32, u32)>,
}

/// Inspects files with one run's rules and exceptions; shared by all walker threads.
pub struct Inspector<'a> {
    config: &'a Config,
}

impl<'a> Inspector<'a> {
    pub fn new(config: &'a Config) -> Self {
        Self { config }
    }

    /// Inspects the file at `path` (absolute, under the scan root). `buffer` is scratch space
    /// reused across files by the caller: allocating a fresh buffer per file costs page faults
    /// that showed up as most of the scan's system time.
    pub fn inspect(&self, path: &Path, buffer: &mut Vec<u8>) -> FileReport {
        let config = self.config;
        let scan_relative = paths::slash_path(path.strip_prefix(&config.root).unwrap_or(path));
        let report_path = paths::relative_to(path, &config.report_root);
        let in_tests = config
            .test_paths
            .as_ref()
            .is_some_and(|test_paths| test_paths.contains(&scan_relative));
        let (findings, look_inside) = self.file_name_findings(&scan_relative, &report_path, in_tests);
        let mut report = FileReport {
            findings,
            path: report_path,
            outcome: FileOutcome::Text,
            indicators: Vec::new(),
            upload: None,
            suppressed: 0,
        };
        buffer.clear();
        report.outcome = match self.inspect_contents(path, &scan_relative, buffer, &mut report, in_tests) {
            Ok(outcome) => outcome,
            Err(err) => FileOutcome::Unreadable(err.to_string()),
        };
        self.look_inside(look_inside, buffer, &mut report, in_tests);
        report
    }

    /// The level of a finding of `rule`: its severity's, one lower in test paths if it opts in.
    fn level(&self, rule: usize, in_tests: bool) -> crate::finding::Level {
        let rule = self.config.rules.rule(rule);
        let level = rule.severity.level();
        if in_tests && rule.demote_in_tests {
            crate::test_paths::demote(level)
        } else {
            level
        }
    }

    /// Findings of the file-name rules that decide on the name alone, and the matches of those
    /// that must look inside the file first (see `look_inside`).
    fn file_name_findings(
        &self,
        scan_relative: &str,
        report_path: &str,
        in_tests: bool,
    ) -> (Vec<Finding>, Vec<(usize, String)>) {
        let rules = &self.config.rules;
        let mut findings = Vec::new();
        let mut look_inside = Vec::new();
        for (rule, found) in rules.file_name_matches(scan_relative) {
            if self.config.exceptions.waives_file_name(scan_relative) {
                break;
            }
            if rules
                .rule(rule)
                .filter
                .as_ref()
                .is_some_and(|f| f.inside.is_some())
            {
                look_inside.push((rule, found.to_string()));
                continue;
            }
            findings.push(self.name_finding(rule, report_path, found, 1, in_tests));
        }
        (findings, look_inside)
    }

    fn name_finding(
        &self,
        rule: usize,
        report_path: &str,
        found: &str,
        line: u32,
        in_tests: bool,
    ) -> Finding {
        Finding {
            rule,
            level: self.level(rule, in_tests),
            path: report_path.to_string(),
            line,
            columns: None,
            evidence: redact::escape(found),
            match_hash: sha256_hex(found.as_bytes()),
            detail: None,
        }
    }

    /// File-name rules that look inside (`inside:`): a credential file's name is reported only
    /// when its content holds a secret, at the line that holds it, and never next to a content
    /// finding on that line (one secret, one finding). When the content could not be read as
    /// text (binary, too large), the name is all there is, and it is reported.
    fn look_inside(
        &self,
        matches: Vec<(usize, String)>,
        buffer: &[u8],
        report: &mut FileReport,
        in_tests: bool,
    ) {
        use crate::rules::filter::{tfstate_has_sensitive_value, Inside};
        let rules = &self.config.rules;
        let content_lines: Vec<u32> = report
            .findings
            .iter()
            .filter(|f| rules.rule(f.rule).kind == crate::rules::RuleKind::Content)
            .map(|f| f.line)
            .collect();
        for (rule, found) in matches {
            let Some(filter) = rules.rule(rule).filter.clone() else {
                continue;
            };
            let line = if report.outcome != FileOutcome::Text {
                Some(1)
            } else {
                match filter.inside {
                    Some(Inside::Secret) | None => None,
                    Some(Inside::TfstateSensitive) => tfstate_has_sensitive_value(buffer).then_some(1),
                    Some(Inside::Pattern) => filter.inside_pattern.as_ref().and_then(|pattern| {
                        let mut counter = content::LineCounter::default();
                        pattern
                            .find_iter(buffer)
                            .map(|m| counter.line_of(buffer, m.start()))
                            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
                            .find(|n| !content_lines.contains(n))
                    }),
                }
            };
            if let Some(line) = line {
                let finding = self.name_finding(rule, &report.path, &found, line, in_tests);
                report.findings.push(finding);
            }
        }
    }

    fn inspect_contents(
        &self,
        path: &Path,
        scan_relative: &str,
        buffer: &mut Vec<u8>,
        report: &mut FileReport,
        in_tests: bool,
    ) -> std::io::Result<FileOutcome> {
        let config = self.config;
        let report_path = report.path.as_str();
        let mut file = File::open(path)?;
        let length = file.metadata()?.len();
        if length > config.max_file_size {
            return Ok(FileOutcome::TooLarge(length));
        }

        buffer.reserve(length as usize + 1);
        (&mut file).take(binary::FIRST_BLOCK as u64).read_to_end(buffer)?;

        if binary::is_binary(buffer) {
            if config.check_binaries {
                let sha256 = binary::sha256_hex(buffer, &mut file)?;
                if !config.exceptions.allows_binary(scan_relative, &sha256) {
                    if config.virustotal.as_ref().is_some_and(|plan| plan.files) {
                        report.indicators.push(IndicatorHit {
                            indicator: Indicator {
                                kind: IndicatorKind::File,
                                value: sha256.clone(),
                            },
                            line: 1,
                            columns: None,
                        });
                        let source = UploadSource {
                            path: path.to_path_buf(),
                            size: length,
                        };
                        report.upload = Some((sha256.clone(), source));
                    }
                    let rule = config.rules.binary_rule();
                    report.findings.push(Finding {
                        rule,
                        level: self.level(rule, in_tests),
                        path: report_path.to_string(),
                        line: 1,
                        columns: None,
                        evidence: format!("sha256 {sha256}"),
                        match_hash: sha256,
                        detail: None,
                    });
                }
            }
            return Ok(FileOutcome::Binary);
        }
        if config.exceptions.skips_contents(scan_relative) {
            return Ok(FileOutcome::ContentsIgnored);
        }

        // The file may have grown since it was measured; never read past the cap.
        (&mut file)
            .take(config.max_file_size.saturating_sub(buffer.len() as u64) + 1)
            .read_to_end(buffer)?;
        if buffer.len() as u64 > config.max_file_size {
            return Ok(FileOutcome::TooLarge(buffer.len() as u64));
        }
        // Text in UTF-16 (Windows tools write it, with a byte-order mark) is scanned as the text
        // it encodes: its bytes would never match a rule.
        if let Some(utf8) = binary::utf16_to_utf8(buffer) {
            *buffer = utf8;
        }

        let scan = content::scan(&config.rules, &config.exceptions, scan_relative, buffer);
        report.suppressed = scan.suppressed;
        for hit in scan.hits {
            let rule = config.rules.rule(hit.rule);
            let matched = &buffer[hit.matched.clone()];
            let before = &buffer[hit.line_range.start..hit.matched.start];
            let start = content::utf16_len(before) + 1;
            let end = start + content::utf16_len(matched);
            report.findings.push(Finding {
                rule: hit.rule,
                level: self.level(hit.rule, in_tests),
                path: report_path.to_string(),
                line: hit.line,
                columns: Some((to_u32(start), to_u32(end))),
                evidence: redact::evidence(matched, rule.redact),
                match_hash: sha256_hex(matched),
                detail: None,
            });
        }
        if let Some(plan) = &config.virustotal {
            report
                .indicators
                .extend(network::indicators(buffer, plan, &config.exceptions));
        }
        Ok(FileOutcome::Text)
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
