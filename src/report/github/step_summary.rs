//! The Markdown job summary appended to `$GITHUB_STEP_SUMMARY`: verdict, counts, the findings
//! table cut to GitHub's 1 MiB, VirusTotal figures and the files not scanned. Separate from the
//! annotations because it is a file for people, with its own size budget, not runner commands.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::markdown::{cell, code, markdown_text};
use crate::decide::outcome::Outcome;
use crate::finding::{Finding, Level};
use crate::redact::escape;
use crate::report::{by_severity, fail_on_name, rule_label, Reporter, ScanReport};

/// GitHub refuses a step summary over 1 MiB (the step itself still passes).
const SUMMARY_LIMIT: usize = 1024 * 1024;
/// Margin kept under the limit for the "more findings" line, with room to spare.
const SUMMARY_MARGIN: usize = 4 * 1024;
/// Problem paths listed per kind in the summary; the console and SARIF have them all.
const PROBLEM_PATHS_SHOWN: usize = 10;

/// Appends a Markdown summary to `$GITHUB_STEP_SUMMARY`: verdict, counts by level and by rule,
/// the findings (most severe first, cut to stay under GitHub's 1 MiB), VirusTotal figures and
/// the files that could not be scanned.
pub struct StepSummaryReporter {
    path: PathBuf,
}

impl StepSummaryReporter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Reporter for StepSummaryReporter {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        let shown = self.path.display();
        // The file is per step and may already hold someone else's summary: share the limit.
        let existing = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        let budget = SUMMARY_LIMIT.saturating_sub(usize::try_from(existing).unwrap_or(usize::MAX));
        let markdown = summary(report, budget);
        let mut file = crate::atomic_file::open_append(&self.path, "GITHUB_STEP_SUMMARY")?;
        file.write_all(markdown.as_bytes())
            .with_context(|| format!("writing GITHUB_STEP_SUMMARY {shown}"))?;
        Ok(())
    }
}

/// The summary, at most `budget` bytes when the budget leaves room for more than the headings.
pub fn summary(report: &ScanReport<'_>, budget: usize) -> String {
    let mut md = String::new();
    let verdict = match report.outcome {
        Outcome::Passed => "✅ passed".to_string(),
        Outcome::Failed => format!(
            "❌ failed (findings at or above `{}`)",
            fail_on_name(report.fail_on)
        ),
        Outcome::ScanFailed => "⚠️ scan incomplete (some files could not be read or scanned)".to_string(),
    };
    md.push_str(&format!("## anteater: {verdict}\n\n"));

    let total = report.findings.len();
    if total == 0 {
        md.push_str("No findings.\n\n");
    } else {
        md.push_str(&format!(
            "**{total} findings**: {} error, {} warning, {} note.\n\n",
            report.count(Level::Error),
            report.count(Level::Warning),
            report.count(Level::Note)
        ));
        md.push_str("| Level | Findings |\n|---|---:|\n");
        for level in [Level::Error, Level::Warning, Level::Note] {
            md.push_str(&format!("| {} | {} |\n", level.as_str(), report.count(level)));
        }
        md.push('\n');

        let mut by_rule: BTreeMap<usize, (Level, usize)> = BTreeMap::new();
        for finding in report.findings {
            let entry = by_rule.entry(finding.rule).or_insert((finding.level, 0));
            entry.0 = entry.0.max(finding.level);
            entry.1 += 1;
        }
        let mut by_rule: Vec<_> = by_rule.into_iter().collect();
        by_rule.sort_by_key(|(rule, (level, count))| (std::cmp::Reverse((*level, *count)), *rule));
        md.push_str("| Rule | Name | Level | Findings |\n|---|---|---|---:|\n");
        for (rule, (level, count)) in by_rule {
            let rule = report.rules.rule(rule);
            md.push_str(&format!(
                "| {} | {} | {} | {count} |\n",
                cell(&code(&rule.id)),
                cell(&markdown_text(rule_label(rule))),
                level.as_str()
            ));
        }
        md.push('\n');
    }

    // The tail is built first so that the findings table can take exactly what is left.
    let tail = summary_tail(report);
    if total > 0 {
        md.push_str("### Findings\n\n| Location | Rule | Level | Evidence |\n|---|---|---|---|\n");
        let room = budget.saturating_sub(md.len() + tail.len() + SUMMARY_MARGIN);
        let mut used = 0;
        let mut written = 0;
        for finding in by_severity(report) {
            let row = finding_row(report, finding);
            if used + row.len() > room {
                break;
            }
            used += row.len();
            written += 1;
            md.push_str(&row);
        }
        md.push('\n');
        if written < total {
            md.push_str(&format!(
                "*{} more findings are not shown (GitHub limits a step summary to 1 MiB); the SARIF log \
                 has them all.*\n\n",
                total - written
            ));
        }
    }
    md.push_str(&tail);
    md
}

