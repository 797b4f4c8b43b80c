//! How one view of a window is searched: the content rules over the text as it is, unescaped
//! and decoded (each a `Searched` copy with the window's lines), which of their hits the window
//! owns and the change touches, inline waivers, and the indicators VirusTotal is asked about.

use crate::finding::{content_match_hash, Finding};
use crate::fragment::Fragment;
use crate::redact;

use super::windows::{self, View};
use super::{content, decoded, escaped, network, Context, FileReport, IndicatorHit, Inspector};

impl Inspector<'_> {
    /// Runs the content rules (and the VirusTotal indicator search) over one window of a view,
    /// keeping what starts in the window's own part and touches a new line.
    pub(super) fn scan_text(
        &self,
        text: &[u8],
        region: windows::Region,
        report: &mut FileReport,
        context: &Context<'_>,
    ) {
        // (rule, line) of the matches an inline marker waived, so that a view sees each once.
        let mut waived_seen = Vec::new();
        self.content_findings(text, &region, report, context, Searched::Plain, &mut waived_seen);
        if region.view == View::Binary {
            // A binary is searched in two views (its bytes, its wide strings).
            dedup_findings(&mut report.findings);
        }
        // A string holding escaped JSON (`"{\"password\": \"...\"}"`) is searched unescaped
        // too: rules expect the quotes an assignment is written with.
        if region.view == View::Text {
            if let Some(unescaped) = escaped::unescape_quotes(text) {
                self.content_findings(
                    &unescaped,
                    &region,
                    report,
                    context,
                    Searched::Unescaped,
                    &mut waived_seen,
                );
                dedup_findings(&mut report.findings);
            }
            // Encoded, split and name/value-pair secrets: their lines decoded (see `decoded`).
            if let Some(decoded) = decoded::decode(text) {
                let copy = Searched::Decoded(&decoded);
                self.content_findings(&decoded.text, &region, report, context, copy, &mut waived_seen);
                dedup_findings(&mut report.findings);
                for encoded in decoded.archives {
                    self.inspect_encoded_archive(encoded, &region, context, report);
                }
            }
        }
        self.indicators(text, &region, report, context);
    }

    /// The content rules' findings in one view of a window, or in a copy of it (whose offsets
    /// are not the window's, its lines are, and whose suppressions were counted already).
    fn content_findings(
        &self,
        text: &[u8],
        region: &windows::Region,
        report: &mut FileReport,
        context: &Context<'_>,
        copy: Searched<'_>,
        waived_seen: &mut Vec<(usize, u32)>,
    ) {
        let unescaped = copy != Searched::Plain;
        let settings = &self.settings;
        let fragment = context.fragment;
        let scan = content::scan(settings.rules, settings.exceptions, fragment.scan_path, text);
        if !unescaped {
            report.suppressed += scan.suppressed;
        }
        for hit in scan.hits {
            if !owns_hit(region, &hit, unescaped) {
                continue;
            }
            let rule = settings.rules.rule(hit.rule);
            let matched = &text[hit.matched.clone()];
            let Some(line) = changed_line(text, region, &hit, fragment, copy) else {
                continue;
            };
            // The unescaped view is there for what the plain one cannot see: a line the plain view
            // reported for this rule is not reported twice (its columns differ in the copy), nor
            // is a decoded line read from several (a continued literal, a list one part per
            // line) when the plain view reported any of them.
            let read_from = match copy {
                Searched::Decoded(decoded) => {
                    let (from, to) = decoded.source_lines(hit.line).into_inner();
                    region.line(from)..=region.line(to)
                }
                _ => line..=line,
            };
            if unescaped
                && report
                    .findings
                    .iter()
                    .any(|f| f.rule == hit.rule && read_from.contains(&f.line))
            {
                continue;
            }
            // A decoded line whose secret a view of the line as written reported already (a
            // Kubernetes Secret's base64 value) is not reported again by a generic rule; a
            // provider's rule still names what the secret is.
            if matches!(copy, Searched::Decoded(_))
                && rule.demote_in_tests
                && report
                    .findings
                    .iter()
                    .any(|f| f.line == line && f.secret.is_some())
            {
                continue;
            }
            let columns = (region.view == View::Text && !matches!(copy, Searched::Decoded(_))).then(|| {
                let before = &text[hit.line_range.start..hit.matched.start];
                content::match_columns(before, matched, rule.redact)
            });
            report.findings.push(Finding {
                rule: hit.rule,
                level: self.level(hit.rule, context.in_tests),
                path: report.path.clone(),
                line,
                columns,
                evidence: redact::evidence(matched, rule.redact),
                match_hash: content_match_hash(text, hit.matched.clone(), hit.line_range.end, rule.redact),
                detail: match copy {
                    _ if region.view == View::Binary => {
                        Some("Found in the bytes of a binary file".to_string())
                    }
                    Searched::Decoded(decoded) => Some(decoded.undone(hit.line).describe()),
                    _ => None,
                },
                introduced: None,
                secret: rule.redact.then(|| crate::finding::Secret::new(matched)),
                validation: None,
            });
        }
        // Modes that judge a change show the inline waivers its new lines hold (`waiver-added`):
        // in every view, and for a match spanning lines when any of them is new (a marker set
        // on an old key header must not waive the body a change adds under it).
        let waiver = settings.rules.index_of(crate::rules::WAIVER_ADDED);
        let excepted = scan.excepted.into_iter().filter(|_| settings.strict_waivers);
        let inline = scan.waived.into_iter().map(|hit| (hit, true));
        for (hit, is_inline) in inline.chain(excepted.map(|hit| (hit, false))) {
            if !owns_hit(region, &hit, unescaped) {
                continue;
            }
            let first = match region.view {
                View::Binary => 1,
                View::Text => region.line(hit.line),
            };
            if unescaped {
                // The plain view counted its own suppressions: this one counts what it alone saw.
                if waived_seen.contains(&(hit.rule, first)) {
                    continue;
                }
                if is_inline {
                    report.suppressed += 1;
                }
            }
            waived_seen.push((hit.rule, first));
            let Some(waiver) = waiver else {
                continue;
            };
            let Some(line) = changed_line(text, region, &hit, fragment, copy) else {
                continue;
            };
            report.findings.push(Finding {
                rule: waiver,
                level: self.level(waiver, context.in_tests),
                path: report.path.clone(),
                line,
                columns: None,
                evidence: if is_inline {
                    format!("anteater:ignore waives `{}`", settings.rules.rule(hit.rule).id)
                } else {
                    format!(
                        "an exception of the lists waives `{}`",
                        settings.rules.rule(hit.rule).id
                    )
                },
                // The whole line: two markers waiving one secret are two waivers.
                match_hash: content_match_hash(text, hit.line_range.clone(), hit.line_range.end, true),
                detail: None,
                introduced: None,
                secret: None,
                validation: None,
            });
        }
    }

    /// The indicators VirusTotal is asked about, on the window's own new lines.
    fn indicators(
        &self,
        text: &[u8],
        region: &windows::Region,
        report: &mut FileReport,
        context: &Context<'_>,
    ) {
        let settings = &self.settings;
        let fragment = context.fragment;
        if region.view == View::Binary {
            return;
        }
        if settings.indicators.ips || settings.indicators.urls {
            let found = network::indicators(text, settings.indicators, settings.exceptions, settings.rules);
            report.indicators.extend(found.into_iter().filter_map(|hit| {
                let line = region.line(hit.line);
                (region.owns_line(hit.line) && fragment.added.contains(line))
                    .then_some(IndicatorHit { line, ..hit })
            }));
        }
    }
}

