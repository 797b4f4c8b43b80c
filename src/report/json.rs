//! `--format json`: the whole run as one JSON document on stdout, for scripts and dashboards.
//! stdout holds nothing else; warnings about the scan go to stderr as with the console format.
//!
//! Shape (stable; fields are only ever added):
//! `{version, outcome, exit_code, fail_on, findings: [...], summary: {...}, problems: {...}}`.

use std::io::Write;

use serde::Serialize;

use super::{console, fail_on_name, fingerprints, outcome_name, Reporter, ScanReport};
use crate::finding::Level;

pub struct JsonReporter<Out: Write, Err: Write> {
    out: Out,
    err: Err,
}

impl<Out: Write, Err: Write> JsonReporter<Out, Err> {
    /// The document goes to `out`; warnings about the scan itself to `err`.
    pub fn new(out: Out, err: Err) -> Self {
        Self { out, err }
    }
}

impl<Out: Write, Err: Write> Reporter for JsonReporter<Out, Err> {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        console::write_warnings(&mut self.err, report.stats)?;
        self.err.flush()?;
        let text = render(report)?;
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(())
    }
}

/// The document as text.
pub fn render(report: &ScanReport<'_>) -> anyhow::Result<String> {
    let text = serde_json::to_string_pretty(&document(report))?;
    // The GitHub Actions runner reads `##[command]` anywhere in a line of a step's output as a
    // workflow command, and file names and matched text are chosen by whoever wrote the change
    // under review. `#` never occurs in JSON outside strings, so escaping the bracket there keeps
    // the document equal for every JSON parser while the runner no longer sees a command.
    Ok(text.replace("##[", "##\\u005b"))
}

#[derive(Serialize)]
struct Document<'a> {
    /// anteater's version.
    version: &'static str,
    outcome: &'static str,
    exit_code: u8,
    fail_on: &'static str,
    findings: Vec<JsonFinding<'a>>,
    summary: Summary<'a>,
    problems: Problems<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sarif_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_url: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule_id: &'a str,
    rule_name: &'a str,
    level: &'static str,
    severity: &'static str,
    /// '/'-separated, relative to the report root (the git work tree, else the working directory).
    path: &'a str,
    line: u32,
    /// 1-based UTF-16 columns; `null` for findings about a whole file.
    column: Option<u32>,
    end_column: Option<u32>,
    /// What matched, safe to show: secrets are cut to a short prefix.
    evidence: &'a str,
    detail: Option<&'a str>,
    /// Stable across line moves; the SARIF log's `anteaterFingerprint/v2`.
    fingerprint: String,
    /// History mode: the commit that added what was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    /// History mode: `path` and `line` are those of `commit`'s version of the file.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    located_in_commit: bool,
    /// --validate: what the secret's provider said.
    #[serde(skip_serializing_if = "Option::is_none")]
    validation: Option<JsonValidation<'a>>,
}

#[derive(Serialize)]
struct JsonValidation<'a> {
    /// `live`, `revoked` or `unknown`.
    state: &'static str,
    provider: &'a str,
    said: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoke_at: Option<&'a str>,
}

#[derive(Serialize)]
struct Summary<'a> {
    files: Files,
    findings: Counts,
    /// Findings waived by an inline `anteater:ignore` comment.
    suppressed: usize,
    /// Findings waived by a fingerprint in .gitleaksignore.
    gitleaks_ignored: usize,
    /// Untracked paths git ignores, not scanned (folders end in `/`).
    git_ignored: &'a [String],
    /// anteater's own configuration under the scanned folder (the `anteater_files` folder, the
    /// lists), never scanned; folders end in `/`.
    skipped_as_own: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<Baseline<'a>>,
    elapsed_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    virustotal: Option<VirusTotal>,
}

#[derive(Serialize)]
struct Baseline<'a> {
    /// Findings the baseline accepted, left out of `findings`.
    accepted: usize,
    /// Entries that matched nothing any more: they can be removed from the baseline.
    stale: &'a [crate::decide::baseline::Entry],
}

#[derive(Serialize)]
struct Files {
    looked_at: usize,
    text: usize,
    binary: usize,
    contents_ignored: usize,
    too_large: usize,
    unreadable: usize,
    missing: usize,
    /// Untracked paths git ignores, not scanned (a wholly ignored folder counts once).
    git_ignored: usize,
}

#[derive(Serialize)]
struct Counts {
    total: usize,
    error: usize,
    warning: usize,
    note: usize,
}

#[derive(Serialize)]
struct VirusTotal {
    indicators: usize,
    looked_up: usize,
    cached: usize,
    shared: usize,
    malicious: usize,
    unverified: usize,
    requests: usize,
    requests_today: Option<u64>,
    shared_budget: bool,
    budget_lost: Option<String>,
    stopped: Option<String>,
}

#[derive(Serialize)]
struct Problems<'a> {
    too_large: Vec<TooLarge<'a>>,
    unreadable: Vec<Unreadable<'a>>,
    /// Archives in formats anteater does not open: searched as binaries only.
    not_opened: Vec<NotOpened<'a>>,
    missing: &'a [String],
}

#[derive(Serialize)]
struct NotOpened<'a> {
    path: &'a str,
    format: &'a str,
}

#[derive(Serialize)]
struct TooLarge<'a> {
    path: &'a str,
    size: u64,
}

#[derive(Serialize)]
struct Unreadable<'a> {
    /// Empty when the walk itself failed somewhere it could not name.
    path: &'a str,
    reason: &'a str,
}

