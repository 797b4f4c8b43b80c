//! One self-contained HTML page for teams without a code-scanning view: the verdict, findings
//! counted by severity, rule and file, then every finding with its (redacted) evidence and fix
//! advice, with filters. Styles and the filter script are inline and nothing is fetched, so the
//! file can be archived as a CI artefact and opened anywhere, offline.
//!
//! File names, evidence and rule texts come from the change under review: each is escaped for
//! control characters (as on the console) and then for HTML, and the script only reads
//! attributes and toggles rows, so nothing from the repository is ever interpreted as markup.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::{fail_on_name, outcome_name, Reporter, ScanReport};
use crate::finding::Level;
use crate::redact::escape;

pub struct HtmlReporter {
    path: PathBuf,
}

impl HtmlReporter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Reporter for HtmlReporter {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        let page = render(report);
        crate::atomic_file::write(&self.path, "HTML report", |out| {
            out.write_all(page.as_bytes())?;
            Ok(())
        })
    }
}

/// Text for an HTML text node or a quoted attribute.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Repository text: control characters escaped as everywhere, then HTML-escaped.
fn shown(text: &str) -> String {
    html(&escape(text))
}

const LEVELS: [Level; 3] = [Level::Error, Level::Warning, Level::Note];

/// The whole page.
pub fn render(report: &ScanReport<'_>) -> String {
    let stats = report.stats;
    let mut page = String::new();
    let verdict = outcome_name(report.outcome);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <title>anteater report: {verdict}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>anteater report <span class=\"verdict {verdict}\">{verdict}</span></h1>\n"
    );
    let _ = writeln!(
        page,
        "<p class=\"meta\">{} findings ({}) · {} files looked at{} · {:.2}s · anteater {}</p>",
        report.findings.len(),
        match report.fail_on {
            crate::decide::outcome::FailOn::Never => "no finding fails the gate".to_string(),
            other => format!("{} and above fail the gate", fail_on_name(other)),
        },
        stats.files_looked_at(),
        stats
            .commits
            .map(|commits| format!(" · {commits} commits"))
            .unwrap_or_default(),
        stats.elapsed.as_secs_f64(),
        env!("CARGO_PKG_VERSION"),
    );
    summary_tables(&mut page, report);
    filters(&mut page, report);
    findings_table(&mut page, report);
    let _ = write!(
        page,
        "<p class=\"waive\">Not a secret? Waive one finding with a comment <code>anteater:ignore RULE-ID</code> \
         on its line, or accept today's findings with <code>--write-baseline FILE</code> and then \
         <code>--baseline FILE</code>.</p>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    page
}

/// Counts by severity, by rule and by file.
fn summary_tables(page: &mut String, report: &ScanReport<'_>) {
    page.push_str("<section class=\"counts\">\n<table id=\"by-level\"><caption>By severity</caption>\n");
    for level in LEVELS {
        let _ = writeln!(
            page,
            "<tr><td><span class=\"level {0}\">{0}</span></td><td>{1}</td></tr>",
            level.as_str(),
            report.count(level)
        );
    }
    page.push_str("</table>\n<table id=\"by-rule\"><caption>By rule</caption>\n");
    let mut by_rule: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    let mut by_file: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in report.findings {
        let rule = report.rules.rule(finding.rule);
        by_rule.entry(&rule.id).or_insert((0, super::rule_label(rule))).0 += 1;
        *by_file.entry(&finding.path).or_default() += 1;
    }
    for (id, (count, label)) in &by_rule {
        let _ = writeln!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td>{count}</td></tr>",
            shown(id),
            shown(label)
        );
    }
    page.push_str("</table>\n<table id=\"by-file\"><caption>By file</caption>\n");
    for (path, count) in &by_file {
        let _ = writeln!(
            page,
            "<tr><td><code>{}</code></td><td>{count}</td></tr>",
            shown(path)
        );
    }
    page.push_str("</table>\n</section>\n");
}

/// Level checkboxes, a rule list and a path search; the script applies them.
fn filters(page: &mut String, report: &ScanReport<'_>) {
    page.push_str("<form id=\"filters\" onsubmit=\"return false\">\n");
    for level in LEVELS {
        let _ = writeln!(
            page,
            "<label><input type=\"checkbox\" name=\"level\" value=\"{0}\" checked> {0}</label>",
            level.as_str()
        );
    }
    page.push_str("<select id=\"rule\"><option value=\"\">every rule</option>\n");
    let mut ids: Vec<&str> = report
        .findings
        .iter()
        .map(|finding| report.rules.rule(finding.rule).id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let _ = writeln!(page, "<option value=\"{0}\">{0}</option>", shown(id));
    }
    page.push_str(
        "</select>\n<input id=\"path\" type=\"search\" placeholder=\"path contains\">\n\
         <output id=\"shown\"></output>\n</form>\n",
    );
}

