//! Which lines of a fragment are new: all of them in a tree scan, the added lines of a change
//! or a commit otherwise. A finding belongs to a change exactly when its match touches one of
//! them, so the question is asked once per finding: answered by binary search, it costs
//! `O(log n)` whatever the number of hunks (a linear scan made interleaved changes quadratic).

use std::ops::{Range, RangeInclusive};

/// The new lines of a fragment, 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddedLines {
    /// Every line: a tree scan, an added file, a binary, a file git could not diff.
    All,
    /// Sorted, disjoint, non-empty line ranges (end exclusive).
    Ranges(Vec<Range<u32>>),
}

/// Every line new: for borrowing where a fragment's lines are not computed (a tree scan).
pub static ALL_LINES: AddedLines = AddedLines::All;
/// No line new: for a file a change lists without lines of its own.
pub static NO_LINES: AddedLines = AddedLines::Ranges(Vec::new());

impl AddedLines {
    /// No line is new (a pure rename, a mode change): only the name can be news.
    pub fn none() -> Self {
        AddedLines::Ranges(Vec::new())
    }

    /// From ranges in any order, possibly empty or overlapping.
    pub fn from_ranges(ranges: impl IntoIterator<Item = Range<u32>>) -> Self {
        let mut ranges: Vec<Range<u32>> = ranges.into_iter().filter(|r| !r.is_empty()).collect();
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u32>> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        AddedLines::Ranges(merged)
    }

    /// Whether line `line` is new.
    pub fn contains(&self, line: u32) -> bool {
        self.touches(line..=line)
    }

    /// Whether any line of `lines` is new.
    pub fn touches(&self, lines: RangeInclusive<u32>) -> bool {
        match self {
            AddedLines::All => true,
            AddedLines::Ranges(ranges) => {
                // The first range ending after the first line asked about.
                let at = ranges.partition_point(|r| r.end <= *lines.start());
                ranges.get(at).is_some_and(|r| r.start <= *lines.end())
            }
        }
    }

    /// Whether nothing is new.
    pub fn is_empty(&self) -> bool {
        matches!(self, AddedLines::Ranges(ranges) if ranges.is_empty())
    }

    /// The lines new in both: what a merge adds is what is new against every parent.
    pub fn intersect(&self, other: &AddedLines) -> AddedLines {
        match (self, other) {
            (AddedLines::All, other) | (other, AddedLines::All) => other.clone(),
            (AddedLines::Ranges(a), AddedLines::Ranges(b)) => {
                let (mut i, mut j, mut out) = (0, 0, Vec::new());
                while i < a.len() && j < b.len() {
                    let start = a[i].start.max(b[j].start);
                    let end = a[i].end.min(b[j].end);
                    if start < end {
                        out.push(start..end);
                    }
                    if a[i].end < b[j].end {
                        i += 1;
                    } else {
                        j += 1;
                    }
                }
                AddedLines::Ranges(out)
            }
        }
    }
}

/// Versions larger than this are not diffed: every line of them counts as new. Far above
/// `--max-file-size` (a version over that is inspected in windows, but still diffed whole, so
/// that a change is judged on what it wrote whatever the size cap), and low enough that two
/// versions held for the diff stay within a CI runner's memory.
pub const DIFF_LIMIT: u64 = 256 << 20;

/// The lines of `new` that `old` does not have, 1-based: the one line diff every mode uses
/// (a change's files, each commit's, the index's), so that they agree on what is new. Both sides
/// are compared as the rules read them (callers decode wide text first, with
/// `inspect::text::comparable`), so a re-encoded file adds only the lines whose text changed.
pub fn added_lines(old: &[u8], new: &[u8]) -> AddedLines {
    let input = imara_diff::intern::InternedInput::new(
        imara_diff::sources::byte_lines(old),
        imara_diff::sources::byte_lines(new),
    );
    let mut ranges: Vec<Range<u32>> = Vec::new();
    imara_diff::diff(
        imara_diff::Algorithm::Myers,
        &input,
        |_before: Range<u32>, after: Range<u32>| {
            if !after.is_empty() {
                ranges.push(after.start + 1..after.end + 1);
            }
        },
    );
    AddedLines::from_ranges(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_come_from_a_line_diff() {
        let added = added_lines(b"a\nb\nc\n", b"a\nx\nb\nc\ny\r\n");
        assert_eq!(added, AddedLines::Ranges(vec![2..3, 5..6]));
        // Re-encoding a file adds nothing; changing a line of it adds that line.
        let utf16 = |text: &str| -> Vec<u8> {
            [0xff, 0xfe]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                .collect()
        };
        let between = |old: &[u8], new: &[u8]| {
            use crate::inspect::text::comparable;
            added_lines(&comparable(old), &comparable(new))
        };
        assert!(between(b"a = 1\nb = 2\n", &utf16("a = 1\nb = 2\n")).is_empty());
        assert_eq!(
            between(b"a = 1\nb = 2\n", &utf16("a = 1\nb = 3\n")),
            AddedLines::from_ranges(std::iter::once(2..3))
        );
    }

    #[test]
    fn ranges_are_searched_and_touched() {
        let lines = AddedLines::from_ranges([7..9, 2..4, 3..5, 10..10]);
        assert_eq!(lines, AddedLines::Ranges(vec![2..5, 7..9]));
        let hits: Vec<u32> = (0..12).filter(|&n| lines.contains(n)).collect();
        assert_eq!(hits, [2, 3, 4, 7, 8]);
        assert!(lines.touches(5..=7) && lines.touches(0..=2) && !lines.touches(5..=6));
        assert!(!lines.touches(9..=100) && AddedLines::All.touches(1..=1));
        assert!(AddedLines::none().is_empty() && !AddedLines::none().contains(1));
    }

    #[test]
    fn intersections_keep_what_is_new_on_both_sides() {
        let a = AddedLines::from_ranges([1..5, 8..12]);
        let b = AddedLines::from_ranges([3..9, 11..20]);
        assert_eq!(a.intersect(&b), AddedLines::Ranges(vec![3..5, 8..9, 11..12]));
        assert_eq!(a.intersect(&AddedLines::All), a);
        assert!(a.intersect(&AddedLines::none()).is_empty());
    }

    #[test]
    fn lookups_agree_with_a_plain_scan() {
        // Many small hunks: the binary search must answer as a linear scan does.
        let ranges: Vec<Range<u32>> = (0..500).map(|n| n * 3 + 1..n * 3 + 2).collect();
        let lines = AddedLines::from_ranges(ranges.clone());
        for line in 0..1600 {
            let plain = ranges.iter().any(|r| r.contains(&line));
            assert_eq!(lines.contains(line), plain, "line {line}");
            let plain_span = ranges.iter().any(|r| r.start <= line + 1 && line < r.end);
            assert_eq!(
                lines.touches(line..=line + 1),
                plain_span,
                "lines {line}..={}",
                line + 1
            );
        }
    }
}
