//! The line prefilter: finds the lines where any content rule may match, in a single pass over a
//! file; the rules themselves then run on those lines only.
//!
//! Why not a `RegexSet` over the whole file: a set reports *overlapping* matches of every pattern,
//! which forces its DFA through the entire file with all patterns live, and Unicode `\b` makes the
//! lazy DFA give up on the first non-ASCII byte, falling back to the slowest engine. A plain
//! leftmost-first search stops at the first hit and skips to the next line, which is how ripgrep
//! searches many patterns at once.

use std::collections::HashMap;

use regex_automata::{meta, Input};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{self, Hir, HirKind, Look};

/// How many prefix literals one alternation group may hold (see `LinePrefilter::build`).
const LITERALS_PER_GROUP: usize = 12;

/// How many rule keywords (plain literals) one group may hold.
const LONG_LITERALS_PER_GROUP: usize = 48;

/// How much of a file is lowercased at a time for the case-insensitive keywords: small enough
/// to stay in the CPU's cache between lowering it and searching it, and to keep memory flat.
const LOWERED_BLOCK: usize = 64 * 1024;

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
/// Rules with keywords are found by their keywords instead, and on a candidate line only the
/// rules whose keywords it holds run their regex. Case matters for speed: `SK` exactly is rare,
/// `sk` in any case is in every "task" and "disk".
#[derive(Debug)]
pub struct LinePrefilter {
    groups: Vec<Group>,
    /// The content rules (by position) that run on every candidate line.
    always_live: Vec<usize>,
}

/// One search over the file: rule regexes (their relaxed forms) or plain keywords. Keywords go
/// to Aho-Corasick directly, whose SIMD search needs no confirmation by a regex engine (the
/// regex engine put a lazy DFA behind the same literal search).
#[derive(Debug)]
enum Group {
    Regexes(meta::Regex),
    Keywords {
        searcher: KeywordSearcher,
        /// Lowercase keywords, searched in the file's lowercased copy.
        in_lowered: bool,
        /// Per keyword (pattern id), the content rules (by position) it makes live: its own
        /// rules and those of the group's keywords it contains, which the search does not
        /// report where a longer keyword starts at the same place.
        rules_of: Vec<Vec<usize>>,
    },
}

/// A group's keyword search: leftmost-first, so that where keywords start at the same place the
/// first listed is reported. The packed (SIMD, Teddy) searcher on its own, where the machine
/// has it: Aho-Corasick would put the same searcher in front of an automaton that a hit of a
/// plain literal never needs. The automaton where it does not (no SSSE3 or NEON).
#[derive(Debug)]
enum KeywordSearcher {
    Packed(aho_corasick::packed::Searcher),
    Automaton(aho_corasick::AhoCorasick),
}

impl KeywordSearcher {
    fn build<'a>(words: impl Iterator<Item = &'a str> + Clone) -> Result<Self, String> {
        let packed = aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(words.clone())
            .build();
        match packed {
            Some(searcher) => Ok(Self::Packed(searcher)),
            None => Self::automaton(words),
        }
    }

    fn automaton<'a>(words: impl Iterator<Item = &'a str>) -> Result<Self, String> {
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(words)
            .map(Self::Automaton)
            .map_err(|err| err.to_string())
    }

    /// The first match at or after `from`: its offset and pattern id.
    fn find_from(&self, haystack: &[u8], from: usize) -> Option<(usize, usize)> {
        let found = match self {
            Self::Packed(searcher) => {
                searcher.find_in(haystack, aho_corasick::Span::from(from..haystack.len()))
            }
            Self::Automaton(automaton) => automaton.find(aho_corasick::Input::new(haystack).range(from..)),
        };
        found.map(|m| (m.start(), m.pattern().as_usize()))
    }
}

