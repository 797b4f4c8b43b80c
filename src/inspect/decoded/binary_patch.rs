//! Git's binary patches. `git diff --binary` and `git format-patch` write the change of a binary
//! file as a `GIT binary patch` line, then a hunk of the new file (`literal N`, its whole bytes)
//! or of a delta against the old one (`delta N`), and usually a second hunk that undoes it; each
//! hunk deflated and written in base85, five characters for four bytes, a length letter in
//! front of each line. A patch file committed to a repository holds the binary's bytes, and a
//! token among them is on no line of the patch. Each hunk is read back here: a literal hunk is
//! the file, a delta's inserted bytes are what it adds (its base is not in the patch).

use std::io::Read;

/// The line that opens a binary patch.
pub(super) const MARKER: &[u8] = b"GIT binary patch";

/// The most one hunk is inflated to (a patch's file is held whole, like an archive's member).
/// A hunk that declares more is read this far and reported cut, never passed as read.
pub(super) const MAX_INFLATED: u64 = 64 << 20;

/// git's base85 alphabet (not Ascii85's: `diff.c`'s `encode_85`).
const ALPHABET: &[u8; 85] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

/// A binary patch read back.
pub(super) struct BinaryPatch {
    /// Each hunk: a literal's file, a delta's inserted bytes.
    pub hunks: Vec<Hunk>,
    /// Whether a hunk declared more than `MAX_INFLATED` bytes and was read only that far.
    pub cut: bool,
    /// Where the patch's text ends (its last line's end) and how many lines follow the first.
    pub end: usize,
    pub continued: usize,
}

/// One hunk of a binary patch read back.
pub(super) struct Hunk {
    /// Its lines (the header's and the last one's), counted from the patch's first line as 0.
    pub lines: std::ops::RangeInclusive<usize>,
    pub bytes: Vec<u8>,
}

/// The binary patch whose `GIT binary patch` line starts at `start`, or None when that line is
/// no such line or no hunk follows it. A hunk whose lines stop decoding ends the patch there.
pub(super) fn read(text: &[u8], start: usize) -> Option<BinaryPatch> {
    // Asked of every line the decoded view reads: the cheap test first.
    if !text[start..].trim_ascii_start().starts_with(MARKER) {
        return None;
    }
    let mut lines = Lines { text, at: start };
    let (first, mut end) = lines.next()?;
    if first.trim_ascii() != MARKER {
        return None;
    }
    let mut patch = BinaryPatch {
        hunks: Vec::new(),
        cut: false,
        end,
        continued: 0,
    };
    let mut taken = 0;
    while let Some((header, header_end)) = lines.next() {
        let Some((delta, size)) = hunk_header(header) else {
            break;
        };
        taken += 1;
        let header_line = taken;
        end = header_end;
        let mut deflated = Vec::new();
        for (line, line_end) in lines.by_ref() {
            taken += 1;
            end = line_end;
            if line.is_empty() || !decode_line(line, &mut deflated) {
                break;
            }
        }
        let (inflated, cut) = inflate(&deflated, size);
        patch.cut |= cut;
        let bytes = if delta {
            super::super::git_delta::inserted(&inflated).unwrap_or(inflated)
        } else {
            inflated
        };
        patch.hunks.push(Hunk {
            lines: header_line..=taken,
            bytes,
        });
        patch.end = end;
        patch.continued = taken;
    }
    (!patch.hunks.is_empty()).then_some(patch)
}

/// The lines of `text` from `at`, each without its line break (and `\r`), with where it ends.
struct Lines<'t> {
    text: &'t [u8],
    at: usize,
}

impl<'t> Iterator for Lines<'t> {
    type Item = (&'t [u8], usize);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.at..];
        let end = memchr::memchr(b'\n', rest).map_or(self.text.len(), |nl| self.at + nl);
        let line = &self.text[self.at..end];
        self.at = end + 1;
        Some((line.strip_suffix(b"\r").unwrap_or(line), end))
    }
}