/// Every finding, most severe first, one row each.
fn findings_table(page: &mut String, report: &ScanReport<'_>) {
    if report.findings.is_empty() {
        page.push_str("<p id=\"none\">No findings.</p>\n");
    }
    page.push_str(
        "<table id=\"findings\"><thead><tr><th>level</th><th>rule</th><th>where</th>\
         <th>what</th><th>fix</th></tr></thead>\n<tbody>\n",
    );
    for finding in super::by_severity(report) {
        let rule = report.rules.rule(finding.rule);
        let column = finding.columns.map_or(1, |(start, _)| start);
        let mut what = format!(
            "{}<br>matched <code>{}</code>",
            shown(rule.description.trim()),
            html(&finding.evidence)
        );
        if let Some(detail) = &finding.detail {
            let _ = write!(what, "<br>{}", html(detail));
        }
        if let Some(introduced) = &finding.introduced {
            let _ = write!(what, "<br>commit <code>{}</code>", shown(&introduced.commit));
        }
        let fix = rule
            .remediation
            .as_deref()
            .map(|text| shown(&text.split_whitespace().collect::<Vec<_>>().join(" ")))
            .unwrap_or_default();
        let _ = writeln!(
            page,
            "<tr class=\"finding\" data-level=\"{level}\" data-rule=\"{id}\" data-path=\"{path}\">\
             <td><span class=\"level {level}\">{level}</span></td><td><code>{id}</code></td>\
             <td><code>{path}:{line}:{column}</code></td><td>{what}</td><td>{fix}</td></tr>",
            level = finding.level.as_str(),
            id = shown(&rule.id),
            path = shown(&finding.path),
            line = finding.line,
        );
    }
    page.push_str("</tbody></table>\n");
}

const STYLE: &str = "\
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1f24;background:#fff}\
h1{font-size:1.4em}code{font:12px ui-monospace,monospace;overflow-wrap:anywhere}\
#findings td:nth-child(2) code{white-space:nowrap}\
.verdict,.level{padding:.1em .5em;border-radius:.3em;color:#fff;font-size:.85em}\
.passed{background:#1a7f37}.failed,.error{background:#cf222e}.scan_incomplete,.warning{background:#9a6700}\
.note{background:#57606a}.meta{color:#57606a}\
.counts{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}\
table{border-collapse:collapse;margin:.5em 0}caption{text-align:left;font-weight:600}\
td,th{border-bottom:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}\
#findings{width:100%}#filters{margin:1em 0;display:flex;gap:1em;align-items:center}\
.waive{color:#57606a;margin-top:1.5em}";

/// Hides the rows the filters leave out and says how many are shown.
const SCRIPT: &str = "\
(function(){\
var form=document.getElementById('filters');\
var rows=Array.prototype.slice.call(document.querySelectorAll('tr.finding'));\
function apply(){\
var levels={};\
Array.prototype.forEach.call(form.querySelectorAll('input[name=level]'),function(box){levels[box.value]=box.checked;});\
var rule=document.getElementById('rule').value;\
var path=document.getElementById('path').value.toLowerCase();\
var shown=0;\
rows.forEach(function(row){\
var keep=levels[row.dataset.level]&&(!rule||row.dataset.rule===rule)&&row.dataset.path.toLowerCase().indexOf(path)>=0;\
row.hidden=!keep;if(keep){shown++;}});\
document.getElementById('shown').textContent=shown+' of '+rows.length+' findings shown';}\
form.addEventListener('input',apply);form.addEventListener('change',apply);apply();})();";

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::report::ScanStats;

    #[test]
    fn repository_text_cannot_become_markup() {
        let rules = rules();
        let findings = [finding(
            &rules,
            "high",
            "<img src=x onerror=alert(1)>.txt",
            2,
            "\"><script>",
        )];
        let stats = ScanStats::default();
        let page = render(&report(&rules, &findings, &stats));
        assert!(!page.contains("<img"), "{page}");
        assert!(!page.contains("\"><script>"), "{page}");
        assert!(
            page.contains("&lt;img src=x onerror=alert(1)&gt;.txt:2:3"),
            "{page}"
        );
        // Nothing is fetched: no external reference of any kind.
        for external in ["http://", "https://", "src=\"", "href=\"", "@import", "url("] {
            assert!(!page.contains(external), "{external} in the page");
        }
    }

    #[test]
    fn findings_are_counted_by_severity_rule_and_file() {
        let rules = rules();
        let findings = [
            finding(&rules, "high", "a.txt", 1, "x"),
            finding(&rules, "high", "a.txt", 5, "y"),
            finding(&rules, "low", "b.txt", 1, "z"),
        ];
        let stats = ScanStats::default();
        let page = render(&report(&rules, &findings, &stats));
        assert!(
            page.contains("<code>high</code></td><td>Rule high</td><td>2</td>"),
            "{page}"
        );
        assert!(page.contains("<code>a.txt</code></td><td>2</td>"), "{page}");
        assert_eq!(page.matches("<tr class=\"finding\"").count(), 3);
    }
}
