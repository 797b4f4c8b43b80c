//! The bytes that start a decodable form, classified 64 at a time: one pass over a window
//! gives each decoder a bit mask of where its forms may start, instead of each decoder
//! scanning the window for itself (six passes, most of the decoded view's cost). Sixteen bytes
//! are compared at once (`wide`, which is SSE2 or NEON where the target has it and plain code
//! elsewhere); the masks are exact, so a decoder checks only the bytes its mask names.

use wide::u8x16;

/// Bit `i` of each mask stands for byte `i` of a 64-byte chunk (bytes past the window's end
/// read as zero, which is in no class).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Masks {
    /// Base64 and hex digits: ASCII letters and digits, `+ / - _`.
    pub run: u64,
    /// `"`, `'` and `` ` ``.
    pub quote: u64,
    /// A space or a tab.
    pub space: u64,
    /// What may follow a literal that is glued to the next: a line break, `\`, `+ . & | ~`, a
    /// quote.
    pub glue: u64,
    pub newline: u64,
    /// What starts an escape: `\`, `%`, `&`, and ESC (a terminal's colour codes).
    pub escape: u64,
    /// Bytes from 0x80 up: the invisible characters a token can hide behind are among them.
    pub high: u64,
    /// `=`, which quoted-printable escapes start with.
    pub equals: u64,
    /// `v` or `V` (a `value` field's name).
    pub vee: u64,
    /// `(`, `{` and `]`: where a call that assembles a string (`join(`, `char[]`) ends.
    pub bracket: u64,
    /// `1`, `3` and `m` (either case): what ends a transform's name right before the byte that
    /// closes it (the `]` of `[::-1]`, the quote or `(` after `rot13` or `tr`'s
    /// `N-ZA-Mn-za-m`), so that only those bytes are looked at.
    pub name_tail: u64,
    /// `e` (either case): what stands right before the `v` of `rev`, `reverse` and `strrev`.
    pub e: u64,
}

/// The masks of each 64-byte chunk of `text`, with the chunk's offset.
pub(super) fn chunks(text: &[u8]) -> impl Iterator<Item = (usize, Masks)> + '_ {
    per_chunk(text, of)
}

/// Only the run bytes of each chunk, for decoders that need nothing else.
pub(super) fn run_chunks(text: &[u8]) -> impl Iterator<Item = (usize, u64)> + '_ {
    per_chunk(text, runs_of)
}

/// `classify` of each 64-byte chunk of `text`, the last one padded with zero bytes. One
/// iterator over all chunks: chaining the padded one after the whole ones cost 4 % of the
/// decoded view in the chain's per-item check.
fn per_chunk<T: 'static>(text: &[u8], classify: fn(&[u8]) -> T) -> impl Iterator<Item = (usize, T)> + '_ {
    text.chunks(64).enumerate().map(move |(index, chunk)| {
        let classified = if chunk.len() == 64 {
            classify(chunk)
        } else {
            let mut padded = [0u8; 64];
            padded[..chunk.len()].copy_from_slice(chunk);
            classify(&padded)
        };
        (64 * index, classified)
    })
}

fn of(chunk: &[u8]) -> Masks {
    let mut all = Masks::default();
    for (index, sixteen) in chunk.chunks_exact(16).enumerate() {
        let part = classify(sixteen);
        let shift = 16 * index;
        all.run |= part.run << shift;
        all.quote |= part.quote << shift;
        all.space |= part.space << shift;
        all.glue |= part.glue << shift;
        all.newline |= part.newline << shift;
        all.escape |= part.escape << shift;
        all.high |= part.high << shift;
        all.equals |= part.equals << shift;
        all.vee |= part.vee << shift;
        all.bracket |= part.bracket << shift;
        all.name_tail |= part.name_tail << shift;
        all.e |= part.e << shift;
    }
    all
}

fn runs_of(chunk: &[u8]) -> u64 {
    chunk
        .chunks_exact(16)
        .enumerate()
        .fold(0, |all, (index, sixteen)| {
            let bytes = load(sixteen);
            all | bits(run_bytes(bytes, bytes | u8x16::splat(0x20))) << (16 * index)
        })
}

#[inline(always)]
fn load(sixteen: &[u8]) -> u8x16 {
    u8x16::new(sixteen.try_into().expect("sixteen bytes"))
}

