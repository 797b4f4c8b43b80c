//! The line prefilter: finds the lines where any content rule may match, in a single pass over a
//! file; the rules themselves then run on those lines only.
//!
//! Why not a `RegexSet` over the whole file: a set reports *overlapping* matches of every pattern,
//! which forces its DFA through the entire file with all patterns live, and Unicode `\b` makes the
//! lazy DFA give up on the first non-ASCII byte, falling back to the slowest engine. A plain
//! leftmost-first search stops at the first hit and skips to the next line, which is how ripgrep
//! searches many patterns at once.

use std::collections::HashMap;

use aho_corasick::AhoCorasick;
use regex_automata::{meta, Input};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{self, Hir, HirKind, Look};

/// How many prefix literals one alternation group may hold (see `LinePrefilter::build`).
const LITERALS_PER_GROUP: usize = 12;

/// How many rule keywords (plain literals) one group may hold.
const LONG_LITERALS_PER_GROUP: usize = 48;

/// Finds lines where some content rule may match.
///
/// Patterns that start with a usable set of literals (`md5`, `-----BEGIN`, `password`) are
/// searched together as one alternation, which the regex engine accelerates with a SIMD literal
/// search. A pattern without such a prefix (`\sexec...`) would disable that acceleration for the
/// whole alternation, so each of those is searched on its own, where the engine can still use an
/// inner literal ("exec"). Word-boundary assertions are removed: that only ever adds matches, so
/// no line a rule matches is missed, and without Unicode word boundaries the lazy DFA never has
/// to give up on non-ASCII text.
#[derive(Debug)]
pub struct LinePrefilter {
    groups: Vec<Group>,
}

/// One search over the file: rule regexes (their relaxed forms) or plain keywords. Keywords go
/// to Aho-Corasick directly, whose SIMD search needs no confirmation by a regex engine (the
/// regex engine put a lazy DFA behind the same literal search).
#[derive(Debug)]
enum Group {
    Regexes(meta::Regex),
    /// Keywords, and whether they are lowercase ones, searched in the lowercased copy.
    Keywords(AhoCorasick, bool),
}

impl Group {
    fn find_from(&self, haystack: &[u8], lowered: &[u8], from: usize) -> Option<usize> {
        match self {
            Group::Regexes(regex) => regex.find(Input::new(haystack).range(from..)).map(|m| m.start()),
            Group::Keywords(automaton, in_lowered) => automaton
                .find(aho_corasick::Input::new(if *in_lowered { lowered } else { haystack }).range(from..))
                .map(|m| m.start()),
        }
    }
}

/// Every content rule's keywords in two automata (exact, and ASCII case-insensitive for rules
/// whose regex ignores case): the rules that have keywords are searched for with them instead of
/// their regexes' literals, and on a candidate line only the rules whose keywords it holds run
/// their regex. Case matters for speed: `SK` exactly is rare, `sk` in any case is in every
/// "task" and "disk".
#[derive(Debug, Default)]
pub struct Keywords {
    /// The automata, and per keyword (pattern id) of each, the content rules (by position)
    /// that have it.
    sets: Vec<(AhoCorasick, Vec<Vec<usize>>)>,
    /// The keywords as the line prefilter searches them: exact ones as written, in the file;
    /// case-insensitive ones in lowercase, in the file's lowercased copy (so `PassWord` is
    /// found, not only the usual spellings).
    exact_words: Vec<String>,
    lowered_words: Vec<String>,
    /// Per content rule, whether it has keywords.
    has_keywords: Vec<bool>,
}

/// Keywords of one kind (exact or case-insensitive) while they are collected: the words, the
/// rules of each word, and each word's index.
type KeywordGroup = (Vec<String>, Vec<Vec<usize>>, HashMap<String, usize>);

