//! Text spelled in another alphabet: `\u0041`/`\x41`/`%41`/`&#65;` escapes, quoted-printable
//! (`=3D`, soft line breaks), invisible characters inside a token, a token in full-width letters
//! (`ｇｈｐ＿…`, which NFKC folds back), and long base64, base32 or hex runs that decode to text.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use std::ops::Range;
use std::sync::OnceLock;

use super::Undone;

/// Runs shorter than this are identifiers and words, not encoded values: 16 base64 characters
/// hold 12 bytes, less than any token a rule looks for, and 16 hex digits hold 8.
const MIN_RUN: usize = 16;
/// A decoded run must read as this much text at least.
const MIN_DECODED: usize = 6;

/// The escapes (`\u`, `\U`, `\x`, three-digit octal, `%XX`, `&#`/named entities) among a
/// chunk's `\`, `%` and `&` (`candidates`, bits of the chunk at `base`), as bits of that chunk.
pub(super) fn escape_hits(text: &[u8], base: usize, candidates: u64) -> u64 {
    hits_where(candidates, |bit| escape_at(text, base + bit).is_some())
}

/// The invisible characters a token can hide behind (zero-width spaces and joiners, the word
/// joiner, a byte-order mark inside text, the soft hyphen) and the starts of full-width tokens
/// among a chunk's lead bytes.
pub(super) fn invisible_hits(text: &[u8], base: usize, candidates: u64) -> u64 {
    hits_where(candidates, |bit| {
        let rest = &text[base + bit..];
        invisible_len(rest) > 0 || starts_a_full_width_token(rest)
    })
}

/// The bits of `candidates` for which `holds` says yes.
pub(super) fn hits_where(mut candidates: u64, mut holds: impl FnMut(usize) -> bool) -> u64 {
    let mut hits = 0;
    while candidates != 0 {
        let bit = candidates.trailing_zeros();
        if holds(bit as usize) {
            hits |= 1 << bit;
        }
        candidates &= candidates - 1;
    }
    hits
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

/// The ASCII character a full-width form (U+FF01..U+FF5E, `ｇ`, `＿`, `０`) stands for, or the
/// ideographic space's space, at the start of `bytes`.
fn full_width(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [0xEF, 0xBC, low @ 0x81..=0xBF, ..] => Some(low - 0x81 + 0x21),
        [0xEF, 0xBD, low @ 0x80..=0x9E, ..] => Some(low - 0x80 + 0x60),
        [0xE3, 0x80, 0x80, ..] => Some(b' '),
        _ => None,
    }
}

/// How many full-width characters in a row start a token worth folding: CJK text writes its
/// punctuation (`（`, `：`) and the odd number full-width; a token is letters and digits in a row.
const FULL_WIDTH_TOKEN: usize = 4;

