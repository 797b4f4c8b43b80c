//! Rules: what they are (`RuleMeta`, `Severity`), where they come from (`spec`: YAML data,
//! `builtin`: the embedded rulesets) and how they are compiled for scanning (`compile`).

pub mod builtin;
pub mod catalog;
#[cfg(test)]
pub mod check;
pub mod compile;
pub mod content_regex;
pub mod filter;
pub mod keyed;
pub mod placeholder;
pub mod prefilter;
pub mod spec;

pub use builtin::RulesetName;
pub use compile::RuleSet;

/// SARIF's result levels, ordered so that `>=` means "at least as severe".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// The kinds of indicators anteater asks VirusTotal about; each has its own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorKind {
    /// A public IP address found in a text file.
    Ip,
    /// An http(s) URL found in a text file.
    Url,
    /// A binary file, by sha256.
    File,
}

impl IndicatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Url => "url",
            IndicatorKind::File => "file",
        }
    }
}

/// How bad a finding of a rule is; maps to a SARIF level and GitHub's `security-severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn level(self) -> Level {
        match self {
            Severity::Critical | Severity::High => Level::Error,
            Severity::Medium => Level::Warning,
            Severity::Low => Level::Note,
        }
    }

    /// GitHub's score: over 9.0 critical, 7.0–8.9 high, 4.0–6.9 medium, below that low.
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Critical => "9.5",
            Severity::High => "8.0",
            Severity::Medium => "5.5",
            Severity::Low => "3.0",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// A regex searched in each line of text files.
    Content,
    /// A regex searched (case-insensitively) in the path relative to the scan root.
    FileName,
    /// A binary file whose checksum is not allowlisted.
    Binary,
    /// A VirusTotal verdict about an indicator found in the tree.
    VirusTotal,
    /// A change to anteater's own configuration (--diff mode).
    ConfigChange,
    /// A private key stored in binary (DER) form, told by its structure.
    KeyFile,
}

/// Everything a report needs to know about a rule.
#[derive(Debug, Clone)]
pub struct RuleMeta {
    pub id: String,
    pub name: String,
    pub description: String,
    pub remediation: Option<String>,
    pub severity: Severity,
    /// Matched text is a secret: reports show a short prefix at most.
    pub redact: bool,
    pub kind: RuleKind,
    /// The regex, for content and file-name rules.
    pub pattern: Option<String>,
    /// Where the rule was defined, for messages ("built-in ruleset default", a file path).
    pub origin: String,
    /// SARIF `precision`: how often a finding of this rule is a true positive.
    pub precision: Precision,
    /// Checks a match must pass to be reported (entropy, placeholders, checksum, context...).
    pub filter: Option<std::sync::Arc<filter::RuleFilter>>,
    /// Findings in test paths are reported one level lower (see `test_paths`).
    pub demote_in_tests: bool,
}

/// How often a rule's findings are true positives (SARIF `properties.precision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    VeryHigh,
    High,
    Medium,
    Low,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::VeryHigh => "very-high",
            Precision::High => "high",
            Precision::Medium => "medium",
            Precision::Low => "low",
        }
    }
}

/// The rule that reports binaries missing from the allowlist.
pub fn binary_rule() -> RuleMeta {
    RuleMeta {
        id: "binary-not-allowlisted".into(),
        name: "Binary file not allowlisted".into(),
        description: "A binary file whose sha256 is not allowlisted for its path.".into(),
        remediation: Some(
            "Review the file; if it belongs in the repository, add its sha256 under `binaries:` \
             for this path in the ignore list (or the project's exception file)."
                .into(),
        ),
        severity: Severity::High,
        redact: false,
        kind: RuleKind::Binary,
        pattern: None,
        origin: "built-in".into(),
        precision: Precision::VeryHigh,
        filter: None,
        demote_in_tests: false,
    }
}

/// The id of `der_key_rule`.
pub const DER_PRIVATE_KEY: &str = "private-key-der";

/// The rule for a private key stored in binary (DER) form: no PEM header for a content rule to
/// find, so the inspector reads its structure (`inspect::der`). On in every ruleset, like the
/// binary allowlist.
pub fn der_key_rule() -> RuleMeta {
    RuleMeta {
        id: DER_PRIVATE_KEY.into(),
        name: "Private key in DER form".into(),
        description: "A file that is a private key or key store in binary (DER) form: PKCS #1, PKCS #8, SEC 1 or PKCS #12.".into(),
        remediation: Some(
            "Remove the key from the repository (and its history) and treat it as compromised: \
             revoke or rotate it, and load keys from a secret store at run time."
                .into(),
        ),
        severity: Severity::Critical,
        redact: true,
        kind: RuleKind::KeyFile,
        pattern: None,
        origin: "built-in".into(),
        precision: Precision::VeryHigh,
        filter: None,
        demote_in_tests: false,
    }
}

