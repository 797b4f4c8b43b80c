//! Human-readable output: one line per finding, then a summary. File names and matched text
//! come from the repository under review, so every one of them is escaped before printing.

use std::io::Write;

use super::{fail_on_name, Reporter, ScanReport, ScanStats};
use crate::finding::Level;
use crate::outcome::Outcome;
use crate::redact::escape;
use crate::virustotal::lookup::Progress;

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
            write!(
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
            match &finding.detail {
                Some(detail) => writeln!(out, "  {detail}")?,
                None => writeln!(out)?,
            }
        }

        write_warnings(&mut self.err, stats)?;

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
        if !stats.skipped_as_own.is_empty() {
            let shown: Vec<String> = stats.skipped_as_own.iter().map(|path| escape(path)).collect();
            writeln!(
                out,
                "anteater: not scanned, anteater's own configuration: {}",
                shown.join(", ")
            )?;
        }
        if report.suppressed > 0 {
            writeln!(
                out,
                "anteater: {} findings suppressed inline (anteater:ignore)",
                report.suppressed
            )?;
        }
        if let Some(baseline) = report.baseline {
            writeln!(
                out,
                "anteater: baseline: {} findings accepted, {} stale entries",
                baseline.accepted,
                baseline.stale.len()
            )?;
            for entry in &baseline.stale {
                writeln!(
                    self.err,
                    "anteater: note: stale baseline entry (no longer found, can be removed): {} {} {}",
                    entry.rule,
                    escape(&entry.path),
                    entry.fingerprint
                )?;
            }
        }
        if let Some(vt) = report.virustotal {
            writeln!(
                out,
                "anteater: VirusTotal: {} indicators, {} looked up, {} cached, {} malicious, {} unverified, {} requests ({})",
                vt.indicators,
                vt.looked_up,
                vt.cached,
                vt.malicious,
                vt.unverified,
                vt.requests,
                if vt.shared_budget { "budget shared through Redis" } else { "budget NOT shared: no Redis" }
            )?;
        }
        let verdict = match report.outcome {
            Outcome::Passed => "passed".to_string(),
            Outcome::Failed => format!(
                "FAILED (findings at or above --fail-on {})",
                fail_on_name(report.fail_on)
            ),
            Outcome::ScanFailed => "SCAN INCOMPLETE (some files could not be read or scanned)".to_string(),
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

/// The problems of the scan itself (skipped, missing and unreadable files), one line each. The
/// JSON format writes them too: they belong on stderr whatever stdout holds.
pub fn write_warnings(err: &mut impl Write, stats: &ScanStats) -> std::io::Result<()> {
    for (path, size) in &stats.too_large {
        writeln!(
            err,
            "anteater: warning: {}: skipped, {size} bytes is over --max-file-size (--oversize)",
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
    Ok(())
}

/// One line of VirusTotal progress, for stderr.
pub fn progress_line(progress: &Progress) -> String {
    match progress {
        Progress::Starting {
            to_look_up,
            cached,
            rate,
            estimate,
        } => format!(
            "anteater: VirusTotal: {to_look_up} to look up, {cached} cached, rate {rate}, about {}",
            human_duration(*estimate)
        ),
        Progress::Waiting { wait, done, total } => format!(
            "anteater: VirusTotal: waiting {} for the shared rate limit ({done} of {total} done)",
            human_duration(*wait)
        ),
        Progress::Warning(message) => format!("anteater: warning: VirusTotal: {}", escape(message)),
    }
}

/// `4m40s`, `12s`, `0.4s`.
fn human_duration(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else if seconds >= 1 {
        format!("{seconds}s")
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(Duration::from_secs(280)), "4m40s");
        assert_eq!(human_duration(Duration::from_secs(12)), "12s");
        assert_eq!(human_duration(Duration::from_millis(400)), "0.4s");
    }
}
