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
    /// Where that text starts: after a prefix put in front of it (a byte-order mark of another
    /// kind, a `%PDF` or PNG signature), else 0.
    pub start: usize,
}

/// Classifies a file by its first block.
pub fn classify(first_block: &[u8]) -> Kind {
    let text = |encoding, start| Kind {
        binary: false,
        encoding: Some(encoding),
        start,
    };
    // Wide text whose first NUL is not where its byte-order mark puts it is read from that
    // NUL; so is wide text a mark claims wrongly.
    let behind = behind_a_prefix(first_block);
    if let Some((start, encoding)) = behind.then(|| wide_text_behind_a_mark(first_block)).flatten() {
        return text(encoding, start);
    }
    if let Some(encoding) = wide_encoding(first_block) {
        return text(encoding, 0);
    }
    if let Some((start, encoding)) = wide_text_behind_a_mark(first_block).filter(|_| !behind) {
        return text(encoding, start);
    }
    if ebcdic_text(first_block) {
        return text(Encoding::Ebcdic, 0);
    }
    // A byte-order mark the bytes behind it do not bear out claims nothing: judge the rest.
    let unclaimed = without_marks(first_block);
    let binary = content_inspector::inspect(unclaimed).is_binary();
    // EBCDIC behind a prefix that is text (UTF-8's mark, a `%PDF` line, a line of ASCII) is
    // read from where it starts; behind a binary prefix (a NUL, a PNG signature) the file stays
    // a binary, and that text is searched besides (`ebcdic_text_behind_a_prefix`).
    if let Some(start) = ebcdic_text_behind_a_prefix(first_block).filter(|_| !binary) {
        return text(Encoding::Ebcdic, start);
    }
    Kind {
        binary,
        encoding: None,
        start: 0,
    }
}

/// How far into a block a prefix in front of EBCDIC text may reach.
const EBCDIC_PREFIX: usize = 1024;
/// How many stray bytes (a NUL put inside) EBCDIC text behind a prefix may hold.
const EBCDIC_STRAYS: usize = 2;

/// EBCDIC text behind a prefix (a byte-order mark, a `%PDF` line, a PNG signature, a NUL, a
/// line of ASCII), or with a stray byte or two inside: where to read it from. It is there when,
/// behind some byte of the first KiB, the block is EBCDIC text (but for `EBCDIC_STRAYS` bytes);
/// it is read from the prefix's last line break (or the block's start): EBCDIC is a byte a
/// character, so a stray byte costs itself alone, and the prefix's line breaks keep the text's
/// lines their numbers.
pub fn ebcdic_text_behind_a_prefix(block: &[u8]) -> Option<usize> {
    let stray = |byte: &u8| ebcdic_char(*byte).is_none();
    // Most blocks are told here: their last bytes are no EBCDIC text.
    if block[block.len().saturating_sub(64)..]
        .iter()
        .filter(|b| stray(b))
        .count()
        > EBCDIC_STRAYS
    {
        return None;
    }
    let head = &block[..block.len().min(EBCDIC_PREFIX)];
    let behind_each_stray = head
        .iter()
        .enumerate()
        .filter(|(_, b)| stray(b))
        .map(|(at, _)| at + 1);
    std::iter::once(0)
        .chain(behind_each_stray)
        .find(|&start| ebcdic_text_with_strays(&block[start..], EBCDIC_STRAYS))?;
    // EBCDIC writes no 0x0A (its line break is 0x25 or 0x15): the head's last one is the
    // prefix's.
    Some(memchr::memrchr(b'\n', head).map_or(0, |nl| nl + 1))
}

/// The length of a byte-order mark at the block's start (UTF-32, UTF-16 or UTF-8), whether
/// or not the bytes behind it bear it out, and where its byte order puts the NUL of an ASCII
/// first character: at the mark's end (big endian) or one byte after it (little endian);
/// without a mark, either.
fn mark(block: &[u8]) -> (usize, &'static [usize]) {
    match block {
        [0xff, 0xfe, 0, 0, ..] => (4, &[5]),
        [0, 0, 0xfe, 0xff, ..] => (4, &[4]),
        [0xff, 0xfe, ..] => (2, &[3]),
        [0xfe, 0xff, ..] => (2, &[2]),
        // Wide text never follows UTF-8's mark: any NUL behind it is out of place.
        [0xef, 0xbb, 0xbf, ..] => (3, &[]),
        _ => (0, &[0, 1]),
    }
}

/// The first NUL after the block's byte-order mark.
fn first_nul(block: &[u8]) -> Option<usize> {
    let (mark, _) = mark(block);
    memchr::memchr(0, &block[mark.min(block.len())..]).map(|at| mark + at)
}