/// Rule ids of the VirusTotal findings.
pub mod vt_ids {
    pub const MALICIOUS_IP: &str = "virustotal-malicious-ip";
    pub const MALICIOUS_URL: &str = "virustotal-malicious-url";
    pub const MALICIOUS_FILE: &str = "virustotal-malicious-file";
    pub const UNVERIFIED: &str = "virustotal-unverified";

    /// The rule a malicious verdict on this kind of indicator is reported under.
    pub fn malicious(kind: super::IndicatorKind) -> &'static str {
        use super::IndicatorKind;
        match kind {
            IndicatorKind::Ip => MALICIOUS_IP,
            IndicatorKind::Url => MALICIOUS_URL,
            IndicatorKind::File => MALICIOUS_FILE,
        }
    }
}

/// The rules VirusTotal lookups report under; `fail_closed` makes unverified indicators errors.
pub fn virustotal_rules(fail_closed: bool) -> Vec<RuleMeta> {
    let rule = |id: &str, name: &str, description: &str, remediation: &str, severity| RuleMeta {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        remediation: Some(remediation.into()),
        severity,
        redact: false,
        kind: RuleKind::VirusTotal,
        pattern: None,
        origin: "VirusTotal".into(),
        precision: Precision::High,
        filter: None,
        demote_in_tests: false,
    };
    vec![
        rule(
            vt_ids::MALICIOUS_IP,
            "IP address flagged by VirusTotal",
            "An IP address in this file is flagged as malicious by VirusTotal engines.",
            "Check why the code contacts this address; remove it or add it to ip_ignore after review.",
            Severity::High,
        ),
        rule(
            vt_ids::MALICIOUS_URL,
            "URL flagged by VirusTotal",
            "A URL in this file is flagged as malicious by VirusTotal engines.",
            "Remove the URL, or add it to url_ignore after review.",
            Severity::High,
        ),
        rule(
            vt_ids::MALICIOUS_FILE,
            "Binary flagged by VirusTotal",
            "This binary file is flagged as malicious by VirusTotal engines.",
            "Remove the file and find out how it entered the repository.",
            Severity::Critical,
        ),
        rule(
            vt_ids::UNVERIFIED,
            "Indicator not verified by VirusTotal",
            "An IP address, URL or binary could not be checked on VirusTotal (service or Redis \
             failing, quota spent, analysis unfinished, or uploads disabled); it is not known to be clean.",
            "Re-run the job later, or review the indicator by hand.",
            if fail_closed {
                Severity::High
            } else {
                Severity::Low
            },
        ),
    ]
}

/// The id of `waiver_added_rule`.
pub const WAIVER_ADDED: &str = "waiver-added";

/// The rule for an inline `anteater:ignore` that the change under review writes on a line whose
/// finding it waives (--diff, --staged, history): the waiver is honoured, and shown to the
/// reviewer; `--strict-waivers` makes it an error. Its evidence names the waived rule, never the
/// matched text.
pub fn waiver_added_rule(strict: bool) -> RuleMeta {
    RuleMeta {
        id: WAIVER_ADDED.into(),
        name: "Change waives its own finding inline".into(),
        description: "This change adds an `anteater:ignore` marker on a line whose finding it waives.".into(),
        remediation: Some(
            "Review the waived finding: a marker written by the change that needs it is the \
             change judging itself. Remove the secret, or have the waiver reviewed on its own."
                .into(),
        ),
        severity: if strict { Severity::High } else { Severity::Medium },
        redact: true,
        kind: RuleKind::ConfigChange,
        pattern: None,
        origin: "built-in".into(),
        precision: Precision::VeryHigh,
        filter: None,
        demote_in_tests: false,
    }
}

/// The rule for changes that loosen anteater's own configuration (--diff mode).
pub fn config_changed_rule() -> RuleMeta {
    RuleMeta {
        id: "config-changed".into(),
        name: "Change loosens anteater's configuration".into(),
        description: "This change edits anteater's configuration to waive findings or weaken rules.".into(),
        remediation: Some(
            "Review the waiver on its own merits; exceptions take effect once merged, so land them \
             separately from the code they excuse."
                .into(),
        ),
        severity: Severity::Medium,
        redact: false,
        kind: RuleKind::ConfigChange,
        pattern: None,
        origin: "built-in".into(),
        precision: Precision::VeryHigh,
        filter: None,
        demote_in_tests: false,
    }
}