fn document<'a>(report: &ScanReport<'a>) -> Document<'a> {
    let stats = report.stats;
    let findings = report
        .findings
        .iter()
        .zip(fingerprints(report))
        .map(|(finding, fingerprint)| {
            let rule = report.rules.rule(finding.rule);
            JsonFinding {
                rule_id: &rule.id,
                rule_name: rule.name.trim(),
                level: finding.level.as_str(),
                severity: rule.severity.as_str(),
                path: &finding.path,
                line: finding.line,
                column: finding.columns.map(|(start, _)| start),
                // As in the SARIF log: an empty match still spans one column.
                end_column: finding.columns.map(|(start, end)| end.max(start + 1)),
                evidence: &finding.evidence,
                detail: finding.detail.as_deref(),
                fingerprint,
                commit: finding.introduced.as_ref().map(|i| i.commit.as_str()),
                located_in_commit: finding.introduced.as_ref().is_some_and(|i| i.located_in_commit),
                validation: finding.validation.as_ref().map(|v| JsonValidation {
                    state: v.state.as_str(),
                    provider: &v.provider,
                    said: &v.said,
                    revoke_at: v.revoke.as_deref(),
                }),
            }
        })
        .collect();
    Document {
        version: env!("CARGO_PKG_VERSION"),
        outcome: outcome_name(report.outcome),
        exit_code: report.outcome.code(),
        fail_on: fail_on_name(report.fail_on),
        findings,
        summary: Summary {
            files: Files {
                looked_at: stats.files_looked_at(),
                text: stats.text_files,
                binary: stats.binary_files,
                contents_ignored: stats.contents_ignored,
                too_large: stats.too_large.len(),
                unreadable: stats.unreadable.len(),
                missing: stats.missing.len(),
                git_ignored: stats.git_ignored.len(),
            },
            findings: Counts {
                total: report.findings.len(),
                error: report.count(Level::Error),
                warning: report.count(Level::Warning),
                note: report.count(Level::Note),
            },
            suppressed: report.suppressed,
            gitleaks_ignored: stats.gitleaks_ignored,
            git_ignored: &stats.git_ignored,
            skipped_as_own: &stats.skipped_as_own,
            baseline: report.baseline.map(|baseline| Baseline {
                accepted: baseline.accepted,
                stale: &baseline.stale,
            }),
            elapsed_seconds: stats.elapsed.as_secs_f64(),
            virustotal: report.virustotal.map(|vt| VirusTotal {
                indicators: vt.indicators,
                looked_up: vt.looked_up,
                cached: vt.cached,
                shared: vt.shared,
                malicious: vt.malicious,
                unverified: vt.unverified,
                requests: vt.requests,
                requests_today: vt.requests_today,
                shared_budget: vt.shared_budget,
                budget_lost: vt.budget_lost.clone(),
                stopped: vt.stopped.clone(),
            }),
        },
        problems: Problems {
            too_large: stats
                .too_large
                .iter()
                .map(|(path, size)| TooLarge { path, size: *size })
                .collect(),
            unreadable: stats
                .unreadable
                .iter()
                .map(|(path, reason)| Unreadable { path, reason })
                .collect(),
            not_opened: stats
                .not_opened
                .iter()
                .map(|(path, format)| NotOpened { path, format })
                .collect(),
            missing: &stats.missing,
        },
        sarif_file: report.sarif_path.map(|path| path.display().to_string()),
        report_url: report.report_url,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::report::ScanStats;
    use serde_json::Value;

    #[test]
    fn document_holds_findings_counts_and_problems() {
        let rules = rules();
        let findings = [
            finding(&rules, "high", "src/a.rs", 3, "hi… (9 chars, redacted)"),
            finding(&rules, "medium", "src/b.rs", 7, "md5"),
        ];
        let stats = ScanStats {
            text_files: 2,
            too_large: vec![("big.bin".into(), 99)],
            ..ScanStats::default()
        };
        let report = report(&rules, &findings, &stats);
        let mut out = Vec::new();
        let mut err = Vec::new();
        JsonReporter::new(&mut out, &mut err).report(&report).unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["outcome"], "failed");
        assert_eq!(doc["exit_code"], 1);
        assert_eq!(doc["findings"][0]["rule_id"], "high");
        assert_eq!(doc["findings"][0]["column"], 3);
        assert_eq!(doc["findings"][1]["level"], "warning");
        assert_eq!(doc["findings"][1]["severity"], "medium");
        assert_eq!(doc["findings"][0]["fingerprint"].as_str().unwrap().len(), 32);
        assert_eq!(doc["summary"]["findings"]["warning"], 1);
        assert!(doc["summary"].get("virustotal").is_none());
        assert_eq!(doc["problems"]["too_large"][0]["size"], 99);
        assert!(String::from_utf8(err).unwrap().contains("big.bin: skipped"));
    }

    #[test]
    fn runner_commands_in_strings_are_neutralised() {
        let rules = rules();
        let findings = [finding(&rules, "high", "##[set-output name=x]y", 1, "::error::z")];
        let stats = ScanStats::default();
        let text = render(&report(&rules, &findings, &stats)).unwrap();
        assert!(!text.contains("##["), "{text}");
        // Every line starts with whitespace and a JSON token, never with `::`.
        assert!(text.lines().all(|line| !line.trim_start().starts_with("::")));
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["findings"][0]["path"], "##[set-output name=x]y");
    }
}
