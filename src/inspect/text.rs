//! What a file's bytes are: binary, or text in some encoding. Decided on evidence that a prefix
//! cannot forge: a byte-order mark is a claim, checked against the bytes behind it, and a file
//! whose first bytes look binary still has its bytes searched (see `Inspector`): this module only
//! says which extra, decoded view of the text there is to search.

use super::binary;

/// A decoding of text that is not ASCII-compatible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf16 {
        little_endian: bool,
    },
    Utf32 {
        little_endian: bool,
    },
    /// EBCDIC (code pages 037 and 1047, which agree on letters, digits and most punctuation):
    /// mainframe sources, and what a `.gitattributes` `working-tree-encoding=IBM037` checks out.
    Ebcdic,
}

/// What the first block of a file says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Not text in any encoding anteater reads: its bytes are hashed (`--binaries`) and searched
    /// in pieces.
    pub binary: bool,
    /// Text that is only readable decoded: searched decoded, and as it is.
    pub encoding: Option<Encoding>,
}

/// Classifies a file by its first block.
pub fn classify(first_block: &[u8]) -> Kind {
    if let Some(encoding) = wide_encoding(first_block) {
        return Kind {
            binary: false,
            encoding: Some(encoding),
        };
    }
    if ebcdic_text(first_block) {
        return Kind {
            binary: false,
            encoding: Some(Encoding::Ebcdic),
        };
    }
    // A byte-order mark the bytes behind it do not bear out claims nothing: judge the rest.
    let unclaimed = strip_wide_bom(first_block);
    Kind {
        binary: content_inspector::inspect(unclaimed).is_binary(),
        encoding: None,
    }
}

/// UTF-32 or UTF-16 text, with a byte-order mark or without, whose code units all decode to
/// characters text holds.
fn wide_encoding(block: &[u8]) -> Option<Encoding> {
    // Wide text always has NUL bytes (UTF-32 in every character, UTF-16 in enough of them to
    // be told without a byte-order mark); most files have none, and are answered here.
    if !matches!(block, [0xff, 0xfe, ..] | [0xfe, 0xff, ..]) && memchr::memchr(0, block).is_none() {
        return None;
    }
    let utf32 = match block {
        [0xff, 0xfe, 0, 0, rest @ ..] => Some((true, rest, true)),
        [0, 0, 0xfe, 0xff, rest @ ..] => Some((false, rest, true)),
        _ => None,
    };
    if let Some((little_endian, rest, _)) = utf32 {
        if textual_utf32(rest, little_endian) {
            return Some(Encoding::Utf32 { little_endian });
        }
    }
    for little_endian in [true, false] {
        if utf32_without_bom(block, little_endian) {
            return Some(Encoding::Utf32 { little_endian });
        }
    }
    let utf16 = match block {
        [0xff, 0xfe, rest @ ..] => Some((true, rest)),
        [0xfe, 0xff, rest @ ..] => Some((false, rest)),
        _ => None,
    };
    if let Some((little_endian, rest)) = utf16 {
        if textual_utf16(rest, little_endian) && !looks_like_8bit_text(rest) {
            return Some(Encoding::Utf16 { little_endian });
        }
        return None;
    }
    binary::utf16_without_bom(block).map(|little_endian| Encoding::Utf16 { little_endian })
}

/// ASCII-compatible text behind a UTF-16 byte-order mark: line breaks as single bytes, not as
/// code units. Read as UTF-16 such text is a run of CJK characters without a line break, which
/// real UTF-16 text longer than a line does not look like.
fn looks_like_8bit_text(rest: &[u8]) -> bool {
    let units = rest.len() / 2;
    if units < 64 {
        // Too short to tell: searched decoded and as it is anyway.
        return false;
    }
    let has_wide_newline = rest
        .chunks_exact(2)
        .any(|pair| pair == [b'\n', 0] || pair == [0, b'\n']);
    !has_wide_newline && rest.contains(&b'\n')
}

fn is_text_char(c: char) -> bool {
    !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}')
}

fn textual_utf16(bytes: &[u8], little_endian: bool) -> bool {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| binary::unit(pair, little_endian));
    // A block may end inside a surrogate pair: its last unit is not judged.
    let mut decoded = char::decode_utf16(units).peekable();
    while let Some(c) = decoded.next() {
        match c {
            Ok(c) if is_text_char(c) => {}
            Err(_) if decoded.peek().is_none() => {}
            _ => return false,
        }
    }
    true
}

