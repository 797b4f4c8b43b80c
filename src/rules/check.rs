//! Self-test of rules against their own examples: every example must be reported, every negative
//! example must not. Content examples go through the whole scan (prefilter, regex and the rule's
//! checks), so a placeholder among the negative examples proves the placeholder check works.
//! Run over the built-in rulesets by the test suite.

use super::compile::case_insensitive_regex;
use super::spec::{Example, RuleSpec};
use super::{RuleKind, RuleMeta, RuleSet};
use crate::inspect::content;
use crate::inspect::exceptions::Exceptions;

/// Problems with one rule's examples; empty when the rule behaves as documented.
pub fn check_examples(rule: RuleMeta, spec: &RuleSpec) -> Vec<String> {
    let id = rule.id.clone();
    let mut problems = Vec::new();
    let reports: Box<dyn Fn(&Example) -> bool> = match rule.kind {
        RuleKind::FileName => match case_insensitive_regex(&spec.pattern) {
            Ok(regex) => Box::new(move |example| regex.is_match(example.text())),
            Err(err) => return vec![format!("{id}: invalid regex: {err}")],
        },
        _ => match RuleSet::compile(vec![rule]) {
            Ok(set) => Box::new(move |example| {
                let found = content::scan(
                    &set,
                    &Exceptions::default(),
                    example.path(),
                    example.text().as_bytes(),
                );
                !found.hits.is_empty()
            }),
            Err(err) => return vec![format!("{id}: {err:#}")],
        },
    };
    if spec.examples.is_empty() {
        problems.push(format!("{id}: has no examples"));
    }
    if spec.negative_examples.is_empty() {
        problems.push(format!("{id}: has no negative examples"));
    }
    for example in &spec.examples {
        if !reports(example) {
            problems.push(format!("{id}: example is not reported: {example:?}"));
        }
    }
    for example in &spec.negative_examples {
        if reports(example) {
            problems.push(format!("{id}: negative example is reported: {example:?}"));
        }
    }
    problems
}
