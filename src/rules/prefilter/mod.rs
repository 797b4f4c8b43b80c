//! The line prefilter: finds the lines where any content rule may match, in a single pass over a
//! file; the rules themselves then run on those lines only.
//!
//! Why not a `RegexSet` over the whole file: a set reports *overlapping* matches of every pattern,
//! which forces its DFA through the entire file with all patterns live, and Unicode `\b` makes the
//! lazy DFA give up on the first non-ASCII byte, falling back to the slowest engine. A plain
//! leftmost-first search stops at the first hit and skips to the next line, which is how ripgrep
//! searches many patterns at once.

mod common;
mod keywords;
mod required;
mod table;
#[cfg(test)]
mod tests;

use regex_automata::{meta, Input};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{self, Hir, HirKind, Look};

use keywords::{KeywordIndex, KeywordScan};
pub use keywords::{Keywords, RuleKeywords};
pub use required::RequiredLiterals;

/// How many prefix literals one alternation group may hold (see `LinePrefilter::build`).
const LITERALS_PER_GROUP: usize = 12;

/// Finds lines where some content rule may match, and which rules may match there.
///
/// Patterns that start with a usable set of literals (`md5`, `-----BEGIN`, `password`) are
/// searched together as one alternation, which the regex engine accelerates with a SIMD literal
/// search. A pattern without such a prefix (`\sexec...`) would disable that acceleration for the
/// whole alternation, so each of those is searched on its own, where the engine can still use an
/// inner literal ("exec"). Word-boundary assertions are removed: that only ever adds matches, so
/// no line a rule matches is missed, and without Unicode word boundaries the lazy DFA never has
/// to give up on non-ASCII text.
///
/// Rules with keywords are found by their keywords instead, all in one pass (see `keywords`), and
/// on a candidate line only the rules whose keywords it holds run their regex. Case matters for
/// speed: `SK` exactly is rare, `sk` in any case is in every "task" and "disk".
#[derive(Debug)]
pub struct LinePrefilter {
    groups: Vec<meta::Regex>,
    keywords: Option<KeywordIndex>,
    /// The content rules (by position) that run on every candidate line.
    always_live: Vec<usize>,
}

impl LinePrefilter {
    /// `patterns`: the regexes of rules without keywords; `keywords`: those of the others.
    pub fn build(patterns: &[&str], keywords: Keywords) -> Result<Self, String> {
        let mut with_prefix = Vec::new();
        let mut groups = Vec::new();
        for pattern in patterns {
            let hir = parse(pattern)?;
            let relaxed = relax(&hir);
            if let Some(literals) = usable_prefix_count(&relaxed) {
                with_prefix.push((relaxed, literals));
            } else {
                groups.push(compile(&relaxed)?);
            }
        }
        // Few literals per group: the literal searcher (Teddy) has 8 or 16 buckets, and with many
        // short literals per bucket it stops on false candidates so often that one big group was
        // measured twice as slow as several small ones (bench/compare.sh).
        let mut prefixed = Vec::new();
        let mut batch: Vec<Hir> = Vec::new();
        let mut batch_literals = 0;
        for (hir, literals) in with_prefix {
            if !batch.is_empty() && batch_literals + literals > LITERALS_PER_GROUP {
                prefixed.push(compile(&Hir::alternation(std::mem::take(&mut batch)))?);
                batch_literals = 0;
            }
            batch.push(hir);
            batch_literals += literals;
        }
        if !batch.is_empty() {
            prefixed.push(compile(&Hir::alternation(batch))?);
        }
        prefixed.extend(groups);
        Ok(Self {
            groups: prefixed,
            keywords: KeywordIndex::build(&keywords),
            always_live: keywords.always_live,
        })
    }