fn utf32_units(bytes: &[u8], little_endian: bool) -> impl Iterator<Item = u32> + '_ {
    bytes.chunks_exact(4).map(move |quad| {
        let quad = [quad[0], quad[1], quad[2], quad[3]];
        if little_endian {
            u32::from_le_bytes(quad)
        } else {
            u32::from_be_bytes(quad)
        }
    })
}

fn textual_utf32(bytes: &[u8], little_endian: bool) -> bool {
    utf32_units(bytes, little_endian).all(|unit| char::from_u32(unit).is_some_and(is_text_char))
}

/// UTF-32 without a byte-order mark: at least two code units, every one a text character, and
/// at least one in four of them ASCII (three NUL bytes in their places): binaries fail within a
/// few bytes.
fn utf32_without_bom(block: &[u8], little_endian: bool) -> bool {
    let total = block.len() / 4;
    if total < 2 {
        return false;
    }
    let ascii = utf32_units(block, little_endian)
        .filter(|&unit| unit < 0x80 && unit != 0)
        .count();
    ascii * 4 >= total && textual_utf32(block, little_endian)
}

/// EBCDIC text: every byte a character EBCDIC text holds, most of them letters and digits
/// (bytes above 0x80 there), with spaces (0x40) between words. ASCII text fails at its first
/// capital letter, UTF-8 at its first multi-byte character, a binary within a few bytes.
fn ebcdic_text(block: &[u8]) -> bool {
    if block.len() < 32 {
        return false;
    }
    let mut alphanumeric = 0;
    let mut spaces = 0;
    for &byte in block {
        match ebcdic_char(byte) {
            Some(c) if c.is_ascii_alphanumeric() => alphanumeric += 1,
            Some(' ' | '\n') => spaces += 1,
            Some(_) => {}
            None => return false,
        }
    }
    alphanumeric * 2 >= block.len() && spaces * 20 >= block.len()
}

/// The character an EBCDIC byte stands for, among those text is written in.
fn ebcdic_char(byte: u8) -> Option<char> {
    const LETTERS: &[u8; 26] = b"abcdefghijklmnopqrstuvwxyz";
    let letter = |base: u8, first: usize| LETTERS[first + usize::from(byte - base)] as char;
    Some(match byte {
        0x05 => '\t',
        0x0D => '\r',
        0x15 | 0x25 => '\n',
        0x40 => ' ',
        0x4B => '.',
        0x4C => '<',
        0x4D => '(',
        0x4E => '+',
        0x4F => '|',
        0x50 => '&',
        0x5A => '!',
        0x5B => '$',
        0x5C => '*',
        0x5D => ')',
        0x5E => ';',
        0x5F | 0xB0 => '^',
        0x60 => '-',
        0x61 => '/',
        0x6B => ',',
        0x6C => '%',
        0x6D => '_',
        0x6E => '>',
        0x6F => '?',
        0x79 => '`',
        0x7A => ':',
        0x7B => '#',
        0x7C => '@',
        0x7D => '\'',
        0x7E => '=',
        0x7F => '"',
        0x81..=0x89 => letter(0x81, 0),
        0x91..=0x99 => letter(0x91, 9),
        0xA1 => '~',
        0xA2..=0xA9 => letter(0xA2, 18),
        0xAD | 0xBA => '[',
        0xBD | 0xBB => ']',
        0xC0 => '{',
        0xC1..=0xC9 => letter(0xC1, 0).to_ascii_uppercase(),
        0xD0 => '}',
        0xD1..=0xD9 => letter(0xD1, 9).to_ascii_uppercase(),
        0xE0 => '\\',
        0xE2..=0xE9 => letter(0xE2, 18).to_ascii_uppercase(),
        0xF0..=0xF9 => char::from(b'0' + (byte - 0xF0)),
        _ => return None,
    })
}

/// The block without a UTF-16 or UTF-32 byte-order mark.
fn strip_wide_bom(block: &[u8]) -> &[u8] {
    match block {
        [0xff, 0xfe, 0, 0, rest @ ..] | [0, 0, 0xfe, 0xff, rest @ ..] => rest,
        [0xff, 0xfe, rest @ ..] | [0xfe, 0xff, rest @ ..] => rest,
        _ => block,
    }
}

