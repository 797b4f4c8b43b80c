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
use crate::finding::{content_match_hash, sha256_hex, Finding};
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
    /// The text was scanned in more than one window: the buffer holds only its last part.
    pub scanned_in_pieces: bool,
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
        let in_tests = config.in_test_path(&scan_relative);
        let (findings, look_inside) = self.file_name_findings(&scan_relative, &report_path, in_tests);
        let mut report = FileReport {
            findings,
            path: report_path,
            outcome: FileOutcome::Text,
            indicators: Vec::new(),
            upload: None,
            suppressed: 0,
            scanned_in_pieces: false,
        };
        buffer.clear();
        report.outcome = match self.inspect_contents(path, &scan_relative, buffer, &mut report, in_tests) {
            Ok(outcome) => outcome,
            Err(err) => FileOutcome::Unreadable(err.to_string()),
        };
        self.look_inside(look_inside, buffer, &mut report, in_tests);
        report
    }

    fn level(&self, rule: usize, in_tests: bool) -> crate::finding::Level {
        self.config.finding_level(rule, in_tests)
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
            introduced: None,
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
        let rules = &self.config.rules;
        let content_lines: Vec<u32> = report
            .findings
            .iter()
            .filter(|f| rules.rule(f.rule).kind == crate::rules::RuleKind::Content)
            .map(|f| f.line)
            .collect();
        // Binary, unreadable, skipped, or too large to be held whole: the name is all there is.
        let whole_text = (report.outcome == FileOutcome::Text && !report.scanned_in_pieces).then_some(buffer);
        for (rule, found) in matches {
            let Some(filter) = rules.rule(rule).filter.as_ref() else {
                continue;
            };
            if let Some(line) = crate::rules::filter::name_finding_line(filter, whole_text, &content_lines) {
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
        let mut file = File::open(path)?;
        let length = file.metadata()?.len();

        (&mut file).take(binary::FIRST_BLOCK as u64).read_to_end(buffer)?;

        // Binaries are hashed whatever their size: the hash is streamed, and a binary too large
        // to read must still be allowlisted (and asked about) like any other.
        if binary::is_binary(buffer) {
            if config.check_binaries {
                let context = FileContext {
                    scan_relative,
                    in_tests,
                };
                self.check_binary(path, &context, length, buffer, &mut file, report)?;
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
        let context = FileContext {
            scan_relative,
            in_tests,
        };
        if binary::is_utf16(buffer) {
            return self.scan_utf16(&mut file, buffer, report, &context);
        }
        self.scan_in_windows(&mut file, length, buffer, report, &context)
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
        length: u64,
        buffer: &mut Vec<u8>,
        report: &mut FileReport,
        context: &FileContext<'_>,
    ) -> std::io::Result<FileOutcome> {
        let window = self.window_size();
        // Room for the file (or one window of it), not for a whole window: a 50 MiB reservation
        // per file, given back after each, cost more than the scan itself on small files.
        let needed = usize::try_from(length)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .min(window);
        buffer.reserve(needed.saturating_sub(buffer.len()));
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
            self.scan_text(&buffer[..cut], lines_before, report, context);
            if at_end {
                return Ok(FileOutcome::Text);
            }
            report.scanned_in_pieces = true;
            lines_before += memchr::memchr_iter(b'\n', &buffer[..cut]).count();
            buffer.drain(..cut);
        }
    }

    fn scan_utf16(
        &self,
        file: &mut File,
        buffer: &mut Vec<u8>,
        report: &mut FileReport,
        context: &FileContext<'_>,
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
        self.scan_text(buffer, 0, report, context);
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
        context: &FileContext<'_>,
        length: u64,
        first_block: &[u8],
        file: &mut File,
        report: &mut FileReport,
    ) -> std::io::Result<()> {
        let config = self.config;
        let sha256 = binary::sha256_hex(first_block, file)?;
        if config.exceptions.allows_binary(context.scan_relative, &sha256) {
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
            level: self.level(rule, context.in_tests),
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
    fn scan_text(
        &self,
        text: &[u8],
        lines_before: usize,
        report: &mut FileReport,
        context: &FileContext<'_>,
    ) {
        let config = self.config;
        let offset = u32::try_from(lines_before).unwrap_or(u32::MAX);
        let scan = content::scan(&config.rules, &config.exceptions, context.scan_relative, text);
        report.suppressed += scan.suppressed;
        for hit in scan.hits {
            let rule = config.rules.rule(hit.rule);
            let matched = &text[hit.matched.clone()];
            let before = &text[hit.line_range.start..hit.matched.start];
            report.findings.push(Finding {
                rule: hit.rule,
                level: self.level(hit.rule, context.in_tests),
                path: report.path.clone(),
                line: hit.line.saturating_add(offset),
                columns: Some(content::match_columns(before, matched, rule.redact)),
                evidence: redact::evidence(matched, rule.redact),
                match_hash: content_match_hash(text, hit.matched.clone(), hit.line_range.end, rule.redact),
                detail: None,
                introduced: None,
            });
        }
        // Modes that judge a change show the inline waivers it hits (`waiver-added`); which of
        // them the change wrote is decided with its changed lines.
        if let Some(waiver) = config.rules.index_of(crate::rules::WAIVER_ADDED) {
            for hit in scan.waived {
                report.findings.push(Finding {
                    rule: waiver,
                    level: self.level(waiver, context.in_tests),
                    path: report.path.clone(),
                    line: hit.line.saturating_add(offset),
                    columns: None,
                    evidence: format!("anteater:ignore waives `{}`", config.rules.rule(hit.rule).id),
                    // The whole line: two markers waiving one secret are two waivers.
                    match_hash: content_match_hash(text, hit.line_range.clone(), hit.line_range.end, true),
                    detail: None,
                    introduced: None,
                });
            }
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

/// What the checks need to know about the file they inspect.
struct FileContext<'a> {
    /// The path relative to the scan root, for rules limited to some paths.
    scan_relative: &'a str,
    /// Under a test path: rules that opt in report one level lower.
    in_tests: bool,
}