/// Whether this window reports `hit`: the plain view owns the matches that start in it, the
/// unescaped copy (whose offsets are not the window's) the lines.
fn owns_hit(region: &windows::Region, hit: &content::ContentHit, unescaped: bool) -> bool {
    if unescaped {
        region.owns_line(hit.line)
    } else {
        region.owns(hit.matched.start)
    }
}

/// The line `hit` is reported at when the fragment's change holds it, else None. A match that
/// spans lines belongs to a change that adds any of them. A binary's "lines" are runs of text
/// between control bytes, not lines anyone reads: its hits are about the file (line 1), and
/// new when the file is.
/// A decoded line stands for the lines it was read from (a continued literal, a value and its
/// name): any of them new makes it new.
fn changed_line(
    text: &[u8],
    region: &windows::Region,
    hit: &content::ContentHit,
    fragment: &Fragment<'_>,
    copy: Searched<'_>,
) -> Option<u32> {
    match region.view {
        View::Binary => (!fragment.added.is_empty()).then_some(1),
        View::Text => {
            let spanned = memchr::memchr_iter(b'\n', &text[hit.matched.start..hit.extent_end]).count();
            let last = hit
                .line
                .saturating_add(u32::try_from(spanned).unwrap_or(u32::MAX));
            let (from, to) = match copy {
                Searched::Decoded(decoded) => {
                    let (from, to) = decoded.source_lines(hit.line).into_inner();
                    (from, to.max(last))
                }
                _ => (hit.line, last),
            };
            let touched = fragment.added.touches(region.line(from)..=region.line(to));
            touched.then_some(region.line(hit.line))
        }
    }
}

/// Which text a window's content rules are searching.
#[derive(Clone, Copy)]
enum Searched<'a> {
    /// The window itself.
    Plain,
    /// Its lines holding escaped quotes, unescaped.
    Unescaped,
    /// Its lines holding encoded or split values, decoded.
    Decoded(&'a decoded::Decoded),
}

impl PartialEq for Searched<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// One finding per rule, line and match: a file searched in two views (as it is and decoded)
/// may show the same secret in both.
pub(super) fn dedup_findings(findings: &mut Vec<Finding>) {
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert((f.rule, f.line, f.match_hash.clone())));
}