/// Every content rule's keywords, collected per kind: exact ones as written, searched in the
/// file; those of rules whose regex ignores case in lowercase, searched in the file's lowercased
/// copy (so `PassWord` is found, not only the usual spellings).
#[derive(Debug, Default)]
pub struct Keywords {
    /// (keyword, the content rules by position that have it), exact and lowercase.
    exact: Vec<(String, Vec<usize>)>,
    lowered: Vec<(String, Vec<usize>)>,
    /// The content rules (by position) that run on every candidate line: those without
    /// keywords.
    always_live: Vec<usize>,
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

impl Group {
    /// The first hit at or after `from`: its offset and pattern id.
    fn find_from(&self, haystack: &[u8], lowered: &mut LoweredBlock, from: usize) -> Option<(usize, usize)> {
        match self {
            Group::Regexes(regex) => regex
                .find(Input::new(haystack).range(from..))
                .map(|m| (m.start(), m.pattern().as_usize())),
            Group::Keywords {
                searcher,
                in_lowered: false,
                ..
            } => searcher.find_from(haystack, from),
            Group::Keywords {
                searcher,
                in_lowered: true,
                ..
            } => lowered.find_from(searcher, haystack, from),
        }
    }
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
        // Rule keywords are plain literals, most of four bytes or more: selective enough for
        // bigger groups, so fewer passes over the file (measured with bench/rulesets.sh).
        let mut prefixed = Vec::new();
        let mut batch: Vec<Hir> = Vec::new();
        let mut batch_literals = 0;
        for (hir, literals) in with_prefix {
            if !batch.is_empty() && batch_literals + literals > LITERALS_PER_GROUP {
                prefixed.push(Group::Regexes(compile(&Hir::alternation(std::mem::take(
                    &mut batch,
                )))?));
                batch_literals = 0;
            }
            batch.push(hir);
            batch_literals += literals;
        }
        if !batch.is_empty() {
            prefixed.push(Group::Regexes(compile(&Hir::alternation(batch))?));
        }
        for (mut list, in_lowered) in [(keywords.exact, false), (keywords.lowered, true)] {
            // Longest first, so that the few short keywords share a group (the SIMD search of a
            // group is only as selective as its shortest literal), and so that where keywords
            // start at the same place, the longest is the one reported.
            list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
            for chunk in list.chunks(LONG_LITERALS_PER_GROUP) {
                let searcher = KeywordSearcher::build(chunk.iter().map(|(word, _)| word.as_str()))?;
                let rules_of = chunk
                    .iter()
                    .map(|(word, _)| {
                        let mut rules: Vec<usize> = chunk
                            .iter()
                            .filter(|(inner, _)| {
                                memchr::memmem::find(word.as_bytes(), inner.as_bytes()).is_some()
                            })
                            .flat_map(|(_, rules)| rules.iter().copied())
                            .collect();
                        rules.sort_unstable();
                        rules.dedup();
                        rules
                    })
                    .collect();
                prefixed.push(Group::Keywords {
                    searcher,
                    in_lowered,
                    rules_of,
                });
            }
        }
        prefixed.extend(groups.into_iter().map(Group::Regexes));
        Ok(Self {
            groups: prefixed,
            always_live: keywords.always_live,
        })
    }

