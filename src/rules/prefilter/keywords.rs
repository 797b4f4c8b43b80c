//! The rules' keywords, all searched in one pass over a file whatever their number.
//!
//! Each keyword is indexed by one four-byte piece of it (its fingerprint), chosen among its
//! pieces for rare bytes, with ASCII case folded: a bit per hash in a table of at most 128 KiB.
//! The search reads four bytes at every offset of the file, folds and hashes them, and tests one
//! bit; only where the bit is set does it look up which keywords have that fingerprint and
//! compare them with the text around it (exactly, or ignoring ASCII case, as their rules do).
//! The cost per byte does not depend on the number of keywords: they only fill the table (ten
//! thousand fingerprints set under 1 % of it), so set bits that are not keywords stay rare. Every
//! keyword is found at every place, also where keywords overlap or one holds another.
//!
//! Three-byte keywords are indexed under each four-byte piece they start (128 after folding, a
//! padding byte standing past the file's end); keywords of one or two bytes, which only
//! configurations bring, in a second table of two-byte pieces, searched only when there are some.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;

use rustc_hash::FxHashMap;

/// Every content rule's keywords, collected per kind: exact ones as written, searched in the
/// file; those of rules whose regex ignores case in lowercase, found in any mix of cases (so
/// `PassWord` is found, not only the usual spellings).
#[derive(Debug, Default)]
pub struct Keywords {
    /// (keyword, the content rules by position that have it), exact and lowercase.
    exact: Vec<(String, Vec<usize>)>,
    lowered: Vec<(String, Vec<usize>)>,
    /// The content rules (by position) that run on every candidate line: those without
    /// keywords.
    pub(super) always_live: Vec<usize>,
}

/// How one content rule is found.
pub enum RuleKeywords<'a> {
    /// By its keywords, exact or (`true`) ignoring ASCII case; with none, on every candidate
    /// line.
    Keywords(&'a [String], bool),
    /// Not on candidate lines at all (it runs on every line of the files it is limited to).
    NotOnCandidates,
}

impl Keywords {
    /// `per_rule`: how each content rule is found, in order.
    pub fn build<'a>(per_rule: impl Iterator<Item = RuleKeywords<'a>>) -> Result<Self, String> {
        let mut keywords = Self::default();
        let mut ids: [HashMap<String, usize>; 2] = Default::default();
        for (position, found_by) in per_rule.enumerate() {
            let RuleKeywords::Keywords(words, ignore_case) = found_by else {
                continue;
            };
            if words.is_empty() {
                keywords.always_live.push(position);
            }
            let (list, ids) = if ignore_case {
                (&mut keywords.lowered, &mut ids[1])
            } else {
                (&mut keywords.exact, &mut ids[0])
            };
            for word in words {
                if word.is_empty() {
                    return Err("a keyword is empty".into());
                }
                // A candidate line's live rules are the keywords found before its end.
                if word.contains(['\n', '\r']) {
                    return Err(format!("keyword {word:?} holds a line break"));
                }
                let key = if ignore_case {
                    word.to_ascii_lowercase()
                } else {
                    word.clone()
                };
                let id = *ids.entry(key.clone()).or_insert_with(|| {
                    list.push((key, Vec::new()));
                    list.len() - 1
                });
                if !list[id].1.contains(&position) {
                    list[id].1.push(position);
                }
            }
        }
        Ok(keywords)
    }
}

/// One keyword and the content rules (by position) it makes live.
#[derive(Debug)]
struct Word {
    bytes: Vec<u8>,
    ignore_case: bool,
    rules: Vec<usize>,
}

impl Word {
    /// Whether the keyword is in `haystack` at `start`.
    fn is_at(&self, haystack: &[u8], start: usize) -> bool {
        let Some(text) = haystack.get(start..start + self.bytes.len()) else {
            return false;
        };
        if self.ignore_case {
            text.eq_ignore_ascii_case(&self.bytes)
        } else {
            text == self.bytes
        }
    }
}

/// A keyword that may start `offset` bytes before the place where its fingerprint is read.
#[derive(Debug, Clone, Copy)]
struct Entry {
    word: u32,
    offset: u32,
}

/// Fingerprints of one width (four or two bytes): a bit per hash, and per hash with its bit set,
/// the keywords to compare.
#[derive(Debug)]
struct Table {
    width: usize,
    /// log2 of the number of bits.
    bits_log: u32,
    bits: Vec<u64>,
    entries_of: FxHashMap<u32, Range<u32>>,
    entries: Vec<Entry>,
}