impl Keywords {
    /// `per_rule`: each content rule's keywords, and whether they ignore ASCII case.
    pub fn build<'a>(per_rule: impl Iterator<Item = (&'a [String], bool)>) -> Result<Self, String> {
        // (words, rules of each word) for exact and for case-insensitive keywords.
        let mut groups: [KeywordGroup; 2] = Default::default();
        let mut has_keywords = Vec::new();
        for (position, (keywords, ignore_case)) in per_rule.enumerate() {
            has_keywords.push(!keywords.is_empty());
            let (words, rules_of, ids) = &mut groups[usize::from(ignore_case)];
            for word in keywords {
                if word.is_empty() {
                    return Err("a keyword is empty".into());
                }
                let key = if ignore_case {
                    word.to_ascii_lowercase()
                } else {
                    word.clone()
                };
                let id = *ids.entry(key.clone()).or_insert_with(|| {
                    words.push(key);
                    rules_of.push(Vec::new());
                    words.len() - 1
                });
                if !rules_of[id].contains(&position) {
                    rules_of[id].push(position);
                }
            }
        }
        let mut sets = Vec::new();
        let [mut exact_words, mut lowered_words] = [Vec::new(), Vec::new()];
        for (ignore_case, (words, rules_of, _)) in groups.into_iter().enumerate() {
            if words.is_empty() {
                continue;
            }
            let automaton = AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                // The case-insensitive keywords start with common letters: a prefilter would
                // stop at nearly every word, slower than the DFA's steady walk.
                .prefilter(ignore_case == 0)
                .ascii_case_insensitive(ignore_case == 1)
                .build(&words)
                .map_err(|err| err.to_string())?;
            // Case-insensitive words are kept in lowercase already.
            if ignore_case == 0 {
                exact_words.clone_from(&words);
            } else {
                lowered_words.clone_from(&words);
            }
            sets.push((automaton, rules_of));
        }
        Ok(Self {
            sets,
            exact_words,
            lowered_words,
            has_keywords,
        })
    }

    /// The exact keywords, for the line prefilter's search of the file.
    pub fn exact_words(&self) -> &[String] {
        &self.exact_words
    }

    /// The case-insensitive keywords in lowercase, for the line prefilter's search of the
    /// file's lowercased copy.
    pub fn lowered_words(&self) -> &[String] {
        &self.lowered_words
    }

    /// Marks in `live` (one entry per content rule) the rules that may match `line`: those
    /// without keywords, and those with a keyword on it.
    pub fn live_rules(&self, line: &[u8], live: &mut Vec<bool>) {
        live.clear();
        live.extend(self.has_keywords.iter().map(|has| !has));
        for (automaton, rules_of) in &self.sets {
            for found in automaton.find_overlapping_iter(line) {
                for &position in &rules_of[found.pattern().as_usize()] {
                    live[position] = true;
                }
            }
        }
    }
}

impl LinePrefilter {
    /// `patterns`: the regexes of rules without keywords; `keywords`: the literals of the others,
    /// exact ones and lowercase ones (searched in the file's lowercased copy).
    pub fn build(patterns: &[&str], keywords: &[String], lowered: &[String]) -> Result<Self, String> {
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
        for (list, in_lowered) in [(keywords, false), (lowered, true)] {
            for words in list.chunks(LONG_LITERALS_PER_GROUP) {
                let automaton = AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                    .build(words)
                    .map_err(|err| err.to_string())?;
                prefixed.push(Group::Keywords(automaton, in_lowered));
            }
        }
        prefixed.extend(groups.into_iter().map(Group::Regexes));
        Ok(Self { groups: prefixed })
    }

    /// A search over one haystack that remembers each group's next hit, so that asking for
    /// candidates at increasing offsets searches every byte at most once per group.
    pub fn search<'h>(&'h self, haystack: &'h [u8]) -> CandidateSearch<'h> {
        let lowered = self
            .groups
            .iter()
            .any(|group| matches!(group, Group::Keywords(_, true)));
        CandidateSearch {
            prefilter: self,
            haystack,
            lowered: if lowered {
                haystack.to_ascii_lowercase()
            } else {
                Vec::new()
            },
            next_hits: vec![Pending::Unknown; self.groups.len()],
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Pending {
    Unknown,
    At(usize),
    Never,
}

/// Candidate offsets in one haystack, asked for at increasing offsets.
pub struct CandidateSearch<'h> {
    prefilter: &'h LinePrefilter,
    haystack: &'h [u8],
    /// The haystack in ASCII lowercase (same offsets), when case-insensitive keywords need it.
    lowered: Vec<u8>,
    next_hits: Vec<Pending>,
}

impl CandidateSearch<'_> {
    /// The first offset at or after `from` where some rule may match.
    pub fn next_from(&mut self, from: usize) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (group, pending) in self.prefilter.groups.iter().zip(&mut self.next_hits) {
            let hit = match *pending {
                Pending::Never => continue,
                Pending::At(at) if at >= from => at,
                _ => match group.find_from(self.haystack, &self.lowered, from) {
                    Some(found) => found,
                    None => {
                        *pending = Pending::Never;
                        continue;
                    }
                },
            };
            *pending = Pending::At(hit);
            best = Some(best.map_or(hit, |b| b.min(hit)));
        }
        best
    }
}

