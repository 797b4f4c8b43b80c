//! SARIF 2.1.0, shaped for GitHub code scanning: one run, every rule that can fire with its
//! descriptions, help and `security-severity`, results with repository-relative URIs and a
//! region (line 1 for whole-file findings), and a line-independent fingerprint.

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::io::Write;

use anyhow::Context;
use serde_json::json;
use serde_sarif::sarif;

use super::{Reporter, ScanReport};
use crate::finding::{Finding, Level};
use crate::outcome::Outcome;
use crate::paths;
use crate::rules::{RuleKind, RuleMeta};

const INFORMATION_URI: &str = "https://github.com/anteater/anteater";
/// The base every result URI is relative to.
const SOURCE_ROOT: &str = "%SRCROOT%";

/// Writes the SARIF log to a file, atomically, so a crash never leaves a truncated log for the
/// upload step to choke on.
pub struct SarifReporter {
    path: PathBuf,
}

impl SarifReporter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Reporter for SarifReporter {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        crate::atomic_file::write(&self.path, "SARIF", |out| write(report, out))
    }
}

/// Writes the SARIF log, one result at a time: results are never all held in memory at once, so
/// memory follows the findings, not the size of their SARIF form.
pub fn write(report: &ScanReport<'_>, out: &mut dyn Write) -> anyhow::Result<()> {
    // The log without results, serialized once; its empty results array marks where they go.
    // The marker cannot occur elsewhere: inside any string its quotes would be escaped.
    let frame = serde_json::to_string(&build_frame(report))?;
    const MARKER: &str = "\"results\":[]";
    let at = frame
        .find(MARKER)
        .context("the SARIF frame has no results array")?;
    out.write_all(&frame.as_bytes()[..at])?;
    out.write_all(b"\"results\":[")?;
    for (index, (finding, fingerprint)) in report
        .findings
        .iter()
        .zip(super::fingerprints(report))
        .enumerate()
    {
        if index > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut *out, &result(report, finding, fingerprint))?;
    }
    out.write_all(b"]")?;
    out.write_all(&frame.as_bytes()[at + MARKER.len()..])?;
    out.write_all(b"\n")?;
    Ok(())
}

fn result(report: &ScanReport<'_>, finding: &Finding, fingerprint: String) -> sarif::Result {
    let rule = report.rules.rule(finding.rule);
    let mut region = sarif::Region::builder()
        .start_line(i64::from(finding.line))
        .build();
    if let Some((start, end)) = finding.columns {
        region.start_column = Some(i64::from(start));
        region.end_column = Some(i64::from(end.max(start + 1)));
    }
    let location = sarif::Location::builder()
        .physical_location(
            sarif::PhysicalLocation::builder()
                .artifact_location(
                    sarif::ArtifactLocation::builder()
                        .uri(paths::uri_encode(&finding.path))
                        .uri_base_id(SOURCE_ROOT)
                        .build(),
                )
                .region(region)
                .build(),
        )
        .build();
    let mut message = format!(
        "{}: {} Matched: `{}`.",
        rule.name.trim_end_matches('.'),
        sentence(&rule.description),
        finding.evidence.replace('`', "'")
    );
    if let Some(detail) = &finding.detail {
        message.push(' ');
        message.push_str(&sentence(detail));
    }
    sarif::Result::builder()
        .rule_id(rule.id.clone())
        .rule_index(finding.rule as i64)
        .level(result_level(finding.level))
        .message(sarif::Message::builder().text(message).build())
        .locations(vec![location])
        .partial_fingerprints(BTreeMap::from([(
            "anteaterFingerprint/v1".to_string(),
            fingerprint,
        )]))
        .build()
}

