//! Line arithmetic the checks share: YAML documents around a line, and line numbers counted
//! incrementally (a file's offsets are met in order, so each byte is counted once).

use std::ops::Range;

/// A YAML document separator (`---`, optionally followed by a comment or a tag).
fn is_document_separator(line: &[u8]) -> bool {
    line.starts_with(b"---") && line[3..].iter().all(|b| b.is_ascii_whitespace()) || line.starts_with(b"--- ")
}

/// The lines of the YAML document holding `line`: from the `---` above it (or the file's start)
/// to the `---` below it (or the file's end), separators excluded.
pub(super) fn document_lines(buffer: &[u8], line: Range<usize>) -> impl Iterator<Item = &[u8]> {
    let mut start = line.start;
    while start > 0 {
        let above_end = start - 1;
        let above_start = memchr::memrchr(b'\n', &buffer[..above_end]).map_or(0, |at| at + 1);
        if is_document_separator(&buffer[above_start..above_end]) {
            break;
        }
        start = above_start;
    }
    buffer[start..]
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| !is_document_separator(l))
}

/// Counts lines incrementally; offsets passed in must not decrease.
#[derive(Default)]
pub struct LineCounter {
    offset: usize,
    /// 1-based number of the line holding `offset`.
    number: usize,
}

impl LineCounter {
    /// 1-based line number of `offset`.
    pub fn line_of(&mut self, buffer: &[u8], offset: usize) -> usize {
        if self.number == 0 {
            self.number = 1;
        }
        self.number += memchr::memchr_iter(b'\n', &buffer[self.offset..offset]).count();
        self.offset = offset;
        self.number
    }
}
