//! Per-rule checks on a regex match, run only on candidates the regex found: whether the
//! secret is random enough (entropy, distinct characters), not a placeholder (stopwords,
//! allowlist regexes), carries its checksum, has the context it needs, and for private keys
//! has a body. The rule's data (YAML) says which checks apply, as gitleaks' and kingfisher's
//! rules do.

mod inside;
mod key_body;
mod lines;
mod token;

use std::ops::Range;

use anyhow::Context;
use regex::bytes::Regex as BytesRegex;
use regex::Regex;
use serde::Deserialize;

use super::compile::{case_insensitive_regex, content_regex};
use super::placeholder;
use super::spec::RuleSpec;

pub use inside::name_finding_line;
use key_body::{body_start, has_key_body, KEY_BLOCK_MAX, KEY_BODY_WINDOW};
use lines::document_lines;
pub use lines::LineCounter;
pub use token::{base62_crc32, github_checksum_ok, shannon_entropy};
use token::{decode_base64, distinct, looks_like_base64};

/// A checksum a token format carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checksum {
    /// GitHub's (and npm's) token format: `prefix_` + 30 random base62 characters + the CRC32
    /// of those 30 in 6 base62 characters.
    GithubCrc32,
}

/// A check of what follows the match in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verify {
    /// A PEM header must be followed by a base64 body (a header alone is code, not a key).
    PrivateKeyBody,
    /// As `private-key-body`, for a DER-encoded key (PKCS#1, SEC1, PKCS#8): an elision marks an
    /// abridged key when the body is shorter than its DER SEQUENCE says.
    PrivateKeyDerBody,
}

/// How a secret is encoded, to check what it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decode {
    Base64,
}

/// What a file-name rule needs inside the file to report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Inside {
    /// A content rule reports a secret in the file; the name adds nothing then, so it is
    /// reported only for files whose content was not scanned (binary, too large).
    Secret,
    /// The rule's `inside_pattern` matches a line no content rule reported.
    Pattern,
    /// A Terraform state holding a non-null sensitive value.
    TfstateSensitive,
}

/// The checks of one rule, compiled.
#[derive(Debug, Default)]
pub struct RuleFilter {
    pub keywords: Vec<String>,
    entropy: Option<f64>,
    min_distinct: Option<usize>,
    /// Lowercase.
    stopwords: Vec<String>,
    allow: Vec<Regex>,
    allow_lines: Vec<BytesRegex>,
    checksum: Option<Checksum>,
    verify: Option<Verify>,
    decode: Option<Decode>,
    context: Vec<BytesRegex>,
    context_lines: usize,
    context_stop: Vec<BytesRegex>,
    document_context: Option<BytesRegex>,
    pub file_context: Option<BytesRegex>,
    paths: Option<Regex>,
    /// A broad rule (hard-coded passwords): on a line a specific rule reports, it is silent.
    pub generic: bool,
    /// The match is a secret: templates and patterned stand-ins are not reported.
    secret: bool,
    pub inside: Option<Inside>,
    pub inside_pattern: Option<BytesRegex>,
}

/// A regex match, and where its secret is: the `secret` capture group, else the whole match.
pub struct Candidate<'a> {
    pub buffer: &'a [u8],
    pub line: Range<usize>,
    pub secret: Range<usize>,
    pub matched: Range<usize>,
    /// The `user` capture group, when the rule has one: a password equal to its user name
    /// (postgres:postgres@) is a placeholder.
    pub user: Option<Range<usize>>,
}

impl RuleFilter {
    pub fn from_spec(spec: &RuleSpec, placeholders: &[String]) -> anyhow::Result<Self> {
        let regexes = |list: &[String], what: &str| -> anyhow::Result<Vec<Regex>> {
            list.iter()
                .map(|p| Regex::new(p).with_context(|| format!("invalid {what} regex `{p}`")))
                .collect()
        };
        let byte_regexes = |list: &[String], what: &str| -> anyhow::Result<Vec<BytesRegex>> {
            list.iter()
                .map(|p| content_regex(p).with_context(|| format!("invalid {what} regex `{p}`")))
                .collect()
        };
        let optional = |p: &Option<String>, what: &str| -> anyhow::Result<Option<BytesRegex>> {
            p.as_deref()
                .map(|p| content_regex(p).with_context(|| format!("invalid {what} regex `{p}`")))
                .transpose()
        };
        if spec.inside == Some(Inside::Pattern) && spec.inside_pattern.is_none() {
            anyhow::bail!("`inside: pattern` needs an `inside_pattern`");
        }
        let stopwords = placeholders
            .iter()
            .chain(&spec.stopwords)
            .map(|word| word.to_lowercase())
            .collect();
        Ok(Self {
            keywords: spec.keywords.clone(),
            entropy: spec.entropy,
            min_distinct: spec.min_distinct,
            stopwords,
            allow: regexes(&spec.allow, "allow")?,
            allow_lines: byte_regexes(&spec.allow_lines, "allow_lines")?,
            checksum: spec.checksum,
            verify: spec.verify,
            decode: spec.decode,
            context: byte_regexes(&spec.context, "context")?,
            context_lines: spec.context_lines,
            context_stop: byte_regexes(&spec.context_stop, "context_stop")?,
            document_context: optional(&spec.document_context, "document_context")?,
            file_context: optional(&spec.file_context, "file_context")?,
            paths: spec
                .paths
                .as_deref()
                .map(|p| case_insensitive_regex(p).with_context(|| format!("invalid paths regex `{p}`")))
                .transpose()?,
            generic: spec.generic,
            secret: spec.secret,
            inside: spec.inside,
            inside_pattern: optional(&spec.inside_pattern, "inside_pattern")?,
        })
    }

