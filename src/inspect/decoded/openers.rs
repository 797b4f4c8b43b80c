//! Some decoded forms are told by how their first line begins, not by a byte class the
//! classifying pass marks: they are found by the first byte of each line past its blanks.

use super::classes::Masks;
use super::{binary_patch, dumps, uuencode};

/// Where lines that may open something read over several lines (a hex dump, a list of byte
/// codes, a git binary patch, a uuencoded file) have their first byte past their blanks, found
/// chunk by chunk from the classifying pass (`classes`): a line's blanks are skipped by adding
/// its start bit to the chunk's blank bits (the carry runs through them to the first other
/// byte), so no line is searched for on its own.
pub(super) struct Openers {
    /// Whether the next chunk's first byte is at a line's start or within its leading blanks.
    carry: u64,
    /// Where lines that may open a hex dump or a list of byte codes have it (`dumps`).
    pub dumps: Vec<usize>,
    /// Where `GIT binary patch` and uuencode's `begin` lines have their first byte
    /// (`binary_patch`, `uuencode`), found on the way.
    pub embedded_files: Vec<usize>,
}

impl Openers {
    pub(super) fn new() -> Self {
        Openers {
            carry: 1,
            dumps: Vec::new(),
            embedded_files: Vec::new(),
        }
    }

    /// Takes the chunk of `text` at `base`, classified as `masks`.
    #[inline]
    pub(super) fn step(&mut self, text: &[u8], base: usize, masks: &Masks) {
        let line_starts = masks.newline << 1 | self.carry;
        let (past_blanks, overflowed) = masks.space.overflowing_add(line_starts);
        self.carry = u64::from(overflowed) | masks.newline >> 63;
        let mut firsts = past_blanks & !masks.space & masks.run;
        while firsts != 0 {
            let at = base + firsts.trailing_zeros() as usize;
            firsts &= firsts - 1;
            if dumps::may_open(&text[at..]) {
                self.dumps.push(at);
            } else if matches!(text[at], b'G' | b'b')
                && (text[at..].starts_with(binary_patch::MARKER) || text[at..].starts_with(uuencode::MARKER))
            {
                self.embedded_files.push(at);
            }
        }
    }
}

/// The start of the line whose first byte past its blanks is at `first_byte`.
pub(super) fn line_start(text: &[u8], first_byte: usize) -> usize {
    text[..first_byte]
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |at| at + 1)
}
