//! Compiles rules once into an immutable, thread-shared set: for content rules a line prefilter
//! (see `prefilter`) plus one regex per rule; for file-name rules a `RegexSet` over the path.

use std::collections::HashSet;

use anyhow::{bail, Context};
use regex::bytes::{Regex as BytesRegex, RegexBuilder as BytesRegexBuilder};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::{binary_rule, RuleKind, RuleMeta};

/// Regex limits: generous for real rules, bounded so a hostile pattern fails to compile instead
/// of exhausting memory.
const REGEX_SIZE_LIMIT: usize = 64 << 20;

/// All rules of a run. Indexes into `rules` are stable for the run and are SARIF's `ruleIndex`.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<RuleMeta>,
    content: Vec<usize>,
    content_regexes: Vec<BytesRegex>,
    content_prefilter: super::prefilter::LinePrefilter,
    file_names: Vec<usize>,
    file_name_regexes: Vec<Regex>,
    file_name_set: RegexSet,
    binary: usize,
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
    pub fn compile(mut rules: Vec<RuleMeta>) -> anyhow::Result<Self> {
        rules.push(binary_rule());
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
        let mut file_name_regexes = Vec::new();
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
                    content_regexes.push(content_regex(pattern).with_context(context)?);
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
                    file_name_regexes.push(case_insensitive_regex(pattern).with_context(context)?);
                    file_names.push(index);
                }
                RuleKind::Binary => binary = index,
                RuleKind::VirusTotal | RuleKind::ConfigChange => {}
            }
        }

        let patterns: Vec<&str> = content_regexes.iter().map(BytesRegex::as_str).collect();
        let content_prefilter = super::prefilter::LinePrefilter::build(&patterns)
            .map_err(|err| anyhow::anyhow!("compiling the content rules together: {err}"))?;
        let file_name_set = RegexSetBuilder::new(file_name_regexes.iter().map(Regex::as_str))
            .case_insensitive(true)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .context("compiling the file-name rules together")?;

        Ok(Self {
            rules,
            content,
            content_regexes,
            content_prefilter,
            file_names,
            file_name_regexes,
            file_name_set,
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
    pub fn content_rules(&self) -> impl Iterator<Item = (usize, &BytesRegex)> {
        self.content.iter().copied().zip(&self.content_regexes)
    }

    /// Candidate lines for the content rules in `haystack`.
    pub fn content_candidates<'h>(&'h self, haystack: &'h [u8]) -> super::prefilter::CandidateSearch<'h> {
        self.content_prefilter.search(haystack)
    }

    /// The file-name rules that match `relative_path`, with the matched range.
    pub fn file_name_matches<'a>(
        &'a self,
        relative_path: &'a str,
    ) -> impl Iterator<Item = (usize, regex::Match<'a>)> + 'a {
        let matched = self.file_name_set.matches(relative_path);
        matched.into_iter().filter_map(move |i| {
            self.file_name_regexes[i]
                .find(relative_path)
                .map(|found| (self.file_names[i], found))
        })
    }
}