/// Whether `bytes` starts with `FULL_WIDTH_TOKEN` full-width letters, digits, `_` or `-`.
fn starts_a_full_width_token(bytes: &[u8]) -> bool {
    (0..FULL_WIDTH_TOKEN).all(|index| {
        bytes
            .get(3 * index..)
            .and_then(full_width)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// `line` with its full-width tokens (and the full-width characters around them, `＝`, `＂`)
/// written in ASCII, or None when it has no full-width token.
pub(super) fn folded_width(line: &[u8]) -> Option<Vec<u8>> {
    if !(0..line.len()).any(|at| starts_a_full_width_token(&line[at..])) {
        return None;
    }
    let mut out = Vec::with_capacity(line.len());
    let mut at = 0;
    while at < line.len() {
        match full_width(&line[at..]) {
            Some(ascii) => {
                out.push(ascii);
                at += 3;
            }
            None => {
                out.push(line[at]);
                at += 1;
            }
        }
    }
    Some(out)
}

/// `line` without its invisible characters, or None when it has none.
pub(super) fn without_invisible(line: &[u8]) -> Option<Vec<u8>> {
    // Only the lead bytes of the invisible characters (`invisible_len`) are looked at.
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = memchr::memchr3(0xE2, 0xEF, 0xC2, &line[at..]) {
        let start = at + found;
        let len = invisible_len(&line[start..]);
        if len == 0 {
            at = start + 1;
            continue;
        }
        let out = out.get_or_insert_with(|| Vec::with_capacity(line.len()));
        out.extend_from_slice(&line[copied..start]);
        at = start + len;
        copied = at;
    }
    let mut out = out?;
    out.extend_from_slice(&line[copied..]);
    Some(out)
}

/// The escape at `at`: the bytes it stands for and its length.
fn escape_at(text: &[u8], at: usize) -> Option<(Escaped, usize)> {
    let rest = &text[at..];
    match rest {
        [b'\\', b'u', b'{', ..] => {
            let close = rest.iter().take(11).position(|&b| b == b'}')?;
            let code = hex_value(&rest[3..close])?;
            Some((Escaped::char(code)?, close + 1))
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
                return Some((Escaped::char(combined)?, 12));
            }
            Some((Escaped::char(code)?, 6))
        }
        [b'\\', b'U', ..] => Some((Escaped::char(hex_value(rest.get(2..10)?)?)?, 10)),
        [b'\\', b'x', ..] => Some((Escaped::byte(hex_value(rest.get(2..4)?)? as u8), 4)),
        // A line break or tab written as an escape right before a word (`"line\nghp_…"` in
        // JSON): as written, the `n` glues itself to the token and hides it from the rules'
        // `\b`. Before anything else the escape changes nothing a rule sees, and is left alone.
        [b'\\', kind @ (b'n' | b'r' | b't'), next, ..] if next.is_ascii_alphanumeric() || *next == b'_' => {
            let byte = match kind {
                b'n' => b'\n',
                b'r' => b'\r',
                _ => b'\t',
            };
            Some((Escaped::byte(byte), 2))
        }
        // Three octal digits, as C, Python, shells and YAML's double quotes write any byte. One
        // or two digits are left alone: `\0` and `\1` are far more often a NUL or a regex's
        // back-reference than a spelled-out character.
        [b'\\', high @ b'0'..=b'3', mid @ b'0'..=b'7', low @ b'0'..=b'7', ..] => Some((
            Escaped::byte((high - b'0') << 6 | (mid - b'0') << 3 | (low - b'0')),
            4,
        )),
        [b'%', ..] => Some((Escaped::byte(hex_value(rest.get(1..3)?)? as u8), 3)),
        [b'&', b'#', b'x' | b'X', ..] => {
            let close = rest.iter().take(12).position(|&b| b == b';')?;
            Some((Escaped::char(hex_value(&rest[3..close])?)?, close + 1))
        }
        [b'&', b'#', ..] => {
            let close = rest.iter().take(11).position(|&b| b == b';')?;
            let digits = std::str::from_utf8(&rest[2..close]).ok()?;
            Some((Escaped::char(digits.parse().ok()?)?, close + 1))
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
                .map(|(name, byte)| (Escaped::byte(*byte), name.len()))
        }
        _ => None,
    }
}

/// What one escape stands for: a character's UTF-8 bytes, or one byte. Kept inline: the
/// classifying pass asks for it at every `\`, `%` and `&` of a window.
#[derive(Debug, Clone, Copy)]
struct Escaped {
    bytes: [u8; 4],
    len: usize,
}

impl Escaped {
    fn byte(byte: u8) -> Self {
        Self {
            bytes: [byte, 0, 0, 0],
            len: 1,
        }
    }

    fn char(code: u32) -> Option<Self> {
        let mut bytes = [0; 4];
        let len = char::from_u32(code)?.encode_utf8(&mut bytes).len();
        Some(Self { bytes, len })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

pub(super) fn hex_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    digits.iter().try_fold(0u32, |value, &digit| {
        Some(value << 4 | char::from(digit).to_digit(16)?)
    })
}

/// `line` with its escapes decoded, or None when it has none. Line breaks they spell are
/// written `\n` and `\r` (the copy keeps its lines); escapes of a quote or a backslash (`\"`,
/// `\\`) are left as they are, for the rules that expect them.
pub(super) fn unescape(line: &[u8]) -> Option<Vec<u8>> {
    // Copied a stretch at a time between the bytes that may start an escape: a minified
    // script's line can be long, and most of it holds none.
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = memchr::memchr3(b'\\', b'%', b'&', &line[at..]) {
        let start = at + found;
        if let Some((escaped, len)) = escape_at(line, start) {
            let out = out.get_or_insert_with(|| Vec::with_capacity(line.len()));
            out.extend_from_slice(&line[copied..start]);
            push_visible(out, escaped.as_bytes());
            at = start + len;
            copied = at;
            continue;
        }
        // `\\u0041` is a backslash and text, not an escape.
        at = if line[start] == b'\\' && start + 1 < line.len() {
            start + 2
        } else {
            start + 1
        };
    }
    let mut out = out?;
    out.extend_from_slice(&line[copied..]);
    Some(out)
}

/// Appends decoded bytes, line breaks as `\n`/`\r` and other control bytes as spaces. A line
/// break is followed by a space: the next line's first word starts a word, as in the text
/// (`\nghp_…` would hide a token from the rules' `\b`, `\nsecret_key=` a name).
fn push_visible(out: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            b'\n' => out.extend_from_slice(b"\\n "),
            b'\r' => out.extend_from_slice(b"\\r "),
            b'\t' => out.push(b'\t'),
            0..=0x1F | 0x7F => out.push(b' '),
            _ => out.push(byte),
        }
    }
}

/// Which bytes can be in a base64 (standard or URL-safe) or hex run.
/// Finds the runs of base64 or hex characters at least `MIN_RUN` long, chunk by chunk, from
/// the chunks' run-byte masks (`classes`). A run can go on over chunks: it stays open until a
/// byte that is no run byte closes it.
#[derive(Default)]
pub(super) struct RunFinder {
    /// Where the run reaching the end of the last chunk started.
    open: Option<usize>,
}

impl RunFinder {
    /// The runs that close in the chunk at `base` (run bytes `mask`), with the bit of the byte
    /// that closes each.
    pub(super) fn step(&mut self, mask: u64, base: usize, mut each: impl FnMut(Range<usize>, u32)) {
        let mut mask = mask;
        if let Some(start) = self.open {
            let ones = mask.trailing_ones();
            if ones == 64 {
                return;
            }
            self.open = None;
            if base + ones as usize - start >= MIN_RUN {
                each(start..base + ones as usize, ones);
            }
            mask &= !0 << ones;
        }
        // Bit i of `long` is set when bits i..i+16 of the mask are: a run of MIN_RUN starts
        // there (runs starting in the top 15 bits are seen below, as open runs).
        let mut long = mask & (mask >> 1);
        long &= long >> 2;
        long &= long >> 4;
        long &= long >> 8;
        while long != 0 {
            let start = long.trailing_zeros();
            let end = start + (mask >> start).trailing_ones();
            if end == 64 {
                self.open = Some(base + start as usize);
                return;
            }
            each(base + start as usize..base + end as usize, end);
            long &= !0 << end;
        }
        let top = mask.leading_ones();
        if top > 0 {
            self.open = Some(base + 64 - top as usize);
        }
    }

    /// The run still open when the text ends at `len`, if it is long enough.
    pub(super) fn finish(&mut self, len: usize) -> Option<Range<usize>> {
        self.open
            .take()
            .filter(|&start| len - start >= MIN_RUN)
            .map(|start| start..len)
    }
}

const _: () = assert!(
    MIN_RUN == 16,
    "RunFinder::step finds runs of 16 bytes by four doublings"
);

/// The runs of base64 or hex characters at least `MIN_RUN` long in `text`, in order.
pub(super) fn runs(text: &[u8]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut finder = RunFinder::default();
    for (base, mask) in super::classes::run_chunks(text) {
        finder.step(mask, base, |run, _| found.push(run));
    }
    found.extend(finder.finish(text.len()));
    found
}

/// Whether the run `run` of `text` decodes to text (the cheap test first).
pub(super) fn run_decodes(text: &[u8], run: Range<usize>) -> bool {
    may_be_text(&text[run.clone()]) && decode_run(text, run).is_some()
}

/// Whether a run may encode ASCII text, told without decoding it: text's bytes are 0x20..0x7E
/// (or a tab or line break), so in hex every other digit is 0, 2..7; in base64 the first of every
/// four characters holds a byte's top six bits: `C`, `D` or `I`..`f`. An identifier fails this
/// within a few characters; most runs in code are identifiers.
fn may_be_text(run: &[u8]) -> bool {
    if compressed_base64(run) {
        return true;
    }
    let run = run.strip_prefix(b"0x").unwrap_or(run);
    let hex = run.iter().step_by(2).all(|b| matches!(b, b'0' | b'2'..=b'7'));
    // In base32 the first of every eight characters holds a byte's top five bits: `E`..`P`
    // for a printable byte, `B` for a tab or a line break.
    let base32 = run.iter().step_by(8).all(|b| matches!(b, b'B' | b'E'..=b'P')) && is_base32(run);
    let text_lead = |b: &u8| matches!(b, b'C' | b'D' | b'I'..=b'Z' | b'a'..=b'f');
    // UTF-16 text (PowerShell's `-EncodedCommand`, `FromBase64String` of a Unicode string) has
    // a NUL after each ASCII byte: every other group of four then starts with `A`.
    let utf16 = run.len() >= 24
        && run.iter().step_by(8).all(text_lead)
        && run.iter().skip(4).step_by(8).all(|&b| b == b'A');
    hex || base32 || utf16 || run.iter().step_by(4).all(text_lead)
}

/// Whether a run is written in base32's alphabet (RFC 4648: upper-case letters, `2`..`7`).
fn is_base32(run: &[u8]) -> bool {
    run.iter().all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7'))
}

/// The bytes a base32 run stands for. Characters that complete no byte (a run cut short, or
/// one character too many) are dropped, and the bits left over at the end are not checked.
fn decode_base32(digits: &[u8]) -> Option<Vec<u8>> {
    static LENIENT_BASE32: OnceLock<data_encoding::Encoding> = OnceLock::new();
    let engine = LENIENT_BASE32.get_or_init(|| {
        let mut spec = data_encoding::BASE32_NOPAD.specification();
        spec.check_trailing_bits = false;
        spec.encoding()
            .expect("base32 without padding, lenient at its end")
    });
    let usable = match digits.len() % 8 {
        1 | 3 | 6 => digits.len() - 1,
        _ => digits.len(),
    };
    engine.decode(&digits[..usable]).ok()
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
fn decode_run(text: &[u8], run: Range<usize>) -> Option<(Vec<u8>, Undone, usize)> {
    let mut digits = &text[run.clone()];
    // `0x…` is a hex literal.
    if let Some(hex) = digits.strip_prefix(b"0x") {
        digits = hex;
    }
    if digits.len() % 2 == 0 && digits.iter().all(u8::is_ascii_hexdigit) {
        let bytes = data_encoding::HEXLOWER_PERMISSIVE.decode(digits).ok();
        if let Some(bytes) = bytes.filter(|bytes| is_text(bytes)) {
            return Some((bytes, Undone::HEX, run.end));
        }
    }
    let digits = &text[run.clone()];
    if is_base32(digits) {
        let padding = text[run.end..].iter().take(6).take_while(|&&b| b == b'=').count();
        if let Some(bytes) = decode_base32(digits).filter(|bytes| is_text(bytes)) {
            return Some((bytes, Undone::BASE32, run.end + padding));
        }
    }
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
    let mut bytes = engine.decode(usable).ok()?;
    if let Some(narrow) = utf16_ascii(&bytes) {
        bytes = narrow;
    }
    if compressed_base64(digits) {
        let text = inflate(&bytes).filter(|text| is_text(text))?;
        return Some((text, Undone::BASE64.with(Undone::INFLATED), run.end + padding));
    }
    is_text(&bytes).then_some((bytes, Undone::BASE64, run.end + padding))
}

/// The most a compressed value is inflated to: a Helm release or a kubeconfig is far smaller,
/// and a bomb hidden in a string stops here.
const MAX_INFLATED: u64 = 1 << 20;

/// Whether a base64 run begins like a gzip member (`H4sI`) or a zlib stream (`eJ`, `eN`, `eF`,
/// `eA`: a deflate header at each compression level). Helm stores releases, and many tools
/// store blobs, as gzip in base64: the text inside is the value to search.
fn compressed_base64(run: &[u8]) -> bool {
    run.starts_with(b"H4sI") || matches!(run, [b'e', b'A' | b'F' | b'J' | b'N', ..])
}

/// The text a gzip member or zlib stream inflates to (at most `MAX_INFLATED` bytes; a stream
/// that ends early gives what it held), or None when it is neither.
fn inflate(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let reader: Box<dyn Read + '_> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(bytes))
    } else {
        Box::new(flate2::read::ZlibDecoder::new(bytes))
    };
    let read = reader.take(MAX_INFLATED).read_to_end(&mut out);
    (read.is_ok() || !out.is_empty()).then_some(out)
}

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
static STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
static URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// The ASCII text little-endian UTF-16 bytes hold (each byte followed by a NUL), as
/// PowerShell encodes a command or a string in base64.
fn utf16_ascii(bytes: &[u8]) -> Option<Vec<u8>> {
    let wide = bytes.len() >= 2 * MIN_DECODED && bytes.chunks(2).all(|pair| matches!(pair, [_, 0] | [_]));
    wide.then(|| bytes.iter().step_by(2).copied().collect())
}

/// Whether decoded bytes read as ASCII text (secrets are): printable, tabs and line breaks.
/// Random bytes (an identifier read as base64, a hash read as hex) almost never do.
fn is_text(bytes: &[u8]) -> bool {
    bytes.len() >= MIN_DECODED
        && bytes
            .iter()
            .all(|&b| matches!(b, b' '..=b'~' | b'\n' | b'\r' | b'\t'))
        && bytes.iter().any(u8::is_ascii_alphanumeric)
}

/// Whether a window reads as quoted-printable (mail, MIME parts) is told by the header that says
/// so or by `=3D` (an encoded `=`), `=20` or `=0A` in it. Only then are `=XX` and soft line
/// breaks decoded: `x=41` in code is an assignment. This is the header.
pub(super) fn says_quoted_printable(text: &[u8]) -> bool {
    memchr::memmem::find(text, b"quoted-printable").is_some()
}

/// Whether the `=` at `at` starts `=3D`, `=20` or `=0A`: in a window holding one, `=XX` is read
/// as quoted-printable (with `says_quoted_printable`, what tells a window that reads as QP).
pub(super) fn is_quoted_printable_marker(text: &[u8], at: usize) -> bool {
    matches!(text.get(at + 1..at + 3), Some(b"3D" | b"20" | b"0A"))
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
        [b'0'..=b'9' | b'A'..=b'F', b'0'..=b'9' | b'A'..=b'F', ..] => {
            hex_value(&after_equals[..2]).map(|value| value as u8)
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
pub(super) fn runs_of(text: &[u8]) -> Vec<Range<usize>> {
    runs(text)
}
