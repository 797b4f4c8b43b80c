//! Long base64, base32 or hex runs that decode to text (gzip or zlib inflated, UTF-16 read as
//! the ASCII it holds), and the bit-mask helper the decoders' hit tests share.

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

/// The bits of `candidates` for which `holds` says yes.
#[inline(always)]
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
    #[inline(always)]
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

/// How many lines after the first of a wrapped base64 value are read with it: `base64` wraps
/// at 76 characters, OpenSSL and PEM at 64; 1,024 lines hold 48 KiB and more.
pub(super) const WRAPPED_LINES: usize = 1024;

/// The line starting at `start` with the lines after it that wrap one base64 value (at most
/// `max` more), the runs joined; where that text ends, and how many lines were added. The line
/// ends in a run of at least `MIN_RUN` characters, a multiple of four long, that may be text;
/// each line after it holds a run as long (indentation aside), the last one shorter or padded.
/// Each wrapped line decodes alone, but a secret cut by a line break is in none of them.
pub(super) fn wrapped_base64(text: &[u8], start: usize, max: usize) -> Option<(Vec<u8>, usize, usize)> {
    let line_end = |from: usize| memchr::memchr(b'\n', &text[from..]).map_or(text.len(), |nl| from + nl);
    let base64_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
    let mut end = line_end(start);
    let first = text[start..end].trim_ascii_end();
    let width = first.iter().rev().take_while(|b| base64_byte(b)).count();
    let first_run = &first[first.len() - width..];
    if width < MIN_RUN || width % 4 != 0 || !(may_be_text(first_run) || may_be_archive(first_run)) {
        return None;
    }
    let mut logical = first.to_vec();
    let mut continued = 0;
    while continued < max && end < text.len() {
        let next_end = line_end(end + 1);
        let line = text[end + 1..next_end].trim_ascii();
        let run = line
            .strip_suffix(b"==")
            .or_else(|| line.strip_suffix(b"="))
            .unwrap_or(line);
        if run.is_empty() || line.len() > width || !run.iter().all(base64_byte) {
            break;
        }
        logical.extend_from_slice(line);
        end = next_end;
        continued += 1;
        if line.len() < width || run.len() < line.len() {
            break; // The value's last line.
        }
    }
    (continued > 0).then_some((logical, end, continued))
}

/// Whether the run `run` of `text` decodes to text (the cheap test first), or may encode an
/// archive.
pub(super) fn run_decodes(text: &[u8], run: Range<usize>) -> bool {
    (may_be_text(&text[run.clone()]) && decode_run(text, run.clone()).is_some()) || may_be_archive(&text[run])
}

/// An encoded archive is at least this long: a gzip member's header and trailer alone are 18
/// bytes (24 characters).
const MIN_ARCHIVE_RUN: usize = 28;

/// Whether a base64 run begins like an archive or a compressed stream that anteater opens (zip,
/// 7z, tar, the archives of Unix packages, a git pack, xz, bzip2, zstd, lz4, LZMA, gzip, zlib),
/// in either alphabet: a text holding one encoded
/// (a Kubernetes `binaryData` value, a data URI, a CI variable) holds its members too.
fn may_be_archive(run: &[u8]) -> bool {
    // zip, 7z, xz, bzip2, zstd, lz4, LZMA; `ar`, cpio (newc, its CRC form, odc), RPM, a git pack.
    const MAGICS: [&[u8]; 13] = [
        b"UEsDB",
        b"N3q8ryc",
        b"/Td6WFo",
        b"Qlpo",
        b"KLUv/",
        b"BCJNG",
        b"XQAA",
        b"ITxhcmNoPg",
        b"MDcwNzAx",
        b"MDcwNzAy",
        b"MDcwNzA3",
        b"7avu2",
        b"UEFDSwAAAA",
    ];
    let url_safe = |b: u8| match b {
        b'/' => b'_',
        b'+' => b'-',
        other => other,
    };
    run.len() >= MIN_ARCHIVE_RUN
        && (compressed_base64(run)
            || MAGICS.iter().any(|magic| {
                run.starts_with(magic)
                    || run.iter().zip(magic.iter()).all(|(&b, &m)| b == url_safe(m))
                        && run.len() >= magic.len()
            })
            || may_begin_tar(run))
}

