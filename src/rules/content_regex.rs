//! A content rule's regex and the literals every match of it holds, compiled when a line first
//! needs them. Most of a large ruleset's rules never see a candidate line in a run (their
//! keywords are not in the tree), and compiling every regex up front was most of anteater's
//! start-up: 109 ms of the default ruleset's 165, which a pre-commit hook or a one-file change
//! paid in full. A rule from the user's configuration is still compiled before the scan, so
//! that a broken pattern stops the run with its file, rule and problem named; a built-in
//! rule's pattern is compiled by the test suite instead
//! (`every_builtin_pattern_compiles_as_the_scan_compiles_it`).

use std::sync::OnceLock;

use regex::bytes::Regex as BytesRegex;

use super::compile::content_regex;
use super::prefilter::RequiredLiterals;

#[derive(Debug)]
pub struct ContentRegex {
    pattern: String,
    /// The regex and the index of its `secret` capture group, if it has one.
    regex: OnceLock<(BytesRegex, Option<usize>)>,
    required: OnceLock<RequiredLiterals>,
}

impl ContentRegex {
    /// Compiled now: a pattern that may be broken, whose error must name it before any scan.
    pub fn checked(pattern: &str) -> anyhow::Result<Self> {
        let compiled = Self::deferred(pattern);
        let regex = content_regex(pattern)?;
        let required = RequiredLiterals::of(pattern).map_err(anyhow::Error::msg)?;
        let _ = compiled.regex.set(with_secret_group(regex));
        let _ = compiled.required.set(required);
        Ok(compiled)
    }

    /// Compiled on first use: a built-in pattern, known to compile.
    pub fn deferred(pattern: &str) -> Self {
        Self {
            pattern: pattern.to_string(),
            regex: OnceLock::new(),
            required: OnceLock::new(),
        }
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn regex(&self) -> &BytesRegex {
        &self.compiled().0
    }

    pub fn secret_group(&self) -> Option<usize> {
        self.compiled().1
    }

    /// The literals any line the regex matches holds (see `RequiredLiterals`).
    pub fn required(&self) -> &RequiredLiterals {
        self.required.get_or_init(|| {
            RequiredLiterals::of(&self.pattern)
                .expect("a built-in pattern parses: the test suite parses every one")
        })
    }

    fn compiled(&self) -> &(BytesRegex, Option<usize>) {
        self.regex.get_or_init(|| {
            with_secret_group(
                content_regex(&self.pattern)
                    .expect("a built-in pattern compiles: the test suite compiles every one"),
            )
        })
    }
}

fn with_secret_group(regex: BytesRegex) -> (BytesRegex, Option<usize>) {
    let group = regex.capture_names().position(|name| name == Some("secret"));
    (regex, group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::builtin::{self, RulesetName};
    use crate::rules::RuleKind;

    /// What makes `deferred` safe for the built-in rules: each compiles, with the same regex
    /// and literals a user's copy of it would be checked with.
    #[test]
    fn every_builtin_pattern_compiles_as_the_scan_compiles_it() {
        for name in [RulesetName::Default, RulesetName::Classic] {
            for rule in builtin::rules(name).unwrap() {
                if rule.kind != RuleKind::Content {
                    continue;
                }
                let pattern = rule.pattern.as_deref().unwrap();
                let checked = ContentRegex::checked(pattern)
                    .unwrap_or_else(|err| panic!("{name:?} rule {}: {err}", rule.id));
                let deferred = ContentRegex::deferred(pattern);
                assert_eq!(deferred.regex().as_str(), checked.regex().as_str());
                assert_eq!(deferred.secret_group(), checked.secret_group(), "{}", rule.id);
                assert_eq!(
                    format!("{:?}", deferred.required()),
                    format!("{:?}", checked.required()),
                    "{}",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn a_deferred_pattern_is_not_compiled_until_asked() {
        let regex = ContentRegex::deferred(r"(?P<secret>tok_[a-z]{8})");
        assert!(regex.regex.get().is_none() && regex.required.get().is_none());
        assert!(regex.required().all_in(b"x tok_abcdefgh"));
        assert!(regex.regex.get().is_none(), "the literals need no regex");
        assert_eq!(regex.secret_group(), Some(1));
        assert!(regex.regex().is_match(b"x tok_abcdefgh"));
    }

    #[test]
    fn a_checked_pattern_reports_its_error_before_any_use() {
        let err = ContentRegex::checked("(unclosed").unwrap_err();
        assert!(
            err.to_string().contains("unclosed") || format!("{err:#}").contains("group"),
            "{err:#}"
        );
    }
}
