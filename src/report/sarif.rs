//! SARIF 2.1.0, shaped for GitHub code scanning: one run, every rule that can fire with its
//! descriptions, help and `security-severity`, results with repository-relative URIs and a
//! region (line 1 for whole-file findings), a line-independent fingerprint of anteater's own and
//! upload-sarif's `primaryLocationLineHash`; history findings name the commit that added them.
//! An `automationDetails.id` only when a category is given.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use std::io::Write;

use anyhow::Context;
use serde_json::json;
use serde_sarif::sarif;

use super::sarif_limits::{
    self, truncate, Dropped, GzipMeter, Selection, MAX_DESCRIPTION_CHARS, MAX_GZIP_BYTES, MAX_NAME_CHARS,
    MAX_RESULTS, MAX_RULES,
};
use super::{Reporter, ScanReport};
use crate::decide::outcome::Outcome;
use crate::finding::{Finding, Level};
use crate::paths;
use crate::rules::{catalog, RuleKind, RuleMeta};

const INFORMATION_URI: &str = "https://github.com/anteater/anteater";
/// The base every result URI is relative to.
const SOURCE_ROOT: &str = "%SRCROOT%";

/// Writes the SARIF log to a file, atomically, so a crash never leaves a truncated log for the
/// upload step to choke on; within GitHub's upload limits (`sarif_limits`).
pub struct SarifReporter {
    path: PathBuf,
    category: Option<String>,
    dropped: Option<Dropped>,
}

impl SarifReporter {
    /// `category` becomes `automationDetails.id`; without one the run has no automation details,
    /// so upload-sarif's own `category:` applies.
    pub fn new(path: impl Into<PathBuf>, category: Option<String>) -> Self {
        Self {
            path: path.into(),
            category,
            dropped: None,
        }
    }

    /// What the last report left out to stay within GitHub's limits.
    pub fn dropped(&self) -> Option<&Dropped> {
        self.dropped.as_ref()
    }
}

impl Reporter for SarifReporter {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        let extras = Extras::of(report);
        let mut selection = sarif_limits::select(report.findings, MAX_RESULTS, sarif_limits::REASON_COUNT);
        loop {
            let mut compressed = 0;
            crate::atomic_file::write(&self.path, "SARIF", |out| {
                // serde_json writes token by token: the meter's compressor is fed in blocks, as
                // it would be fed one call per token otherwise (the cost showed as a third of a
                // scan with thousands of findings).
                let mut meter = std::io::BufWriter::with_capacity(64 * 1024, GzipMeter::new(out));
                write_selected(report, &selection, &extras, self.category.as_deref(), &mut meter)?;
                let meter = meter.into_inner().map_err(|err| err.into_error())?;
                compressed = meter.finish()?;
                Ok(())
            })?;
            if compressed <= MAX_GZIP_BYTES || selection.kept.is_empty() {
                break;
            }
            // Too large compressed: keep proportionally fewer results (with a margin), the most
            // severe ones, and write again.
            let kept = selection.kept.len();
            let fewer = ((kept as f64) * (MAX_GZIP_BYTES as f64 / compressed as f64) * 0.9) as usize;
            selection = sarif_limits::select(report.findings, fewer.min(kept - 1), sarif_limits::REASON_SIZE);
        }
        self.dropped = selection.dropped;
        Ok(())
    }
}

/// What each result carries besides the finding itself, computed once for all write attempts.
struct Extras {
    fingerprints: Vec<String>,
    /// upload-sarif's `primaryLocationLineHash`, when the file could be read.
    line_hashes: Vec<Option<String>>,
}

impl Extras {
    fn of(report: &ScanReport<'_>) -> Self {
        Self {
            fingerprints: super::fingerprints(report),
            line_hashes: line_hashes(report),
        }
    }
}