/// The UTF-8 form of text in `encoding` (a byte-order mark dropped; anything that does not
/// decode becomes U+FFFD, as in any lossy decoding).
pub fn decode(bytes: &[u8], encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Utf16 { little_endian } => {
            let body = match (bytes, little_endian) {
                ([0xff, 0xfe, rest @ ..], true) | ([0xfe, 0xff, rest @ ..], false) => rest,
                _ => bytes,
            };
            let units = body.chunks_exact(2).map(|pair| binary::unit(pair, little_endian));
            char::decode_utf16(units)
                .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect::<String>()
                .into_bytes()
        }
        Encoding::Utf32 { little_endian } => {
            let body = match (bytes, little_endian) {
                ([0xff, 0xfe, 0, 0, rest @ ..], true) | ([0, 0, 0xfe, 0xff, rest @ ..], false) => rest,
                _ => bytes,
            };
            utf32_units(body, little_endian)
                .map(|unit| char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect::<String>()
                .into_bytes()
        }
        Encoding::Ebcdic => bytes
            .iter()
            .map(|&byte| ebcdic_char(byte).unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect::<String>()
            .into_bytes(),
    }
}

/// The text of `bytes` as the rules search it, for comparing two versions line by line: decoded
/// when the file is in a wide encoding, else the bytes themselves.
pub fn comparable(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match classify(&bytes[..bytes.len().min(binary::FIRST_BLOCK)]).encoding {
        Some(encoding) => std::borrow::Cow::Owned(decode(bytes, encoding)),
        None => std::borrow::Cow::Borrowed(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut push = |unit: u16| {
            out.extend(if little_endian {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            })
        };
        if bom {
            push(0xfeff);
        }
        text.encode_utf16().for_each(&mut push);
        out
    }

    fn utf32(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let chars = bom.then_some('\u{feff}').into_iter().chain(text.chars());
        for c in chars {
            let unit = c as u32;
            out.extend(if little_endian {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        out
    }

    const TEXT: &str = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\nline two\n";

    #[test]
    fn wide_text_is_recognised_in_every_form() {
        for little_endian in [true, false] {
            for bom in [true, false] {
                let bytes = utf16(TEXT, little_endian, bom);
                let kind = classify(&bytes);
                assert_eq!(
                    kind.encoding,
                    Some(Encoding::Utf16 { little_endian }),
                    "utf16 {little_endian} {bom}"
                );
                assert_eq!(decode(&bytes, kind.encoding.unwrap()), TEXT.as_bytes());
                let bytes = utf32(TEXT, little_endian, bom);
                let kind = classify(&bytes);
                assert_eq!(
                    kind.encoding,
                    Some(Encoding::Utf32 { little_endian }),
                    "utf32 {little_endian} {bom}"
                );
                assert!(!kind.binary);
                assert_eq!(decode(&bytes, kind.encoding.unwrap()), TEXT.as_bytes());
            }
        }
    }

    #[test]
    fn a_byte_order_mark_is_a_claim_the_bytes_must_bear_out() {
        // Plain text behind a UTF-16 mark: not decoded as UTF-16 (it would match nothing).
        let mut forged = vec![0xff, 0xfe];
        forged.extend(TEXT.repeat(4).as_bytes());
        assert_eq!(
            classify(&forged),
            Kind {
                binary: false,
                encoding: None
            }
        );
        let mut forged = vec![0xfe, 0xff];
        forged.extend(TEXT.repeat(4).as_bytes());
        assert_eq!(classify(&forged).encoding, None);
        // A zip behind the mark is a binary, not text.
        let mut zip = vec![0xff, 0xfe];
        zip.extend(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x21\x00\xb7\xac\xce\x34\x00\x00\x00\x00");
        zip.extend((0..2000u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8));
        assert!(classify(&zip).binary);
        assert_eq!(classify(&zip).encoding, None);
    }

    #[test]
    fn comparable_text_is_decoded_only_when_wide() {
        assert_eq!(&*comparable(b"plain\n"), b"plain\n");
        assert_eq!(&*comparable(&utf16(TEXT, true, true)), TEXT.as_bytes());
    }

    #[test]
    fn ebcdic_text_is_told_by_its_bytes_and_decoded() {
        let text = "//DEPLOY JOB (ACCT),'RELEASE'\n// SET TOKEN=ghp_abc123 user@host:~/[x]\n";
        let encoded: Vec<u8> = text
            .chars()
            .map(|c| {
                (0..=255u8)
                    .find(|&b| ebcdic_char(b) == Some(c))
                    .expect("encodable")
            })
            .collect();
        assert_eq!(classify(&encoded).encoding, Some(Encoding::Ebcdic));
        assert_eq!(
            String::from_utf8(decode(&encoded, Encoding::Ebcdic)).unwrap(),
            text
        );
        // ASCII and UTF-8 text, and bytes that only fit the alphabet, are not EBCDIC.
        assert_eq!(classify(text.as_bytes()).encoding, None);
        assert_eq!(classify("é à ü ".repeat(10).as_bytes()).encoding, None);
        assert_eq!(classify(&[0xC1; 64]).encoding, None);
    }
}
