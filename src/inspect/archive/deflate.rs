//! Reading the zlib streams a binary holds where their two-byte headers stand (`carve.rs`).
//! Chance puts such a header in a binary's data every few KiB, so each is checked by its first
//! deflate block's header before any decoder is set up, and only a stream that decodes whole,
//! its Adler-32 checksum holding, is taken.

use std::cell::RefCell;

use super::bounded::decode_within;
use super::{Budget, Member};

/// Reads zlib streams where their headers stand. A binary holds a chance zlib header every few
/// KiB, so each is first checked by its first block's header (`may_begin_deflate`), and one
/// decoder and its buffer serve them all: a decoder's state is 40 KiB to set up.
pub(super) struct ZlibReader {
    inflater: flate2::Decompress,
    chunk: Vec<u8>,
}

impl ZlibReader {
    pub(super) fn new() -> Self {
        ZlibReader {
            inflater: flate2::Decompress::new(true),
            chunk: vec![0; 8 << 10],
        }
    }

    /// The zlib stream at the start of `rest`, when it decodes whole (its end reached, its
    /// Adler-32 checksum holding) to something, and the bytes it took. Past the room the budget
    /// leaves is an error.
    pub(super) fn read(
        &mut self,
        rest: &[u8],
        start: usize,
        largest: u64,
        budget: &RefCell<Budget>,
    ) -> Result<Option<(Member, usize)>, String> {
        if !rest.get(2..).is_some_and(may_begin_deflate) {
            return Ok(None);
        }
        let name = format!("zlib-at-{start}");
        let ZlibReader { inflater, chunk } = self;
        inflater.reset(true);
        let (bytes, whole) = decode_within(&name, 0, largest, &budget.borrow(), |sink| loop {
            let (read, written) = (inflater.total_in(), inflater.total_out());
            let input = &rest[read as usize..];
            let Ok(status) = inflater.decompress(input, chunk, flate2::FlushDecompress::None) else {
                return false;
            };
            let out = (inflater.total_out() - written) as usize;
            if sink.write_all(&chunk[..out]).is_err() {
                return false;
            }
            if status == flate2::Status::StreamEnd {
                return true;
            }
            if inflater.total_in() == read && out == 0 {
                return false; // Cut short.
            }
        })?;
        if !whole || bytes.is_empty() {
            return Ok(None);
        }
        let stored = usize::try_from(self.inflater.total_in()).unwrap_or(rest.len());
        Ok(Some((Member { name, bytes }, stored)))
    }
}

/// Whether `deflate` may begin a deflate stream, by its first block's header alone: not the
/// reserved block type, a stored block's length matching its complement, a dynamic block's
/// code-length code neither over- nor under-subscribed. Most chance matches fail here.
fn may_begin_deflate(deflate: &[u8]) -> bool {
    let mut bits = Bits {
        bytes: deflate,
        at: 0,
    };
    let Some(kind) = bits.take(3).map(|header| header >> 1) else {
        return false;
    };
    match kind {
        0 => {
            // Stored: the rest of the byte is padding, then LEN and NLEN.
            let at = 1;
            deflate
                .get(at..at + 4)
                .is_some_and(|len| len[0] == !len[2] && len[1] == !len[3])
        }
        1 => fixed_block_may_begin(&mut bits),
        2 => {
            let (Some(_), Some(_), Some(count)) = (bits.take(5), bits.take(5), bits.take(4)) else {
                return false;
            };
            // The code lengths of the code-length alphabet: a Huffman code must be complete
            // (Kraft's sum exactly one), or a single code of length one.
            let mut sum = 0u32;
            let mut used = 0;
            for _ in 0..count + 4 {
                let Some(length) = bits.take(3) else {
                    return false;
                };
                if length > 0 {
                    used += 1;
                    sum += 1 << (7 - length);
                }
            }
            sum == 1 << 7 || used == 1 && sum == 1 << 6
        }
        _ => false,
    }
}

/// How many of a fixed-code block's first symbols are checked.
const FIXED_SYMBOLS_CHECKED: usize = 24;

