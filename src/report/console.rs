//! Human-readable output: one line per finding, then a summary. File names and matched text
//! come from the repository under review, so every one of them is escaped before printing.

use std::io::Write;

use super::{Reporter, ScanReport};
use crate::finding::Level;
use crate::outcome::Outcome;
use crate::redact::escape;

pub struct ConsoleReporter<Out: Write, Err: Write> {
    out: Out,
    err: Err,
}

impl<Out: Write, Err: Write> ConsoleReporter<Out, Err> {
    /// Findings and summary go to `out`; warnings about the scan itself to `err`.
    pub fn new(out: Out, err: Err) -> Self {
        Self { out, err }
    }
}

impl<Out: Write, Err: Write> Reporter for ConsoleReporter<Out, Err> {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        let out = &mut self.out;
        let stats = report.stats;
        for finding in report.findings {
            let rule = report.rules.rule(finding.rule);
            let column = finding.columns.map_or(1, |(start, _)| start);
            writeln!(
                out,
                "{}:{}:{}  {}  {}  ({}, matched \"{}\")",
                escape(&finding.path),
                finding.line,
                column,
                rule.id,
                rule.description.trim(),
                finding.level.as_str(),
                finding.evidence
            )?;
        }

        let err = &mut self.err;
        for (path, size) in &stats.too_large {
            writeln!(
                err,
                "anteater: warning: {}: skipped, {size} bytes is over --max-file-size",
                escape(path)
            )?;
        }
        for path in &stats.missing {
            writeln!(
                err,
                "anteater: warning: {}: listed in the patchset but does not exist (deleted?)",
                escape(path)
            )?;
        }
        for (path, reason) in &stats.unreadable {
            let shown = if path.is_empty() {
                "(walk)".to_string()
            } else {
                escape(path)
            };
            writeln!(
                err,
                "anteater: warning: {shown}: could not be read: {}",
                escape(reason)
            )?;
        }

        writeln!(
            out,
            "anteater: {} files looked at ({} text, {} binary, {} contents ignored, {} too large, {} unreadable) in {:.2}s",
            stats.files_looked_at(),
            stats.text_files,
            stats.binary_files,
            stats.contents_ignored,
            stats.too_large.len(),
            stats.unreadable.len(),
            stats.elapsed.as_secs_f64()
        )?;
        let verdict = match report.outcome {
            Outcome::Passed => "passed".to_string(),
            Outcome::Failed => format!("FAILED (findings at or above --fail-on {})", fail_on_name(report)),
            Outcome::ScanFailed => "SCAN INCOMPLETE (some files could not be read)".to_string(),
        };
        writeln!(
            out,
            "anteater: {} findings ({} error, {} warning, {} note): {verdict}",
            report.findings.len(),
            report.count(Level::Error),
            report.count(Level::Warning),
            report.count(Level::Note),
        )?;
        if let Some(path) = report.sarif_path {
            writeln!(
                out,
                "anteater: SARIF written to {}",
                escape(&path.display().to_string())
            )?;
        }
        if report.outcome != Outcome::Passed {
            if let Some(url) = report.report_url {
                writeln!(out, "anteater: how to resolve findings: {}", escape(url))?;
            }
        }
        out.flush()?;
        Ok(())
    }
}

fn fail_on_name(report: &ScanReport<'_>) -> &'static str {
    match report.fail_on {
        crate::cli::FailOn::Error => "error",
        crate::cli::FailOn::Warning => "warning",
        crate::cli::FailOn::Note => "note",
        crate::cli::FailOn::Never => "never",
    }
}