    /// A search over one haystack that remembers each group's next hit, so that asking for
    /// candidates at increasing offsets searches every byte at most once per group.
    pub fn search<'h>(&'h self, haystack: &'h [u8]) -> CandidateSearch<'h> {
        CandidateSearch {
            prefilter: self,
            haystack,
            lowered: LoweredBlock::default(),
            next_hits: vec![Pending::Unknown; self.groups.len()],
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Pending {
    Unknown,
    /// The group's next hit: offset and pattern id.
    At(usize, usize),
    Never,
}

/// A block of the haystack in ASCII lowercase, for the case-insensitive keywords: lowered a
/// block at a time as the search moves on, rather than a lowercase copy of the whole file.
#[derive(Debug, Default)]
struct LoweredBlock {
    /// Where the block starts in the haystack.
    start: usize,
    bytes: Vec<u8>,
}

impl LoweredBlock {
    /// The first match of `searcher` in the lowercased haystack at or after `from`.
    fn find_from(
        &mut self,
        searcher: &KeywordSearcher,
        haystack: &[u8],
        mut from: usize,
    ) -> Option<(usize, usize)> {
        while from < haystack.len() {
            if from < self.start || from >= self.start + self.bytes.len() {
                self.lower(haystack, from);
            }
            // Blocks end at line ends, and keywords hold no line break: none spans two blocks.
            if let Some((at, pattern)) = searcher.find_from(&self.bytes, from - self.start) {
                return Some((self.start + at, pattern));
            }
            from = self.start + self.bytes.len();
        }
        None
    }

    /// Lowers the block from `from` to the end of the line `LOWERED_BLOCK` bytes on.
    fn lower(&mut self, haystack: &[u8], from: usize) {
        let end = match from.saturating_add(LOWERED_BLOCK) {
            end if end >= haystack.len() => haystack.len(),
            end => memchr::memchr(b'\n', &haystack[end..]).map_or(haystack.len(), |at| end + at + 1),
        };
        self.start = from;
        self.bytes.clear();
        self.bytes
            .extend(haystack[from..end].iter().map(u8::to_ascii_lowercase));
    }
}

/// Candidate lines in one haystack, asked for at increasing offsets.
pub struct CandidateSearch<'h> {
    prefilter: &'h LinePrefilter,
    haystack: &'h [u8],
    lowered: LoweredBlock,
    next_hits: Vec<Pending>,
}

impl CandidateSearch<'_> {
    /// The first offset at or after `from` where some rule may match.
    pub fn next_from(&mut self, from: usize) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (group, pending) in self.prefilter.groups.iter().zip(&mut self.next_hits) {
            let hit = match *pending {
                Pending::Never => continue,
                Pending::At(at, _) if at >= from => at,
                _ => match group.find_from(self.haystack, &mut self.lowered, from) {
                    Some((at, pattern)) => {
                        *pending = Pending::At(at, pattern);
                        at
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
    /// a keyword on it. The keyword searches go on through the line (every keyword in it is
    /// found, also where keywords overlap), so this costs no second pass over the line.
    pub fn live_rules(&mut self, line_end: usize, live: &mut Vec<usize>) {
        live.clone_from(&self.prefilter.always_live);
        for (group, pending) in self.prefilter.groups.iter().zip(&mut self.next_hits) {
            let Group::Keywords { rules_of, .. } = group else {
                continue;
            };
            while let Pending::At(at, pattern) = *pending {
                if at >= line_end {
                    break;
                }
                live.extend_from_slice(&rules_of[pattern]);
                // On from the next byte, not the match's end: a keyword starting inside this
                // one is found too.
                *pending = group
                    .find_from(self.haystack, &mut self.lowered, at + 1)
                    .map_or(Pending::Never, |(at, pattern)| Pending::At(at, pattern));
            }
        }
        live.sort_unstable();
        live.dedup();
    }
}

/// What every match of a content rule's regex contains, checked on a candidate line before the
/// regex runs: byte strings (`://` and `@` for a URL with credentials) and small sets of bytes
/// of which one must appear (a quote, `["'`]`, for a quoted password). A line the keyword found
/// but that lacks one of them cannot match, and a substring or `memchr` search is far cheaper
/// than the regex. Only what the regex makes certain is listed; an alternation contributes
/// nothing.
#[derive(Debug, Default)]
pub struct RequiredLiterals {
    finders: Vec<memchr::memmem::Finder<'static>>,
    /// Sets of two or three bytes: one of each set must be on the line.
    any_of: Vec<Vec<u8>>,
}

impl RequiredLiterals {
    pub fn of(pattern: &str) -> Result<Self, String> {
        let hir = parse(pattern)?;
        let mut literals = Vec::new();
        let mut any_of = Vec::new();
        collect_required(&hir, &mut literals, &mut any_of);
        literals.sort();
        literals.dedup();
        any_of.sort();
        any_of.dedup();
        Ok(Self {
            finders: literals
                .iter()
                .map(|literal| memchr::memmem::Finder::new(literal).into_owned())
                .collect(),
            any_of,
        })
    }

    /// False when `line` lacks one of the literals or byte sets, so the regex cannot match on it.
    pub fn all_in(&self, line: &[u8]) -> bool {
        self.finders.iter().all(|finder| finder.find(line).is_some())
            && self.any_of.iter().all(|set| match set[..] {
                [a, b] => memchr::memchr2(a, b, line).is_some(),
                [a, b, c] => memchr::memchr3(a, b, c, line).is_some(),
                _ => true,
            })
    }
}

/// Adds to `literals` the byte strings every match of `hir` contains, and to `any_of` the small
/// byte sets of which every match contains one. A set that is one letter in both cases (`[pP]`
/// of a case-insensitive keyword) is left out: the keyword search has made sure of it already.
fn collect_required(hir: &Hir, literals: &mut Vec<Vec<u8>>, any_of: &mut Vec<Vec<u8>>) {
    match hir.kind() {
        HirKind::Literal(hir::Literal(bytes)) => literals.push(bytes.to_vec()),
        HirKind::Class(class) => {
            if let Some(bytes) = class.literal() {
                literals.push(bytes);
            } else if let Some(set) = small_byte_set(class) {
                any_of.push(set);
            }
        }
        HirKind::Capture(capture) => collect_required(&capture.sub, literals, any_of),
        HirKind::Repetition(repetition) if repetition.min > 0 => {
            collect_required(&repetition.sub, literals, any_of);
        }
        HirKind::Concat(parts) => parts
            .iter()
            .for_each(|part| collect_required(part, literals, any_of)),
        HirKind::Repetition(_) | HirKind::Alternation(_) | HirKind::Empty | HirKind::Look(_) => {}
    }
}

/// The bytes of a class of two or three bytes, unless they are one letter in both cases.
fn small_byte_set(class: &hir::Class) -> Option<Vec<u8>> {
    let bytes: Vec<u8> = match class {
        hir::Class::Bytes(class) => class
            .ranges()
            .iter()
            .flat_map(|range| range.start()..=range.end())
            .take(4)
            .collect(),
        hir::Class::Unicode(class) => class
            .ranges()
            .iter()
            .flat_map(|range| range.start()..=range.end())
            .take(4)
            .map(|c| u8::try_from(u32::from(c)).ok().filter(u8::is_ascii))
            .collect::<Option<_>>()?,
    };
    let one_letter = bytes.len() == 2 && bytes[0].eq_ignore_ascii_case(&bytes[1]);
    ((2..=3).contains(&bytes.len()) && !one_letter).then_some(bytes)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn first(prefilter: &LinePrefilter, text: &str) -> Option<usize> {
        prefilter.search(text.as_bytes()).next_from(0)
    }

    #[test]
    fn prefilter_matches_whatever_a_rule_matches() {
        let prefilter = LinePrefilter::build(
            &[
                r"\beval\b",
                r"md[245]",
                r"(password|passwd)(.*:|.*=.*)",
                r#"\sexec\s*("|\().+("|\))"#,
            ],
            Keywords::default(),
        )
        .unwrap();
        assert_eq!(
            prefilter.groups.len(),
            2,
            "the \\s pattern is searched on its own"
        );
        for line in [
            "x = eval(y)",
            "md5sum",
            "password = 1",
            "évaluer eval",
            "  exec(\"x\")",
        ] {
            assert!(first(&prefilter, line).is_some(), "{line}");
        }
        assert_eq!(first(&prefilter, "nothing here"), None);
    }

    #[test]
    fn candidates_come_in_order_from_every_group() {
        let prefilter = LinePrefilter::build(&["md5", r"\sexec\("], Keywords::default()).unwrap();
        let text = b"a exec(\nmd5\nb exec(\n";
        let mut search = prefilter.search(text);
        assert_eq!(search.next_from(0), Some(1));
        assert_eq!(search.next_from(8), Some(8));
        assert_eq!(search.next_from(12), Some(13));
        assert_eq!(search.next_from(20), None);
    }

    fn keyword_prefilter(per_rule: &[(&[&str], bool)]) -> LinePrefilter {
        let owned: Vec<(Vec<String>, bool)> = per_rule
            .iter()
            .map(|(words, ignore_case)| (words.iter().map(ToString::to_string).collect(), *ignore_case))
            .collect();
        let keywords = Keywords::build(
            owned
                .iter()
                .map(|(words, ignore_case)| RuleKeywords::Keywords(words, *ignore_case)),
        )
        .unwrap();
        LinePrefilter::build(&[], keywords).unwrap()
    }

    /// Each candidate line (as a string) with its live rules.
    fn candidate_lines(prefilter: &LinePrefilter, text: &str) -> Vec<(String, Vec<usize>)> {
        let mut search = prefilter.search(text.as_bytes());
        let mut lines = Vec::new();
        let mut from = 0;
        while let Some(candidate) = search.next_from(from) {
            let start = text[..candidate].rfind('\n').map_or(0, |at| at + 1);
            let end = text[candidate..]
                .find('\n')
                .map_or(text.len(), |at| candidate + at);
            let mut live = Vec::new();
            search.live_rules(end, &mut live);
            lines.push((text[start..end].to_string(), live));
            from = end + 1;
        }
        lines
    }

    #[test]
    fn keywords_match_exactly_or_ignoring_case_as_their_rule_does() {
        let prefilter = keyword_prefilter(&[(&["SK"], false), (&["password"], true)]);
        assert_eq!(first(&prefilter, "run the task on disk"), None);
        assert_eq!(
            candidate_lines(
                &prefilter,
                "task\nkey = SK0123 # DB_PASSWORD\nPassword: 1\nSK only"
            ),
            [
                ("key = SK0123 # DB_PASSWORD".to_string(), vec![0, 1]),
                ("Password: 1".to_string(), vec![1]),
                ("SK only".to_string(), vec![0]),
            ]
        );
    }

    #[test]
    fn rules_without_keywords_run_on_every_candidate_line_and_limited_ones_on_none() {
        let sk = ["SK".to_string()];
        let keywords = Keywords::build(
            [
                RuleKeywords::Keywords(&sk, false),
                RuleKeywords::NotOnCandidates,
                RuleKeywords::Keywords(&[], false),
            ]
            .into_iter(),
        )
        .unwrap();
        let prefilter = LinePrefilter::build(&["md5"], keywords).unwrap();
        assert_eq!(
            candidate_lines(&prefilter, "md5\nnothing\nSK"),
            [("md5".to_string(), vec![2]), ("SK".to_string(), vec![0, 2])]
        );
    }

    #[test]
    fn case_insensitive_keywords_are_found_in_any_mix_of_cases() {
        let prefilter = keyword_prefilter(&[(&["password"], true)]);
        for line in ["password = 1", "PASSWORD = 1", "dbPassWord = 1", "x\npAsSwOrD"] {
            assert!(first(&prefilter, line).is_some(), "{line}");
        }
        assert_eq!(first(&prefilter, "passwd = 1"), None);
    }

    #[test]
    fn every_keyword_on_a_line_makes_its_rules_live_also_where_keywords_overlap() {
        // "token" inside "secretoken", "pass" as the start of "passphrase", "key" inside
        // "api_key": each rule is live on the line that holds its keyword.
        let prefilter = keyword_prefilter(&[
            (&["secret"], true),
            (&["token"], true),
            (&["passphrase"], true),
            (&["pass"], true),
            (&["api_key"], false),
            (&["key"], false),
            (&["unused"], false),
        ]);
        assert_eq!(
            candidate_lines(&prefilter, "x\nSECRETOKEN passphrase api_key\ny"),
            [(
                "SECRETOKEN passphrase api_key".to_string(),
                vec![0, 1, 2, 3, 4, 5]
            )]
        );
    }

    /// Against the plain definition, on random text made of keyword pieces: a line is a
    /// candidate exactly when it holds some rule's keyword (exactly, or in any case for a
    /// case-insensitive rule), and its live rules are exactly those rules.
    #[test]
    fn candidates_and_live_rules_match_a_plain_search_on_random_text() {
        // Keywords inside others, at their start ("pass", "Q~") or further in ("ord"), of the
        // same rule or of another.
        let rules: [(&[&str], bool); 8] = [
            (&["passw", "password="], true),
            (&["token"], true),
            (&["secret", "secret_key"], true),
            (&["SK", "sk-"], false),
            (&["8Q~", "Q~x"], false),
            (&["ord", "assword"], false),
            (&["pass"], true),
            (&["Q~"], false),
        ];
        let prefilter = keyword_prefilter(&rules);
        let pieces = [
            "pass", "w", "ord", "PASS", "Wor", "d=", "tok", "en", "TOKEN", "secret", "_key", "SECRE", "T",
            "SK", "sk", "-", "8", "Q~", "x", " ", "\n", "\n", "=", "\"",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % bound as u64).unwrap()
        };
        for round in 0..200 {
            // Mostly short texts; a few longer than a lowercased block.
            let length = if round % 50 == 0 { 40_000 } else { 1 + next(60) };
            let text: String = (0..length).map(|_| pieces[next(pieces.len())]).collect();
            let expected: Vec<(String, Vec<usize>)> = text
                .split('\n')
                .filter_map(|line| {
                    let live: Vec<usize> = (0..rules.len())
                        .filter(|&rule| {
                            let (words, ignore_case) = rules[rule];
                            words.iter().any(|word| {
                                if ignore_case {
                                    line.to_ascii_lowercase().contains(&word.to_ascii_lowercase())
                                } else {
                                    line.contains(word)
                                }
                            })
                        })
                        .collect();
                    (!live.is_empty()).then(|| (line.to_string(), live))
                })
                .collect();
            assert_eq!(candidate_lines(&prefilter, &text), expected, "{text:?}");
        }
    }

    #[test]
    fn lowercase_blocks_find_keywords_far_into_a_file_and_across_block_ends() {
        let prefilter = keyword_prefilter(&[(&["password"], true)]);
        let filler = "x".repeat(100) + "\n";
        let mut text = filler.repeat(LOWERED_BLOCK / filler.len() - 1);
        // A long line across the first block's end, with the keyword after it.
        text.push_str(&"y".repeat(300));
        text.push_str(" PassWord\n");
        text.push_str(&filler.repeat(2 * LOWERED_BLOCK / filler.len()));
        text.push_str("last PASSWORD");
        let lines = candidate_lines(&prefilter, &text);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].0.ends_with(" PassWord"));
        assert_eq!(lines[1].0, "last PASSWORD");

        // A keyword on the byte where a block would end: the block goes on to the line's end.
        let text = "z".repeat(LOWERED_BLOCK - 4) + "PassWord\nnext";
        let lines = candidate_lines(&prefilter, &text);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].0.ends_with("zPassWord"));
    }

