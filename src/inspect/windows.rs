//! Reading a fragment's bytes in windows of bounded size. Windows overlap: each carries some
//! lines from before its own part (for rules that look at the lines above a match) and looks
//! some bytes past it (for a private key whose body follows its header), so a secret that
//! straddles a window's edge is found whole, and reported by the one window that owns its
//! first byte.

use std::io::Read;
use std::ops::Range;

use sha2::{Digest, Sha256};

/// How a window's bytes are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Lines of text, cut between lines.
    Text,
    /// The bytes of a binary: runs of text between control bytes are searched as lines, and
    /// windows are cut anywhere.
    Binary,
}

/// The part of a window that is its own, and where its lines are in the file.
#[derive(Debug, Clone)]
pub struct Region {
    pub view: View,
    /// Byte offsets (of the window) whose matches this window reports.
    own: Range<usize>,
    /// Line numbers (of the window, 1-based) this window reports.
    own_lines: Range<u32>,
    /// Lines of the file before the window's first byte.
    lines_before: u32,
}

impl Region {
    /// All of a text held whole.
    pub fn whole() -> Self {
        Region {
            view: View::Text,
            own: 0..usize::MAX,
            own_lines: 1..u32::MAX,
            lines_before: 0,
        }
    }

    /// Whether a match starting at `offset` of the window is this window's to report.
    pub fn owns(&self, offset: usize) -> bool {
        self.own.contains(&offset)
    }

    /// Whether line `line` of the window is this window's to report.
    pub fn owns_line(&self, line: u32) -> bool {
        self.own_lines.contains(&line)
    }

    /// The file's line number of line `line` of the window.
    pub fn line(&self, line: u32) -> u32 {
        line.saturating_add(self.lines_before)
    }
}

/// How a fragment's bytes were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pieces {
    /// In one window, whole: the buffer holds all of it.
    One,
    /// In several windows: the buffer holds only the last.
    Many,
    /// Text with a line longer than a window: not scanned past it.
    LineTooLong,
}

/// A reader of windows of at most `size` bytes.
pub struct Window {
    size: usize,
    /// The fragment's length, when known: the buffer is sized for it, not for a whole window.
    length: u64,
    view: View,
    lookahead: usize,
    lookbehind: usize,
}

impl Window {
    pub fn new(size: usize, view: View, length: u64) -> Self {
        Window {
            size,
            length,
            view,
            lookahead: (size / 4).min(16 << 10),
            lookbehind: (size / 8).min(4 << 10),
        }
    }

    /// Reads `reader` to its end in windows (after what `buffer` already holds, which the hasher
    /// has seen), calling `scan` with each window and its own region.
    pub fn run(
        &mut self,
        reader: &mut impl Read,
        buffer: &mut Vec<u8>,
        mut hasher: Option<&mut Sha256>,
        mut scan: impl FnMut(&[u8], Region),
    ) -> std::io::Result<Pieces> {
        // Room for the file (or one window of it): a 50 MiB reservation per file, given back
        // after each, cost more than the scan itself on small files.
        let needed = usize::try_from(self.length)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        buffer.reserve(needed.min(self.size).saturating_sub(buffer.len()));
        let mut own_start = 0;
        let mut lines_before: u32 = 0;
        let mut strings = Vec::new();
        let mut pieces = Pieces::One;
        loop {
            let wanted = self.size.saturating_sub(buffer.len());
            let old_length = buffer.len();
            let read = reader.take(wanted as u64).read_to_end(buffer)?;
            if let Some(hasher) = hasher.as_deref_mut() {
                hasher.update(&buffer[old_length..]);
            }
            let at_end = read < wanted;
            let length = buffer.len();
            let own_end = if at_end {
                length
            } else {
                let limit = length.saturating_sub(self.lookahead).max(own_start);
                match memchr::memrchr(b'\n', &buffer[own_start..limit]) {
                    Some(at) => own_start + at + 1,
                    None if self.view == View::Binary => limit.max(own_start + 1).min(length),
                    None => return Ok(Pieces::LineTooLong),
                }
            };
            let text: &[u8] = match self.view {
                View::Text => buffer,
                View::Binary => {
                    strings.clear();
                    strings.extend(buffer.iter().map(|&b| if is_separator(b) { b'\n' } else { b }));
                    &strings
                }
            };
            let line_of = |offset: usize| 1 + memchr::memchr_iter(b'\n', &text[..offset]).count() as u32;
            // Most fragments are one window, which owns all of its lines: nothing to count.
            let own_lines = if own_start == 0 && at_end {
                1..u32::MAX
            } else {
                // At the end the last line is owned even without a line break after it.
                line_of(own_start)..line_of(own_end) + u32::from(at_end)
            };
            let region = Region {
                view: self.view,
                own: own_start..own_end,
                own_lines,
                lines_before,
            };
            // Windows programs keep their strings in UTF-16: searched too, as a second view.
            let wide = match self.view {
                View::Binary => wide_strings(buffer),
                View::Text => None,
            };
            if let Some(wide) = wide {
                scan(&wide, region.clone());
            }
            scan(text, region);
            if at_end {
                return Ok(pieces);
            }
            pieces = Pieces::Many;
            // Keep whole lines from before the next window's own part, at most `lookbehind`.
            let from = own_end.saturating_sub(self.lookbehind);
            let carry_start = match self.view {
                View::Text => {
                    memchr::memchr(b'\n', &buffer[from..own_end]).map_or(own_end, |at| from + at + 1)
                }
                View::Binary => from,
            };
            let carry_start = if from == 0 { 0 } else { carry_start };
            lines_before =
                lines_before.saturating_add(memchr::memchr_iter(b'\n', &text[..carry_start]).count() as u32);
            buffer.drain(..carry_start);
            own_start = own_end - carry_start;
        }
    }
}

