//! JUnit XML for CI test panels (Jenkins `junit`, GitLab `artifacts:reports:junit`, and the
//! many GitHub actions that read it).
//!
//! One test suite `anteater` with **one test case per rule** of the run, named by the rule id.
//! Test panels track a test case's history by name ("failing since", "fixed"), which needs names
//! that exist on every run: per-rule cases do, per-file cases would only appear when failing. A
//! rule's case fails when it has findings at or above `--fail-on`, so the panel agrees with the
//! exit code (Jenkins marks a build unstable on any failed test); its `<failure>` message names
//! the first finding (`path:line rule: evidence`) and its text lists all of them. Findings below
//! the threshold are listed in the case's `<system-out>`. An incomplete scan (unreadable files)
//! is one more case, `scan-complete`, with an `<error>`.
//!
//! Hand-written XML, because file names and matched text come from the change under review:
//! everything is escaped, and characters XML 1.0 cannot carry at all are dropped.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::{fail_on_name, fails_gate, Reporter, ScanReport};
use crate::finding::Finding;
use crate::redact::escape;

pub struct JunitReporter {
    path: PathBuf,
}

impl JunitReporter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Reporter for JunitReporter {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        let xml = render(report);
        crate::atomic_file::write(&self.path, "JUnit report", |out| {
            out.write_all(xml.as_bytes())?;
            Ok(())
        })
    }
}

/// The name of the test case that fails when files could not be read.
const SCAN_CASE: &str = "scan-complete";

/// The whole XML document.
pub fn render(report: &ScanReport<'_>) -> String {
    let stats = report.stats;
    let time = format!("{:.3}", stats.elapsed.as_secs_f64());
    let mut cases = String::new();
    let mut failures = 0;
    for (index, rule) in report.rules.rules().iter().enumerate() {
        let (failing, other): (Vec<&Finding>, Vec<&Finding>) = report
            .findings
            .iter()
            .filter(|finding| finding.rule == index)
            .partition(|finding| fails_gate(finding.level, report.fail_on));
        let _ = writeln!(
            cases,
            "    <testcase name=\"{}\" classname=\"anteater\" time=\"0\">",
            attribute(&rule.id)
        );
        if let Some(first) = failing.first() {
            failures += 1;
            let mut message = finding_line(report, first);
            if failing.len() > 1 {
                let _ = write!(message, " (and {} more)", failing.len() - 1);
            }
            let _ = writeln!(
                cases,
                "      <failure message=\"{}\" type=\"{}\">{}: {}",
                attribute(&message),
                first.level.as_str(),
                text(rule.name.trim()),
                text(rule.description.trim())
            );
            for finding in &failing {
                let _ = writeln!(cases, "{}", text(&finding_line(report, finding)));
            }
            cases.push_str("</failure>\n");
        }
        if !other.is_empty() {
            let _ = writeln!(
                cases,
                "      <system-out>Below --fail-on {}:",
                fail_on_name(report.fail_on)
            );
            for finding in &other {
                let _ = writeln!(cases, "{}", text(&finding_line(report, finding)));
            }
            cases.push_str("</system-out>\n");
        }
        cases.push_str("    </testcase>\n");
    }

    // The scan itself is a test too: a run that could not read every file must not look green.
    let _ = writeln!(
        cases,
        "    <testcase name=\"{SCAN_CASE}\" classname=\"anteater\" time=\"{time}\">"
    );
    let errors = usize::from(!stats.unreadable.is_empty());
    if errors > 0 {
        let _ = writeln!(
            cases,
            "      <error message=\"{} files or directories could not be read\" type=\"scan_incomplete\">",
            stats.unreadable.len()
        );
        for (path, reason) in &stats.unreadable {
            let shown = if path.is_empty() {
                "(walk)".into()
            } else {
                escape(path)
            };
            let _ = writeln!(cases, "{}: {}", text(&shown), text(&escape(reason)));
        }
        cases.push_str("</error>\n");
    }
    if !stats.too_large.is_empty() || !stats.missing.is_empty() {
        cases.push_str("      <system-out>");
        for (path, size) in &stats.too_large {
            let _ = writeln!(
                cases,
                "{}: skipped, {size} bytes is over --max-file-size",
                text(&escape(path))
            );
        }
        for path in &stats.missing {
            let _ = writeln!(
                cases,
                "{}: listed in the patchset but does not exist",
                text(&escape(path))
            );
        }
        cases.push_str("</system-out>\n");
    }
    cases.push_str("    </testcase>\n");

    let tests = report.rules.rules().len() + 1;
    let counts = format!("tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time}\"");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"anteater\" {counts}>\n  \
         <testsuite name=\"anteater\" {counts} skipped=\"0\">\n{cases}  </testsuite>\n</testsuites>\n"
    )
}

