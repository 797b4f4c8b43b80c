//! Text spelled in another alphabet: `\u0041`/`\x41`/`%41`/`&#65;` escapes, quoted-printable
//! (`=3D`, soft line breaks), invisible characters inside a token, and long base64 or hex runs
//! that decode to text.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::Undone;

/// Runs shorter than this are identifiers and words, not encoded values: 16 base64 characters
/// hold 12 bytes, less than any token a rule looks for, and 16 hex digits hold 8.
const MIN_RUN: usize = 16;
/// A decoded run must read as this much text at least.
const MIN_DECODED: usize = 6;

/// Offsets of `\u`, `\U`, `\x`, `%XX` and `&#`/named-entity escapes.
pub(super) fn escape_starts(text: &[u8], at: &mut Vec<usize>) {
    let mut last_line = usize::MAX;
    for found in memchr::memchr3_iter(b'\\', b'%', b'&', text) {
        if found < last_line && last_line != usize::MAX {
            continue;
        }
        if escape_at(text, found).is_some() {
            at.push(found);
            // The rest of this line is decoded anyway.
            last_line = memchr::memchr(b'\n', &text[found..]).map_or(text.len(), |nl| found + nl);
        }
    }
}

/// Offsets of the invisible characters a token can hide behind: zero-width spaces and joiners,
/// the word joiner, a byte-order mark inside text, the soft hyphen.
pub(super) fn invisible_starts(text: &[u8], at: &mut Vec<usize>) {
    for found in memchr::memchr3_iter(0xE2, 0xEF, 0xC2, text) {
        if invisible_len(&text[found..]) > 0 {
            at.push(found);
        }
    }
}

/// The length of the invisible character at the start of `bytes`, or 0.
fn invisible_len(bytes: &[u8]) -> usize {
    match bytes {
        // U+200B..U+200F (zero-width space, joiners, direction marks), U+2060..U+2064.
        [0xE2, 0x80, 0x8B..=0x8F, ..] | [0xE2, 0x81, 0xA0..=0xA4, ..] => 3,
        // U+FEFF, a byte-order mark that is not at the start of the file.
        [0xEF, 0xBB, 0xBF, ..] => 3,
        // U+00AD, the soft hyphen.
        [0xC2, 0xAD, ..] => 2,
        _ => 0,
    }
}

/// `line` without its invisible characters, or None when it has none.
pub(super) fn without_invisible(line: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(line.len());
    let mut removed = false;
    let mut at = 0;
    while at < line.len() {
        let len = invisible_len(&line[at..]);
        if len > 0 {
            removed = true;
            at += len;
        } else {
            out.push(line[at]);
            at += 1;
        }
    }
    removed.then_some(out)
}

/// The escape at `at`: the bytes it stands for and its length.
fn escape_at(text: &[u8], at: usize) -> Option<(Vec<u8>, usize)> {
    let rest = &text[at..];
    match rest {
        [b'\\', b'u', b'{', ..] => {
            let close = rest.iter().take(11).position(|&b| b == b'}')?;
            let code = hex_value(&rest[3..close])?;
            Some((char_bytes(code)?, close + 1))
        }
        [b'\\', b'u', ..] => {
            let code = hex_value(rest.get(2..6)?)?;
            if (0xD800..0xDC00).contains(&code) {
                // A surrogate pair: `\uD83D\uDE00`.
                let low = match rest.get(6..12)? {
                    [b'\\', b'u', digits @ ..] => hex_value(digits)?,
                    _ => return None,
                };
                let combined = 0x10000 + ((code - 0xD800) << 10) + (low.checked_sub(0xDC00)? & 0x3FF);
                return Some((char_bytes(combined)?, 12));
            }
            Some((char_bytes(code)?, 6))
        }
        [b'\\', b'U', ..] => Some((char_bytes(hex_value(rest.get(2..10)?)?)?, 10)),
        [b'\\', b'x', ..] => Some((vec![hex_value(rest.get(2..4)?)? as u8], 4)),
        [b'%', ..] => Some((vec![hex_value(rest.get(1..3)?)? as u8], 3)),
        [b'&', b'#', b'x' | b'X', ..] => {
            let close = rest.iter().take(12).position(|&b| b == b';')?;
            Some((char_bytes(hex_value(&rest[3..close])?)?, close + 1))
        }
        [b'&', b'#', ..] => {
            let close = rest.iter().take(11).position(|&b| b == b';')?;
            let digits = std::str::from_utf8(&rest[2..close]).ok()?;
            Some((char_bytes(digits.parse().ok()?)?, close + 1))
        }
        [b'&', ..] => {
            const NAMED: [(&[u8], u8); 6] = [
                (b"&quot;", b'"'),
                (b"&apos;", b'\''),
                (b"&amp;", b'&'),
                (b"&lt;", b'<'),
                (b"&gt;", b'>'),
                (b"&sol;", b'/'),
            ];
            NAMED
                .iter()
                .find(|(name, _)| rest.starts_with(name))
                .map(|(name, byte)| (vec![*byte], name.len()))
        }
        _ => None,
    }
}

