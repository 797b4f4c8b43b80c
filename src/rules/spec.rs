//! Rules as data: the YAML shape of a ruleset file (used by the built-in rulesets) and the
//! common form every rule source is turned into before compilation.

use std::sync::Arc;

use anyhow::Context;
use serde::Deserialize;

use super::filter::{Checksum, Decode, Inside, RuleFilter, Verify};
use super::keyed::KeyedSpec;
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
    /// How often a finding is a true positive; the ruleset's precision when not given.
    #[serde(default)]
    pub precision: Option<Precision>,
    /// The matched text is a secret and is redacted in every output.
    #[serde(default)]
    pub secret: bool,
    /// Words one of which is on every line the rule matches (ASCII case-insensitive): the rule
    /// runs only on lines holding one, found by one automaton shared by all rules.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Minimum Shannon entropy (bits per character) of the secret.
    #[serde(default)]
    pub entropy: Option<f64>,
    /// Minimum number of distinct characters in the secret.
    #[serde(default)]
    pub min_distinct: Option<usize>,
    /// A secret holding one of these (case-insensitive) is a placeholder, not reported; added to
    /// the ruleset's `placeholders`.
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// Regexes: a secret matching one of them is not reported.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Regexes: a match on a line matching one of them is not reported.
    #[serde(default)]
    pub allow_lines: Vec<String>,
    /// Checksum the secret must carry.
    #[serde(default)]
    pub checksum: Option<Checksum>,
    /// A check of what follows the match (a private key's body).
    #[serde(default)]
    pub verify: Option<Verify>,
    /// How to decode the secret before the entropy and placeholder checks.
    #[serde(default)]
    pub decode: Option<Decode>,
    /// Regexes, one of which must match the matched line or one of `context_lines` lines above.
    #[serde(default)]
    pub context: Vec<String>,
    #[serde(default)]
    pub context_lines: usize,
    /// Regexes ending the search for `context` above the line: a line matching one (a YAML
    /// document's `---`, another top-level key) before the context means the match is outside it.
    #[serde(default)]
    pub context_stop: Vec<String>,
    /// A regex that must match a line of the same YAML document (between `---` separators), such
    /// as `kind: Secret`: a multi-document file holds Secrets next to ConfigMaps.
    #[serde(default)]
    pub document_context: Option<String>,
    /// A regex that must match somewhere in the file.
    #[serde(default)]
    pub file_context: Option<String>,
    /// A regex over the path (case-insensitive): the rule applies only to files it matches.
    #[serde(default)]
    pub paths: Option<String>,
    /// A broad rule: silent on lines where a specific rule reports (one secret, one finding).
    #[serde(default)]
    pub generic: bool,
    /// Findings in test, example and documentation paths are reported one level lower; the
    /// ruleset's `demote_in_tests` when not given. Only rules whose matches carry no evidence of
    /// being real (a password assignment, a file's name) should: a provider token with its
    /// distinctive format is as live in `docs/` as in `src/`.
    #[serde(default)]
    pub demote_in_tests: Option<bool>,
    /// File-name rules: what the content must hold for the name to be reported.
    #[serde(default)]
    pub inside: Option<Inside>,
    /// File-name rules with `inside: pattern`: the regex the content must match.
    #[serde(default)]
    pub inside_pattern: Option<String>,
    /// Lines (or, for file-name rules, paths) that must be reported. Rule files carry them; only
    /// the unit tests check them (`rules::check`), so a build without tests never reads them.
    #[serde(default)]
    #[cfg_attr(not(test), allow(dead_code))]
    pub examples: Vec<Example>,
    /// Lines (or paths) that must not be reported.
    #[serde(default)]
    #[cfg_attr(not(test), allow(dead_code))]
    pub negative_examples: Vec<Example>,
}

/// A rule's example: a text, or a text in a file at a given path (for rules limited to paths).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
#[cfg_attr(not(test), allow(dead_code))] // read by the unit tests, like `examples`
pub enum Example {
    Text(String),
    InFile { path: String, text: String },
}

impl Example {
    #[cfg(test)]
    pub fn path(&self) -> &str {
        match self {
            Example::Text(_) => "example.txt",
            Example::InFile { path, .. } => path,
        }
    }

