//! The rules' keywords, all searched in one pass over a file whatever their number.
//!
//! Each keyword is indexed by one four-byte piece of it (its fingerprint), the piece text holds
//! least often (see `common`), with ASCII case folded, in a table of at most 128 KiB (see
//! `table`). The search reads four bytes at every offset of the file, folds and hashes them, and
//! tests one bit; only where the bit is set does it look up which keywords have that fingerprint
//! and compare them with the text around it (exactly, or ignoring ASCII case, as their rules do).
//! The cost per byte does not depend on the number of keywords: they only fill the table, so
//! set bits that are not keywords stay rare. Every keyword is found at every place, also where
//! keywords overlap or one holds another.
//!
//! Three-byte keywords are indexed under their three bytes followed by any byte (a padding byte
//! standing past the file's end); keywords of one or two bytes, which only configurations
//! bring, in a second table of two-byte pieces, searched only when there are some.

use std::collections::{HashMap, VecDeque};

use super::common::fingerprint_offset;
use super::table::{Entry, Fingerprint, Table, FOLD64};

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
            let head = bytes
                .iter()
                .take(8)
                .rev()
                .fold(0u64, |all, &byte| all << 8 | u64::from(byte));
            let mask = u64::MAX >> (64 - 8 * bytes.len().clamp(1, 8));
            let entry = |offset: usize| Entry {
                word: id,
                offset: u32::try_from(offset).unwrap_or(u32::MAX),
                head: (head | FOLD64) & mask,
                mask,
            };
            // Little-endian, so that the table reads the first bytes of a window.
            let piece = |at: usize, len: usize| Fingerprint {
                bytes: bytes[at..at + len]
                    .iter()
                    .rev()
                    .fold(0, |all, &byte| all << 8 | u32::from(byte)),
                any_last: false,
            };
            match bytes.len() {
                0 => {}
                1 => short.push((
                    Fingerprint {
                        any_last: true,
                        ..piece(0, 1)
                    },
                    entry(0),
                )),
                2 => short.push((piece(0, 2), entry(0))),
                3 => long.push((
                    Fingerprint {
                        any_last: true,
                        ..piece(0, 3)
                    },
                    entry(0),
                )),
                _ => {
                    let offset = fingerprint_offset(bytes);
                    long.push((piece(offset, 4), entry(offset)));
                }
            }
        }
        Some(Self {
            words,
            long: Table::new(4, &long),
            short: (!short.is_empty()).then(|| Table::new(2, &short)),
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
                    if start >= floor
                        && entry.head_at(haystack, start)
                        && self.words[entry.word as usize].is_at(haystack, start)
                    {
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
