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
        let mut report = FileReport {
            findings: self.file_name_findings(&scan_relative, &report_path),
            path: report_path,
            outcome: FileOutcome::Text,
            indicators: Vec::new(),
            upload: None,
            suppressed: 0,
        };
        buffer.clear();
        report.outcome = match self.inspect_contents(path, &scan_relative, buffer, &mut report) {
            Ok(outcome) => outcome,
            Err(err) => FileOutcome::Unreadable(err.to_string()),
        };
        report
    }

    fn file_name_findings(&self, scan_relative: &str, report_path: &str) -> Vec<Finding> {
        let rules = &self.config.rules;
        let mut findings = Vec::new();
        for (rule, found) in rules.file_name_matches(scan_relative) {
            if self.config.exceptions.waives_file_name(scan_relative) {
                break;
            }
            findings.push(Finding {
                rule,
                level: rules.rule(rule).severity.level(),
                path: report_path.to_string(),
                line: 1,
                columns: None,
                evidence: redact::escape(found),
                match_hash: sha256_hex(found.as_bytes()),
                detail: None,
            });
        }
        findings
    }

    fn inspect_contents(
        &self,
        path: &Path,
        scan_relative: &str,
        buffer: &mut Vec<u8>,
        report: &mut FileReport,
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
                        level: config.rules.rule(rule).severity.level(),
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

        let scan = content::scan(&config.rules, &config.exceptions, buffer);
        report.suppressed = scan.suppressed;
        for hit in scan.hits {
            let rule = config.rules.rule(hit.rule);
            let matched = &buffer[hit.matched.clone()];
            let before = &buffer[hit.line_range.start..hit.matched.start];
            let start = content::utf16_len(before) + 1;
            // A secret's region is its first character: an exact end column would print the
            // secret's length in every report.
            let end = if rule.redact {
                start + 1
            } else {
                start + content::utf16_len(matched)
            };
            report.findings.push(Finding {
                rule: hit.rule,
                level: rule.severity.level(),
                path: report_path.to_string(),
                line: hit.line,
                columns: Some((to_u32(start), to_u32(end))),
                evidence: redact::evidence(matched, rule.redact),
                match_hash: sha256_hex(matched),
                detail: None,
            });
        }
        if let Some(plan) = &config.virustotal {
            report.indicators.extend(network::indicators(
                buffer,
                plan,
                &config.exceptions,
                &config.rules,
            ));
        }
        Ok(FileOutcome::Text)
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
