//! Per-rule checks on a regex match, run only on candidates the regex found: whether the
//! secret is random enough (entropy, distinct characters), not a placeholder (stopwords,
//! allowlist regexes), carries its checksum, has the context it needs, and for private keys
//! has a body. The rule's data (YAML) says which checks apply, as gitleaks' and kingfisher's
//! rules do.

use std::ops::Range;

use anyhow::Context;
use base64::Engine;
use regex::bytes::Regex as BytesRegex;
use regex::Regex;
use serde::Deserialize;

use super::compile::{case_insensitive_regex, content_regex};
use super::placeholder;
use super::spec::RuleSpec;

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
    /// A PEM header must be followed by a base64 body (a header alone is code, not a key), not
    /// abridged (`MIIEvg…` then `...`).
    PrivateKeyBody,
    /// As `private-key-body`, for a DER-encoded key (PKCS#1, SEC1, PKCS#8): unless the block is
    /// encrypted (`Proc-Type:`), its body starts with a DER SEQUENCE, `M` in base64.
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
            if !has_key_body(
                &candidate.buffer[body_start(candidate.buffer, &candidate.matched)..],
                der,
            ) {
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

/// A YAML document separator (`---`, optionally followed by a comment or a tag).
fn is_document_separator(line: &[u8]) -> bool {
    line.starts_with(b"---") && line[3..].iter().all(|b| b.is_ascii_whitespace()) || line.starts_with(b"--- ")
}

/// The lines of the YAML document holding `line`: from the `---` above it (or the file's start)
/// to the `---` below it (or the file's end), separators excluded.
fn document_lines(buffer: &[u8], line: Range<usize>) -> impl Iterator<Item = &[u8]> {
    let mut start = line.start;
    while start > 0 {
        let above_end = start - 1;
        let above_start = memchr::memrchr(b'\n', &buffer[..above_end]).map_or(0, |at| at + 1);
        if is_document_separator(&buffer[above_start..above_end]) {
            break;
        }
        start = above_start;
    }
    buffer[start..]
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| !is_document_separator(l))
}

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

fn distinct(bytes: &[u8]) -> usize {
    let mut seen = [false; 256];
    bytes.iter().for_each(|&b| seen[b as usize] = true);
    seen.iter().filter(|&&s| s).count()
}

fn looks_like_base64(bytes: &[u8]) -> bool {
    bytes.len() >= 8
        && bytes.len() % 4 == 0
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

fn decode_base64(raw: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = raw.iter().copied().filter(|&b| b != b'=').collect();
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(&trimmed)
        .ok()
        .filter(|bytes| !bytes.is_empty())
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix_` + 30 random characters + their CRC32 in 6 base62 characters.
pub fn github_checksum_ok(token: &[u8]) -> bool {
    let Some(underscore) = token.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &token[underscore + 1..];
    if body.len() != 36 {
        return false;
    }
    let (random, checksum) = body.split_at(30);
    base62_crc32(random).as_bytes() == checksum
}

/// CRC32 of `bytes`, in 6 base62 characters (zero-padded).
pub fn base62_crc32(bytes: &[u8]) -> String {
    let mut n = crc32fast::hash(bytes);
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How far past a PEM header its body is looked for.
const KEY_BODY_WINDOW: usize = 2048;
/// How far past a PEM header its `-----END` line is looked for (an RSA-8192 key is ~6.5 KB).
const KEY_BLOCK_MAX: usize = 16 << 10;

/// Whether a base64 body follows a PEM header: in a file, on the next lines; in a string
/// literal, after `\n` escapes, quotes and `+` concatenation. `Key: value` header lines
/// (Proc-Type, DEK-Info, Version) are skipped. The first token must be base64 of 16+ characters,
/// so `"-----BEGIN PRIVATE KEY-----\n...\n"` or `.replace(HEADER + "\n", "")` is no key. An
/// elision (`...`, `…`) before the body's end marks an abridged key in a test or a document, no
/// key either. With `der` (PKCS#1, SEC1, PKCS#8 headers), the body of an unencrypted block must
/// start with `M`, the base64 of a DER SEQUENCE: a body that does not (a test's deliberately
/// broken key) holds no key.
fn has_key_body(after: &[u8], der: bool) -> bool {
    let window = &after[..after.len().min(KEY_BODY_WINDOW)];
    let mut base64_chars = 0;
    let mut token: Vec<u8> = Vec::new();
    let mut skipping_header_line = false;
    let mut encrypted = false;
    let mut i = 0;
    loop {
        let at_end = i >= window.len();
        let byte = if at_end { b' ' } else { window[i] };
        // A `\n`, `\r` or `\t` escape separates like the character it stands for.
        let (separator, newline, width) = match byte {
            b'\\' if matches!(window.get(i + 1), Some(b'n' | b'r')) => (true, true, 2),
            b'\\' if window.get(i + 1) == Some(&b't') => (true, false, 2),
            b'\n' | b'\r' => (true, true, 1),
            b' ' | b'\t' | b'"' | b'\'' | b',' | b'`' => (true, false, 1),
            _ => (false, false, 1),
        };
        if separator {
            if !token.is_empty() {
                if token.starts_with(b"-----") {
                    break;
                }
                let is_body = token.iter().all(|b| is_base64(*b));
                if is_elision(&token) {
                    return false;
                } else if base64_chars >= 24 && !is_body {
                    // Past a body, at the first token that is neither body nor elision: code.
                    return true;
                } else if skipping_header_line || token == b"+" {
                    // Part of a `Key: value` line, or string concatenation.
                } else if token.ends_with(b":") {
                    skipping_header_line = true;
                    encrypted = true;
                } else if (base64_chars > 0 || token.len() >= 16) && is_body {
                    if base64_chars == 0 && der && !encrypted && token[0] != b'M' {
                        return false;
                    }
                    base64_chars += token.len();
                } else {
                    return false;
                }
                token.clear();
            }
            if newline {
                skipping_header_line = false;
            }
            if at_end {
                break;
            }
        } else {
            token.push(byte);
        }
        i += width;
    }
    base64_chars >= 24
}

