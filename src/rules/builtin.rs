//! The rulesets embedded in the binary, so that anteater is useful with no configuration.

use super::spec::RulesetFile;
use super::Precision;

/// The built-in rulesets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesetName {
    /// High-precision rules: private keys, service tokens, credentials in URLs, hard-coded
    /// passwords, credential file names.
    Default,
    /// The original anteater's whole default flag list.
    Classic,
}

/// The default ruleset: its shared settings and hand-written rules first, then the provider
/// files (`rules/providers/`), which hold the long tail of providers. Adding a file is one line.
const DEFAULT: &[(&str, &str)] = &[
    ("rules/default.yaml", include_str!("../../rules/default.yaml")),
    (
        "rules/providers/a-l.yaml",
        include_str!("../../rules/providers/a-l.yaml"),
    ),
    (
        "rules/providers/m-z.yaml",
        include_str!("../../rules/providers/m-z.yaml"),
    ),
];
const CLASSIC: &[(&str, &str)] = &[("rules/classic.yaml", include_str!("../../rules/classic.yaml"))];

/// The files of a built-in ruleset, each as (path in the repository, YAML text).
pub fn sources(name: RulesetName) -> &'static [(&'static str, &'static str)] {
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
    let mut files = sources(name)
        .iter()
        .map(|(path, yaml)| RulesetFile::parse(yaml, &format!("{} ({path})", origin(name))));
    let mut ruleset = files.next().expect("a built-in ruleset has a file")?;
    for file in files {
        ruleset.extend(file?);
    }
    Ok(ruleset)
}

/// The rules of a built-in ruleset, ready to compile.
pub fn rules(name: RulesetName) -> anyhow::Result<Vec<super::RuleMeta>> {
    load(name)?.into_rules(&origin(name), precision(name))
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
    fn every_builtin_rule_reports_its_examples_and_not_its_negative_examples() {
        let mut problems = Vec::new();
        for name in ALL {
            let rules = rules(name).unwrap();
            assert!(
                rules.iter().any(|r| r.kind == RuleKind::Content),
                "{name:?} has content rules"
            );
            let specs = load(name).unwrap();
            for (rule, spec) in rules
                .into_iter()
                .zip(specs.content.iter().chain(&specs.file_names))
            {
                problems.extend(check_examples(rule, spec));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn every_builtin_ruleset_compiles_with_unique_ids_and_full_metadata() {
        for name in ALL {
            let file = load(name).unwrap();
            for spec in file.content.iter().chain(&file.file_names) {
                assert!(!spec.name.trim().is_empty(), "{}: name", spec.id);
                assert!(!spec.description.trim().is_empty(), "{}: description", spec.id);
                assert!(
                    spec.remediation.as_deref().is_some_and(|r| !r.trim().is_empty()),
                    "{}: remediation",
                    spec.id
                );
            }
            RuleSet::compile(rules(name).unwrap()).unwrap();
        }
    }

    #[test]
    fn default_rules_have_a_prefilter_and_only_default_rules_are_demoted_in_tests() {
        for rule in rules(RulesetName::Default).unwrap() {
            if rule.kind == RuleKind::Content {
                let filter = rule.filter.as_ref().expect("rules from YAML have checks");
                assert!(
                    !filter.keywords.is_empty() || filter.limited_to_paths(),
                    "{}: a default content rule needs keywords (or paths)",
                    rule.id
                );
            }
        }
        assert!(rules(RulesetName::Classic)
            .unwrap()
            .iter()
            .all(|r| !r.demote_in_tests));
    }

    /// Demotion by evidence, not by folder (issue 19): broad rules (password assignments,
    /// generic values, file names) are demoted in test paths; private keys and provider tokens
    /// with a distinctive format are not.
    #[test]
    fn only_rules_without_evidence_of_a_live_secret_are_demoted_in_tests() {
        let rules = rules(RulesetName::Default).unwrap();
        let demoted = |id: &str| {
            rules
                .iter()
                .find(|r| r.id == id)
                .unwrap_or_else(|| panic!("{id}"))
                .demote_in_tests
        };
        for id in [
            "hardcoded-password",
            "config-password",
            "credentials-in-url",
            "k8s-secret-data",
            "file-name-java-keystore",
        ] {
            assert!(demoted(id), "{id}");
        }
        for id in [
            "private-key-rsa",
            "aws-access-key-id",
            "aws-secret-access-key",
            "github-token",
            "stripe-live-key",
            "slack-token",
        ] {
            assert!(!demoted(id), "{id}");
        }
        for rule in &rules {
            let filter = rule.filter.as_ref().unwrap();
            if filter.generic || rule.kind == RuleKind::FileName {
                assert!(rule.demote_in_tests, "{}: broad rules are demoted", rule.id);
            }
            if rule.id.starts_with("private-key-") {
                assert!(!rule.demote_in_tests, "{}", rule.id);
            }
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