/// Base64 characters that hold a tar's header up to its `ustar` magic (bytes 257 to 262).
const TAR_HEADER_RUN: usize = 352;

/// A tar has no magic at its start: its first bytes are the first member's name, padded with
/// NULs to 100 bytes, and `ustar` stands at byte 257. A run that long is decoded that far and
/// told by the magic; a shorter one (the first line of `base64`'s wrapped output) may begin a
/// tar when it decodes to a name and then NULs only (`A`s in base64: the cheap test first).
fn may_begin_tar(run: &[u8]) -> bool {
    if run.len() >= TAR_HEADER_RUN {
        // Bytes 255 to 263 only, which are characters 340 to 351.
        return decode_base64(&run[TAR_HEADER_RUN - 12..TAR_HEADER_RUN])
            .is_some_and(|bytes| bytes.get(2..7) == Some(b"ustar"));
    }
    if !run.ends_with(b"AAAAAAAA") {
        return false;
    }
    let Some(bytes) = decode_base64(&run[..run.len() / 4 * 4]) else {
        return false;
    };
    let name = bytes.iter().take_while(|&&b| b != 0).count();
    name > 0 && bytes[..name].iter().all(|&b| b >= b' ' && b != 0x7f) && bytes[name..].iter().all(|&b| b == 0)
}

/// The bytes of the archive or compressed stream a base64 run of `text` encodes, if it is one
/// that anteater opens (`archive::format` tells); its members are inspected as a file's.
fn archive_run(text: &[u8], run: Range<usize>) -> Option<Vec<u8>> {
    let digits = &text[run];
    if !may_be_archive(digits) {
        return None;
    }
    let bytes = decode_base64(digits)?;
    let first_block = &bytes[..bytes.len().min(crate::inspect::binary::FIRST_BLOCK)];
    crate::inspect::archive::format(first_block).map(|_| bytes)
}

/// The bytes a base64 run stands for, in whichever alphabet it is written; None when it mixes
/// the two (a path or an identifier, not one encoding) or does not decode.
fn decode_base64(digits: &[u8]) -> Option<Vec<u8>> {
    let url_safe = digits.iter().any(|b| matches!(b, b'-' | b'_'));
    let standard = digits.iter().any(|b| matches!(b, b'+' | b'/'));
    if url_safe && standard {
        return None;
    }
    // A run of 4n+1 characters cannot be base64 whole: its last character is not part of it.
    let usable = if digits.len() % 4 == 1 {
        &digits[..digits.len() - 1]
    } else {
        digits
    };
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    engine.decode(usable).ok()
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

/// `line` with each run that decodes to text replaced by that text, and what it was. Runs that
/// encode an archive instead are added to `archives` (each once).
pub(super) fn decode_runs(line: &[u8], archives: &mut Vec<Vec<u8>>) -> Option<(Vec<u8>, Undone)> {
    let mut out = Vec::new();
    let mut undone = Undone::default();
    let mut copied = 0;
    for run in runs(line) {
        let Some((text, how, consumed)) = decode_run(line, run.clone()) else {
            if let Some(archive) = archive_run(line, run).filter(|archive| !archives.contains(archive)) {
                archives.push(archive);
            }
            continue;
        };
        out.extend_from_slice(&line[copied..run.start]);
        super::escapes::push_visible(&mut out, &text);
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
    let mut bytes = decode_base64(digits)?;
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

#[cfg(test)]
pub(super) fn runs_of(text: &[u8]) -> Vec<Range<usize>> {
    runs(text)
}
