//! The fingerprint table of the keyword search: one bit test per offset of a file tells whether
//! some keyword may be there, and where it may, which keywords to compare.
//!
//! A fingerprint of `width` bytes (four; two for the short keywords only configurations bring)
//! is placed by its bytes with ASCII case folded: all but the last pick a 64-bit word of the
//! table by their hash, the last picks a bit in it. A keyword one byte shorter than the width
//! sets every bit of its word, whatever byte follows it: so a three-byte keyword (`://`) costs
//! one word of the table, where hashing all four bytes had it set 128 scattered bits, which
//! ordinary text then hit (`you ` stopped the search where `-us` was indexed).

/// ASCII case folded out of four bytes (and a few punctuation pairs with it, such as `@` and
/// `` ` ``: a fingerprint may only ever stand for more text, never less).
pub(super) const FOLD: u32 = 0x2020_2020;

/// Fibonacci hashing: the top bits of the product mix all the bytes.
const MULTIPLIER: u32 = 0x9E37_79B1;

/// A keyword that may start `offset` bytes before the place where its fingerprint is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Entry {
    pub word: u32,
    pub offset: u32,
    /// The keyword's first eight bytes (fewer: `mask` says), case folded like the table: text
    /// that does not hold them folded cannot hold the keyword. Checked here, a stop where no
    /// keyword is does not look at the keyword itself (two more cache misses, where `perf
    /// annotate` put most of the cost of a stop).
    pub head: u64,
    pub mask: u64,
}

impl Entry {
    /// Whether the text at `start` may be the keyword: its head, folded.
    #[inline(always)]
    pub(super) fn head_at(&self, haystack: &[u8], start: usize) -> bool {
        let text = match haystack.get(start..start + 8) {
            Some(eight) => u64::from_le_bytes(eight.try_into().expect("eight bytes")),
            None => {
                let mut eight = [0u8; 8];
                let rest = haystack.get(start..).unwrap_or_default();
                eight[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(eight)
            }
        };
        (text | FOLD64) & self.mask == self.head
    }
}

/// `FOLD` over eight bytes.
pub(super) const FOLD64: u64 = 0x2020_2020_2020_2020;

/// What a keyword is indexed under: `width` bytes (little-endian, the rest ignored), or
/// (`any_last`) only the first `width - 1` of them, followed by any byte.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fingerprint {
    pub bytes: u32,
    pub any_last: bool,
}

/// Fingerprints of one width: a bit per place (word and bit), and per place with its bit set,
/// the keywords to compare.
#[derive(Debug)]
pub(super) struct Table {
    width: usize,
    /// log2 of the number of 64-bit words.
    words_log: u32,
    bits: Vec<u64>,
    /// Per word, how many bits are set in the words before it: with a popcount, the rank of a
    /// set bit among all, which indexes `starts` (no hash map lookup on the hot path).
    ranks: Vec<u32>,
    /// Per set bit in rank order, where its entries start; one more at the end.
    starts: Vec<u32>,
    entries: Vec<Entry>,
}

impl Table {
    pub(super) fn new(width: usize, fingerprints: &[(Fingerprint, Entry)]) -> Self {
        // About eight words per fingerprint, so that few words hold any set bit and fewer still
        // the one a text's bytes pick; 128 KiB at most, as large as the former bit-per-hash
        // table (measured: a smaller table that stays in the L1 cache stops more often).
        let words_log = (fingerprints.len().max(1) * 8)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(6, 14);
        let mut table = Self {
            width,
            words_log,
            bits: vec![0; 1 << words_log],
            ranks: Vec::new(),
            starts: Vec::new(),
            entries: Vec::new(),
        };
        let mut placed: Vec<(u32, Entry)> = Vec::new();
        for &(fingerprint, entry) in fingerprints {
            let (word, bit) = table.place(fingerprint.bytes);
            if fingerprint.any_last {
                placed.extend((0..64).map(|bit| (word * 64 + bit, entry)));
            } else {
                placed.push((word * 64 + bit, entry));
            }
        }
        placed.sort_unstable();
        placed.dedup();
        for (index, &(slot, entry)) in placed.iter().enumerate() {
            if index == 0 || placed[index - 1].0 != slot {
                table.bits[slot as usize / 64] |= 1 << (slot % 64);
                table.starts.push(u32::try_from(index).unwrap_or(u32::MAX));
            }
            table.entries.push(entry);
        }
        table
            .starts
            .push(u32::try_from(table.entries.len()).unwrap_or(u32::MAX));
        let mut before = 0;
        table.ranks = table
            .bits
            .iter()
            .map(|word| {
                let rank = before;
                before += word.count_ones();
                rank
            })
            .collect();
        table
    }