fn hex_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

fn char_bytes(code: u32) -> Option<Vec<u8>> {
    let c = char::from_u32(code)?;
    Some(c.to_string().into_bytes())
}

/// `line` with its escapes decoded, or None when it has none. Line breaks they spell are
/// written `\n` and `\r` (the copy keeps its lines); escapes of a quote or a backslash (`\"`,
/// `\\`) are left as they are, for the rules that expect them.
pub(super) fn unescape(line: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(line.len());
    let mut decoded = false;
    let mut at = 0;
    while at < line.len() {
        let byte = line[at];
        if matches!(byte, b'\\' | b'%' | b'&') {
            if let Some((bytes, len)) = escape_at(line, at) {
                push_visible(&mut out, &bytes);
                decoded = true;
                at += len;
                continue;
            }
            if byte == b'\\' && at + 1 < line.len() {
                // `\\u0041` is a backslash and text, not an escape.
                out.extend_from_slice(&line[at..at + 2]);
                at += 2;
                continue;
            }
        }
        out.push(byte);
        at += 1;
    }
    decoded.then_some(out)
}

/// Appends decoded bytes, line breaks as `\n`/`\r` and other control bytes as spaces. A line
/// break is followed by a space: the next line's first word starts a word, as in the text
/// (`\nghp_…` would hide a token from the rules' `\b`, `\nsecret_key=` a name).
fn push_visible(out: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            b'\n' => out.extend_from_slice(b"\\n "),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.push(b'\t'),
            0..=0x1F | 0x7F => out.push(b' '),
            _ => out.push(byte),
        }
    }
}

/// Which bytes can be in a base64 (standard or URL-safe) or hex run.
static RUN_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
        byte += 1;
    }
    table
};

