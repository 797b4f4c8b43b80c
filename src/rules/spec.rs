//! Rules as data: the YAML shape of a ruleset file (used by the built-in rulesets) and the
//! common form every rule source is turned into before compilation.

use anyhow::Context;
use serde::Deserialize;

use super::{Precision, RuleKind, RuleMeta, Severity};

/// One rule as written in a ruleset file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub remediation: Option<String>,
    pub pattern: String,
    pub severity: Severity,
    /// The matched text is a secret and is redacted in every output.
    #[serde(default)]
    pub secret: bool,
    /// Lines (or, for file-name rules, paths) that must match.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Lines (or paths) that must not match.
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

/// A ruleset file: content rules and file-name rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesetFile {
    #[serde(default)]
    pub content: Vec<RuleSpec>,
    #[serde(default)]
    pub file_names: Vec<RuleSpec>,
}

impl RulesetFile {
    pub fn parse(yaml: &str, origin: &str) -> anyhow::Result<Self> {
        serde_saphyr::from_str(yaml).with_context(|| format!("{origin}: not a valid ruleset"))
    }
}

impl RuleSpec {
    pub fn into_meta(self, kind: RuleKind, origin: &str, precision: Precision) -> RuleMeta {
        RuleMeta {
            id: self.id,
            name: self.name,
            description: self.description,
            remediation: self.remediation,
            severity: self.severity,
            redact: self.secret,
            kind,
            pattern: Some(self.pattern),
            origin: origin.to_string(),
            precision,
        }
    }
}