/// Whether wide text (told by its NULs) starts after something that is not its own byte-order
/// mark: its first NUL is not where its mark, or no mark, puts an ASCII first character's. A
/// UTF-8 mark, a mark of the other byte order or a signature in front would otherwise set the
/// reading one or two bytes out of step.
fn behind_a_prefix(block: &[u8]) -> bool {
    let (_, nul_at) = mark(block);
    first_nul(block).is_some_and(|at| !nul_at.contains(&at))
}

/// Wide text behind a byte-order mark that does not claim it (UTF-8's, the other byte
/// order's, UTF-32's), read from where its first NUL past the mark says its characters start.
/// For UTF-16, reading little endian from the byte before that NUL keeps every ASCII
/// character in either byte order (big endian read one byte later is little endian), which is
/// what secrets are written in; UTF-32 is tried at each alignment around it. Only a mark may
/// stand in front: wide text behind a signature (`%PDF`, PNG) stays what its first bytes
/// make it, so that a binary cannot pass `--binaries` as text by carrying some behind its
/// header.
fn wide_text_behind_a_mark(block: &[u8]) -> Option<(usize, Encoding)> {
    // The marks in front: one, or the text's own behind another.
    let mut marks = 0;
    while let (len @ 1.., _) = mark(&block[marks..]) {
        marks += len;
    }
    let nul = first_nul(block)?;
    wide_text_from(block, nul).filter(|&(start, _)| marks > 0 && start <= marks)
}

/// Wide text behind a signature (`%PDF`, PNG and its chunk), read from where its NULs say it
/// starts: searched decoded besides what the file is read as (a binary, or wide text read from
/// its first byte, which an odd-length signature sets a byte out of step, merging the text's
/// first character into its last code unit). A signature can hold NULs of its own (PNG's chunk
/// lengths): the first NUL of each run in the first bytes is tried, a few of them.
pub fn wide_text_behind_a_signature(block: &[u8]) -> Option<(usize, Encoding)> {
    let head = &block[..block.len().min(256)];
    memchr::memchr_iter(0, head)
        .filter(|&at| at == 0 || head[at - 1] != 0)
        .take(8)
        .find_map(|nul| wide_text_from(block, nul))
        .filter(|&(start, _)| start > 0)
}