/// Where a private key's body starts: after the match, or inside it when the match took the
/// first characters of a key flattened onto the header's line (`-----BEGIN … KEY-----  MIIE…`).
fn body_start(buffer: &[u8], matched: &Range<usize>) -> usize {
    let in_body = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let mut start = matched.end;
    while start > matched.start && in_body(buffer[start - 1]) {
        start -= 1;
    }
    if start > matched.start && matches!(buffer[start - 1], b' ' | b'\t') {
        start
    } else {
        matched.end
    }
}

/// `...` or `…` in a token: the writer left part of the text out.
fn is_elision(token: &[u8]) -> bool {
    memchr::memmem::find(token, b"...").is_some() || memchr::memmem::find(token, "…".as_bytes()).is_some()
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

/// Where a file-name rule that looks inside (`inside:`) reports a file, if at all: a credential
/// file's name is reported only when its content holds a secret, at the line that holds it, and
/// never next to a content finding on that line (one secret, one finding). `text` is `None` when
/// the content could not be read as text whole (binary, unreadable, too large): the name is all
/// there is to go by, and it is reported at line 1.
pub fn name_finding_line(filter: &RuleFilter, text: Option<&[u8]>, content_lines: &[u32]) -> Option<u32> {
    let Some(text) = text else {
        return Some(1);
    };
    match filter.inside {
        Some(Inside::Secret) | None => None,
        Some(Inside::TfstateSensitive) => tfstate_has_sensitive_value(text).then_some(1),
        Some(Inside::Pattern) => filter.inside_pattern.as_ref().and_then(|pattern| {
            let mut counter = LineCounter::default();
            pattern
                .find_iter(text)
                .map(|m| counter.line_of(text, m.start()))
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
                .find(|n| !content_lines.contains(n))
        }),
    }
}

/// Whether a Terraform state holds a non-null sensitive value: an output marked sensitive, or
/// a resource attribute listed in `sensitive_attributes`. Not JSON, or no such value: false.
pub fn tfstate_has_sensitive_value(buffer: &[u8]) -> bool {
    let Ok(state) = serde_json::from_slice::<serde_json::Value>(buffer) else {
        return false;
    };
    let present = |value: &serde_json::Value| match value {
        serde_json::Value::Null => false,
        serde_json::Value::String(s) => !s.is_empty(),
        serde_json::Value::Array(a) => !a.is_empty(),
        serde_json::Value::Object(o) => !o.is_empty(),
        _ => true,
    };
    if let Some(outputs) = state.get("outputs").and_then(|o| o.as_object()) {
        for output in outputs.values() {
            if output.get("sensitive").and_then(|s| s.as_bool()) == Some(true)
                && output.get("value").is_some_and(present)
            {
                return true;
            }
        }
    }
    let resources = state.get("resources").and_then(|r| r.as_array());
    for resource in resources.into_iter().flatten() {
        let instances = resource.get("instances").and_then(|i| i.as_array());
        for instance in instances.into_iter().flatten() {
            let Some(attributes) = instance.get("attributes") else {
                continue;
            };
            let paths = instance.get("sensitive_attributes").and_then(|s| s.as_array());
            for path in paths.into_iter().flatten() {
                // A path is a list of steps ([{"type":"get_attr","value":"password"}]); newer
                // states wrap it as {"value": [...]}.
                let steps = path
                    .as_array()
                    .or_else(|| path.get("value").and_then(|v| v.as_array()));
                let mut value = attributes;
                let mut found = true;
                for step in steps.into_iter().flatten() {
                    let next = match step.get("value") {
                        Some(serde_json::Value::String(key)) => value.get(key),
                        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|i| value.get(i as usize)),
                        _ => None,
                    };
                    match next {
                        Some(next) => value = next,
                        None => {
                            found = false;
                            break;
                        }
                    }
                }
                if found && present(value) {
                    return true;
                }
            }
        }
    }
    false
}