#[inline(always)]
fn classify(sixteen: &[u8]) -> Masks {
    let bytes = load(sixteen);
    let folded = bytes | u8x16::splat(0x20);
    let is = |byte: u8| bytes.simd_eq(u8x16::splat(byte));
    let quote = is(b'"') | is(b'\'') | is(b'`');
    let newline = is(b'\n');
    let backslash = is(b'\\');
    let ampersand = is(b'&');
    let operators = is(b'+') | is(b'.') | is(b'|') | is(b'~') | is(b'\r');
    Masks {
        run: bits(run_bytes(bytes, folded)),
        quote: bits(quote),
        space: bits(is(b' ') | is(b'\t')),
        glue: bits(quote | newline | backslash | ampersand | operators),
        newline: bits(newline),
        escape: bits(backslash | ampersand | is(b'%') | is(0x1b)),
        high: bits(bytes),
        equals: bits(is(b'=')),
        vee: bits(folded.simd_eq(u8x16::splat(b'v'))),
        bracket: bits(is(b'(') | is(b'{') | is(b']')),
        name_tail: bits(is(b'1') | is(b'3') | folded.simd_eq(u8x16::splat(b'm'))),
        e: bits(folded.simd_eq(u8x16::splat(b'e'))),
    }
}

/// Lanes holding a letter, a digit or `+ / - _` (`folded` is `bytes` with bit 5 set, which
/// makes upper-case letters lower-case and leaves no other byte a letter).
#[inline(always)]
fn run_bytes(bytes: u8x16, folded: u8x16) -> u8x16 {
    let is = |byte: u8| bytes.simd_eq(u8x16::splat(byte));
    let letter = below(folded - u8x16::splat(b'a'), 26);
    let digit = below(bytes - u8x16::splat(b'0'), 10);
    letter | digit | is(b'+') | is(b'/') | is(b'-') | is(b'_')
}

/// Lanes of `x` below `n` (unsigned; the subtraction before it wraps bytes under the range's
/// start round to the top).
#[inline(always)]
fn below(x: u8x16, n: u8) -> u8x16 {
    x.min(u8x16::splat(n - 1)).simd_eq(x)
}

#[inline(always)]
fn bits(lanes: u8x16) -> u64 {
    u64::from(lanes.to_bitmask() & 0xFFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The masks, byte by byte, as the decoders' own tests for a byte would write them.
    fn reference(chunk: &[u8]) -> Masks {
        let mut masks = Masks::default();
        for (index, &byte) in chunk.iter().enumerate() {
            let bit = 1u64 << index;
            let set = |mask: &mut u64, yes: bool| {
                if yes {
                    *mask |= bit;
                }
            };
            set(
                &mut masks.run,
                byte.is_ascii_alphanumeric() || b"+/-_".contains(&byte),
            );
            set(&mut masks.quote, b"\"'`".contains(&byte));
            set(&mut masks.space, b" \t".contains(&byte));
            set(&mut masks.glue, b"\r\n\\+.&|~\"'`".contains(&byte));
            set(&mut masks.newline, byte == b'\n');
            set(&mut masks.escape, b"\\%&\x1b".contains(&byte));
            set(&mut masks.high, byte >= 0x80);
            set(&mut masks.equals, byte == b'=');
            set(&mut masks.vee, byte == b'v' || byte == b'V');
            set(&mut masks.bracket, b"({]".contains(&byte));
            set(&mut masks.name_tail, b"13mM".contains(&byte));
            set(&mut masks.e, b"eE".contains(&byte));
        }
        masks
    }

    #[test]
    fn every_byte_in_every_lane_is_classified_as_one_at_a_time() {
        for byte in 0..=255u8 {
            for lane in [0, 1, 15, 16, 31, 47, 48, 63] {
                let mut chunk = [b' '; 64];
                chunk[lane] = byte;
                assert_eq!(of(&chunk), reference(&chunk), "byte {byte:#x} in lane {lane}");
                assert_eq!(
                    runs_of(&chunk),
                    reference(&chunk).run,
                    "byte {byte:#x} in lane {lane}"
                );
            }
        }
    }

    #[test]
    fn a_short_last_chunk_reads_as_padded_with_nothing() {
        let text = b"value = \"QUtJQQ\" + '\\x41'\n".repeat(3);
        let chunks: Vec<_> = super::chunks(&text).collect();
        assert_eq!(chunks.len(), text.len().div_ceil(64));
        for (offset, masks) in chunks {
            let end = (offset + 64).min(text.len());
            let mut padded = [0u8; 64];
            padded[..end - offset].copy_from_slice(&text[offset..end]);
            assert_eq!(masks, reference(&padded));
        }
    }
}
