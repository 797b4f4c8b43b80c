//! The rulesets embedded in the binary, so that anteater is useful with no configuration.

use crate::cli::RulesetName;

use super::spec::RulesetFile;
use super::Precision;

const DEFAULT: &str = include_str!("../../rules/default.yaml");
const CLASSIC: &str = include_str!("../../rules/classic.yaml");

/// The YAML text of a built-in ruleset.
pub fn source(name: RulesetName) -> &'static str {
    match name {
        RulesetName::Default => DEFAULT,
        RulesetName::Classic => CLASSIC,
    }
}

/// How a built-in ruleset is named in messages.
pub fn origin(name: RulesetName) -> String {
    let name = match name {
        RulesetName::Default => "default",
        RulesetName::Classic => "classic",
    };
    format!("built-in ruleset `{name}`")
}

/// Parses a built-in ruleset. They are tested, so a failure here is a bug in anteater itself.
pub fn load(name: RulesetName) -> anyhow::Result<RulesetFile> {
    RulesetFile::parse(source(name), &origin(name))
}

/// The default ruleset is built for precision; the classic list flags broad patterns.
pub fn precision(name: RulesetName) -> Precision {
    match name {
        RulesetName::Default => Precision::High,
        RulesetName::Classic => Precision::Medium,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::check::check_examples;
    use crate::rules::{RuleKind, RuleSet};

    const ALL: [RulesetName; 2] = [RulesetName::Default, RulesetName::Classic];

    #[test]
    fn every_builtin_rule_matches_its_examples_and_not_its_negative_examples() {
        let mut problems = Vec::new();
        for name in ALL {
            let file = load(name).unwrap();
            assert!(!file.content.is_empty(), "{name:?} has content rules");
            for spec in &file.content {
                problems.extend(check_examples(spec, RuleKind::Content));
            }
            for spec in &file.file_names {
                problems.extend(check_examples(spec, RuleKind::FileName));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn every_builtin_ruleset_compiles_with_unique_ids_and_full_metadata() {
        for name in ALL {
            let file = load(name).unwrap();
            let origin = origin(name);
            let mut rules = Vec::new();
            for spec in file.content.iter().chain(&file.file_names) {
                assert!(!spec.name.trim().is_empty(), "{}: name", spec.id);
                assert!(!spec.description.trim().is_empty(), "{}: description", spec.id);
                assert!(
                    spec.remediation.as_deref().is_some_and(|r| !r.trim().is_empty()),
                    "{}: remediation",
                    spec.id
                );
            }
            rules.extend(
                file.content
                    .into_iter()
                    .map(|s| s.into_meta(RuleKind::Content, &origin, precision(name))),
            );
            rules.extend(
                file.file_names
                    .into_iter()
                    .map(|s| s.into_meta(RuleKind::FileName, &origin, precision(name))),
            );
            RuleSet::compile(rules).unwrap();
        }
    }

    #[test]
    fn default_ruleset_redacts_every_content_rule_that_detects_a_secret() {
        let file = load(RulesetName::Default).unwrap();
        for spec in &file.content {
            assert!(
                spec.secret,
                "{}: built-in default content rules all detect secrets",
                spec.id
            );
        }
    }
}
