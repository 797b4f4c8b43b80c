//! Human-readable output: one line per finding, then a summary. File names and matched text
//! come from the repository under review, so every one of them is escaped before printing.

use std::io::Write;

use super::{fail_on_name, Reporter, ScanReport, ScanStats};
use crate::decide::outcome::Outcome;
use crate::enrich::virustotal::lookup::Progress;
use crate::finding::Level;
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
            if let Some(introduced) = &finding.introduced {
                write!(out, "  [commit {}]", introduced.commit)?;
            }
            match &finding.detail {
                Some(detail) => writeln!(out, "  {detail}")?,
                None => writeln!(out)?,
            }
            if let Some(advice) = fix_advice(rule.remediation.as_deref()) {
                writeln!(out, "    fix: {advice}")?;
            }
        }

        write_warnings(&mut self.err, stats)?;

        // History alone walks no file: its line says what was looked at instead.
        let history_alone = stats.commits.is_some() && stats.files_looked_at() == 0;
        if !history_alone {
            writeln!(
                out,
                "anteater: {} looked at ({} text, {} binary, {} contents ignored, {} too large, {} unreadable) in {:.2}s",
                plural(stats.files_looked_at(), "file", "files"),
                stats.text_files,
                stats.binary_files,
                stats.contents_ignored,
                stats.too_large.len(),
                stats.unreadable.len(),
                stats.elapsed.as_secs_f64()
            )?;
        }
        if let Some(commits) = stats.commits {
            writeln!(
                out,
                "anteater: history: {} scanned, {} (what each added) in {:.2}s",
                plural(commits, "commit", "commits"),
                plural(stats.versions, "file version", "file versions"),
                stats.elapsed.as_secs_f64()
            )?;
        }
        if !stats.git_ignored.is_empty() {
            writeln!(out, "anteater: {}", git_ignored_line(&stats.git_ignored))?;
        }
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
                "anteater: {} suppressed inline (anteater:ignore)",
                plural(report.suppressed, "finding", "findings")
            )?;
        }
        if stats.gitleaks_ignored > 0 {
            writeln!(
                out,
                "anteater: {} waived by .gitleaksignore",
                plural(stats.gitleaks_ignored, "finding", "findings")
            )?;
        }
        if let Some(baseline) = report.baseline {
            writeln!(
                out,
                "anteater: baseline: {} accepted, {}",
                plural(baseline.accepted, "finding", "findings"),
                plural(baseline.stale.len(), "stale entry", "stale entries")
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
            let budget = match (&vt.budget_lost, vt.shared_budget) {
                (Some(why), _) => format!(
                    "budget shared through Redis until {}, then NOT shared",
                    escape(why)
                ),
                (None, true) => "budget shared through Redis".to_string(),
                (None, false) => "budget NOT shared: no Redis".to_string(),
            };
            writeln!(
                out,
                "anteater: VirusTotal: {} indicators, {} looked up, {} cached, {} malicious, {} unverified, {} requests, {} answered by other jobs ({budget})",
                vt.indicators,
                vt.looked_up,
                vt.cached,
                vt.malicious,
                vt.unverified,
                vt.requests,
                vt.shared,
            )?;
            if let Some(stopped) = &vt.stopped {
                writeln!(out, "anteater: VirusTotal: stopped early: {}", escape(stopped))?;
            }
        }
        let verdict = match report.outcome {
            Outcome::Passed => "passed".to_string(),
            Outcome::Failed => format!(
                "FAILED (findings at or above --fail-on {})",
                fail_on_name(report.fail_on)
            ),
            Outcome::ScanFailed => "SCAN INCOMPLETE (some files could not be read or scanned)".to_string(),
        };
        if !report.findings.is_empty() {
            writeln!(out, "anteater: {WAIVE_ADVICE}")?;
        }
        writeln!(
            out,
            "anteater: {} ({} error, {} warning, {} note): {verdict}",
            plural(report.findings.len(), "finding", "findings"),
            report.count(Level::Error),
            report.count(Level::Warning),
            report.count(Level::Note),
        )?;
        if let Some(path) = report.sarif_path {
            writeln!(out, "anteater: SARIF written to {}", shown_output(path))?;
        }
        if let Some(dropped) = &report.sarif_dropped {
            writeln!(out, "anteater: warning: {}", dropped.message())?;
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

/// How to waive a finding that is not a real secret, once under the findings.
const WAIVE_ADVICE: &str = "not a secret? waive one finding with a comment `anteater:ignore RULE-ID` \
on its line, or accept today's findings with --write-baseline FILE and then --baseline FILE";

/// A rule's remediation as one line (rules write it as a paragraph), escaped: flag lists are
/// the repository's own text.
fn fix_advice(remediation: Option<&str>) -> Option<String> {
    let words: Vec<&str> = remediation?.split_whitespace().collect();
    (!words.is_empty()).then(|| escape(&words.join(" ")))
}

/// An output path as the summary names it: `-` and the stdout device are standard output.
fn shown_output(path: &std::path::Path) -> String {
    if crate::report::stdout_target::is_stdout(path) {
        "standard output".to_string()
    } else {
        escape(&path.display().to_string())
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
    for (path, format) in &stats.not_opened {
        writeln!(
            err,
            "anteater: note: {}: a {format} archive, which anteater does not open: its bytes were \
             searched as a binary's, its members were not (--binaries blocks it unless allowlisted)",
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
        Progress::Waiting(status) => {
            let mut waiting = Vec::new();
            if let Some(wait) = status.budget_wait {
                waiting.push(format!("the rate budget (next slot in {})", human_duration(wait)));
            }
            if status.analyses > 0 {
                waiting.push(plural(status.analyses, "analysis", "analyses"));
            }
            if status.claims > 0 {
                waiting.push(format!(
                    "{} another job is asking about",
                    plural(status.claims, "indicator", "indicators")
                ));
            }
            let mut line = format!(
                "anteater: VirusTotal: {} of {} done, {} queued; waiting on {}",
                status.done,
                status.total,
                status.queued,
                waiting.join(", ")
            );
            // Under a second means only analyses are left: the budget says nothing about those.
            if status.eta >= std::time::Duration::from_secs(1) {
                line.push_str(&format!(
                    "; about {} left at {}",
                    human_duration(status.eta),
                    status.rate
                ));
            }
            line
        }
        Progress::Warning(message) => format!("anteater: warning: VirusTotal: {}", escape(message)),
    }
}

/// The summary line on what git-ignored paths were skipped: how many, the first few by name.
fn git_ignored_line(ignored: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut names: Vec<String> = ignored.iter().take(SHOWN).map(|path| escape(path)).collect();
    if ignored.len() > SHOWN {
        names.push("...".to_string());
    }
    format!(
        "{} not scanned, untracked and ignored by git ({}); --no-ignore scans them",
        plural(ignored.len(), "path", "paths"),
        names.join(", ")
    )
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
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
    fn progress_says_what_is_waited_on() {
        use crate::enrich::virustotal::lookup::Status;
        let status = Status {
            done: 12,
            total: 40,
            queued: 25,
            budget_wait: Some(Duration::from_secs(14)),
            analyses: 1,
            claims: 3,
            eta: Duration::from_secs(425),
            rate: "4/1m".parse().unwrap(),
        };
        assert_eq!(
            progress_line(&Progress::Waiting(status.clone())),
            "anteater: VirusTotal: 12 of 40 done, 25 queued; waiting on the rate budget (next slot in 14s), \
             1 analysis, 3 indicators another job is asking about; about 7m05s left at 4/1m"
        );
        let only_claims = Status {
            budget_wait: None,
            analyses: 0,
            claims: 1,
            ..status
        };
        assert!(progress_line(&Progress::Waiting(only_claims))
            .contains("waiting on 1 indicator another job is asking about;"));
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(Duration::from_secs(280)), "4m40s");
        assert_eq!(human_duration(Duration::from_secs(12)), "12s");
        assert_eq!(human_duration(Duration::from_millis(400)), "0.4s");
    }
}
