//! Self-test of rules against their own examples: every example must match, every negative
//! example must not. Run over the built-in rulesets by the test suite.

use super::compile::{case_insensitive_regex, content_regex};
use super::spec::RuleSpec;
use super::RuleKind;

/// Problems with one rule's examples; empty when the rule behaves as documented.
pub fn check_examples(spec: &RuleSpec, kind: RuleKind) -> Vec<String> {
    let mut problems = Vec::new();
    let matches: Box<dyn Fn(&str) -> bool> = match kind {
        RuleKind::FileName => match case_insensitive_regex(&spec.pattern) {
            Ok(regex) => Box::new(move |text| regex.is_match(text)),
            Err(err) => return vec![format!("{}: invalid regex: {err}", spec.id)],
        },
        _ => match content_regex(&spec.pattern) {
            Ok(regex) => Box::new(move |text| regex.is_match(text.as_bytes())),
            Err(err) => return vec![format!("{}: invalid regex: {err}", spec.id)],
        },
    };
    if spec.examples.is_empty() {
        problems.push(format!("{}: has no examples", spec.id));
    }
    if spec.negative_examples.is_empty() {
        problems.push(format!("{}: has no negative examples", spec.id));
    }
    for example in &spec.examples {
        if !matches(example) {
            problems.push(format!("{}: example does not match: {example:?}", spec.id));
        }
    }
    for example in &spec.negative_examples {
        if matches(example) {
            problems.push(format!("{}: negative example matches: {example:?}", spec.id));
        }
    }
    problems
}