/// ASCII case folded out of four bytes (and a few punctuation pairs with it, such as `@` and
/// `` ` ``: a fingerprint may only ever stand for more text, never less).
const FOLD: u32 = 0x2020_2020;

impl Table {
    fn new(width: usize, fingerprints: Vec<(u32, Entry)>) -> Self {
        // About 128 bits per fingerprint, so that few bits are set; 128 KiB at most.
        let bits_log = (fingerprints.len().max(1) * 128)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(12, 20);
        let mut by_hash: Vec<(u32, Entry)> = fingerprints
            .into_iter()
            .map(|(key, entry)| (hash(key, bits_log), entry))
            .collect();
        by_hash.sort_by_key(|&(hash, entry)| (hash, entry.word, entry.offset));
        by_hash.dedup_by_key(|&mut (hash, entry)| (hash, entry.word, entry.offset));
        let mut bits = vec![0u64; (1usize << bits_log) / 64];
        let mut entries_of = FxHashMap::default();
        let mut entries = Vec::with_capacity(by_hash.len());
        for (hash, entry) in by_hash {
            bits[hash as usize / 64] |= 1 << (hash % 64);
            let len = u32::try_from(entries.len()).unwrap_or(u32::MAX);
            entries_of.entry(hash).or_insert(len..len).end = len + 1;
            entries.push(entry);
        }
        Self {
            width,
            bits_log,
            bits,
            entries_of,
            entries,
        }
    }

    /// The hash of the fingerprint in `window` (the bytes at some place, folded or not).
    #[inline(always)]
    fn hash(&self, window: u32) -> u32 {
        let key = if self.width == 4 { window } else { window & 0xffff };
        hash(key, self.bits_log)
    }

    /// Whether some keyword's fingerprint may be `window`.
    #[inline(always)]
    fn is_set(&self, window: u32) -> bool {
        let hash = self.hash(window);
        self.bits[hash as usize / 64] >> (hash % 64) & 1 != 0
    }

    /// The first place from `at` on, before `whole`, where a fingerprint's bit is set (or
    /// `whole`); the four bytes read at each place are whole up to there. The hot loop: eight
    /// bytes read give five places, and the index needs no bounds check.
    fn pass_over(&self, haystack: &[u8], mut at: usize, whole: usize) -> usize {
        let bits = &self.bits[..];
        let mask = bits.len() - 1;
        let shift = 32 - self.bits_log;
        let set = |window: u32| {
            let hash = (window | FOLD).wrapping_mul(MULTIPLIER) >> shift;
            bits[(hash as usize >> 6) & mask] >> (hash & 63) & 1 != 0
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
    fn candidates(&self, window: u32) -> Option<&[Entry]> {
        if !self.is_set(window) {
            return None;
        }
        let range = self.entries_of.get(&self.hash(window))?;
        Some(&self.entries[range.start as usize..range.end as usize])
    }
}

/// Fibonacci hashing: the top bits of the product mix all four bytes.
const MULTIPLIER: u32 = 0x9E37_79B1;

#[inline(always)]
fn hash(window: u32, bits_log: u32) -> u32 {
    (window | FOLD).wrapping_mul(MULTIPLIER) >> (32 - bits_log)
}

/// How common a byte is in source code and text, roughly: fingerprints are chosen to hold the
/// rare ones, so that the places where their bit is set but no keyword is are few.
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

/// The four bytes at `at`, the ones past the end of `haystack` as zero (folded, a space).
#[inline(always)]
fn window(haystack: &[u8], at: usize) -> u32 {
    match haystack.get(at..at + 4) {
        Some(bytes) => u32::from_le_bytes(bytes.try_into().expect("four bytes")),
        None => {
            let mut bytes = [0u8; 4];
            for (to, from) in bytes.iter_mut().zip(&haystack[at..]) {
                *to = *from;
            }
            u32::from_le_bytes(bytes)
        }
    }
}

/// Every keyword of the content rules, searched together (see the module's documentation).
#[derive(Debug)]
pub(super) struct KeywordIndex {
    words: Vec<Word>,
    /// Fingerprints of four bytes, of the keywords of three bytes or more.
    long: Table,
    /// Fingerprints of two bytes, of the shorter keywords, if there are any.
    short: Option<Table>,
}

/// A keyword found: where its fingerprint was read, where it starts, and which it is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hit {
    pub at: usize,
    pub start: usize,
    word: u32,
}

impl KeywordIndex {
    /// None when there are no keywords.
    pub(super) fn build(keywords: &Keywords) -> Option<Self> {
        let words: Vec<Word> = [(&keywords.exact, false), (&keywords.lowered, true)]
            .into_iter()
            .flat_map(|(list, ignore_case)| {
                list.iter().map(move |(word, rules)| Word {
                    bytes: word.as_bytes().to_vec(),
                    ignore_case,
                    rules: rules.clone(),
                })
            })
            .collect();
        if words.is_empty() {
            return None;
        }
        let mut long = Vec::new();
        let mut short = Vec::new();
        for (id, word) in words.iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let bytes = &word.bytes;
            let entry = |offset: usize| Entry {
                word: id,
                offset: u32::try_from(offset).unwrap_or(u32::MAX),
            };
            match bytes.len() {
                0 => {}
                1 | 2 => {
                    // The bytes after a one-byte keyword: any (folded) byte.
                    let second: Vec<u8> = match bytes[..] {
                        [_, second] => vec![second],
                        _ => (0..=255).filter(|byte| byte & 0x20 != 0).collect(),
                    };
                    short.extend(
                        second
                            .into_iter()
                            .map(|b| (u32::from_le_bytes([bytes[0], b, 0, 0]), entry(0))),
                    );
                }
                3 => long.extend(
                    (0..=255u8)
                        .filter(|byte| byte & 0x20 != 0)
                        .map(|b| (u32::from_le_bytes([bytes[0], bytes[1], bytes[2], b]), entry(0))),
                ),
                len => {
                    let offset = (0..=len - 4)
                        .min_by_key(|&at| bytes[at..at + 4].iter().copied().map(commonness).sum::<u32>())
                        .unwrap_or(0);
                    let piece = &bytes[offset..offset + 4];
                    long.push((
                        u32::from_le_bytes(piece.try_into().expect("four bytes")),
                        entry(offset),
                    ));
                }
            }
        }
        Some(Self {
            words,
            long: Table::new(4, long),
            short: (!short.is_empty()).then(|| Table::new(2, short)),
        })
    }