/// VirusTotal figures, files not scanned, suppressions and where to go next.
fn summary_tail(report: &ScanReport<'_>) -> String {
    let stats = report.stats;
    let mut md = String::new();
    if let Some(vt) = report.virustotal {
        md.push_str(
            "### VirusTotal\n\n| Indicators | Looked up | Cached | Shared with other jobs | Malicious | Unverified | Requests (this job) | Requests today (all jobs) | Budget |\n",
        );
        md.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        let budget = match (&vt.budget_lost, vt.shared_budget) {
            (Some(why), _) => format!("shared through Redis until {why}, then not shared"),
            (None, true) => "shared through Redis".to_string(),
            (None, false) => "not shared (no Redis)".to_string(),
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n\n",
            vt.indicators,
            vt.looked_up,
            vt.cached,
            vt.shared,
            vt.malicious,
            vt.unverified,
            vt.requests,
            vt.requests_today.map_or("n/a".to_string(), |n| n.to_string()),
            cell(&markdown_text(&budget)),
        ));
        if let Some(stopped) = &vt.stopped {
            md.push_str(&format!("*Stopped early: {}.*\n\n", markdown_text(stopped)));
        }
    }

    md.push_str(&format!(
        "**Files:** {} looked at ({} text, {} binary, {} contents ignored), {} too large, {} unreadable, \
         {} missing from the patchset. **Suppressed** by `anteater:ignore`: {}.\n\n",
        stats.files_looked_at(),
        stats.text_files,
        stats.binary_files,
        stats.contents_ignored,
        stats.too_large.len(),
        stats.unreadable.len(),
        stats.missing.len(),
        report.suppressed
    ));
    if !stats.skipped_as_own.is_empty() {
        let shown: Vec<String> = stats
            .skipped_as_own
            .iter()
            .take(PROBLEM_PATHS_SHOWN)
            .map(|path| code(&escape(path)))
            .collect();
        md.push_str(&format!(
            "**Not scanned, anteater's own configuration:** {}.\n\n",
            shown.join(", ")
        ));
    }
    if let Some(baseline) = report.baseline {
        md.push_str(&format!(
            "**Baseline:** {} accepted, {} {} (no longer found; they can be removed).\n\n",
            match baseline.accepted {
                1 => "1 finding".to_string(),
                n => format!("{n} findings"),
            },
            baseline.stale.len(),
            if baseline.stale.len() == 1 {
                "stale entry"
            } else {
                "stale entries"
            }
        ));
    }
    let mut problems: Vec<String> = Vec::new();
    for (path, reason) in stats.unreadable.iter().take(PROBLEM_PATHS_SHOWN) {
        let shown = if path.is_empty() {
            "(walk)".to_string()
        } else {
            escape(path)
        };
        problems.push(format!(
            "- unreadable: {}: {}",
            code(&shown),
            markdown_text(&escape(reason))
        ));
    }
    for (path, size) in stats.too_large.iter().take(PROBLEM_PATHS_SHOWN) {
        problems.push(format!(
            "- too large, skipped: {} ({size} bytes)",
            code(&escape(path))
        ));
    }
    for path in stats.missing.iter().take(PROBLEM_PATHS_SHOWN) {
        problems.push(format!("- missing: {}", code(&escape(path))));
    }
    for (path, format) in stats.not_opened.iter().take(PROBLEM_PATHS_SHOWN) {
        problems.push(format!(
            "- not opened ({format} archive, searched as a binary): {}",
            code(&escape(path))
        ));
    }
    if !problems.is_empty() {
        md.push_str(&problems.join("\n"));
        md.push_str("\n\n");
    }
    if let Some(path) = report.sarif_path {
        md.push_str(&format!(
            "Full results: the SARIF log {}.\n",
            code(&escape(&path.display().to_string()))
        ));
    }
    if report.outcome != Outcome::Passed {
        if let Some(url) = report.report_url {
            md.push_str(&format!(
                "How to resolve findings: {}\n",
                markdown_text(&escape(url))
            ));
        }
    }
    md
}

fn finding_row(report: &ScanReport<'_>, finding: &Finding) -> String {
    let rule = report.rules.rule(finding.rule);
    let location = format!("{}:{}", escape(&finding.path), finding.line);
    let mut evidence = code(&finding.evidence);
    if let Some(detail) = &finding.detail {
        evidence.push(' ');
        evidence.push_str(&markdown_text(detail));
    }
    format!(
        "| {} | {} | {} | {} |\n",
        cell(&code(&location)),
        cell(&code(&rule.id)),
        finding.level.as_str(),
        cell(&evidence)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::*;
    use crate::report::ScanStats;

    #[test]
    fn summary_has_the_verdict_and_tables() {
        let rules = rules();
        let findings = [
            finding(&rules, "high", "dir/a|b`c.txt", 3, "p… (8 chars, redacted)"),
            finding(&rules, "medium", "m.txt", 1, "md5"),
        ];
        let stats = ScanStats {
            unreadable: vec![("locked".into(), "denied".into())],
            ..ScanStats::default()
        };
        let md = summary(&report(&rules, &findings, &stats), SUMMARY_LIMIT);
        assert!(md.starts_with("## anteater: ❌ failed"), "{md}");
        assert!(md.contains("| error | 1 |"), "{md}");
        assert!(md.contains("| `high` | Rule high | error | 1 |"), "{md}");
        assert!(
            md.contains("| ``dir/a\\|b`c.txt:3`` | `high` | error | `p… (8 chars, redacted)` |"),
            "{md}"
        );
        assert!(md.contains("- unreadable: `locked`: denied"), "{md}");
        assert!(!md.contains("more findings are not shown"));
    }

    #[test]
    fn summary_stays_within_its_budget() {
        let rules = rules();
        let findings: Vec<Finding> = (0..5000)
            .map(|i| {
                finding(
                    &rules,
                    "high",
                    &format!("some/deep/dir/file{i:05}.txt"),
                    1,
                    &"x".repeat(80),
                )
            })
            .collect();
        let stats = ScanStats::default();
        let md = summary(&report(&rules, &findings, &stats), 100_000);
        assert!(md.len() <= 100_000, "{}", md.len());
        assert!(md.contains("more findings are not shown"));
        assert!(md.contains("Full results: the SARIF log `anteater.sarif`."));
    }
}