    #[cfg(test)]
    pub fn text(&self) -> &str {
        match self {
            Example::Text(text) | Example::InFile { text, .. } => text,
        }
    }
}

/// A ruleset file: content rules and file-name rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesetFile {
    /// Placeholder words shared by every content rule: a secret holding one is not reported.
    #[serde(default)]
    pub placeholders: Vec<String>,
    /// Findings in test, fixture, example and documentation paths are reported one level lower,
    /// for rules that do not say otherwise.
    #[serde(default)]
    pub demote_in_tests: bool,
    #[serde(default)]
    pub content: Vec<RuleSpec>,
    #[serde(default)]
    pub file_names: Vec<RuleSpec>,
    /// Provider keys found next to the provider's name (see `keyed`); turned into `content`
    /// rules when the file is parsed, so this is empty afterwards.
    #[serde(default)]
    pub keyed: Vec<KeyedSpec>,
}

impl RulesetFile {
    pub fn parse(yaml: &str, origin: &str) -> anyhow::Result<Self> {
        let mut file: Self =
            serde_saphyr::from_str(yaml).with_context(|| format!("{origin}: not a valid ruleset"))?;
        let keyed = std::mem::take(&mut file.keyed);
        file.content
            .extend(keyed.into_iter().map(KeyedSpec::into_rule_spec));
        Ok(file)
    }

    /// Adds the rules of another file of the same ruleset (a ruleset split over several files:
    /// the shared settings, `placeholders` and `demote_in_tests`, come from the first).
    pub fn extend(&mut self, other: RulesetFile) {
        self.placeholders.extend(other.placeholders);
        self.content.extend(other.content);
        self.file_names.extend(other.file_names);
    }

    /// Every rule of the file, checks compiled; an invalid check regex names its rule.
    pub fn into_rules(self, origin: &str, precision: Precision) -> anyhow::Result<Vec<RuleMeta>> {
        let mut rules = Vec::new();
        let demote = self.demote_in_tests;
        for (specs, kind) in [
            (self.content, RuleKind::Content),
            (self.file_names, RuleKind::FileName),
        ] {
            for spec in specs {
                rules.push(spec.into_meta(kind, origin, precision, &self.placeholders, demote)?);
            }
        }
        Ok(rules)
    }
}

impl RuleSpec {
    /// A content rule with only what every rule must say; the checks are off and there are no
    /// examples. For rules made in code (keyed entries, imported configurations).
    pub fn new(id: String, name: String, description: String, pattern: String, severity: Severity) -> Self {
        Self {
            id,
            name,
            description,
            remediation: None,
            pattern,
            severity,
            precision: None,
            secret: false,
            keywords: Vec::new(),
            entropy: None,
            min_distinct: None,
            stopwords: Vec::new(),
            allow: Vec::new(),
            allow_lines: Vec::new(),
            checksum: None,
            verify: None,
            decode: None,
            context: Vec::new(),
            context_lines: 0,
            context_stop: Vec::new(),
            document_context: None,
            file_context: None,
            paths: None,
            generic: false,
            demote_in_tests: None,
            inside: None,
            inside_pattern: None,
            examples: Vec::new(),
            negative_examples: Vec::new(),
        }
    }

    pub fn into_meta(
        self,
        kind: RuleKind,
        origin: &str,
        precision: Precision,
        placeholders: &[String],
        demote_in_tests: bool,
    ) -> anyhow::Result<RuleMeta> {
        let filter = RuleFilter::from_spec(&self, placeholders)
            .with_context(|| format!("{origin}: rule `{}`", self.id))?;
        Ok(RuleMeta {
            id: self.id,
            name: self.name,
            description: self.description,
            remediation: self.remediation,
            severity: self.severity,
            redact: self.secret,
            kind,
            pattern: Some(self.pattern),
            origin: origin.to_string(),
            precision: self.precision.unwrap_or(precision),
            filter: Some(Arc::new(filter)),
            demote_in_tests: self.demote_in_tests.unwrap_or(demote_in_tests),
        })
    }
}
