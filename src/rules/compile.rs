//! Compiles rules once into an immutable, thread-shared set: for content rules a line prefilter
//! (see `prefilter`) plus one regex per rule; for file-name rules a `RegexSet` over the path.

use std::collections::HashSet;
use std::ops::Range;

use anyhow::{bail, Context};
use regex::bytes::{Regex as BytesRegex, RegexBuilder as BytesRegexBuilder};
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::{meta, Input, MatchKind, PatternSet};

use super::content_regex::ContentRegex;
use super::{binary_rule, RuleKind, RuleMeta};

/// Regex limits: generous for real rules, bounded so a hostile pattern fails to compile instead
/// of exhausting memory.
const REGEX_SIZE_LIMIT: usize = 64 << 20;
/// File-name patterns per automaton. One automaton over tens of thousands of patterns makes its
/// lazy DFA thrash and fall back to slower engines; batches keep each one small, and the work
/// linear in the number of patterns.
const FILE_NAME_BATCH: usize = 512;
/// What all file-name automata together may take. Past it the configuration is refused (exit 2)
/// rather than the machine running out of memory.
const FILE_NAME_MEMORY_LIMIT: usize = 2 << 30;

/// All rules of a run. Indexes into `rules` are stable for the run and are SARIF's `ruleIndex`.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<RuleMeta>,
    content: Vec<usize>,
    /// Per content rule, its regex and the literals any line it matches must hold.
    content_regexes: Vec<ContentRegex>,
    content_prefilter: super::prefilter::LinePrefilter,
    file_names: Vec<usize>,
    /// The file-name patterns in batches of `FILE_NAME_BATCH`, each one automaton asked which of
    /// its patterns match a path.
    file_name_sets: Vec<meta::Regex>,
    /// Each file-name rule's own regex, to locate its match; compiled on its first match only,
    /// because most never match and compiling them all was most of anteater's start-up time.
    file_name_regexes: Vec<OnceLock<Option<Regex>>>,
    binary: usize,
}

/// Whether a pattern opens with a flag group that turns on case-insensitivity for all of it:
/// `(?i)`, `(?i-u)`, `(?xi)`.
fn ignores_case_throughout(pattern: &str) -> bool {
    pattern
        .strip_prefix("(?")
        .and_then(|rest| rest.split_once(')'))
        .is_some_and(|(flags, _)| {
            let on = flags.split('-').next().unwrap_or_default();
            !flags.contains(':') && on.contains('i')
        })
}