/// Byte strings that every match of a content rule's regex contains (`://` and `@` for a URL
/// with credentials), checked on a candidate line before the regex runs: a line the keyword
/// found but that lacks one of them cannot match, and a substring search is far cheaper than
/// the regex. Only what the regex makes certain is listed; an alternation contributes nothing.
#[derive(Debug, Default)]
pub struct RequiredLiterals {
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl RequiredLiterals {
    pub fn of(pattern: &str) -> Result<Self, String> {
        let hir = parse(pattern)?;
        let mut literals = Vec::new();
        collect_required(&hir, &mut literals);
        literals.sort();
        literals.dedup();
        Ok(Self {
            finders: literals
                .iter()
                .map(|literal| memchr::memmem::Finder::new(literal).into_owned())
                .collect(),
        })
    }

    /// False when `line` lacks one of the literals, so the regex cannot match on it.
    pub fn all_in(&self, line: &[u8]) -> bool {
        self.finders.iter().all(|finder| finder.find(line).is_some())
    }
}

/// Adds to `out` the literals every match of `hir` contains.
fn collect_required(hir: &Hir, out: &mut Vec<Vec<u8>>) {
    match hir.kind() {
        HirKind::Literal(hir::Literal(bytes)) => out.push(bytes.to_vec()),
        HirKind::Class(class) => {
            if let Some(bytes) = class.literal() {
                out.push(bytes);
            }
        }
        HirKind::Capture(capture) => collect_required(&capture.sub, out),
        HirKind::Repetition(repetition) if repetition.min > 0 => {
            collect_required(&repetition.sub, out);
        }
        HirKind::Concat(parts) => parts.iter().for_each(|part| collect_required(part, out)),
        HirKind::Repetition(_) | HirKind::Alternation(_) | HirKind::Empty | HirKind::Look(_) => {}
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
            &[],
            &[],
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
        let prefilter = LinePrefilter::build(&["md5", r"\sexec\("], &[], &[]).unwrap();
        let text = b"a exec(\nmd5\nb exec(\n";
        let mut search = prefilter.search(text);
        assert_eq!(search.next_from(0), Some(1));
        assert_eq!(search.next_from(8), Some(8));
        assert_eq!(search.next_from(12), Some(13));
        assert_eq!(search.next_from(20), None);
    }

    #[test]
    fn keywords_match_exactly_or_ignoring_case_as_their_rule_does() {
        let exact = vec!["SK".to_string()];
        let any_case = vec!["password".to_string()];
        let keywords =
            Keywords::build([(exact.as_slice(), false), (any_case.as_slice(), true)].into_iter()).unwrap();
        let mut live = Vec::new();
        keywords.live_rules(b"run the task on disk", &mut live);
        assert_eq!(live, vec![false, false]);
        keywords.live_rules(b"key = SK0123 # DB_PASSWORD", &mut live);
        assert_eq!(live, vec![true, true]);

        let prefilter = LinePrefilter::build(&[], keywords.exact_words(), keywords.lowered_words()).unwrap();
        assert_eq!(first(&prefilter, "task\nx\nPassword: 1\n"), Some(7));
    }

    #[test]
    fn case_insensitive_keywords_are_found_in_any_mix_of_cases() {
        let any_case = vec!["password".to_string()];
        let keywords = Keywords::build([(any_case.as_slice(), true)].into_iter()).unwrap();
        let prefilter = LinePrefilter::build(&[], keywords.exact_words(), keywords.lowered_words()).unwrap();
        for line in ["password = 1", "PASSWORD = 1", "dbPassWord = 1", "x\npAsSwOrD"] {
            assert!(first(&prefilter, line).is_some(), "{line}");
        }
        assert_eq!(first(&prefilter, "passwd = 1"), None);
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
    }

    #[test]
    fn invalid_patterns_are_reported() {
        assert!(LinePrefilter::build(&["a("], &[], &[]).is_err());
    }
}