    /// The content rules the keyword of `hit` makes live.
    pub(super) fn rules_of(&self, hit: Hit) -> &[usize] {
        &self.words[hit.word as usize].rules
    }

    /// Reads fingerprints from `at` on, and puts in `found` the keywords at the first place
    /// where there are any, which start at `floor` or after. Returns the place to go on from.
    fn scan(&self, haystack: &[u8], mut at: usize, floor: usize, found: &mut VecDeque<Hit>) -> usize {
        // Where the fingerprints read are whole: up to there, the places where no bit is set
        // are passed over in a tight loop.
        let whole = if self.short.is_none() {
            haystack.len().saturating_sub(3)
        } else {
            0
        };
        while at < haystack.len() {
            at = self.long.pass_over(haystack, at, whole);
            if at >= haystack.len() {
                break;
            }
            let window = window(haystack, at);
            for table in std::iter::once(&self.long).chain(&self.short) {
                let Some(entries) = table.candidates(window) else {
                    continue;
                };
                for entry in entries {
                    let Some(start) = at.checked_sub(entry.offset as usize) else {
                        continue;
                    };
                    if start >= floor && self.words[entry.word as usize].is_at(haystack, start) {
                        found.push_back(Hit {
                            at,
                            start,
                            word: entry.word,
                        });
                    }
                }
            }
            at += 1;
            if !found.is_empty() {
                break;
            }
        }
        at
    }
}

/// The keyword search of one haystack, asked for hits at increasing offsets.
#[derive(Debug, Default)]
pub(super) struct KeywordScan {
    /// The next place to read a fingerprint at.
    next: usize,
    /// Keywords starting before it are not reported.
    floor: usize,
    /// Hits found and not yet taken, in order.
    found: VecDeque<Hit>,
}

impl KeywordScan {
    /// The first keyword at or after `from`: keywords starting before it are passed over.
    pub(super) fn first_from(&mut self, index: &KeywordIndex, haystack: &[u8], from: usize) -> Option<Hit> {
        let passed = match self.found.front() {
            Some(hit) => hit.start < from,
            None => self.next < from,
        };
        if passed {
            self.next = from;
            self.floor = from;
            self.found.clear();
        }
        self.peek(index, haystack)
    }

    /// The next hit, without taking it.
    pub(super) fn peek(&mut self, index: &KeywordIndex, haystack: &[u8]) -> Option<Hit> {
        if self.found.is_empty() && self.next < haystack.len() {
            self.next = index.scan(haystack, self.next, self.floor, &mut self.found);
        }
        self.found.front().copied()
    }

    /// Takes the hit `peek` gave.
    pub(super) fn take(&mut self) {
        self.found.pop_front();
    }
}
