//! GitHub Actions, beyond SARIF: workflow-command annotations on the changed files, and a
//! Markdown job summary (`$GITHUB_STEP_SUMMARY`).
//!
//! The runner reads every line a step prints as a possible workflow command, and file names and
//! matched text are chosen by whoever wrote the change under review. So annotation values are
//! escaped as the runner unescapes them (nothing can end a value, a property or the line early),
//! and what the other reporters print from the tree can be wrapped in a `stop-commands` pause.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::{by_severity, fail_on_name, rule_label, Reporter, ScanReport};
use crate::finding::{Finding, Level};
use crate::outcome::Outcome;
use crate::redact::escape;

/// Annotations GitHub keeps per step and level; more are dropped without a word.
const ANNOTATIONS_PER_LEVEL: usize = 10;
/// GitHub refuses a step summary over 1 MiB (the step itself still passes).
const SUMMARY_LIMIT: usize = 1024 * 1024;
/// Margin kept under the limit for the "more findings" line, with room to spare.
const SUMMARY_MARGIN: usize = 4 * 1024;
/// Problem paths listed per kind in the summary; the console and SARIF have them all.
const PROBLEM_PATHS_SHOWN: usize = 10;

// ------------------------------------------------------------------------------------------------
// Annotations

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

/// A pause in the runner's processing of workflow commands (`::stop-commands::TOKEN`, ended by
/// `::TOKEN::`), GitHub's own advice for logging untrusted text: while it lasts, a file name
/// such as `##[set-output name=findings]0` printed by the console is only text. The token is
/// random, so nothing in the tree can end the pause early.
pub struct CommandPause {
    token: String,
}

impl CommandPause {
    pub fn begin(out: &mut impl Write) -> std::io::Result<Self> {
        let pause = Self {
            token: random_token(),
        };
        writeln!(out, "::stop-commands::{}", pause.token)?;
        out.flush()?;
        Ok(pause)
    }

    pub fn end(self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "::{}::", self.token)?;
        out.flush()
    }
}

/// 128 random bits as hex, from the standard library's randomly keyed hasher (seeded by the
/// operating system) and the clock, so no new dependency is needed.
fn random_token() -> String {
    use std::hash::BuildHasher;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let half =
        |n: u8| std::collections::hash_map::RandomState::new().hash_one((n, nanos, std::process::id()));
    format!("anteater-{:016x}{:016x}", half(0), half(1))
}

// ------------------------------------------------------------------------------------------------
// Job summary

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

/// A code span holding `text` literally: the fence is one backtick longer than the longest run
/// inside, and padded when the text starts or ends with a backtick or a space (CommonMark would
/// otherwise merge or strip them). Backslashes are literal inside, so nothing else is escaped.
fn code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = text.is_empty() || text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']);
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Text shown as is: every ASCII punctuation character Markdown or inline HTML could act on is
/// backslash-escaped (links, images, emphasis, HTML tags, entities), line breaks become spaces.
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '(' | ')' | '!' | '&' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A table cell: a `|` would end the cell, even inside a code span, unless escaped (GFM removes
/// the backslash there too); an escaped one stays escaped.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut backslashes = 0;
    for c in text.chars() {
        if c == '|' && backslashes % 2 == 0 {
            out.push('\\');
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        out.push(if c == '\r' || c == '\n' { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
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

    #[test]
    fn a_pause_is_ended_by_its_own_token() {
        let mut out = Vec::new();
        let pause = CommandPause::begin(&mut out).unwrap();
        let token = pause.token.clone();
        pause.end(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("::stop-commands::{token}\n::{token}::\n")
        );
        assert_ne!(random_token(), random_token());
    }

    #[test]
    fn code_spans_hold_any_text() {
        assert_eq!(code("a.txt"), "`a.txt`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(code("a\nb"), "`a b`");
        assert_eq!(cell(&code("a|b")), "`a\\|b`");
        assert_eq!(cell("a\\|b"), "a\\|b");
        assert_eq!(
            markdown_text("<img src=x> [link](http://e) *b*"),
            "\\<img src=x\\> \\[link\\]\\(http://e\\) \\*b\\*"
        );
    }

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