    #[test]
    fn required_literals_are_what_every_match_holds() {
        let url = RequiredLiterals::of(r"\b[a-z]{1,20}://(?P<user>[^\s:@]*):(?P<secret>[^\s@]{3,})@[^\s/]+")
            .unwrap();
        assert!(url.all_in(b"db = postgres://app:Zq8vLx2W@db.internal/app"));
        assert!(!url.all_in(b"see https://docs.example.com/api for details"));
        let password =
            RequiredLiterals::of(r#"(?i)passw(?:or)?d\s*=\s*["'](?P<secret>[^"']{6,})["']"#).unwrap();
        assert!(password.all_in(b"PASSWORD = 'x'"), "only `=` is certain");
        assert!(!password.all_in(b"password: 'x'"));
        let alternation = RequiredLiterals::of("(?:ab|cd)x?").unwrap();
        assert!(alternation.all_in(b""), "nothing is certain in an alternation");
        let quoted = RequiredLiterals::of(r#"(?i)token\s*=\s*["'`](?P<secret>[a-z0-9]{8,})["'`]"#).unwrap();
        assert!(quoted.all_in(b"TOKEN = `abcdefgh`"));
        assert!(
            !quoted.all_in(b"token = abcdefgh"),
            "one of the quotes is certain"
        );
        assert!(
            quoted.all_in(b"= '"),
            "the letters of a case-insensitive word are not asked for"
        );
        let wide = RequiredLiterals::of("key[0-9]x").unwrap();
        assert!(
            wide.all_in(b"key x"),
            "a class of more than three bytes is not asked for"
        );
    }

    #[test]
    fn the_automaton_finds_what_the_packed_searcher_finds() {
        let words = ["password=", "passw", "token", "sk-", "://"];
        let packed = KeywordSearcher::build(words.into_iter()).unwrap();
        assert!(
            matches!(packed, KeywordSearcher::Packed(_)),
            "this machine has SIMD"
        );
        let automaton = KeywordSearcher::automaton(words.into_iter()).unwrap();
        let text = b"x password=1 passwd token\nhttps://h sk-1 ".repeat(3);
        for from in 0..text.len() {
            assert_eq!(
                packed.find_from(&text, from),
                automaton.find_from(&text, from),
                "{from}"
            );
        }
        assert_eq!(
            packed.find_from(b"password=", 0),
            Some((0, 0)),
            "the first listed wins"
        );
    }

    #[test]
    fn invalid_patterns_are_reported() {
        assert!(LinePrefilter::build(&["a("], Keywords::default()).is_err());
    }
}
