//! IP addresses and URLs of a text file for VirusTotal, minus the ones `ip_ignore` and
//! `url_ignore` waive and the ones a content rule matches (what a rule takes for a secret never
//! leaves the machine, whatever the exceptions say), with their lines and columns.

use std::collections::HashMap;
use std::ops::Range;

use crate::inspect::exceptions::Exceptions;
use crate::inspect::indicators;
use crate::inspect::indicators::Indicator;
use crate::inspect::indicators::Wanted;
use crate::rules::IndicatorKind;

use super::content::{line_around, utf16_len, LineCounter};
use super::suppress::Suppression;
use super::IndicatorHit;
use crate::rules::{vt_ids, RuleSet};

/// Every indicator the plan asks for in `buffer`, in file order.
pub fn indicators(
    buffer: &[u8],
    plan: Wanted,
    exceptions: &Exceptions,
    rules: &RuleSet,
) -> Vec<IndicatorHit> {
    let mut found: Vec<(usize, usize, Indicator)> = Vec::new();
    if plan.ips {
        for ip in indicators::public_ips(buffer) {
            let value = ip.value.to_string();
            if !exceptions.ip_ignore.iter().any(|ignore| ignore.is_match(&value)) {
                found.push((
                    ip.range.start,
                    ip.range.end,
                    Indicator {
                        kind: IndicatorKind::Ip,
                        value,
                    },
                ));
            }
        }
    }
    if plan.urls {
        for url in indicators::urls(buffer) {
            if !exceptions
                .url_ignore
                .iter()
                .any(|ignore| ignore.is_match(&url.value))
            {
                let indicator = Indicator {
                    kind: IndicatorKind::Url,
                    value: url.value,
                };
                found.push((url.range.start, url.range.end, indicator));
            }
        }
    }
    found.sort_by_key(|(start, _, _)| *start);

    let mut lines = LineCounter::default();
    let mut rule_matches: HashMap<usize, Vec<Range<usize>>> = HashMap::new();
    found
        .into_iter()
        .filter_map(|(start, end, indicator)| {
            let line = line_around(buffer, start);
            let matched = rule_matches
                .entry(line.start)
                .or_insert_with(|| content_rule_matches(rules, buffer, line.clone()));
            if matched.iter().any(|m| m.start < end && start < m.end) {
                return None;
            }
            // `anteater:ignore` (or naming the VirusTotal rule) keeps a line's indicators home.
            let rule = vt_ids::malicious(indicator.kind);
            if Suppression::of_line(&buffer[line.clone()]).is_some_and(|s| s.waives(rule)) {
                return None;
            }
            let column = utf16_len(&buffer[line.start..start]) + 1;
            let end_column = column + utf16_len(&buffer[start..end]);
            Some(IndicatorHit {
                indicator,
                line: u32::try_from(lines.line_of(buffer, line.start)).unwrap_or(u32::MAX),
                columns: Some((column as u32, end_column as u32)),
            })
        })
        .collect()
}

/// Every match of every content rule on one line, as ranges of the buffer: all of them, not the
/// first per rule that findings report, and waived or not.
fn content_rule_matches(rules: &RuleSet, buffer: &[u8], line: Range<usize>) -> Vec<Range<usize>> {
    let text = &buffer[line.clone()];
    rules
        .content_rules()
        .enumerate()
        // A rule whose required literals the line lacks cannot match it: no regex run.
        .filter(|&(position, _)| rules.may_match_line(position, text))
        .flat_map(|(_, (_, regex))| regex.regex().find_iter(text))
        .map(|found| line.start + found.start()..line.start + found.end())
        .collect()
}