/// Counts lines incrementally; offsets passed in must not decrease.
#[derive(Default)]
pub struct LineCounter {
    offset: usize,
    /// 1-based number of the line holding `offset`.
    number: usize,
}

impl LineCounter {
    /// 1-based line number of `offset`.
    pub fn line_of(&mut self, buffer: &[u8], offset: usize) -> usize {
        if self.number == 0 {
            self.number = 1;
        }
        self.number += memchr::memchr_iter(b'\n', &buffer[self.offset..offset]).count();
        self.offset = offset;
        self.number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_random_and_repeated_text() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(shannon_entropy(b"wJalrXUtnFEMIK7MDENGbPxRfiCY") > 4.0);
    }

    #[test]
    fn github_checksum_is_checked() {
        let random = "abcdefghijklmnopqrstuvwxyz0123";
        let good = format!("ghp_{random}{}", base62_crc32(random.as_bytes()));
        assert!(github_checksum_ok(good.as_bytes()));
        let mut bad = good.clone().into_bytes();
        bad[10] = if bad[10] == b'x' { b'y' } else { b'x' };
        assert!(!github_checksum_ok(&bad));
        assert!(!github_checksum_ok(b"ghp_0123456789abcdefghijklmnopqrstuvwxyz"));
    }

    #[test]
    fn key_bodies_are_told_from_headers_alone() {
        for der in [false, true] {
            assert!(has_key_body(
                b"\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n",
                der
            ));
            assert!(has_key_body(
                b"\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\\n",
                der
            ));
            assert!(has_key_body(
                b"\\n\" +\n    \"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoI\"",
                der
            ));
            assert!(has_key_body(
            b"\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123\n\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n",
            der
        ));
            assert!(!has_key_body(b"\\n...\\n\"\n", der));
            assert!(!has_key_body(b"\\n\", \"\")\n", der));
            assert!(!has_key_body(b"\") {\n    return true;\n}\n", der));
            assert!(!has_key_body(b"\n-----END PRIVATE KEY-----\n", der));
            assert!(!has_key_body(b"", der));
        }
        // Abridged: one line of a body, then an elision (caddy's admin_test.go).
        let abridged = b"\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDRS0LmTwUT0iwP\n...\n-----END PRIVATE KEY-----`)\n";
        assert!(!has_key_body(abridged, false));
        assert!(!has_key_body(
            b"\\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgw\\n\xe2\x80\xa6\\n-----END",
            true
        ));
        // Not DER: a test's deliberately broken key (traefik's dynamic_https.toml).
        let broken = b"\nwihZ13e3i5UQEYuoRcH1RUd1wyYoBSKuQnsT2WwVZ1wlXSYaELAbQgaI9NtfBA0G\n-----END RSA PRIVATE KEY-----\n";
        assert!(!has_key_body(broken, true));
        assert!(has_key_body(broken, false), "OpenSSH and PGP bodies are not DER");
        // Encrypted PEM: the body is ciphertext, not DER.
        let encrypted = b"\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,01\n\nwihZ13e3i5UQEYuoRcH1RUd1wyYoBSKuQnsT2Ww\n";
        assert!(has_key_body(encrypted, true));
        // Code after a body is not an elision.
        assert!(has_key_body(
            b"\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgw\" \\\n  | openssl rsa\n",
            true
        ));
    }

    #[test]
    fn tfstate_sensitive_values() {
        let empty = br#"{"version":4,"outputs":{"a":{"value":"x","type":"string"}},"resources":[]}"#;
        assert!(!tfstate_has_sensitive_value(empty));
        let output =
            br#"{"version":4,"outputs":{"pw":{"value":"hunter22","type":"string","sensitive":true}}}"#;
        assert!(tfstate_has_sensitive_value(output));
        let null_output = br#"{"version":4,"outputs":{"pw":{"value":null,"sensitive":true}}}"#;
        assert!(!tfstate_has_sensitive_value(null_output));
        let attribute = br#"{"version":4,"resources":[{"instances":[{"attributes":{"password":"s3cr3t"},"sensitive_attributes":[[{"type":"get_attr","value":"password"}]]}]}]}"#;
        assert!(tfstate_has_sensitive_value(attribute));
        let null_attribute = br#"{"version":4,"resources":[{"instances":[{"attributes":{"password":null},"sensitive_attributes":[[{"type":"get_attr","value":"password"}]]}]}]}"#;
        assert!(!tfstate_has_sensitive_value(null_attribute));
        assert!(!tfstate_has_sensitive_value(b"not json"));
    }
}