/// The runs of base64 or hex characters at least `MIN_RUN` long, as ranges. Eight bytes are
/// classified at once (see `alphabet_lanes`): a run that long holds eight bytes in a row at any
/// offset of a grid of eights, so only where a grid step is all run bytes is a run looked for.
fn runs(text: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut at = 0;
    let mut floor = 0;
    std::iter::from_fn(move || loop {
        while at + 8 <= text.len() && !all_run_bytes(eight_at(text, at)) {
            at += 8;
        }
        if at + 8 > text.len() {
            return None;
        }
        let mut start = at;
        while start > floor && RUN_BYTE[text[start - 1] as usize] {
            start -= 1;
        }
        let mut end = at + 8;
        while end + 8 <= text.len() && all_run_bytes(eight_at(text, end)) {
            end += 8;
        }
        while end < text.len() && RUN_BYTE[text[end] as usize] {
            end += 1;
        }
        at = end;
        floor = end;
        if end - start >= MIN_RUN {
            return Some(start..end);
        }
    })
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = ONES * 0x80;
const LOW7: u64 = ONES * 0x7F;

#[inline(always)]
fn eight_at(text: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(text[at..at + 8].try_into().expect("eight bytes"))
}

/// Whether all eight bytes of `x` are run bytes. Most eight bytes of code hold a space, a quote,
/// a bracket or a line break (all below `+`): they are told in three steps.
#[inline(always)]
fn all_run_bytes(x: u64) -> bool {
    (x.wrapping_sub(ONES * u64::from(b'+')) & !x & HIGH) == 0 && alphabet_lanes(x) == HIGH
}

/// The high bit of each byte of `x` that is in the run alphabet (`RUN_BYTE`), others clear.
#[inline(always)]
fn alphabet_lanes(x: u64) -> u64 {
    let letters = lanes_between(x | (ONES * 0x20), b'a' - 1, b'z' + 1);
    let digits = lanes_between(x, b'0' - 1, b'9' + 1);
    let marks = [b'+', b'/', b'-', b'_']
        .iter()
        .fold(0, |found, &mark| found | lanes_zero(x ^ (ONES * u64::from(mark))));
    letters | digits | marks
}

/// The high bit of each byte of `x` strictly between `low` and `high` (both below 0x80): the
/// "has between" bit trick, exact per byte because no byte's arithmetic carries into the next.
#[inline(always)]
fn lanes_between(x: u64, low: u8, high: u8) -> u64 {
    let seven = x & LOW7;
    (ONES * (127 + u64::from(high))).wrapping_sub(seven) & !x & (seven + ONES * (127 - u64::from(low))) & HIGH
}

/// The high bit of each zero byte of `y`.
#[inline(always)]
fn lanes_zero(y: u64) -> u64 {
    !(((y & LOW7) + LOW7) | y) & HIGH
}

/// Offsets of the runs that decode to text.
pub(super) fn run_starts(text: &[u8], at: &mut Vec<usize>) {
    for run in runs(text) {
        if may_be_text(&text[run.clone()]) && decode_run(text, run.clone()).is_some() {
            at.push(run.start);
        }
    }
}

/// Whether a run may encode ASCII text, told without decoding it: text's bytes are 0x20..0x7E
/// (or a tab or line break), so in hex every other digit is 0, 2..7; in base64 the first of every
/// four characters holds a byte's top six bits: `C`, `D` or `I`..`f`. An identifier fails this
/// within a few characters; most runs in code are identifiers.
fn may_be_text(run: &[u8]) -> bool {
    let run = run.strip_prefix(b"0x").unwrap_or(run);
    let hex = run.iter().step_by(2).all(|b| matches!(b, b'0' | b'2'..=b'7'));
    hex || run
        .iter()
        .step_by(4)
        .all(|b| matches!(b, b'C' | b'D' | b'I'..=b'Z' | b'a'..=b'f'))
}

/// `line` with each run that decodes to text replaced by that text, and what it was.
pub(super) fn decode_runs(line: &[u8]) -> Option<(Vec<u8>, Undone)> {
    let mut out = Vec::new();
    let mut undone = Undone::default();
    let mut copied = 0;
    for run in runs(line) {
        let Some((text, how, consumed)) = decode_run(line, run.clone()) else {
            continue;
        };
        out.extend_from_slice(&line[copied..run.start]);
        push_visible(&mut out, &text);
        copied = consumed;
        undone.add(how);
    }
    if undone.is_empty() {
        return None;
    }
    out.extend_from_slice(&line[copied..]);
    Some((out, undone))
}

/// The text a run stands for, how it was encoded and where its encoding ends (base64 padding
/// included), if it decodes to printable text.
fn decode_run(text: &[u8], run: std::ops::Range<usize>) -> Option<(Vec<u8>, Undone, usize)> {
    let mut digits = &text[run.clone()];
    // `0x…` is a hex literal.
    if let Some(hex) = digits.strip_prefix(b"0x") {
        digits = hex;
    }
    if digits.len() % 2 == 0 && digits.iter().all(u8::is_ascii_hexdigit) {
        let bytes: Option<Vec<u8>> = digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
            .collect();
        if let Some(bytes) = bytes.filter(|bytes| is_text(bytes)) {
            return Some((bytes, Undone::HEX, run.end));
        }
    }
    let digits = &text[run.clone()];
    let padding = text[run.end..].iter().take(2).take_while(|&&b| b == b'=').count();
    let url_safe = digits.iter().any(|b| matches!(b, b'-' | b'_'));
    let standard = digits.iter().any(|b| matches!(b, b'+' | b'/'));
    if url_safe && standard {
        return None; // Two alphabets: a path or an identifier, not one encoding.
    }
    // A run of 4n+1 characters cannot be base64 whole: its last character is not part of it.
    let usable = if digits.len() % 4 == 1 {
        &digits[..digits.len() - 1]
    } else {
        digits
    };
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    let bytes = engine.decode(usable).ok()?;
    is_text(&bytes).then_some((bytes, Undone::BASE64, run.end + padding))
}

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
static STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
static URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Whether decoded bytes read as ASCII text (secrets are): printable, tabs and line breaks.
/// Random bytes (an identifier read as base64, a hash read as hex) almost never do.
fn is_text(bytes: &[u8]) -> bool {
    bytes.len() >= MIN_DECODED
        && bytes
            .iter()
            .all(|&b| matches!(b, b' '..=b'~' | b'\n' | b'\r' | b'\t'))
        && bytes.iter().any(u8::is_ascii_alphanumeric)
}

/// Whether a window reads as quoted-printable (mail, MIME parts): `=3D` (an encoded `=`),
/// `=20` or `=0A`, or the header that says so. Only then are `=XX` and soft line breaks decoded:
/// `x=41` in code is an assignment.
pub(super) fn looks_quoted_printable(text: &[u8]) -> bool {
    [&b"=3D"[..], b"=20", b"=0A", b"quoted-printable"]
        .iter()
        .any(|marker| memchr::memmem::find(text, marker).is_some())
}

/// Offsets of quoted-printable escapes and soft line breaks (in a window that reads as QP).
pub(super) fn quoted_printable_starts(text: &[u8], at: &mut Vec<usize>) {
    for found in memchr::memchr_iter(b'=', text) {
        let rest = &text[found + 1..];
        let soft_break = rest.starts_with(b"\n") || rest.starts_with(b"\r\n");
        if soft_break || quoted_printable_byte(rest).is_some() {
            at.push(found);
        }
    }
}

/// The byte `=XX` stands for (`XX` two upper-case hex digits, as QP writes them).
fn quoted_printable_byte(after_equals: &[u8]) -> Option<u8> {
    match after_equals {
        [high @ (b'0'..=b'9' | b'A'..=b'F'), low @ (b'0'..=b'9' | b'A'..=b'F'), ..] => {
            u8::from_str_radix(std::str::from_utf8(&[*high, *low]).ok()?, 16).ok()
        }
        _ => None,
    }
}

/// `line` with its `=XX` escapes decoded, or None when it has none.
pub(super) fn unquote_printable(line: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(line.len());
    let mut decoded = false;
    let mut at = 0;
    while at < line.len() {
        if line[at] == b'=' {
            if let Some(byte) = quoted_printable_byte(&line[at + 1..]) {
                push_visible(&mut out, &[byte]);
                decoded = true;
                at += 3;
                continue;
            }
        }
        out.push(line[at]);
        at += 1;
    }
    decoded.then_some(out)
}

/// The line at `start` joined with the lines its soft line breaks (a final `=`) continue, at
/// most `max` more; where it ends and how many lines were joined. None when it has no soft break.
pub(super) fn soft_broken_line(text: &[u8], start: usize, max: usize) -> Option<(Vec<u8>, usize, usize)> {
    let mut logical = Vec::new();
    let mut from = start;
    let mut continued = 0;
    loop {
        let end = memchr::memchr(b'\n', &text[from..]).map_or(text.len(), |nl| from + nl);
        let line = &text[from..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.strip_suffix(b"=") {
            Some(kept) if continued < max && end < text.len() => {
                logical.extend_from_slice(kept);
                from = end + 1;
                continued += 1;
            }
            _ => {
                logical.extend_from_slice(line);
                return (continued > 0).then_some((logical, end, continued));
            }
        }
    }
}

#[cfg(test)]
pub(super) fn alphabet_lanes_of(bytes: [u8; 8]) -> u64 {
    alphabet_lanes(u64::from_le_bytes(bytes))
}

#[cfg(test)]
pub(super) fn runs_of(text: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    runs(text)
}