/// `literal N` or `delta N`: whether it is a delta, and the size it inflates to.
fn hunk_header(line: &[u8]) -> Option<(bool, u64)> {
    let (delta, size) = if let Some(size) = line.strip_prefix(b"literal ") {
        (false, size)
    } else {
        (true, line.strip_prefix(b"delta ")?)
    };
    let size = std::str::from_utf8(size).ok()?.parse().ok()?;
    Some((delta, size))
}

/// Appends the bytes of one base85 line (a length letter, then five characters per four bytes)
/// to `out`; false when the line is not one.
fn decode_line(line: &[u8], out: &mut Vec<u8>) -> bool {
    let Some((&letter, digits)) = line.split_first() else {
        return false;
    };
    let length = match letter {
        b'A'..=b'Z' => usize::from(letter - b'A') + 1,
        b'a'..=b'z' => usize::from(letter - b'a') + 27,
        _ => return false,
    };
    if digits.len() != length.div_ceil(4) * 5 {
        return false;
    }
    let mut bytes = Vec::with_capacity(digits.len() / 5 * 4);
    for group in digits.chunks(5) {
        let mut value: u64 = 0;
        for &digit in group {
            let Some(index) = ALPHABET.iter().position(|&c| c == digit) else {
                return false;
            };
            value = value * 85 + index as u64;
        }
        let Ok(word) = u32::try_from(value) else {
            return false;
        };
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(&bytes[..length]);
    true
}

/// A hunk's deflated bytes inflated, at most `declared` and `MAX_INFLATED` bytes (a stream that
/// ends early gives what it held), and whether the declared size was past the bound.
fn inflate(deflated: &[u8], declared: u64) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let bound = declared.min(MAX_INFLATED);
    let _ = flate2::read::ZlibDecoder::new(deflated)
        .take(bound)
        .read_to_end(&mut out);
    (out, declared > MAX_INFLATED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::dumps::git_binary_patch;

    /// `bytes` as git writes a literal hunk, after the patch's first line.
    fn literal(bytes: &[u8]) -> String {
        let patch = git_binary_patch(&[("literal", bytes)]);
        patch["GIT binary patch\n".len()..].to_string()
    }

    #[test]
    fn a_literal_hunk_and_its_reverse_are_read_back() {
        let file: Vec<u8> = b"bin\0ary\nregion = eu-west-1\n".repeat(9);
        let text = format!(
            "diff --git a/x.bin b/x.bin\nGIT binary patch\n{}{}",
            literal(&file),
            literal(b"")
        );
        let start = text.find("GIT").unwrap();
        let patch = read(text.as_bytes(), start).unwrap();
        let hunks: Vec<_> = patch
            .hunks
            .iter()
            .map(|hunk| (hunk.lines.clone(), &hunk.bytes[..]))
            .collect();
        // The header, the data lines and the blank line that ends the hunk.
        let lines = literal(&file).lines().count();
        assert_eq!(hunks, [(1..=lines, &file[..]), (lines + 1..=lines + 3, &[][..])]);
        assert!(!patch.cut);
        assert_eq!(patch.end, text.len() - 1);
    }

    #[test]
    fn git_writes_its_empty_file_as_this_line() {
        // `literal 0` and the line git writes for an empty file, as in every patch that adds one.
        let patch = read(b"GIT binary patch\nliteral 0\nHcmV?d00001\n\n", 0).unwrap();
        assert_eq!(patch.hunks.len(), 1);
        assert!(patch.hunks[0].bytes.is_empty());
    }

    #[test]
    fn a_hunk_declared_past_the_bound_is_read_that_far_and_reported_cut() {
        let text = literal(b"region = eu-west-1\n").replace("literal 19", "literal 1099511627776");
        let patch = read(format!("GIT binary patch\n{text}").as_bytes(), 0).unwrap();
        assert!(patch.cut);
        assert_eq!(patch.hunks[0].bytes, b"region = eu-west-1\n");
    }

    #[test]
    fn lines_that_are_no_binary_patch_read_as_none() {
        assert!(read(b"GIT binary patch\nnot a hunk\n", 0).is_none());
        assert!(read(b"GIT binary patches are described in the docs\n", 0).is_none());
        let mut out = Vec::new();
        assert!(!decode_line(b"zzz", &mut out));
        assert!(!decode_line(b"B\"\"\"\"\"", &mut out));
    }
}