/// Content regexes run over a whole file buffer: `^`/`$` must mean line start/end, and a CRLF
/// line ending must not leave a `\r` inside the match.
pub fn content_regex(pattern: &str) -> Result<BytesRegex, regex::Error> {
    BytesRegexBuilder::new(pattern)
        .multi_line(true)
        .crlf(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// File-name rules, like every exception regex of the original, ignore case.
pub fn case_insensitive_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

impl RuleSet {
    /// Validates and compiles `rules`. Every error names the rule's origin, its id and the regex
    /// problem, so a broken configuration is fixed in one go.
    #[cfg(test)]
    pub fn compile(rules: Vec<RuleMeta>) -> anyhow::Result<Self> {
        Self::compile_deferring(rules, 0..0)
    }

    /// `compile`, but the content regexes of the rules at `known_good` (positions in `rules`:
    /// a built-in ruleset, which the test suite compiles) are compiled when first needed.
    /// Told by where a rule came from, never by what it says of itself: a configuration that
    /// names its origin like a built-in one is still checked before the scan.
    pub fn compile_deferring(mut rules: Vec<RuleMeta>, known_good: Range<usize>) -> anyhow::Result<Self> {
        rules.push(binary_rule());
        rules.push(super::der_key_rule());
        let mut seen = HashSet::new();
        for rule in &rules {
            if rule.id.trim().is_empty() {
                bail!("{}: a rule has an empty id", rule.origin);
            }
            if !seen.insert(rule.id.as_str()) {
                bail!(
                    "{}: rule id `{}` is defined twice (rule ids must be unique across all rule sources)",
                    rule.origin,
                    rule.id
                );
            }
        }

        let mut content = Vec::new();
        let mut content_regexes = Vec::new();
        let mut file_names = Vec::new();
        let mut file_name_patterns: Vec<&str> = Vec::new();
        let mut binary = 0;
        for (index, rule) in rules.iter().enumerate() {
            let pattern = rule.pattern.as_deref().unwrap_or_default();
            let context = || format!("{}: rule `{}`: invalid regex `{}`", rule.origin, rule.id, pattern);
            match rule.kind {
                RuleKind::Content => {
                    if pattern.is_empty() {
                        bail!(
                            "{}: rule `{}` has an empty regex, which would match every line",
                            rule.origin,
                            rule.id
                        );
                    }
                    content_regexes.push(if known_good.contains(&index) {
                        ContentRegex::deferred(pattern)
                    } else {
                        ContentRegex::checked(pattern).with_context(context)?
                    });
                    content.push(index);
                }
                RuleKind::FileName => {
                    if pattern.is_empty() {
                        bail!(
                            "{}: file-name rule `{}` has an empty regex, which would match every path",
                            rule.origin,
                            rule.id
                        );
                    }
                    file_name_patterns.push(pattern);
                    file_names.push(index);
                }
                RuleKind::Binary => binary = index,
                RuleKind::VirusTotal | RuleKind::ConfigChange | RuleKind::KeyFile => {}
            }
        }

        // Rules with keywords are found by their keywords; the others by the
        // literals of their regexes.
        // Rules limited to some paths run on every line of those files, outside the prefilter.
        let limited = |index: usize| rules[index].filter.as_ref().is_some_and(|f| f.limited_to_paths());
        let keywords_of = |index: usize| {
            let filter = rules[index].filter.as_ref().filter(|f| !f.limited_to_paths());
            filter.map(|f| f.keywords.as_slice()).unwrap_or_default()
        };
        let patterns: Vec<&str> = content
            .iter()
            .zip(&content_regexes)
            .filter(|(&index, _)| keywords_of(index).is_empty() && !limited(index))
            .map(|(_, regex)| regex.pattern())
            .collect();
        let ignores_case = |index: usize| {
            rules[index]
                .pattern
                .as_deref()
                .is_some_and(ignores_case_throughout)
        };
        let keywords = super::prefilter::Keywords::build(content.iter().map(|&index| {
            if limited(index) {
                super::prefilter::RuleKeywords::NotOnCandidates
            } else {
                super::prefilter::RuleKeywords::Keywords(keywords_of(index), ignores_case(index))
            }
        }))
        .map_err(|err| anyhow::anyhow!("compiling the rules' keywords: {err}"))?;
        let content_prefilter = super::prefilter::LinePrefilter::build(&patterns, keywords)
            .map_err(|err| anyhow::anyhow!("compiling the content rules together: {err}"))?;
        let file_name_sets = file_name_automata(&file_name_patterns, FILE_NAME_MEMORY_LIMIT).map_err(|err| match err {
            // Name the rule whose pattern is wrong, like the per-rule errors above.
            AutomataError::Build(offset, err) => {
                match err.pattern().map(|id| &rules[file_names[offset + id.as_usize()]]) {
                    Some(rule) => anyhow::anyhow!(
                        "{}: rule `{}`: invalid regex `{}`: {}",
                        rule.origin,
                        rule.id,
                        rule.pattern.as_deref().unwrap_or_default(),
                        err.syntax_error()
                            .map_or_else(|| err.to_string(), ToString::to_string)
                    ),
                    None => anyhow::anyhow!(
                        "compiling the {} file-name rules together: {err}",
                        file_name_patterns.len()
                    ),
                }
            }
            AutomataError::TooLarge { compiled } => anyhow::anyhow!(
                "the {} file-name rules need more than {} MiB compiled (the limit) after the first {compiled}: \
                 simplify them (literal names, or ASCII classes such as [a-z0-9_] instead of \\w) \
                 or split the list",
                file_name_patterns.len(),
                FILE_NAME_MEMORY_LIMIT >> 20
            ),
        })?;
        let file_name_regexes = file_name_patterns.iter().map(|_| OnceLock::new()).collect();
        Ok(Self {
            rules,
            content,
            content_regexes,
            content_prefilter,
            file_names,
            file_name_sets,
            file_name_regexes,
            binary,
        })
    }

    /// Every rule of the run, in `ruleIndex` order.
    pub fn rules(&self) -> &[RuleMeta] {
        &self.rules
    }

    pub fn rule(&self, index: usize) -> &RuleMeta {
        &self.rules[index]
    }

    /// Index of the rule with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|rule| rule.id == id)
    }

    /// Index of the binary-allowlist rule.
    pub fn binary_rule(&self) -> usize {
        self.binary
    }

    /// The content rules, as (rule index, regex).
    pub fn content_rules(&self) -> impl Iterator<Item = (usize, &ContentRegex)> {
        self.content.iter().copied().zip(&self.content_regexes)
    }

    /// Whether `line` holds every literal the content rule at `position` (in `content_rules`
    /// order) needs: when not, its regex cannot match there.
    pub fn may_match_line(&self, position: usize, line: &[u8]) -> bool {
        self.content_regexes[position].required().all_in(line)
    }

    /// Candidate lines for the content rules in `haystack`.
    pub fn content_candidates<'h>(&'h self, haystack: &'h [u8]) -> super::prefilter::CandidateSearch<'h> {
        self.content_prefilter.search(haystack)
    }

    /// The file-name rules that match `relative_path`, with the matched text.
    pub fn file_name_matches<'a>(&'a self, relative_path: &'a str) -> Vec<(usize, &'a str)> {
        let mut found = Vec::new();
        for (batch, set) in self.file_name_sets.iter().enumerate() {
            let mut matched = PatternSet::new(set.pattern_len());
            set.which_overlapping_matches(&Input::new(relative_path), &mut matched);
            found.extend(matched.iter().map(|id| batch * FILE_NAME_BATCH + id.as_usize()));
        }
        found
            .into_iter()
            .map(|i| {
                let regex = self.file_name_regexes[i].get_or_init(|| {
                    case_insensitive_regex(self.rule(self.file_names[i]).pattern.as_deref()?).ok()
                });
                // The automaton accepted the same pattern, so the regex compiles; should it not,
                // the whole path is the evidence.
                let text = regex
                    .as_ref()
                    .and_then(|regex| regex.find(relative_path))
                    .map_or(relative_path, |found| found.as_str());
                (self.file_names[i], text)
            })
            .collect()
    }
}

