//! Inspects one file: its name, then its contents (text) or its checksum (binary).

pub mod binary;
pub mod content;
pub mod network;
pub mod suppress;

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::cli::Oversize;
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
    /// Text larger than `--max-file-size`, skipped as `--oversize warn|fail` asks: name checked,
    /// contents not read.
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
                introduced: None,
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
        let mut file = File::open(path)?;
        let length = file.metadata()?.len();

        (&mut file).take(binary::FIRST_BLOCK as u64).read_to_end(buffer)?;

        // Binaries are hashed whatever their size: the hash is streamed, and a binary too large
        // to read must still be allowlisted (and asked about) like any other.
        if binary::is_binary(buffer) {
            if config.check_binaries {
                self.check_binary(path, scan_relative, length, buffer, &mut file, report)?;
            }
            return Ok(FileOutcome::Binary);
        }
        if config.exceptions.skips_contents(scan_relative) {
            return Ok(FileOutcome::ContentsIgnored);
        }
        if length > config.max_file_size && config.oversize != Oversize::Scan {
            return Ok(FileOutcome::TooLarge(length));
        }
        // Text in UTF-16 (Windows tools write it, with a byte-order mark or without) is scanned as
        // the text it encodes: its bytes would never match a rule. It is decoded whole, so it has
        // to fit.
        if binary::is_utf16(buffer) {
            return self.scan_utf16(&mut file, buffer, report);
        }
        self.scan_in_windows(&mut file, buffer, report)
    }

    /// Scans text in windows of at most `window_size()` bytes, each ending at a line end. Content
    /// rules match within one line, so windows cut between lines need no overlap: every match
    /// is found exactly as in the whole file, with the same line numbers. The one thing a window
    /// cannot hold is a line longer than itself; such a file is reported as not scanned
    /// (unreadable: the scan is incomplete) rather than scanned in pieces that could split a
    /// match.
    fn scan_in_windows(
        &self,
        file: &mut File,
        buffer: &mut Vec<u8>,
        report: &mut FileReport,
    ) -> std::io::Result<FileOutcome> {
        let window = self.window_size();
        buffer.reserve(window.saturating_sub(buffer.len()));
        let mut lines_before = 0usize;
        loop {
            let wanted = window.saturating_sub(buffer.len());
            let read = file.take(wanted as u64).read_to_end(buffer)?;
            let at_end = read < wanted;
            let cut = if at_end {
                buffer.len()
            } else {
                match memchr::memrchr(b'\n', buffer) {
                    Some(at) => at + 1,
                    None => {
                        return Ok(FileOutcome::Unreadable(format!(
                            "a line longer than {window} bytes: text over --max-file-size is scanned in \
                             windows of that size, line by line; raise --max-file-size to scan it"
                        )))
                    }
                }
            };
            self.scan_text(&buffer[..cut], lines_before, report);
            if at_end {
                return Ok(FileOutcome::Text);
            }
            lines_before += memchr::memchr_iter(b'\n', &buffer[..cut]).count();
            buffer.drain(..cut);
        }
    }

    fn scan_utf16(
        &self,
        file: &mut File,
        buffer: &mut Vec<u8>,
        report: &mut FileReport,
    ) -> std::io::Result<FileOutcome> {
        let window = self.window_size();
        file.take((window - buffer.len().min(window)) as u64 + 1)
            .read_to_end(buffer)?;
        if buffer.len() > window {
            return Ok(FileOutcome::Unreadable(format!(
                "UTF-16 text longer than {window} bytes is not scanned in windows; raise --max-file-size \
                 to scan it"
            )));
        }
        if let Some(utf8) = binary::utf16_to_utf8(buffer) {
            *buffer = utf8;
        }
        self.scan_text(buffer, 0, report);
        Ok(FileOutcome::Text)
    }

    /// How much text is held in memory at once: --max-file-size, but never less than the block
    /// read to classify a file.
    fn window_size(&self) -> usize {
        usize::try_from(self.config.max_file_size)
            .unwrap_or(usize::MAX)
            .max(binary::FIRST_BLOCK)
    }

    /// Hashes a binary (streamed from `file`, after the `first_block` already read) and reports it
    /// unless the allowlist has it; queues it for VirusTotal when --bincheck asks.
    fn check_binary(
        &self,
        path: &Path,
        scan_relative: &str,
        length: u64,
        first_block: &[u8],
        file: &mut File,
        report: &mut FileReport,
    ) -> std::io::Result<()> {
        let config = self.config;
        let sha256 = binary::sha256_hex(first_block, file)?;
        if config.exceptions.allows_binary(scan_relative, &sha256) {
            return Ok(());
        }
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
            path: report.path.clone(),
            line: 1,
            columns: None,
            evidence: format!("sha256 {sha256}"),
            match_hash: sha256,
            detail: None,
            introduced: None,
        });
        Ok(())
    }

    /// Runs the content rules (and the VirusTotal indicator search) over `text`, a run of whole
    /// lines that starts after `lines_before` lines of the file.
    fn scan_text(&self, text: &[u8], lines_before: usize, report: &mut FileReport) {
        let config = self.config;
        let offset = u32::try_from(lines_before).unwrap_or(u32::MAX);
        let scan = content::scan(&config.rules, &config.exceptions, text);
        report.suppressed += scan.suppressed;
        for hit in scan.hits {
            let rule = config.rules.rule(hit.rule);
            let matched = &text[hit.matched.clone()];
            let before = &text[hit.line_range.start..hit.matched.start];
            report.findings.push(Finding {
                rule: hit.rule,
                level: rule.severity.level(),
                path: report.path.clone(),
                line: hit.line.saturating_add(offset),
                columns: Some(content::match_columns(before, matched, rule.redact)),
                evidence: redact::evidence(matched, rule.redact),
                match_hash: sha256_hex(matched),
                detail: None,
                introduced: None,
            });
        }
        if let Some(plan) = &config.virustotal {
            report.indicators.extend(
                network::indicators(text, plan, &config.exceptions, &config.rules)
                    .into_iter()
                    .map(|hit| IndicatorHit {
                        line: hit.line.saturating_add(offset),
                        ..hit
                    }),
            );
        }
    }
}