/// `path:line rule: evidence`, the way a failure names a finding. The path is escaped like the
/// console's (control characters made visible); the evidence already is.
fn finding_line(report: &ScanReport<'_>, finding: &Finding) -> String {
    let mut line = format!(
        "{}:{} {}: {}",
        escape(&finding.path),
        finding.line,
        report.rules.rule(finding.rule).id,
        finding.evidence
    );
    if let Some(detail) = &finding.detail {
        line.push_str(" (");
        line.push_str(detail);
        line.push(')');
    }
    line
}

/// Escapes character data. `\r` is written as a reference, or the parser would turn it into a
/// line feed.
fn text(value: &str) -> String {
    escape_xml(value, false)
}

/// Escapes an attribute value. Tabs and line breaks are written as references, or the parser
/// would turn them into spaces.
fn attribute(value: &str) -> String {
    escape_xml(value, true)
}

fn escape_xml(value: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            c if allowed_in_xml(c) => out.push(c),
            // Not even a character reference may name these in XML 1.0: they are dropped.
            _ => {}
        }
    }
    out
}

/// XML 1.0's `Char` production: tab, line feed, carriage return, and everything from U+0020 on
/// except U+FFFE and U+FFFF (a Rust `char` is never a surrogate).
fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::report::ScanStats;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(text("a<b>&\"c'.txt"), "a&lt;b&gt;&amp;&quot;c&apos;.txt");
        assert_eq!(attribute("x\ny\tz\r"), "x&#10;y&#9;z&#13;");
        assert_eq!(text("x\ny\r"), "x\ny&#13;");
    }

    #[test]
    fn characters_xml_cannot_carry_are_dropped() {
        assert_eq!(text("a\u{0}b\u{1}c\u{1b}d\u{7}e\u{fffe}f\u{ffff}g"), "abcdefg");
        // Legal but unusual characters stay.
        assert_eq!(text("é\u{85}\u{10000}"), "é\u{85}\u{10000}");
    }

    #[test]
    fn one_case_per_rule_failed_by_findings_at_or_above_the_threshold() {
        let rules = rules();
        let findings = [
            finding(&rules, "high", "a<b>&\"c'.txt", 3, "x"),
            finding(&rules, "high", "bad\u{1}name", 4, "y"),
            finding(&rules, "medium", "m.txt", 1, "z"),
        ];
        let stats = ScanStats::default();
        let xml = render(&report(&rules, &findings, &stats));
        // Four rules, the binary and DER-key rules and the scan case.
        assert!(xml.contains("tests=\"7\" failures=\"1\" errors=\"0\""), "{xml}");
        assert!(
            xml.contains("message=\"a&lt;b&gt;&amp;&quot;c&apos;.txt:3 high: x (and 1 more)\""),
            "{xml}"
        );
        // The console's escaping makes the control character visible, not lost.
        assert!(xml.contains("bad\\u{1}name:4 high: y"), "{xml}");
        assert!(!xml.contains('\u{1}'));
        assert!(
            xml.contains("<system-out>Below --fail-on error:\nm.txt:1 medium: z\n"),
            "{xml}"
        );
    }

    #[test]
    fn unreadable_files_are_an_error_case() {
        let rules = rules();
        let stats = ScanStats {
            unreadable: vec![("locked<1>".into(), "permission denied".into())],
            ..ScanStats::default()
        };
        let xml = render(&report(&rules, &[], &stats));
        assert!(xml.contains("errors=\"1\""), "{xml}");
        assert!(xml.contains("locked&lt;1&gt;: permission denied"), "{xml}");
    }
}
