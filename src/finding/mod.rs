//! Findings: what was found where, in a form every reporter can use. Nothing here knows about
//! output formats.

pub mod line_hash;
use std::collections::HashMap;
use std::ops::Range;

use sha2::{Digest, Sha256};

/// A finding's level is its rule's severity, or one level lower in test paths.
pub use crate::rules::Level;
use crate::rules::{RuleMeta, RuleSet};

/// One finding: a rule that fired at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Index of the rule in the run's `RuleSet`.
    pub rule: usize,
    pub level: Level,
    /// '/'-separated path relative to the report root (the git work tree, else the working directory).
    pub path: String,
    /// 1-based line; 1 for findings about a whole file.
    pub line: u32,
    /// 1-based start column and the column just after the match, in UTF-16 code units (what
    /// GitHub counts); `None` for findings about a whole file (file names, binaries).
    pub columns: Option<(u32, u32)>,
    /// What matched, safe to print: redacted for secrets, control characters escaped.
    pub evidence: String,
    /// sha256 of the matched bytes (for content matches, of the secret itself: see
    /// `content_match_hash`): identifies the finding without revealing it.
    pub match_hash: String,
    /// More to say than the rule's description (a VirusTotal verdict), safe to print.
    pub detail: Option<String>,
    /// History mode: the commit that added what was found.
    pub introduced: Option<Introduced>,
    /// The matched secret itself, for `--validate` to ask its provider about; `None` for rules
    /// that do not find secrets. Never printed, never serialised (see [`Secret`]).
    pub secret: Option<Secret>,
    /// What the secret's provider said about it (`--validate`).
    pub validation: Option<Validation>,
}

/// A matched secret. Its `Debug` and `Display` never show it and it has no `Serialize`, so no
/// report or log can carry it by accident; only [`Secret::expose`] gives the text, for the one
/// request that sends it to its own provider.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(std::sync::Arc<str>);

impl Secret {
    pub fn new(matched: &[u8]) -> Secret {
        Secret(String::from_utf8_lossy(matched).into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The three answers of `--validate`: `Live` only when the provider accepted the credential,
/// `Revoked` only on the provider's documented invalid-credential answer, `Unknown` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationState {
    Live,
    Revoked,
    Unknown,
}

impl ValidationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationState::Live => "live",
            ValidationState::Revoked => "revoked",
            ValidationState::Unknown => "unknown",
        }
    }
}

/// What validating a finding's secret found, all safe to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub state: ValidationState,
    /// The provider's display name (`GitHub`).
    pub provider: String,
    /// What the answer says: whom the credential belongs to (redacted where it identifies a
    /// person), the provider's refusal, or why there is no answer.
    pub said: String,
    /// Where to revoke the credential; `None` when no provider check covers the rule.
    pub revoke: Option<String>,
}

impl Validation {
    /// One line for every report: `LIVE (GitHub: login oc…); revoke at https://...`.
    pub fn summary(&self) -> String {
        let state = match self.state {
            ValidationState::Live => "LIVE credential",
            ValidationState::Revoked => "revoked credential",
            ValidationState::Unknown => "validation unknown",
        };
        let mut line = format!("{state} ({}: {})", self.provider, self.said);
        if let Some(revoke) = &self.revoke {
            line.push_str(&format!("; revoke at {revoke}"));
        }
        line
    }
}

/// The commit that added what a finding is about (`--diff`, `--history`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introduced {
    /// Full commit id.
    pub commit: String,
    /// The finding's path and line are those of that commit's version of the file, which the
    /// working tree may no longer have (a later commit removed it: it is still in history).
    /// `false` when the finding is about the working tree and history only names its commit.
    pub located_in_commit: bool,
}

impl Finding {
    /// A fingerprint that stays the same when lines move: rule, path, what identifies the match
    /// in public (see `public_identity`) and how many identical earlier matches the file has.
    pub fn fingerprint(&self, rule: &RuleMeta, occurrence: usize) -> String {
        let mut hasher = Sha256::new();
        for part in [
            rule.id.as_str(),
            &self.path,
            self.public_identity(rule),
            &occurrence.to_string(),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hex(&hasher.finalize()[..16])
    }

    /// What tells this match from others in fingerprints that leave the machine (SARIF, GitLab,
    /// JSON): for secrets the redacted evidence, which every report shows anyway, and never a
    /// hash of the secret, which an offline dictionary reverses (a 10-character password fell to
    /// 19 guesses); for anything else the hash of what matched.
    fn public_identity<'a>(&'a self, rule: &RuleMeta) -> &'a str {
        if rule.redact {
            &self.evidence
        } else {
            &self.match_hash
        }
    }
}

/// The fingerprint of every finding of a run, in order: identical matches of one rule in one file
/// are told apart by how many came before them, never by their line.
pub fn fingerprints(findings: &[Finding], rules: &RuleSet) -> Vec<String> {
    numbered(findings, |finding| {
        finding.public_identity(rules.rule(finding.rule))
    })
    .map(|(finding, occurrence)| finding.fingerprint(rules.rule(finding.rule), occurrence))
    .collect()
}

/// Each finding with how many findings of the same rule, path and `identity` came before it:
/// what tells identical matches apart in fingerprints and baselines, whatever their lines.
pub fn numbered<'f>(
    findings: &'f [Finding],
    identity: impl Fn(&'f Finding) -> &'f str,
) -> impl Iterator<Item = (&'f Finding, usize)> {
    let mut occurrences: HashMap<(usize, &str, &str), usize> = HashMap::new();
    findings.iter().map(move |finding| {
        let occurrence = occurrences
            .entry((finding.rule, finding.path.as_str(), identity(finding)))
            .and_modify(|n| *n += 1)
            .or_insert(0);
        (finding, *occurrence)
    })
}

/// How far after a PEM header its body is read for the match hash: far more than any key.
const PEM_BODY_LIMIT: usize = 64 * 1024;

/// The `match_hash` of a content match at `matched` in `buffer` (whose line ends at `line_end`):
/// what identifies the secret itself, so that a baseline entry accepts that secret and no other.
/// A match is often less than the secret: a PEM header (`-----BEGIN RSA PRIVATE KEY-----`) is
/// the same for every key, and a flag-list rule such as `password\s*=` stops before the value.
/// So a secret rule's match that holds no token is hashed with the rest of its line (a comment
/// added after a token changes nothing), and any match holding a PEM
/// header with the key's body (its base64 characters up to the footer, so the same key
/// re-wrapped or written as a string with `\n` escapes hashes the same).
pub fn content_match_hash(buffer: &[u8], matched: Range<usize>, line_end: usize, redact: bool) -> String {
    let mut hasher = Sha256::new();
    hasher.update(&buffer[matched.clone()]);
    // A match that holds its token already is the secret; one that stops at a name
    // (`password =`) is completed by the rest of its line.
    let complete = crate::redact::holds_key(&String::from_utf8_lossy(&buffer[matched.clone()]));
    if redact && !complete && line_end > matched.end {
        hasher.update([0]);
        hasher.update(buffer[matched.end..line_end].trim_ascii_end());
    }
    if memchr::memmem::find(&buffer[matched.clone()], b"-----BEGIN").is_some() {
        hasher.update([0]);
        let body = &buffer[matched.end..buffer.len().min(matched.end + PEM_BODY_LIMIT)];
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'-' if body[i..].starts_with(b"-----") => break, // the footer
                b'\\' => i += 1, // an escape (`\n`) in a string literal: skip its letter too
                b if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') => hasher.update([b]),
                _ => {}
            }
            i += 1;
        }
    }
    hex(&hasher.finalize())
}

/// sha256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
