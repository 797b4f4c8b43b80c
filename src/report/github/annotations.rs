//! GitHub annotations: `::error file=…,line=…::message` workflow commands on the changed files,
//! capped as GitHub caps them, and the escaping that keeps a hostile file name or matched text
//! from ending a value, a property or the line early. Separate from the job summary (Markdown to
//! a file) because its output is read by the runner as commands.

use std::io::Write;

use crate::finding::{Finding, Level};
use crate::redact::escape;
use crate::report::{by_severity, rule_label, Reporter, ScanReport};

/// Annotations GitHub keeps per step and level; more are dropped without a word.
const ANNOTATIONS_PER_LEVEL: usize = 10;

/// `::error file=…,line=…::message` lines, most severe first, within GitHub's per-step limits,
/// then one notice saying how many findings were left out and where they all are.
pub struct AnnotationReporter<Out: Write> {
    out: Out,
    /// A job summary is being written too (it is named in the "more findings" notice).
    with_summary: bool,
}

impl<Out: Write> AnnotationReporter<Out> {
    pub fn new(out: Out, with_summary: bool) -> Self {
        Self { out, with_summary }
    }
}

impl<Out: Write> Reporter for AnnotationReporter<Out> {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        let findings = by_severity(report);
        let count = |level| findings.iter().filter(|f| f.level == level).count();
        let overflow = [Level::Error, Level::Warning, Level::Note]
            .into_iter()
            .any(|level| count(level) > ANNOTATIONS_PER_LEVEL);
        let mut shown = 0;
        for level in [Level::Error, Level::Warning, Level::Note] {
            // The closing notice is a notice too: keep a slot for it.
            let cap = if level == Level::Note && overflow {
                ANNOTATIONS_PER_LEVEL - 1
            } else {
                ANNOTATIONS_PER_LEVEL
            };
            for finding in findings.iter().filter(|f| f.level == level).take(cap) {
                writeln!(self.out, "{}", annotation(report, finding))?;
                shown += 1;
            }
        }
        let left_out = findings.len() - shown;
        if left_out > 0 {
            let mut places = Vec::new();
            if let Some(path) = report.sarif_path {
                places.push(format!("the SARIF log {}", path.display()));
            }
            if self.with_summary {
                places.push("the job summary".to_string());
            }
            if places.is_empty() {
                places.push("the log above".to_string());
            }
            let message = format!(
                "anteater: {left_out} more findings were not annotated (GitHub shows at most \
                 {ANNOTATIONS_PER_LEVEL} errors, warnings and notices per step); the full list is in {}.",
                places.join(" and ")
            );
            writeln!(self.out, "::notice title=anteater::{}", escape_data(&message))?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// One workflow command for one finding.
fn annotation(report: &ScanReport<'_>, finding: &Finding) -> String {
    let rule = report.rules.rule(finding.rule);
    let command = match finding.level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "notice",
    };
    let mut properties = format!(
        "file={},line={},endLine={}",
        escape_property(&finding.path),
        finding.line,
        finding.line
    );
    if let Some((start, end)) = finding.columns {
        properties.push_str(&format!(",col={start},endColumn={}", end.max(start + 1)));
    }
    let title = format!("{}: {}", rule.id, rule_label(rule));
    properties.push_str(&format!(",title={}", escape_property(&title)));
    let mut message = format!("{} Matched: {}", rule.description.trim(), finding.evidence);
    if let Some(detail) = &finding.detail {
        message.push_str(". ");
        message.push_str(detail);
    }
    format!("::{command} {properties}::{}", escape_data(&message))
}

/// Escapes a command's message as the runner unescapes it: `%`, CR and LF. Nothing else can
/// end the data, which runs to the end of the line (a `::` inside it is just text).
pub fn escape_data(value: &str) -> String {
    escape_command(value, false)
}

/// Escapes a property value: as message data, plus `:` (two of which would end the properties)
/// and `,` (which would start a new property, `file=a,line=1` forging a location).
pub fn escape_property(value: &str) -> String {
    escape_command(value, true)
}

fn escape_command(value: &str, property: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            // Other control and bidi characters would reach the log viewer raw: shown escaped,
            // as on the console.
            c => {
                let mut buffer = [0; 4];
                out.push_str(&escape(c.encode_utf8(&mut buffer)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::*;
    use crate::report::ScanStats;

    /// What the runner does with a command line (actions/runner `ActionCommand.TryParseV2`):
    /// command, properties and data, unescaped.
    fn parse(line: &str) -> (String, Vec<(String, String)>, String) {
        let line = line.trim_start();
        assert!(line.starts_with("::"), "{line}");
        let end = line[2..]
            .find("::")
            .map(|i| i + 2)
            .expect("a `::` after the command");
        let info = &line[2..end];
        let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
        let unescape = |value: &str, property: bool| {
            let mut value = value.replace("%0D", "\r").replace("%0A", "\n");
            if property {
                value = value.replace("%3A", ":").replace("%2C", ",");
            }
            value.replace("%25", "%")
        };
        let properties = properties
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), unescape(v, true))
            })
            .collect();
        (name.to_string(), properties, unescape(&line[end + 2..], false))
    }

    #[test]
    fn hostile_values_survive_the_runners_parser_unchanged() {
        for hostile in [
            "a%b:c,d",
            "evil\n::error file=x::forged",
            "cr\rhere",
            "%0A%25",
            "::add-mask::x",
            "x,line=99,title=forged",
            "a::b",
        ] {
            let property = escape_property(hostile);
            assert!(!property.contains([':', ',', '\n', '\r']), "{property}");
            let data = escape_data(hostile);
            assert!(!data.contains(['\n', '\r']), "{data}");
            let line = format!("::error file={property},line=3::{data}");
            let (name, properties, message) = parse(&line);
            assert_eq!(name, "error");
            assert_eq!(
                properties,
                [
                    ("file".to_string(), hostile.to_string()),
                    ("line".into(), "3".into())
                ]
            );
            assert_eq!(message, hostile);
        }
    }

    #[test]
    fn escaping_is_exact() {
        assert_eq!(escape_data("100% a:b,c\r\n"), "100%25 a:b,c%0D%0A");
        assert_eq!(escape_property("100% a:b,c\r\n"), "100%25 a%3Ab%2Cc%0D%0A");
        // Other control characters are made visible, not passed to the log raw.
        assert_eq!(escape_data("a\u{1b}[31mb"), "a\\u{1b}[31mb");
    }

    #[test]
    fn annotations_are_capped_per_level_with_a_closing_notice() {
        let rules = rules();
        let mut findings: Vec<Finding> = (0..15)
            .map(|i| finding(&rules, "high", &format!("e{i:02}.txt"), 1, "x"))
            .collect();
        findings.extend((0..3).map(|i| finding(&rules, "medium", &format!("w{i}.txt"), 1, "x")));
        findings.extend((0..12).map(|i| finding(&rules, "low", &format!("n{i:02}.txt"), 1, "x")));
        let stats = ScanStats::default();
        let report = report(&rules, &findings, &stats);
        let mut out = Vec::new();
        AnnotationReporter::new(&mut out, true).report(&report).unwrap();
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
        assert_eq!(count("::error "), 10);
        assert_eq!(count("::warning "), 3);
        assert_eq!(count("::notice "), 10, "9 notes and the closing notice");
        assert!(lines[0].starts_with("::error file=e00.txt,line=1,endLine=1,col=3,endColumn=4,"));
        let last = lines.last().unwrap();
        assert!(last.contains("8 more findings were not annotated"), "{last}");
        assert!(last.contains("anteater.sarif and the job summary"), "{last}");
    }
}
