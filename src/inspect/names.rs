//! The checks on a fragment's name: the file-name rules, the content rules over the name itself
//! (a file named by a key is a key in the repository), and the name rules that look inside.

use crate::finding::{sha256_hex, Finding};
use crate::redact;

use super::{content, Context, FileOutcome, FileReport, Inspector};

impl Inspector<'_> {
    /// The file-name rules, and the content rules over the name itself (a file named by a key
    /// is a key in the repository). Returns the matches of the name rules that must look inside
    /// the file first (see `look_inside`).
    pub(super) fn check_name(&self, context: &Context<'_>, report: &mut FileReport) -> Vec<(usize, String)> {
        let settings = &self.settings;
        let rules = &settings.rules;
        let scan_path = context.fragment.scan_path;
        let mut look_inside = Vec::new();
        if !settings.exceptions.waives_file_name(scan_path) {
            for (rule, found) in rules.file_name_matches(scan_path) {
                if rules
                    .rule(rule)
                    .filter
                    .as_ref()
                    .is_some_and(|f| f.inside.is_some())
                {
                    look_inside.push((rule, found.to_string()));
                    continue;
                }
                let finding = self.name_finding(rule, &report.path, found, 1, context.in_tests);
                report.findings.push(finding);
            }
        }
        let name = name_as_words(scan_path);
        // Each secret reported, with its rule.
        let mut found: Vec<(usize, Vec<u8>)> = Vec::new();
        for hit in content::scan(rules, settings.exceptions, scan_path, &name).hits {
            let meta = rules.rule(hit.rule);
            // Secrets only: `exec.rs` is no call to exec.
            if !meta.redact {
                continue;
            }
            let matched = &name[hit.matched.clone()];
            // A secret is seen in every piece of the name that holds it (whole, or without a
            // word the rule took for part of it): reported once.
            let seen = |(rule, known): &(usize, Vec<u8>)| {
                *rule == hit.rule
                    && (memchr::memmem::find(known, matched).is_some()
                        || memchr::memmem::find(matched, known).is_some())
            };
            if found.iter().any(seen) {
                continue;
            }
            found.push((hit.rule, matched.to_vec()));
            report.findings.push(Finding {
                rule: hit.rule,
                level: self.level(hit.rule, context.in_tests),
                path: report.path.clone(),
                line: 1,
                columns: None,
                evidence: redact::evidence(matched, meta.redact),
                match_hash: sha256_hex(matched),
                detail: Some("Found in the file's name".to_string()),
                introduced: None,
                secret: meta.redact.then(|| crate::finding::Secret::new(matched)),
                validation: None,
            });
        }
        redact_name(report, found.iter().map(|(_, secret)| secret.as_slice()));
        look_inside
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
            secret: None,
            validation: None,
        }
    }

    /// File-name rules that look inside (`inside:`): a credential file's name is reported only
    /// when its content holds a secret, at the line that holds it, and never next to a content
    /// finding on that line (one secret, one finding). When the content could not be read as
    /// text (binary, too large), the name is all there is, and it is reported.
    pub(super) fn look_inside(
        &self,
        matches: Vec<(usize, String)>,
        buffer: &[u8],
        report: &mut FileReport,
        context: &Context<'_>,
    ) {
        let rules = self.settings.rules;
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
                let finding = self.name_finding(rule, &report.path, &found, line, context.in_tests);
                report.findings.push(finding);
            }
        }
    }
}

/// A path as the content rules read it: each folder and the file name on a line of its own, as
/// a rule sees a word of text; then every piece of each between two separators (`_ - .` and
/// spaces) on a line of its own. A name joins words with those separators, and a token's
/// guards reject a word character next to it: `backup_ghp_….txt` or `AKIA…_creds.csv` hold a
/// token that only the piece `ghp_…` or `AKIA…` shows. The pieces of a name are few (a name with
/// more than `NAME_SEPARATORS` separators is cut at its first ones only), and short.
fn name_as_words(scan_path: &str) -> Vec<u8> {
    let mut words: Vec<u8> = scan_path
        .bytes()
        .map(|b| if b == b'/' { b'\n' } else { b })
        .collect();
    for segment in scan_path.split('/') {
        let bytes = segment.as_bytes();
        // Where pieces may start and end: the segment's ends and each separator.
        let mut cuts = vec![0];
        cuts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| matches!(b, b'_' | b'-' | b'.' | b' '))
                .map(|(at, _)| at)
                .take(NAME_SEPARATORS),
        );
        cuts.push(bytes.len());
        for (index, &start) in cuts.iter().enumerate() {
            // A piece starts after a separator (or at the segment's start)...
            let from = if index == 0 { 0 } else { start + 1 };
            for &end in &cuts[index + 1..] {
                // ...and ends before one; the whole segment is on its line already.
                if (from, end) != (0, bytes.len()) && from < end {
                    words.push(b'\n');
                    words.extend_from_slice(&bytes[from..end]);
                }
            }
        }
    }
    words
}

/// The most separators of one name that pieces are cut at.
const NAME_SEPARATORS: usize = 24;

/// A secret in a file's name is masked in the name every output shows, as evidence is: the
/// reports point at a path that reads `tokens/ghp_… (redacted).txt`, and no log holds the key.
fn redact_name<'s>(report: &mut FileReport, secrets: impl Iterator<Item = &'s [u8]>) {
    let mut path = report.path.clone();
    for secret in secrets {
        if let Ok(secret) = std::str::from_utf8(secret) {
            path = path.replace(secret, &redact::evidence(secret.as_bytes(), true));
        }
    }
    if path == report.path {
        return;
    }
    for finding in &mut report.findings {
        if finding.path == report.path {
            finding.path.clone_from(&path);
        }
    }
    report.path = path;
}
