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