/// Whether the first symbols of a block in deflate's fixed code, the first block of a stream,
/// can be what they are: no code outside the alphabet, and no copy reaching back before the
/// stream's start. Noise breaks one or the other within a few symbols.
fn fixed_block_may_begin(bits: &mut Bits<'_>) -> bool {
    // The base and extra bits of each length (codes 257..=285), the base of each distance
    // (codes 0..=29, whose extra bits are (code - 2) / 2 from code 4 on).
    const LENGTH_BASE: [u32; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163,
        195, 227, 258,
    ];
    const LENGTH_EXTRA: [u8; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    const DISTANCE_BASE: [u32; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
        3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    let mut written: u32 = 0;
    for _ in 0..FIXED_SYMBOLS_CHECKED {
        // Codes are packed from their highest bit: read one bit at a time.
        let Some(mut code) = bits.take_code(7) else {
            return true; // The stream ends within these bytes: let the decoder judge.
        };
        let symbol = if code <= 0b0010111 {
            256 + code
        } else {
            let Some(bit) = bits.take(1) else { return true };
            code = code << 1 | bit;
            if (0b0011_0000..=0b1011_1111).contains(&code) {
                code - 0b0011_0000
            } else if (0b1100_0000..=0b1100_0111).contains(&code) {
                280 + code - 0b1100_0000
            } else {
                let Some(bit) = bits.take(1) else { return true };
                144 + (code << 1 | bit) - 0b1_1001_0000
            }
        };
        match symbol {
            0..=255 => written += 1,
            // The block ends: what follows is another block's, which the decoder judges.
            256 => return true,
            257..=285 => {
                let index = (symbol - 257) as usize;
                let (Some(more), Some(code)) =
                    (bits.take(usize::from(LENGTH_EXTRA[index])), bits.take_code(5))
                else {
                    return true;
                };
                let Some(&base) = DISTANCE_BASE.get(code as usize) else {
                    return false;
                };
                let Some(farther) = bits.take((code as usize).saturating_sub(2) / 2) else {
                    return true;
                };
                if base + farther > written {
                    return false;
                }
                written += LENGTH_BASE[index] + more;
            }
            _ => return false,
        }
    }
    true
}

/// Bits read from the lowest first, as deflate packs them.
struct Bits<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Bits<'_> {
    fn take(&mut self, count: usize) -> Option<u32> {
        let mut value = 0;
        for shift in 0..count {
            let byte = self.bytes.get(self.at / 8)?;
            value |= u32::from(byte >> (self.at % 8) & 1) << shift;
            self.at += 1;
        }
        Some(value)
    }

    /// A Huffman code of `count` bits, which deflate packs from its highest bit.
    fn take_code(&mut self, count: usize) -> Option<u32> {
        let mut value = 0;
        for _ in 0..count {
            value = value << 1 | self.take(1)?;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Every stream zlib writes passes the check of its first block, whatever it holds and at
    /// every level: the check may only turn noise away.
    #[test]
    fn every_real_zlib_stream_passes_the_first_block_check() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..600 {
            let length = (next() % 3000) as usize;
            // Text-like, repetitive and random inputs.
            let input: Vec<u8> = (0..length)
                .map(|i| match round % 3 {
                    0 => b"the quick brown fox jumps over the lazy dog\n"[i % 44],
                    1 => (next() % 4) as u8 + b'a',
                    _ => next() as u8,
                })
                .collect();
            let level = flate2::Compression::new((round % 10) as u32);
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), level);
            encoder.write_all(&input).unwrap();
            let stream = encoder.finish().unwrap();
            assert!(may_begin_deflate(&stream[2..]), "round {round}: {stream:02x?}");
        }
        // And noise mostly does not.
        let noise: Vec<u8> = (0..1 << 16).map(|_| next() as u8).collect();
        let passed = (0..noise.len() - 64)
            .filter(|&at| may_begin_deflate(&noise[at..]))
            .count();
        assert!(
            passed < noise.len() / 50,
            "{passed} of {} noise offsets passed",
            noise.len()
        );
    }
}
