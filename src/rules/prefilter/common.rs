//! Which four-byte piece of a keyword to index it under: the one text holds least often.
//!
//! Every place where text holds a keyword's fingerprint stops the search and compares the
//! keyword there, so a fingerprint that is an everyday piece of code (`type` of `typetalk`,
//! `code` of `codemagic`) costs a stop on nearly every line. Measured on aws-sdk-go: with the
//! fingerprints chosen for rare bytes alone, nine stops in ten were such pieces, not keywords.
//! Pieces in the list of the most common ones (`common-grams.txt`, from code and prose that is
//! not any benchmark's) are avoided, the more common the more; among the others, rare bytes win.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::table::FOLD;

/// The common pieces, folded, with their rank (0: the most common).
fn common_grams() -> &'static FxHashMap<u32, u32> {
    static GRAMS: OnceLock<FxHashMap<u32, u32>> = OnceLock::new();
    GRAMS.get_or_init(|| {
        let text = include_str!("common-grams.txt");
        text.lines()
            .filter(|line| !line.starts_with('#'))
            // `[abcd]` items, one space apart: six bytes each, then a space.
            .flat_map(|line| line.as_bytes().chunks(7))
            .filter_map(|item| match item {
                [b'[', a, b, c, d, b']', ..] => Some(u32::from_le_bytes([*a, *b, *c, *d]) | FOLD),
                _ => None,
            })
            .zip(0..)
            .collect()
    })
}

/// The offset of the piece of `keyword` (four bytes or more) to index it under.
pub(super) fn fingerprint_offset(keyword: &[u8]) -> usize {
    let grams = common_grams();
    let count = u32::try_from(grams.len()).unwrap_or(u32::MAX);
    (0..=keyword.len().saturating_sub(4))
        .min_by_key(|&at| {
            let piece = &keyword[at..at + 4];
            let folded = u32::from_le_bytes(piece.try_into().expect("four bytes")) | FOLD;
            let commonness_in_text = grams.get(&folded).map_or(0, |rank| count - rank);
            let bytes: u32 = piece.iter().copied().map(commonness).sum();
            (commonness_in_text, bytes)
        })
        .unwrap_or(0)
}

/// How common a byte is in source code and text, roughly: among pieces that are not in the
/// list, those holding rare bytes are chosen.
fn commonness(byte: u8) -> u32 {
    match byte.to_ascii_lowercase() {
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 10,
        b' ' | b'.' | b'(' | b')' | b'"' | b'/' | b'=' | b',' | b'\t' => 8,
        b'h' | b'l' | b'd' | b'c' | b'u' | b'm' | b'f' | b'p' | b'g' => 7,
        b'_' => 5,
        b'a'..=b'z' => 4,
        b'0'..=b'9' => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_read_whole_and_in_order() {
        let grams = common_grams();
        assert_eq!(grams.len(), 4096);
        let rank = |gram: &[u8; 4]| grams.get(&(u32::from_le_bytes(*gram) | FOLD)).copied();
        // Spaces inside a gram are kept, and case does not matter.
        assert_eq!(rank(b"    "), Some(1));
        assert!(rank(b"Type").is_some_and(|type_| rank(b"tion").is_some_and(|tion| tion < type_)));
        assert_eq!(rank(b"ypet"), None);
    }

    #[test]
    fn common_pieces_are_not_fingerprints_when_a_rarer_one_exists() {
        // `type` and `code` are on every other line of code; `ypet`, `emag` are not.
        assert_ne!(fingerprint_offset(b"typetalk"), 0);
        assert_ne!(fingerprint_offset(b"codemagic"), 0);
        // A four-byte keyword has one piece, common or not.
        assert_eq!(fingerprint_offset(b"type"), 0);
    }
}