/// The `primaryLocationLineHash` of each finding, from the file as it is in the working tree
/// (what upload-sarif would hash). Findings located in a commit's version of a file and files
/// that cannot be read get none, as upload-sarif would give them none. Nor do secrets: the hash
/// covers the secret's line with a fast 64-bit hash, which confirms an offline guess like any
/// hash of the secret would (see `Finding::public_identity`); upload-sarif adds its own inside
/// Actions.
fn line_hashes(report: &ScanReport<'_>) -> Vec<Option<String>> {
    let hashable = |finding: &crate::finding::Finding| {
        !finding.introduced.as_ref().is_some_and(|i| i.located_in_commit)
            && !report.rules.rule(finding.rule).redact
    };
    let mut wanted: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for finding in report.findings {
        if hashable(finding) {
            wanted
                .entry(finding.path.as_str())
                .or_default()
                .insert(finding.line);
        }
    }
    // Each file is read again, in blocks, and hashed up to its last finding: on every core, since a large
    // log (thousands of findings in hundreds of files) took longer than the scan.
    let wanted: Vec<(&str, BTreeSet<u32>)> = wanted.into_iter().collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let hash_some = || {
        let mut hashed = Vec::new();
        loop {
            let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some((path, lines)) = wanted.get(at) else {
                return hashed;
            };
            let file = std::fs::File::open(report.report_root.join(path));
            if let Ok(hashes) = file.and_then(|file| crate::finding::line_hash::line_hashes_from(file, lines))
            {
                hashed.push((*path, hashes));
            }
        }
    };
    let hashes: HashMap<&str, HashMap<u32, String>> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers.min(wanted.len()))
            .map(|_| scope.spawn(hash_some))
            .collect();
        let mut all = hash_some();
        for helper in helpers {
            all.extend(helper.join().expect("line hashing does not panic"));
        }
        all.into_iter().collect()
    });
    report
        .findings
        .iter()
        .map(|finding| {
            if !hashable(finding) {
                return None;
            }
            hashes.get(finding.path.as_str())?.get(&finding.line).cloned()
        })
        .collect()
}