    /// The word and bit of the fingerprint in `window` (the bytes at some place, folded or not).
    #[inline(always)]
    fn place(&self, window: u32) -> (u32, u32) {
        let folded = window | FOLD;
        let last_shift = 8 * (self.width as u32 - 1);
        // The last byte shifted out: the others, at the top, pick the word.
        let first = folded << (32 - last_shift);
        (
            first.wrapping_mul(MULTIPLIER) >> (32 - self.words_log),
            bit_of(folded >> last_shift & 0xff),
        )
    }

    /// The first place from `at` on, before `whole`, where a fingerprint's bit is set (or
    /// `whole`); the four bytes read at each place are whole up to there. The hot loop of a
    /// four-byte table: eight bytes read give five places, and the index needs no bounds check.
    pub(super) fn pass_over(&self, haystack: &[u8], mut at: usize, whole: usize) -> usize {
        debug_assert_eq!(self.width, 4);
        let bits = &self.bits[..];
        let mask = bits.len() - 1;
        let shift = 32 - self.words_log;
        let set = |window: u32| {
            let folded = window | FOLD;
            let word = (folded << 8).wrapping_mul(MULTIPLIER) >> shift;
            // The bit of `bit_of`, without masking the byte: shifts count modulo 64.
            bits[word as usize & mask] >> (folded >> 25 & 63) & 1 != 0
        };
        while at + 8 <= whole + 3 {
            let eight = u64::from_le_bytes(haystack[at..at + 8].try_into().expect("eight bytes"));
            for step in 0..5 {
                if set((eight >> (8 * step)) as u32) {
                    return at + step;
                }
            }
            at += 5;
        }
        while at < whole {
            if set(u32::from_le_bytes(
                haystack[at..at + 4].try_into().expect("four bytes"),
            )) {
                return at;
            }
            at += 1;
        }
        at.max(whole)
    }

    /// The keywords whose fingerprint may be `window`.
    pub(super) fn candidates(&self, window: u32) -> Option<&[Entry]> {
        let (word, bit) = self.place(window);
        let bits = self.bits[word as usize];
        if bits >> bit & 1 == 0 {
            return None;
        }
        let rank = self.ranks[word as usize] + (bits & ((1 << bit) - 1)).count_ones();
        let range = self.starts[rank as usize] as usize..self.starts[rank as usize + 1] as usize;
        Some(&self.entries[range])
    }
}

/// The bit of a word a folded byte picks: its bits but the first, the fifth (which folding
/// set) and the eighth (non-ASCII), so 32 bits in all, two neighbouring bytes sharing one.
/// Measured on aws-sdk-go (one thread, user time, paired): all 64 told apart by a Gray code
/// (two more instructions per offset) stopped 2.49 M times instead of 3.60 M but ran 0.89 s
/// against 0.83 s; a second multiplication of all four bytes for the bit, 2.87 M stops and
/// 0.85 s. Since `Entry::head_at` a stop costs less (its share of a profile went from 12 %
/// to 9 %), and the pass, over every offset, is what weighs.
#[inline(always)]
fn bit_of(folded_byte: u32) -> u32 {
    folded_byte >> 1 & 63
}