    /// A search over one haystack that remembers each group's next hit, so that asking for
    /// candidates at increasing offsets searches every byte at most once per group.
    pub fn search<'h>(&'h self, haystack: &'h [u8]) -> CandidateSearch<'h> {
        CandidateSearch {
            prefilter: self,
            haystack,
            next_hits: vec![Pending::Unknown; self.groups.len()],
            keywords: KeywordScan::default(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Pending {
    Unknown,
    /// The group's next hit.
    At(usize),
    Never,
}

/// Candidate lines in one haystack, asked for at increasing offsets.
pub struct CandidateSearch<'h> {
    prefilter: &'h LinePrefilter,
    haystack: &'h [u8],
    next_hits: Vec<Pending>,
    keywords: KeywordScan,
}

impl CandidateSearch<'_> {
    /// The first offset at or after `from` where some rule may match.
    pub fn next_from(&mut self, from: usize) -> Option<usize> {
        let mut best = self
            .prefilter
            .keywords
            .as_ref()
            .and_then(|index| self.keywords.first_from(index, self.haystack, from))
            .map(|hit| hit.start);
        for (group, pending) in self.prefilter.groups.iter().zip(&mut self.next_hits) {
            let hit = match *pending {
                Pending::Never => continue,
                Pending::At(at) if at >= from => at,
                _ => match group.find(Input::new(self.haystack).range(from..)) {
                    Some(found) => {
                        *pending = Pending::At(found.start());
                        found.start()
                    }
                    None => {
                        *pending = Pending::Never;
                        continue;
                    }
                },
            };
            best = Some(best.map_or(hit, |b| b.min(hit)));
        }
        best
    }

    /// Puts in `live`, in order, the content rules (by position) that may match on the candidate
    /// line `next_from` found, which ends at `line_end`: those without keywords, and those with
    /// a keyword on it. The keyword search goes on through the line (every keyword in it is
    /// found, also where keywords overlap), so this costs no second pass over the line.
    pub fn live_rules(&mut self, line_end: usize, live: &mut Vec<usize>) {
        live.clone_from(&self.prefilter.always_live);
        if let Some(index) = &self.prefilter.keywords {
            while let Some(hit) = self.keywords.peek(index, self.haystack) {
                if hit.at >= line_end {
                    break;
                }
                live.extend_from_slice(index.rules_of(hit));
                self.keywords.take();
            }
        }
        live.sort_unstable();
        live.dedup();
    }
}

fn parse(pattern: &str) -> Result<Hir, String> {
    regex_syntax::ParserBuilder::new()
        .utf8(false)
        .multi_line(true)
        .crlf(true)
        .build()
        .parse(pattern)
        .map_err(|err| err.to_string())
}

fn compile(hir: &Hir) -> Result<meta::Regex, String> {
    meta::Regex::builder()
        .configure(meta::Config::new().utf8_empty(false))
        .build_from_hir(hir)
        .map_err(|err| err.to_string())
}

/// The size of the pattern's prefix literal set, when the engine can search it quickly: finite,
/// small, and no literal shorter than two bytes (a one-byte literal would stop the search at
/// nearly every line).
fn usable_prefix_count(hir: &Hir) -> Option<usize> {
    let prefixes = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    let literals = prefixes.literals()?;
    let usable = !literals.is_empty() && literals.len() <= 32 && literals.iter().all(|l| l.len() >= 2);
    usable.then_some(literals.len())
}

/// `hir` without word-boundary assertions and without capture groups.
fn relax(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Look(look) if is_word_boundary(*look) => Hir::empty(),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => hir.clone(),
        HirKind::Repetition(repetition) => Hir::repetition(hir::Repetition {
            min: repetition.min,
            max: repetition.max,
            greedy: repetition.greedy,
            sub: Box::new(relax(&repetition.sub)),
        }),
        HirKind::Capture(capture) => relax(&capture.sub),
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(relax).collect()),
        HirKind::Alternation(parts) => Hir::alternation(parts.iter().map(relax).collect()),
    }
}

fn is_word_boundary(look: Look) -> bool {
    matches!(
        look,
        Look::WordAscii
            | Look::WordAsciiNegate
            | Look::WordUnicode
            | Look::WordUnicodeNegate
            | Look::WordStartAscii
            | Look::WordEndAscii
            | Look::WordStartUnicode
            | Look::WordEndUnicode
            | Look::WordStartHalfAscii
            | Look::WordEndHalfAscii
            | Look::WordStartHalfUnicode
            | Look::WordEndHalfUnicode
    )
}