/// Writes the SARIF log, one result at a time: results are never all held in memory at once, so
/// memory follows the findings, not the size of their SARIF form.
fn write_selected(
    report: &ScanReport<'_>,
    selection: &Selection,
    extras: &Extras,
    category: Option<&str>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    // Only the rules results refer to when there are more than GitHub takes in one run.
    let rule_map = RuleMap::new(report, selection);
    // The log without results, serialized once; its empty results array marks where they go.
    // The marker cannot occur elsewhere: inside any string its quotes would be escaped.
    let frame = serde_json::to_string(&build_frame(report, &rule_map, selection, category))?;
    const MARKER: &str = "\"results\":[]";
    let at = frame
        .find(MARKER)
        .context("the SARIF frame has no results array")?;
    out.write_all(&frame.as_bytes()[..at])?;
    out.write_all(b"\"results\":[")?;
    for (position, &index) in selection.kept.iter().enumerate() {
        if position > 0 {
            out.write_all(b",\n")?;
        }
        let finding = &report.findings[index];
        let result = result(
            report,
            finding,
            rule_map.index(finding.rule),
            extras.fingerprints[index].clone(),
            extras.line_hashes[index].clone(),
        );
        serde_json::to_writer(&mut *out, &result)?;
    }
    out.write_all(b"]")?;
    out.write_all(&frame.as_bytes()[at + MARKER.len()..])?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Which rules the run lists, and each rule's index among them.
struct RuleMap {
    /// Indices into the rule set, in order.
    listed: Vec<usize>,
    /// Rule set index → index in `listed`.
    position: HashMap<usize, usize>,
}

impl RuleMap {
    fn new(report: &ScanReport<'_>, selection: &Selection) -> Self {
        let all = report.rules.rules().len();
        let listed: Vec<usize> = if all <= MAX_RULES {
            (0..all).collect()
        } else {
            let used: BTreeSet<usize> = selection
                .kept
                .iter()
                .map(|&index| report.findings[index].rule)
                .collect();
            used.into_iter().collect()
        };
        let position = listed.iter().enumerate().map(|(at, &rule)| (rule, at)).collect();
        Self { listed, position }
    }

    fn index(&self, rule: usize) -> usize {
        self.position[&rule]
    }
}

fn result(
    report: &ScanReport<'_>,
    finding: &Finding,
    rule_index: usize,
    fingerprint: String,
    line_hash: Option<String>,
) -> sarif::Result {
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
                        .uri(result_uri(report, &finding.path))
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
    let mut fingerprints = BTreeMap::from([("anteaterFingerprint/v2".to_string(), fingerprint)]);
    if let Some(hash) = line_hash {
        fingerprints.insert("primaryLocationLineHash".to_string(), hash);
    }
    let mut result = sarif::Result::builder()
        .rule_id(rule.id.clone())
        .rule_index(rule_index as i64)
        .level(result_level(finding.level))
        .message(sarif::Message::builder().text(message).build())
        .locations(vec![location])
        .partial_fingerprints(fingerprints)
        .build();
    let mut properties = BTreeMap::new();
    if let Some(introduced) = &finding.introduced {
        properties.insert("commit".to_string(), json!(introduced.commit));
        if introduced.located_in_commit {
            properties.insert("locatedInCommit".to_string(), json!(true));
        }
    }
    if let Some(validation) = &finding.validation {
        properties.insert("validation".to_string(), json!(validation.state.as_str()));
        properties.insert("validationProvider".to_string(), json!(validation.provider));
        if let Some(revoke) = &validation.revoke {
            properties.insert("revokeAt".to_string(), json!(revoke));
        }
    }
    if !properties.is_empty() {
        result.properties = Some(
            sarif::PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        );
    }
    result
}

/// A URI relative to `%SRCROOT%` (the repository, else the scanned folder) for a reported path
/// (relative to the report root, which outside git is the working directory). Everything scanned
/// is under `%SRCROOT%`; should a path ever climb out of it, its `..` segments are encoded so
/// the URI still stays under the root rather than pointing outside it.
fn result_uri(report: &ScanReport<'_>, path: &str) -> String {
    let relative = if report.report_root == report.sarif_root {
        path.to_string()
    } else {
        let absolute = paths::normalize(&report.report_root.join(path));
        paths::relative_to(&absolute, report.sarif_root)
    };
    let encoded = paths::uri_encode(&relative);
    encoded
        .split('/')
        .map(|segment| if segment == ".." { "%2E%2E" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// The log with an empty results array: tool, rules, invocation, base URI, automation id.
fn build_frame(
    report: &ScanReport<'_>,
    rule_map: &RuleMap,
    selection: &Selection,
    category: Option<&str>,
) -> sarif::Sarif {
    let all_rules = report.rules.rules();
    let rules: Vec<sarif::ReportingDescriptor> = rule_map
        .listed
        .iter()
        .map(|&index| {
            // --validate: the help of a rule whose secrets were checked names where to revoke.
            let revoke = report
                .findings
                .iter()
                .filter(|f| f.rule == index)
                .filter_map(|f| f.validation.as_ref())
                .find_map(|v| Some((&v.provider, v.revoke.as_ref()?)));
            let mut descriptor = rule_descriptor(&all_rules[index]);
            if let (Some((provider, revoke)), Some(help)) = (revoke, descriptor.help.as_mut()) {
                let line = format!("Revoke a {provider} credential at {revoke}.");
                help.text = format!("{} {line}", help.text);
                if let Some(markdown) = help.markdown.as_mut() {
                    *markdown = format!("{markdown}\n\n**Revoke:** {line}");
                }
            }
            descriptor
        })
        .collect();
    let mut notifications = notifications(report);
    if let Some(dropped) = &selection.dropped {
        notifications.push(
            sarif::Notification::builder()
                .level(json!("warning"))
                .message(sarif::Message::builder().text(dropped.message()).build())
                .build(),
        );
    }
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
    let mut run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .original_uri_base_ids(BTreeMap::from([(
            SOURCE_ROOT.to_string(),
            sarif::ArtifactLocation::builder()
                .uri(paths::directory_uri(report.sarif_root))
                .build(),
        )]))
        .column_kind(json!("utf16CodeUnits"))
        .invocations(vec![invocation])
        .results(Vec::new())
        .build();
    if let Some(category) = category {
        run.automation_details = Some(sarif::RunAutomationDetails::builder().id(category).build());
    }
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
        RuleKind::Binary | RuleKind::KeyFile => "binary",
        RuleKind::VirusTotal => "virustotal",
        RuleKind::ConfigChange => "configuration",
    };
    let mut tags = vec!["security".to_string(), kind_tag.to_string()];
    if rule.redact {
        tags.push("secret".to_string());
    }
    debug_assert!(tags.len() <= sarif_limits::MAX_TAGS);
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
        .short_description(message_string(&truncate(rule.name.trim(), MAX_DESCRIPTION_CHARS)))
        .full_description(message_string(&truncate(
            &sentence(&rule.description),
            MAX_DESCRIPTION_CHARS,
        )))
        .help(
            sarif::MultiformatMessageString::builder()
                .text(help_text(rule))
                .markdown(help_markdown(rule))
                .build(),
        )
        .help_uri(catalog::help_uri(&rule.id, catalog::is_shipped(&rule.id)))
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
        descriptor.name = Some(truncate(&name, MAX_NAME_CHARS));
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
                                .uri(result_uri(report, path))
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
    for (path, format) in &stats.not_opened {
        out.push(notice(
            "note",
            format!("A {format} archive, not opened: its bytes were searched, its members were not."),
            path,
        ));
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