/// The log with an empty results array: tool, rules, invocation, base URI, automation id.
fn build_frame(report: &ScanReport<'_>) -> sarif::Sarif {
    let rules: Vec<sarif::ReportingDescriptor> = report.rules.rules().iter().map(rule_descriptor).collect();
    let notifications = notifications(report);
    let invocation = sarif::Invocation::builder()
        .execution_successful(report.outcome != Outcome::ScanFailed)
        .tool_execution_notifications(notifications)
        .build();

    let driver = sarif::ToolComponent::builder()
        .name("anteater")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(INFORMATION_URI)
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .automation_details(sarif::RunAutomationDetails::builder().id("anteater/").build())
        .original_uri_base_ids(BTreeMap::from([(
            SOURCE_ROOT.to_string(),
            sarif::ArtifactLocation::builder()
                .uri(paths::directory_uri(report.report_root))
                .build(),
        )]))
        .column_kind(json!("utf16CodeUnits"))
        .invocations(vec![invocation])
        .results(Vec::new())
        .build();
    sarif::Sarif::builder()
        .schema(sarif::SCHEMA_URL)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn rule_descriptor(rule: &RuleMeta) -> sarif::ReportingDescriptor {
    let kind_tag = match rule.kind {
        RuleKind::Content => "content",
        RuleKind::FileName => "file-name",
        RuleKind::Binary => "binary",
        RuleKind::VirusTotal => "virustotal",
        RuleKind::ConfigChange => "configuration",
    };
    let mut tags = vec!["security".to_string(), kind_tag.to_string()];
    if rule.redact {
        tags.push("secret".to_string());
    }
    let properties = sarif::PropertyBag::builder()
        .tags(tags)
        .additional_properties(BTreeMap::from([
            ("precision".to_string(), json!(rule.precision.as_str())),
            (
                "security-severity".to_string(),
                json!(rule.severity.security_severity()),
            ),
            (
                "problem.severity".to_string(),
                json!(problem_severity(rule.severity.level())),
            ),
        ]))
        .build();
    let mut descriptor = sarif::ReportingDescriptor::builder()
        .id(rule.id.clone())
        .short_description(message_string(rule.name.trim()))
        .full_description(message_string(&sentence(&rule.description)))
        .help(
            sarif::MultiformatMessageString::builder()
                .text(help_text(rule))
                .markdown(help_markdown(rule))
                .build(),
        )
        .help_uri(format!("{INFORMATION_URI}#rules"))
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(json!(rule.severity.level().as_str()))
                .build(),
        )
        .properties(properties)
        .build();
    // SARIF wants `name` to differ from the opaque `id`; when it would not, it is left out.
    let name = pascal_case(&rule.id);
    if !name.eq_ignore_ascii_case(&rule.id) {
        descriptor.name = Some(name);
    }
    descriptor
}

fn result_level(level: Level) -> sarif::ResultLevel {
    match level {
        Level::Error => sarif::ResultLevel::Error,
        Level::Warning => sarif::ResultLevel::Warning,
        Level::Note => sarif::ResultLevel::Note,
    }
}

fn problem_severity(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "recommendation",
    }
}

fn message_string(text: &str) -> sarif::MultiformatMessageString {
    sarif::MultiformatMessageString::builder().text(text).build()
}

fn help_text(rule: &RuleMeta) -> String {
    let mut text = sentence(&rule.description);
    if let Some(remediation) = &rule.remediation {
        text.push(' ');
        text.push_str(&sentence(remediation));
    }
    if let Some(pattern) = &rule.pattern {
        text.push_str(&format!(" Pattern: {pattern} ({}).", rule.origin));
    }
    text
}

fn help_markdown(rule: &RuleMeta) -> String {
    let mut text = format!("**{}**\n\n{}", rule.name.trim(), sentence(&rule.description));
    if let Some(remediation) = &rule.remediation {
        text.push_str(&format!("\n\n**How to fix:** {}", sentence(remediation)));
    }
    if let Some(pattern) = &rule.pattern {
        text.push_str(&format!(
            "\n\nPattern (from {}): `{}`",
            rule.origin,
            pattern.replace('`', "\\`")
        ));
    }
    text
}

/// Problems of the run itself (skipped, unreadable and missing files) as SARIF notifications.
fn notifications(report: &ScanReport<'_>) -> Vec<sarif::Notification> {
    let stats = report.stats;
    let notice = |level: &str, text: String, path: &str| {
        let mut builder = sarif::Notification::builder()
            .level(json!(level))
            .message(sarif::Message::builder().text(text).build())
            .build();
        if !path.is_empty() {
            builder.locations = Some(vec![sarif::Location::builder()
                .physical_location(
                    sarif::PhysicalLocation::builder()
                        .artifact_location(
                            sarif::ArtifactLocation::builder()
                                .uri(paths::uri_encode(path))
                                .uri_base_id(SOURCE_ROOT)
                                .build(),
                        )
                        .build(),
                )
                .build()]);
        }
        builder
    };
    let mut out = Vec::new();
    for (path, size) in &stats.too_large {
        out.push(notice(
            "warning",
            format!("Skipped: {size} bytes is over the size limit."),
            path,
        ));
    }
    for (path, reason) in &stats.unreadable {
        out.push(notice("error", format!("Could not be read: {reason}."), path));
    }
    for path in &stats.missing {
        out.push(notice(
            "note",
            "Listed in the patchset but does not exist.".to_string(),
            path,
        ));
    }
    out
}

/// Text as one sentence ending with a period (GitHub shows the first sentence of messages).
fn sentence(text: &str) -> String {
    let text = text.trim().trim_matches('"').trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// `private-key-rsa` → `PrivateKeyRsa`, for the SARIF rule name.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sentences() {
        assert_eq!(pascal_case("private-key-rsa"), "PrivateKeyRsa");
        assert_eq!(pascal_case("file-name:pem"), "FileNamePem");
        assert_eq!(
            sentence("\"Running flask in debug mode\"\n"),
            "Running flask in debug mode."
        );
        assert_eq!(sentence("Done."), "Done.");
    }
}
