//! Content rules over a text file's bytes, in one pass per file: the rules' line prefilter finds
//! the lines where any rule may match, and only on those lines does each rule run. Findings are
//! per (line, rule), like the original's line-by-line search, with 1-based lines and columns.
//! Bytes, not strings: a file that is not valid UTF-8 is scanned all the same.

use std::ops::Range;

use crate::inspect::exceptions::Exceptions;
use crate::rules::content_regex::ContentRegex;
use crate::rules::{filter, RuleSet};

use super::suppress::Suppression;

/// One content rule matching on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentHit {
    pub rule: usize,
    /// 1-based line number.
    pub line: u32,
    /// The line, without its line ending, as a range of the buffer.
    pub line_range: Range<usize>,
    /// The first match on that line, as a range of the buffer.
    pub matched: Range<usize>,
    /// Where the text the match stands for ends (the line's end; a private key's block end):
    /// the lines up to it are the match's, for deciding whether a change made it.
    pub extent_end: usize,
}

/// What the content rules found in one file.
#[derive(Debug, Default)]
pub struct ContentScan {
    pub hits: Vec<ContentHit>,
    /// Matches waived by an inline `anteater:ignore`.
    pub suppressed: usize,
    /// Those matches, for the modes that show a waiver the change itself writes.
    pub waived: Vec<ContentHit>,
    /// Matches on lines an exception of the lists waives (`--strict-waivers` shows those on
    /// lines a change adds: the change may have written what the exception matches).
    pub excepted: Vec<ContentHit>,
}

/// Finds every (rule, line) match in `buffer` that the rules' checks accept and the exceptions
/// and inline suppressions do not waive, in line order. `path` is the file's scan-relative path,
/// for rules limited to some paths.
pub fn scan(rules: &RuleSet, exceptions: &Exceptions, path: &str, buffer: &[u8]) -> ContentScan {
    let content: Vec<_> = rules.content_rules().collect();
    let mut scan = Scan {
        rules,
        exceptions,
        buffer,
        result: ContentScan::default(),
        lines: LineCounter::default(),
        file_context: vec![None; content.len()],
    };
    let filter_of = |rule: usize| rules.rule(rule).filter.as_deref();

    // Rules for every file: only on the lines the prefilter finds.
    let mut candidates = rules.content_candidates(buffer);
    let mut live = Vec::new();
    let mut from = 0;
    while from <= buffer.len() {
        let Some(candidate) = candidates.next_from(from) else {
            break;
        };
        let line_range = line_around(buffer, candidate);
        let next_line = line_end_with_terminator(buffer, candidate);
        candidates.live_rules(line_range.end, &mut live);
        let mut line = LineState::default();
        for &position in &live {
            let (rule, regex) = content[position];
            if !scan.check(&mut line, position, rule, regex, &line_range) {
                break;
            }
        }
        if next_line >= buffer.len() {
            break;
        }
        from = next_line;
    }

    // Rules limited to some paths (configuration formats): on every line of those files.
    let limited_here: Vec<usize> = (0..content.len())
        .filter(|&p| filter_of(content[p].0).is_some_and(|f| f.limited_to_paths() && f.applies_to(path)))
        .collect();
    if !limited_here.is_empty() {
        scan.lines = LineCounter::default();
        let mut start = 0;
        while start < buffer.len() {
            let line_range = line_around(buffer, start);
            let mut line = LineState::default();
            for &position in &limited_here {
                let (rule, regex) = content[position];
                if !scan.check(&mut line, position, rule, regex, &line_range) {
                    break;
                }
            }
            start = line_end_with_terminator(buffer, start);
        }
    }

    let mut result = scan.result;
    result.hits.sort_by_key(|hit| (hit.line, hit.rule));
    // One secret, one finding: a broad rule is silent where a specific rule reports, and only
    // the first broad rule reports a line.
    let specific: std::collections::HashSet<u32> = result
        .hits
        .iter()
        .filter(|hit| !filter_of(hit.rule).is_some_and(|f| f.generic))
        .map(|hit| hit.line)
        .collect();
    let mut generic_lines = std::collections::HashSet::new();
    result.hits.retain(|hit| {
        !filter_of(hit.rule).is_some_and(|f| f.generic)
            || (!specific.contains(&hit.line) && generic_lines.insert(hit.line))
    });
    result
}

/// Per-line state shared by the rules run on it: computed once, when first needed.
#[derive(Default)]
struct LineState {
    waived: Option<bool>,
    suppression: Option<Option<Suppression>>,
}

/// One file's scan in progress.
struct Scan<'a> {
    rules: &'a RuleSet,
    exceptions: &'a Exceptions,
    buffer: &'a [u8],
    result: ContentScan,
    lines: LineCounter,
    /// Whether each rule's `file_context` matches the file: searched once, when first needed.
    file_context: Vec<Option<bool>>,
}