    /// Whether the rule is limited to some paths: it is then run on every line of those files
    /// instead of through the shared prefilter.
    pub fn limited_to_paths(&self) -> bool {
        self.paths.is_some()
    }

    /// Whether the rule applies to the file at this ('/'-separated, scan-relative) path.
    pub fn applies_to(&self, path: &str) -> bool {
        self.paths.as_ref().is_none_or(|paths| paths.is_match(path))
    }

    /// Whether the line is one the rule never reports (allow_lines).
    pub fn waives_line(&self, line: &[u8]) -> bool {
        self.allow_lines.iter().any(|regex| regex.is_match(line))
    }

    /// Whether the match is a secret worth reporting. `file_matches` answers `file_context`
    /// (cached by the caller, it searches the whole file).
    pub fn accepts(&self, candidate: &Candidate, file_matches: impl FnOnce() -> bool) -> bool {
        let raw = &candidate.buffer[candidate.secret.clone()];
        if candidate
            .user
            .as_ref()
            .is_some_and(|user| &candidate.buffer[user.clone()] == raw)
        {
            return false;
        }
        if let Some(Checksum::GithubCrc32) = self.checksum {
            if !github_checksum_ok(raw) {
                return false;
            }
        }
        let decoded;
        let secret: &[u8] = match self.decode {
            Some(Decode::Base64) => match decode_base64(raw) {
                Some(bytes) => {
                    decoded = bytes;
                    &decoded
                }
                None => return false,
            },
            None => raw,
        };
        let text = String::from_utf8_lossy(secret);
        // One shared check for every secret rule: templates, and patterned stand-ins unless a
        // valid checksum proves the token was issued (checked above).
        if self.secret {
            let raw_text = String::from_utf8_lossy(raw);
            if placeholder::is_template(&raw_text)
                || (self.checksum.is_none()
                    && (placeholder::is_patterned(&raw_text) || placeholder::is_patterned(&text)))
            {
                return false;
            }
        }
        if self.is_stopword(&text)
            || (self.decode.is_some() && self.is_stopword(&String::from_utf8_lossy(raw)))
        {
            return false;
        }
        // A placeholder may hide in base64 ("cGFzc3dvcmQ=" is "password").
        if self.decode.is_none() && !self.stopwords.is_empty() && looks_like_base64(secret) {
            if let Some(plain) = decode_base64(secret).and_then(|b| String::from_utf8(b).ok()) {
                if self.is_stopword(&plain) {
                    return false;
                }
            }
        }
        if self.allow.iter().any(|regex| regex.is_match(&text)) {
            return false;
        }
        if self.entropy.is_some_and(|min| shannon_entropy(secret) < min) {
            return false;
        }
        if self.min_distinct.is_some_and(|min| distinct(secret) < min) {
            return false;
        }
        if let Some(verify @ (Verify::PrivateKeyBody | Verify::PrivateKeyDerBody)) = self.verify {
            let der = verify == Verify::PrivateKeyDerBody;
            let body = &candidate.buffer[body_start(candidate.buffer, &candidate.matched)..];
            if !has_key_body(body, der) {
                return false;
            }
        }
        if !self.context.is_empty() && !self.context_matches(candidate) {
            return false;
        }
        if self.file_context.is_some() && !file_matches() {
            return false;
        }
        if let Some(regex) = &self.document_context {
            if !document_lines(candidate.buffer, candidate.line.clone()).any(|l| regex.is_match(l)) {
                return false;
            }
        }
        true
    }

    /// Where the text a match stands for ends, as an offset of `buffer`: the end of its line,
    /// or for a private key the end of its block (the `-----END` line, or as far as the body
    /// check looks), so that a change adding a key's body under an old header owns the key.
    pub fn evidence_end(&self, buffer: &[u8], matched_end: usize, line_end: usize) -> usize {
        match self.verify {
            Some(Verify::PrivateKeyBody | Verify::PrivateKeyDerBody) => {
                let after = &buffer[matched_end..];
                let window = &after[..after.len().min(KEY_BLOCK_MAX)];
                let end = match memchr::memmem::find(window, b"-----END") {
                    Some(at) => at + memchr::memchr(b'\n', &window[at..]).unwrap_or(window.len() - at),
                    None => window.len().min(KEY_BODY_WINDOW),
                };
                line_end.max(matched_end + end)
            }
            None => line_end,
        }
    }

    fn is_stopword(&self, text: &str) -> bool {
        if self.stopwords.is_empty() {
            return false;
        }
        let lower = text.to_lowercase();
        self.stopwords.iter().any(|word| lower.contains(word.as_str()))
    }

    fn context_matches(&self, candidate: &Candidate) -> bool {
        let buffer = candidate.buffer;
        let mut start = candidate.line.start;
        let mut end = candidate.line.end;
        for _ in 0..=self.context_lines {
            let line = &buffer[start..end];
            if self.context.iter().any(|regex| regex.is_match(line)) {
                return true;
            }
            if start != candidate.line.start && self.context_stop.iter().any(|r| r.is_match(line)) {
                return false;
            }
            if start == 0 {
                break;
            }
            end = start - 1;
            start = memchr::memrchr(b'\n', &buffer[..end]).map_or(0, |at| at + 1);
        }
        false
    }
}
