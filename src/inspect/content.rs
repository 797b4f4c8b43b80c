//! Content rules over a text file's bytes, in one pass per file: a `RegexSet` over the whole
//! buffer tells which rules can match, then each of those rules locates its matches. Findings
//! are per (line, rule), like the original's line-by-line search, with 1-based lines and columns.
//! Bytes, not strings: a file that is not valid UTF-8 is scanned all the same.

use std::collections::HashMap;
use std::ops::Range;

use crate::exceptions::Exceptions;
use crate::rules::RuleSet;

/// One content rule matching on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentHit {
    pub rule: usize,
    /// 1-based line number.
    pub line: u32,
    /// The line, without its line ending, as a range of the buffer.
    pub line_range: Range<usize>,
    /// The first match on that line, as a range of the buffer (clipped to the line).
    pub matched: Range<usize>,
}

/// Finds every (rule, line) match in `buffer` that the exceptions do not waive.
pub fn scan(rules: &RuleSet, exceptions: &Exceptions, buffer: &[u8]) -> Vec<ContentHit> {
    let mut hits = Vec::new();
    let mut lines: Option<LineIndex> = None;
    let mut waived: HashMap<usize, bool> = HashMap::new();

    for (rule, regex) in rules.content_candidates(buffer) {
        let lines = lines.get_or_insert_with(|| LineIndex::new(buffer));
        let mut last_line = None;
        for found in regex.find_iter(buffer) {
            let first = lines.line_of(found.start());
            if last_line.is_some_and(|last| first <= last) {
                continue;
            }
            let range = lines.line(first);
            if found.end() <= range.end || found.is_empty() {
                hits.push((
                    rule,
                    first,
                    range,
                    found.start()..found.end().min(lines.line(first).end),
                ));
                last_line = Some(first);
                continue;
            }
            // The match crossed a line ending (a `\s` can match `\n`): search each line it
            // touched on its own, as the original did.
            let last = lines.line_of(found.end().saturating_sub(1));
            for line in first..=last {
                let range = lines.line(line);
                if let Some(inner) = regex.find(&buffer[range.clone()]) {
                    let matched = range.start + inner.start()..range.start + inner.end();
                    hits.push((rule, line, range, matched));
                }
            }
            last_line = Some(last);
        }
    }

    hits.into_iter()
        .filter(|(_, line, range, _)| {
            !*waived
                .entry(*line)
                .or_insert_with(|| exceptions.waives_line(&buffer[range.clone()]))
        })
        .map(|(rule, line, line_range, matched)| ContentHit {
            rule,
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            line_range,
            matched,
        })
        .collect()
}

/// Byte offsets where lines start. Lines end at `\n`; a `\r` before it is not part of the line.
/// A lone `\r` does not end a line (the original's universal newlines shifted line numbers).
struct LineIndex<'a> {
    buffer: &'a [u8],
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(buffer: &'a [u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', buffer).map(|at| at + 1));
        Self { buffer, starts }
    }

    /// 0-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset) - 1
    }

    /// The range of 0-based line `line`, without `\n` or `\r\n`.
    fn line(&self, line: usize) -> Range<usize> {
        let start = self.starts[line];
        let mut end = self
            .starts
            .get(line + 1)
            .map_or(self.buffer.len(), |next| next - 1);
        if end > start && self.buffer[end - 1] == b'\r' && end < self.buffer.len() {
            end -= 1;
        }
        start..end
    }
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
                })
                .collect(),
        )
        .unwrap()
    }

    fn lines(hits: &[ContentHit]) -> Vec<(usize, u32)> {
        hits.iter().map(|hit| (hit.rule, hit.line)).collect()
    }

    #[test]
    fn one_hit_per_line_and_rule() {
        let set = rules(&["md5", "sha1"]);
        let hits = scan(&set, &Exceptions::default(), b"md5 md5 sha1\nnothing\nmd5\n");
        assert_eq!(lines(&hits), vec![(0, 1), (0, 3), (1, 1)]);
        assert_eq!(hits[0].matched, 0..3);
    }

    #[test]
    fn crlf_endings_stay_out_of_lines_and_matches() {
        let set = rules(&["secret$", r"key\s*"]);
        let buffer = b"a secret\r\nkey   \r\nx";
        let hits = scan(&set, &Exceptions::default(), buffer);
        assert_eq!(lines(&hits), vec![(0, 1), (1, 2)]);
        assert_eq!(&buffer[hits[1].line_range.clone()], b"key   ");
        assert_eq!(&buffer[hits[1].matched.clone()], b"key   ");
    }

    #[test]
    fn matches_do_not_span_lines() {
        // `\s` matches `\n` on the whole buffer; per line it must not.
        let set = rules(&[r"BEGIN\sKEY"]);
        assert!(scan(&set, &Exceptions::default(), b"BEGIN\nKEY\n").is_empty());
        let hits = scan(&set, &Exceptions::default(), b"BEGIN\nBEGIN KEY\n");
        assert_eq!(lines(&hits), vec![(0, 2)]);
    }

    #[test]
    fn non_utf8_files_are_scanned() {
        let set = rules(&["password"]);
        let hits = scan(&set, &Exceptions::default(), b"caf\xe9 password=\xff\xfe\n");
        assert_eq!(lines(&hits), vec![(0, 1)]);
        assert_eq!(hits[0].matched, 5..13);
    }

    #[test]
    fn lone_cr_does_not_split_lines() {
        let set = rules(&["md5"]);
        let hits = scan(&set, &Exceptions::default(), b"a\rb\nmd5\n");
        assert_eq!(lines(&hits), vec![(0, 2)]);
    }

    #[test]
    fn utf16_columns() {
        assert_eq!(utf16_len("héllo".as_bytes()), 5);
        assert_eq!(utf16_len("😀".as_bytes()), 2);
        assert_eq!(utf16_len(b"\xff\xfea"), 3);
    }
}