fn wide_text_from(block: &[u8], nul: usize) -> Option<(usize, Encoding)> {
    let candidates = [1, 3, 2, 0].map(|back| nul.saturating_sub(back));
    candidates.into_iter().find_map(|start| {
        let rest = &block[start..];
        let utf32 = [true, false].into_iter().find(|&le| utf32_without_bom(rest, le));
        let encoding = match utf32 {
            Some(little_endian) => Encoding::Utf32 { little_endian },
            None => Encoding::Utf16 {
                little_endian: binary::utf16_without_bom(rest)?,
            },
        };
        Some((start, encoding))
    })
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
        if textual_utf32(rest, little_endian, true) {
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
        if textual_utf16(rest, little_endian) && !looks_like_8bit_text(rest) && !ebcdic_text(rest) {
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

/// UTF-32 whose code units, read in step (`in_step_units`), are all text characters, but for
/// the unit a byte was inserted into (the one right before the reading was put back in step),
/// one and one in 64 at most. Nothing else is forgiven: a binary's header (an ELF's, a PE's) is no
/// character and is not followed by ASCII text a byte on, so a binary carrying UTF-32 text
/// after its header stays a binary for `--binaries`.
fn textual_utf32(bytes: &[u8], little_endian: bool, order_known: bool) -> bool {
    let mut units = 0;
    let mut forgiven = 0;
    let mut reading = in_step_utf32(bytes, little_endian, order_known).peekable();
    while let Some((unit, _)) = reading.next() {
        units += 1;
        if !char::from_u32(unit).is_some_and(is_text_char) {
            match reading.peek() {
                Some((_, true)) => forgiven += 1,
                _ => return false,
            }
        }
    }
    forgiven <= 1 + units / 64
}

/// The code units of UTF-32 text, kept in step (`in_step_units`), each with whether bytes were
/// dropped right before it.
fn in_step_utf32(
    bytes: &[u8],
    little_endian: bool,
    order_known: bool,
) -> impl Iterator<Item = (u32, bool)> + '_ {
    let ascii = move |quad: &[u8]| match quad {
        [low, 0, 0, 0] if little_endian => is_ascii_text(*low),
        [0, 0, 0, low] if !little_endian => is_ascii_text(*low),
        _ => false,
    };
    in_step_units(bytes, 4, order_known, ascii)
        .flat_map(move |(quad, dropped)| utf32_units(quad, little_endian).map(move |unit| (unit, dropped)))
}

/// UTF-32 without a byte-order mark: at least two code units, every one a text character, and
/// at least one in four of them ASCII (three NUL bytes in their places): binaries fail within a
/// few bytes.
fn utf32_without_bom(block: &[u8], little_endian: bool) -> bool {
    let total = block.len() / 4;
    if total < 2 {
        return false;
    }
    let ascii = in_step_utf32(block, little_endian, false)
        .filter(|&(unit, _)| unit < 0x80 && unit != 0)
        .count();
    ascii * 4 >= total && textual_utf32(block, little_endian, false)
}

/// EBCDIC text: every byte a character EBCDIC text holds, most of them letters and digits
/// (bytes above 0x80 there), with spaces (0x40) or line breaks between them. ASCII text fails at its first
/// capital letter, UTF-8 at its first multi-byte character, a binary within a few bytes.
fn ebcdic_text(block: &[u8]) -> bool {
    ebcdic_text_with_strays(block, 0)
}

/// `ebcdic_text`, but for at most `strays` bytes EBCDIC text does not hold.
fn ebcdic_text_with_strays(block: &[u8], mut strays: usize) -> bool {
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
            None if strays > 0 => strays -= 1,
            None => return false,
        }
    }
    // A line break or space every 128 bytes at least: a private key's body (65-byte lines) or a
    // file of a few assignments has few spaces, and a run of bytes that only fits the alphabet
    // has none.
    alphanumeric * 2 >= block.len() && spaces > 0 && spaces * 128 >= block.len()
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

/// The block without the byte-order marks (UTF-32, UTF-16 or UTF-8, any number) in front of
/// it. `content_inspector` calls anything behind a mark text unseen: three bytes in front of an
/// ELF file or a gzip stream would make `--binaries` pass it.
fn without_marks(block: &[u8]) -> &[u8] {
    let mut rest = block;
    loop {
        rest = match rest {
            [0xff, 0xfe, 0, 0, behind @ ..] | [0, 0, 0xfe, 0xff, behind @ ..] => behind,
            [0xff, 0xfe, behind @ ..] | [0xfe, 0xff, behind @ ..] => behind,
            [0xef, 0xbb, 0xbf, behind @ ..] => behind,
            _ => return rest,
        };
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
            let ascii = |pair: &[u8]| match pair {
                [low, 0] if little_endian => is_ascii_text(*low),
                [0, low] if !little_endian => is_ascii_text(*low),
                _ => false,
            };
            let units =
                in_step_units(body, 2, true, ascii).map(|(pair, _)| binary::unit(pair, little_endian));
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
            in_step_utf32(body, little_endian, true)
                .map(|(unit, _)| unit)
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

fn is_ascii_text(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | b'\r' | b' '..=b'~')
}

/// The code units (`width` bytes each) of wide text, kept in step: a byte inserted inside the
/// text (a NUL, most often) would set every unit after it a byte out of step, which reads as
/// CJK characters with no line break, and hides what follows. Where the reading is not in step
/// (two units that are not ASCII characters, `ascii` tells) and the reading a byte or a few on
/// is (three ASCII characters), the bytes in between are dropped. Text with no ASCII in it
/// reads as it always did.
/// Each unit comes with whether bytes were dropped right before it. `order_known`: see below.
fn in_step_units(
    body: &[u8],
    width: usize,
    order_known: bool,
    ascii: impl Fn(&[u8]) -> bool,
) -> impl Iterator<Item = (&[u8], bool)> {
    let is_ascii = move |from: usize| body.get(from..from + width).is_some_and(&ascii);
    let mut at = 0;
    // Whether there is a step to keep: the byte order is known (a mark claimed it, or the
    // text is being decoded), or an ASCII character was read in step. Text tried in the other
    // byte order is out of step from its start, and which order it is in is for `classify`
    // to tell, not for this reading to make up.
    let mut in_step = order_known;
    std::iter::from_fn(move || {
        let mut dropped = false;
        in_step = in_step || is_ascii(at);
        if in_step && !is_ascii(at) && !is_ascii(at + width) {
            if let Some(stray) = (1..width).find(|&k| (0..3).all(|n| is_ascii(at + k + n * width))) {
                at += stray;
                dropped = true;
            }
        }
        let unit = body.get(at..at + width)?;
        at += width;
        Some((unit, dropped))
    })
}

/// The text of `bytes` as the rules search it, for comparing two versions line by line: decoded
/// when the file is in a wide encoding, else the bytes themselves.
pub fn comparable(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let kind = classify(&bytes[..bytes.len().min(binary::FIRST_BLOCK)]);
    match kind.encoding {
        Some(encoding) => std::borrow::Cow::Owned(decode_from(bytes, kind.start, encoding)),
        None => std::borrow::Cow::Borrowed(bytes),
    }
}

/// `decode` of the text from `start` on, behind as many line breaks as the prefix before it
/// holds, so that the text's lines keep the file's numbers.
pub fn decode_from(bytes: &[u8], start: usize, encoding: Encoding) -> Vec<u8> {
    let prefix = &bytes[..start.min(bytes.len())];
    let mut out = vec![b'\n'; memchr::memchr_iter(b'\n', prefix).count()];
    out.extend(decode(&bytes[prefix.len()..], encoding));
    out
}

#[cfg(test)]
mod tests;