/// Little-endian UTF-16 strings of a binary (how Windows programs and resources keep their
/// text), each written as the single bytes it spells at the start of its run and the rest of
/// the run blank: the view has the window's length, and a match's offset stays within its run,
/// so the window that owns the string reports it. `None` when there is no such string of
/// `MIN_CHARS` characters (no secret is shorter).
fn wide_strings(bytes: &[u8]) -> Option<Vec<u8>> {
    const MIN_CHARS: usize = 8;
    let printable = |b: u8| (0x20..0x7f).contains(&b) || b == b'\t';
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i + 1 < bytes.len() {
        let mut end = i;
        while end + 1 < bytes.len() && bytes[end + 1] == 0 && printable(bytes[end]) {
            end += 2;
        }
        let chars = (end - i) / 2;
        if chars < MIN_CHARS {
            i += 1;
            continue;
        }
        let view = out.get_or_insert_with(|| vec![b'\n'; bytes.len()]);
        for k in 0..chars {
            view[i + k] = bytes[i + 2 * k];
        }
        i = end;
    }
    out
}

/// Bytes that end a run of text in a binary: controls other than tab and the line breaks.
fn is_separator(byte: u8) -> bool {
    (byte < 0x20 && !matches!(byte, b'\t' | b'\r' | b'\n')) || byte == 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_strings_of_a_binary_are_read_as_the_text_they_spell() {
        let mut bytes = b"MZ\x90\0\x01".to_vec();
        let at = bytes.len();
        bytes.extend("token=abc123XYZ".encode_utf16().flat_map(u16::to_le_bytes));
        bytes.extend(b"\0\xff\x01");
        let wide = wide_strings(&bytes).expect("a wide string");
        assert_eq!(wide.len(), bytes.len());
        assert_eq!(&wide[at..at + 15], b"token=abc123XYZ");
        // Short runs are not strings; a binary without them has no second view.
        assert_eq!(wide_strings(b"a\0b\0c\0\xff\xfe"), None);
        assert_eq!(wide_strings(b"plain ascii"), None);
    }

    /// Every (line, owned text) a run hands out, with line numbers of the file.
    fn windows(size: usize, view: View, input: &[u8]) -> (Vec<(u32, Vec<u8>)>, Pieces) {
        let mut owned = Vec::new();
        let mut buffer = Vec::new();
        let mut reader = input;
        let pieces = Window::new(size, view, input.len() as u64)
            .run(&mut reader, &mut buffer, None, |text, region| {
                let mut line = 1;
                let mut start = 0;
                for (at, _) in text.iter().enumerate().filter(|(_, b)| **b == b'\n') {
                    if region.owns(start) {
                        owned.push((region.line(line), text[start..at].to_vec()));
                        assert!(region.owns_line(line));
                    }
                    start = at + 1;
                    line += 1;
                }
                if start < text.len() && region.owns(start) {
                    owned.push((region.line(line), text[start..].to_vec()));
                }
            })
            .unwrap();
        (owned, pieces)
    }

    #[test]
    fn every_line_is_owned_by_exactly_one_window_with_its_number() {
        let text: Vec<u8> = (1..=3000)
            .flat_map(|n| format!("line {n}\n").into_bytes())
            .collect();
        let (owned, pieces) = windows(8 * 1024, View::Text, &text);
        assert_eq!(pieces, Pieces::Many);
        let expected: Vec<(u32, Vec<u8>)> = (1..=3000)
            .map(|n| (n, format!("line {n}").into_bytes()))
            .collect();
        assert_eq!(owned, expected);
        let (owned, pieces) = windows(1 << 20, View::Text, &text);
        assert_eq!((owned.len(), pieces), (3000, Pieces::One));
    }

    #[test]
    fn a_window_sees_past_its_own_part() {
        // A key header in the last line a window owns still has its body in that window.
        let mut text = Vec::new();
        while text.len() < 8 * 1024 - 2100 {
            text.extend_from_slice(b"filler filler filler\n");
        }
        text.extend_from_slice(b"-----BEGIN RSA PRIVATE KEY-----\n");
        text.extend_from_slice(&b"MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9OiJjRazXBZ1BjP5CE\n".repeat(60));
        let mut reader: &[u8] = &text;
        let mut buffer = Vec::new();
        let mut seen_with_body = false;
        Window::new(8 * 1024, View::Text, text.len() as u64)
            .run(&mut reader, &mut buffer, None, |window, region| {
                if let Some(at) = memchr::memmem::find(window, b"-----BEGIN") {
                    if region.owns(at) {
                        seen_with_body = window[at..].len() > 1024;
                    }
                }
            })
            .unwrap();
        assert!(seen_with_body);
    }

    #[test]
    fn binaries_are_cut_anywhere_and_hashed_whole() {
        let mut input = vec![0u8; 40_000];
        input[39_000..39_020].copy_from_slice(b"AKIAIOSFODNN7EXAMPL1");
        let mut hasher = Sha256::new();
        let mut reader: &[u8] = &input;
        let mut buffer = Vec::new();
        let mut found = 0;
        Window::new(8 * 1024, View::Binary, input.len() as u64)
            .run(&mut reader, &mut buffer, Some(&mut hasher), |text, region| {
                if let Some(at) = memchr::memmem::find(text, b"AKIA") {
                    if region.owns(at) {
                        found += 1;
                    }
                }
            })
            .unwrap();
        assert_eq!(found, 1);
        assert_eq!(hasher.finalize().as_slice(), Sha256::digest(&input).as_slice());
        let long_line = vec![b'x'; 20_000];
        assert_eq!(windows(8 * 1024, View::Text, &long_line).1, Pieces::LineTooLong);
    }
}