/// Why the file-name automata could not be built.
enum AutomataError {
    /// A batch did not compile; with the index of its first pattern.
    Build(usize, Box<meta::BuildError>),
    /// The memory limit was passed after compiling this many patterns.
    TooLarge { compiled: usize },
}

/// The file-name patterns as multi-pattern automata of `FILE_NAME_BATCH` patterns each:
/// case-insensitive like the original's file-name checks, and without a literal prefilter, which
/// only costs start-up time on strings as short as paths. Without capture groups: they are never
/// asked for, and their slots grew the fallback engine's memory with the square of the number of
/// patterns (12,000 patterns asked for 86 GB). Memory is counted batch by batch, so that a list
/// too large stops before it takes the machine's memory.
fn file_name_automata(patterns: &[&str], memory_limit: usize) -> Result<Vec<meta::Regex>, AutomataError> {
    let mut automata = Vec::new();
    let mut memory = 0;
    for (batch, chunk) in patterns.chunks(FILE_NAME_BATCH).enumerate() {
        let automaton = meta::Regex::builder()
            .syntax(regex_automata::util::syntax::Config::new().case_insensitive(true))
            .configure(
                meta::Config::new()
                    .match_kind(MatchKind::All)
                    .which_captures(WhichCaptures::None)
                    .auto_prefilter(false)
                    .nfa_size_limit(Some(REGEX_SIZE_LIMIT)),
            )
            .build_many(chunk)
            .map_err(|err| AutomataError::Build(batch * FILE_NAME_BATCH, Box::new(err)))?;
        memory += automaton.memory_usage();
        if memory > memory_limit {
            return Err(AutomataError::TooLarge {
                compiled: batch * FILE_NAME_BATCH + chunk.len(),
            });
        }
        automata.push(automaton);
    }
    Ok(automata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_patterns_are_batched_and_memory_is_bounded() {
        let patterns: Vec<String> = (0..1200).map(|i| format!(r"^name{i}\.pem$")).collect();
        let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let Ok(automata) = file_name_automata(&patterns, FILE_NAME_MEMORY_LIMIT) else {
            panic!("1,200 literal names compile");
        };
        assert_eq!(automata.len(), 3, "batches of {FILE_NAME_BATCH}");
        let Err(AutomataError::TooLarge { compiled }) = file_name_automata(&patterns, 1) else {
            panic!("a limit of one byte is passed");
        };
        assert_eq!(compiled, FILE_NAME_BATCH, "it stops at the first batch");
    }

    /// A rule that only claims a built-in origin is compiled before the scan like any other:
    /// deferring is decided by where the rule was put in the list, not by its own fields.
    #[test]
    fn a_rule_claiming_a_builtin_origin_is_still_checked_before_the_scan() {
        let mut rules = super::super::builtin::rules(super::super::RulesetName::Classic).unwrap();
        let mut forged = rules
            .iter()
            .find(|rule| rule.kind == RuleKind::Content)
            .unwrap()
            .clone();
        forged.id = "forged".into();
        forged.pattern = Some("(unclosed".into());
        let known_good = 0..rules.len();
        rules.push(forged);
        let err = RuleSet::compile_deferring(rules, known_good).unwrap_err();
        assert!(format!("{err:#}").contains("rule `forged`"), "{err:#}");
    }
}
