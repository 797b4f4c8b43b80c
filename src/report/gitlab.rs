//! GitLab Code Quality report (`artifacts:reports:codequality`, every GitLab tier): a JSON array
//! of Code Climate issues, of which GitLab reads `description`, `check_name`, `fingerprint`,
//! `severity`, `location.path` and `location.lines.begin`. Shown in the merge request widget
//! and the pipeline's Code Quality tab.

use std::path::PathBuf;

use serde::Serialize;

use super::{fingerprints, rule_label, Reporter, ScanReport};
use crate::finding::Level;
use crate::rules::Severity;

pub struct GitlabReporter {
    path: PathBuf,
}

impl GitlabReporter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Reporter for GitlabReporter {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        let issues = issues(report);
        crate::atomic_file::write(&self.path, "GitLab Code Quality report", |out| {
            serde_json::to_writer_pretty(&mut *out, &issues)?;
            out.write_all(b"\n")?;
            Ok(())
        })
    }
}

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    check_name: String,
    description: String,
    categories: [&'static str; 1],
    /// GitLab merges issues with equal fingerprints, so each finding needs its own: the shared
    /// fingerprint counts identical matches within a file.
    fingerprint: String,
    severity: &'static str,
    location: Location<'a>,
    engine_name: &'static str,
}

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
}

fn issues<'a>(report: &ScanReport<'a>) -> Vec<Issue<'a>> {
    report
        .findings
        .iter()
        .zip(fingerprints(report))
        .map(|(finding, fingerprint)| {
            let rule = report.rules.rule(finding.rule);
            // Plain text: GitLab shows the description as is, one line in the widget.
            let mut description = format!(
                "{}: matched \"{}\" ({})",
                rule_label(rule).trim_end_matches('.'),
                finding.evidence,
                rule.id
            );
            if let Some(detail) = &finding.detail {
                description.push_str(". ");
                description.push_str(detail.trim());
            }
            Issue {
                kind: "issue",
                check_name: format!("anteater/{}", rule.id),
                description,
                categories: ["Security"],
                fingerprint,
                severity: severity(finding.level, rule.severity),
                location: Location {
                    path: &finding.path,
                    lines: Lines { begin: finding.line },
                },
                engine_name: "anteater",
            }
        })
        .collect()
}

/// Code Climate's scale (`info`, `minor`, `major`, `critical`, `blocker`) from the finding's
/// level, which decides the gate, refined by the rule's severity: only a critical rule (a private
/// key, a cloud token) that fails the gate is a blocker.
fn severity(level: Level, severity: Severity) -> &'static str {
    match (level, severity) {
        (Level::Error, Severity::Critical) => "blocker",
        (Level::Error, _) => "critical",
        (Level::Warning, _) => "major",
        (Level::Note, Severity::Low) => "minor",
        // A note from a rule that is more severe by nature was lowered on purpose (an unverified
        // VirusTotal indicator): informational.
        (Level::Note, _) => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::report::ScanStats;

    #[test]
    fn levels_map_onto_code_climate_severities() {
        assert_eq!(severity(Level::Error, Severity::Critical), "blocker");
        assert_eq!(severity(Level::Error, Severity::High), "critical");
        assert_eq!(severity(Level::Warning, Severity::Medium), "major");
        assert_eq!(severity(Level::Note, Severity::Low), "minor");
        assert_eq!(severity(Level::Note, Severity::High), "info");
    }

    #[test]
    fn issues_carry_what_gitlab_reads() {
        let rules = rules();
        let findings = [
            finding(&rules, "crit", "keys/id_rsa", 1, "-----BEGIN"),
            finding(&rules, "crit", "keys/id_rsa", 30, "-----BEGIN"),
        ];
        let stats = ScanStats::default();
        let report = report(&rules, &findings, &stats);
        let value = serde_json::to_value(issues(&report)).unwrap();
        let first = &value[0];
        assert_eq!(first["check_name"], "anteater/crit");
        assert_eq!(first["severity"], "blocker");
        assert_eq!(first["location"]["path"], "keys/id_rsa");
        assert_eq!(first["location"]["lines"]["begin"], 1);
        assert!(first["description"].as_str().unwrap().contains("-----BEGIN"));
        assert_ne!(value[0]["fingerprint"], value[1]["fingerprint"]);
    }
}