impl Scan<'_> {
    /// Runs one rule on one line and records its hit. False when the whole line is waived by
    /// the exceptions (no other rule needs to run on it).
    fn check(
        &mut self,
        state: &mut LineState,
        position: usize,
        rule: usize,
        content_regex: &ContentRegex,
        line_range: &Range<usize>,
    ) -> bool {
        let buffer = self.buffer;
        let line = &buffer[line_range.clone()];
        if !self.rules.may_match_line(position, line) {
            return true;
        }
        let regex = content_regex.regex();
        let secret_group = content_regex.secret_group();
        let found = match self.rules.rule(rule).filter.as_deref() {
            None => regex.find(line).map(|m| m.range()),
            // Captures are slow to compute, and a rule's allow_lines are several regexes, some
            // of them Unicode-aware (the lazy DFA gives up on non-ASCII text): both only on
            // lines the regex matches at all, which are few.
            Some(_) if !regex.is_match(line) => None,
            Some(filter) if filter.waives_line(line) => None,
            Some(filter) => {
                let mut accepted = None;
                for captures in regex.captures_iter(line) {
                    let whole = captures.get(0).expect("group 0 always matches").range();
                    let secret = secret_group
                        .and_then(|group| captures.get(group))
                        .map_or(whole.clone(), |m| m.range());
                    let offset = line_range.start;
                    let check = filter::Candidate {
                        buffer,
                        line: line_range.clone(),
                        secret: offset + secret.start..offset + secret.end,
                        matched: offset + whole.start..offset + whole.end,
                        user: captures
                            .name("user")
                            .map(|m| offset + m.start()..offset + m.end()),
                    };
                    let cache = &mut self.file_context[position];
                    let file_matches = || {
                        *cache.get_or_insert_with(|| {
                            filter
                                .file_context
                                .as_ref()
                                .is_some_and(|regex| regex.is_match(buffer))
                        })
                    };
                    if filter.accepts(&check, file_matches) {
                        // A token is reported as itself, without the guard characters around
                        // it; a short secret with what names it, so that the redacted evidence
                        // (a short prefix) shows the name, not the start of the password.
                        accepted = Some(if secret.len() >= 16 { secret } else { whole });
                        break;
                    }
                }
                accepted
            }
        };
        let Some(found) = found else {
            return true;
        };
        let number = self.lines.line_of(buffer, line_range.start);
        let matched = line_range.start + found.start..line_range.start + found.end;
        if *state
            .waived
            .get_or_insert_with(|| self.exceptions.waives_line(line))
        {
            self.result.excepted.push(ContentHit {
                rule,
                line: u32::try_from(number).unwrap_or(u32::MAX),
                line_range: line_range.clone(),
                extent_end: line_range.end.max(matched.end),
                matched,
            });
            return false;
        }
        // Where the evidence ends (a key's body runs past its header's line): a waiver covers
        // all of it, and belongs to a change that adds any of its lines.
        let extent_end = match self.rules.rule(rule).filter.as_deref() {
            Some(filter) => filter.evidence_end(buffer, matched.end, line_range.end),
            None => line_range.end,
        };
        let inline = state
            .suppression
            .get_or_insert_with(|| Suppression::of_line(line));
        if inline
            .as_ref()
            .is_some_and(|s| s.waives(&self.rules.rule(rule).id))
        {
            self.result.suppressed += 1;
            self.result.waived.push(ContentHit {
                rule,
                line: u32::try_from(number).unwrap_or(u32::MAX),
                line_range: line_range.clone(),
                matched,
                extent_end,
            });
            return true;
        }
        self.result.hits.push(ContentHit {
            rule,
            line: u32::try_from(number).unwrap_or(u32::MAX),
            line_range: line_range.clone(),
            matched,
            extent_end,
        });
        true
    }
}

/// The line holding byte `offset`, without `\n` or `\r\n`. Only `\n` ends a line: a lone `\r`
/// does not (the original's universal newlines shifted line numbers).
pub fn line_around(buffer: &[u8], offset: usize) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &buffer[..offset.min(buffer.len())]).map_or(0, |at| at + 1);
    let end =
        memchr::memchr(b'\n', &buffer[offset.min(buffer.len())..]).map_or(buffer.len(), |at| offset + at);
    let end = if end > start && end < buffer.len() && buffer[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    start..end
}

/// Where the line after the one holding `offset` starts (or the end of the buffer).
fn line_end_with_terminator(buffer: &[u8], offset: usize) -> usize {
    memchr::memchr(b'\n', &buffer[offset.min(buffer.len())..]).map_or(buffer.len(), |at| offset + at + 1)
}

pub use crate::rules::filter::LineCounter;

/// The 1-based UTF-16 start and end columns of a match, given the text of its line before it.
/// A secret's region is its first character only: an exact end column would print the secret's
/// length in every report.
pub fn match_columns(before: &[u8], matched: &[u8], secret: bool) -> (u32, u32) {
    let start = utf16_len(before) + 1;
    let end = if secret {
        start + 1
    } else {
        start + utf16_len(matched)
    };
    let to_u32 = |value: usize| u32::try_from(value).unwrap_or(u32::MAX);
    (to_u32(start), to_u32(end))
}

/// Length in UTF-16 code units, counting each byte of invalid UTF-8 as one unit.
pub fn utf16_len(bytes: &[u8]) -> usize {
    bytes
        .utf8_chunks()
        .map(|chunk| chunk.valid().chars().map(char::len_utf16).sum::<usize>() + chunk.invalid().len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{RuleKind, RuleMeta, Severity};

    fn rules(patterns: &[&str]) -> RuleSet {
        RuleSet::compile(
            patterns
                .iter()
                .map(|pattern| RuleMeta {
                    id: pattern.to_string(),
                    name: pattern.to_string(),
                    description: String::new(),
                    remediation: None,
                    severity: Severity::High,
                    redact: false,
                    kind: RuleKind::Content,
                    pattern: Some(pattern.to_string()),
                    origin: "test".into(),
                    precision: crate::rules::Precision::High,
                    filter: None,
                    demote_in_tests: false,
                })
                .collect(),
        )
        .unwrap()
    }

    fn lines(scan: &ContentScan) -> Vec<(usize, u32)> {
        let hits = &scan.hits;
        hits.iter().map(|hit| (hit.rule, hit.line)).collect()
    }

    #[test]
    fn one_hit_per_line_and_rule() {
        let set = rules(&["md5", "sha1"]);
        let hits = scan(&set, &Exceptions::default(), "f", b"md5 md5 sha1\nnothing\nmd5\n");
        assert_eq!(lines(&hits), vec![(0, 1), (1, 1), (0, 3)]);
        assert_eq!(hits.hits[0].matched, 0..3);
    }

    #[test]
    fn inline_suppressions_waive_and_are_counted() {
        let set = rules(&["md5", "sha1"]);
        let found = scan(
            &set,
            &Exceptions::default(),
            "f",
            b"md5 sha1 # anteater:ignore\nmd5 sha1 # anteater:ignore sha1\nmd5\n",
        );
        assert_eq!(lines(&found), vec![(0, 2), (0, 3)]);
        assert_eq!(found.suppressed, 3);
    }

    #[test]
    fn waived_lines_report_nothing() {
        use crate::inspect::exceptions::Source;
        use crate::legacy::lists::{ExceptionFile, NullableMap, StringList};
        let file = ExceptionFile {
            file_audits: NullableMap(
                [("file_contents".to_string(), StringList(vec!["allowed".into()]))]
                    .into_iter()
                    .collect(),
            ),
            ..ExceptionFile::default()
        };
        let exceptions = Exceptions::compile(&[Source {
            file: &file,
            origin: "x".into(),
        }])
        .unwrap();
        let hits = scan(&rules(&["md5"]), &exceptions, "f", b"md5 ALLOWED\nmd5\n");
        assert_eq!(lines(&hits), vec![(0, 2)]);
    }

    #[test]
    fn crlf_endings_stay_out_of_lines_and_matches() {
        let set = rules(&["secret$", r"key\s*"]);
        let buffer = b"a secret\r\nkey   \r\nx";
        let hits = scan(&set, &Exceptions::default(), "f", buffer);
        assert_eq!(lines(&hits), vec![(0, 1), (1, 2)]);
        assert_eq!(&buffer[hits.hits[1].line_range.clone()], b"key   ");
        assert_eq!(&buffer[hits.hits[1].matched.clone()], b"key   ");
    }

    #[test]
    fn matches_do_not_span_lines() {
        // `\s` matches `\n` on the whole buffer; per line it must not.
        let set = rules(&[r"BEGIN\sKEY"]);
        assert!(scan(&set, &Exceptions::default(), "f", b"BEGIN\nKEY\n")
            .hits
            .is_empty());
        let hits = scan(&set, &Exceptions::default(), "f", b"BEGIN\nBEGIN KEY\n");
        assert_eq!(lines(&hits), vec![(0, 2)]);
    }

    #[test]
    fn non_utf8_files_are_scanned() {
        let set = rules(&["password"]);
        let hits = scan(&set, &Exceptions::default(), "f", b"caf\xe9 password=\xff\xfe\n");
        assert_eq!(lines(&hits), vec![(0, 1)]);
        assert_eq!(hits.hits[0].matched, 5..13);
    }

    #[test]
    fn lone_cr_does_not_split_lines() {
        let set = rules(&["md5"]);
        let hits = scan(&set, &Exceptions::default(), "f", b"a\rb\nmd5\n");
        assert_eq!(lines(&hits), vec![(0, 2)]);
    }

    #[test]
    fn utf16_columns() {
        assert_eq!(utf16_len("héllo".as_bytes()), 5);
        assert_eq!(utf16_len("😀".as_bytes()), 2);
        assert_eq!(utf16_len(b"\xff\xfea"), 3);
    }
}
