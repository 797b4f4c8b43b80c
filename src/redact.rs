//! Making matched text safe to print: secrets are cut to a short prefix, and control characters
//! (which an attacker can put in file names and content to forge output) are escaped.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{LazyLock, OnceLock};

use aho_corasick::{AhoCorasick, MatchKind};
use regex::bytes::Regex as BytesRegex;
use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};

use crate::rules::{builtin, compile, RuleKind, RulesetName};

/// Longest evidence shown for rules that do not detect secrets.
const MAX_EVIDENCE_CHARS: usize = 80;

/// A run of token characters this long mixing letters and digits (or this long again mixing
/// cases) is taken for a key: API keys, signatures, base64 key bodies are shaped so.
const TOKEN_RUN: usize = 16;
const MIXED_CASE_RUN: usize = 24;
/// A run with `/` or `+` (base64) this long mixing cases and digits is a key too.
const BASE64_RUN: usize = 32;
/// A run at least this long, mixing letters and digits or cases, that a truncation cut (`…` right
/// after it) may be a secret's head.
const CUT_RUN: usize = 8;

/// The secret rules of the built-in default ruleset, whichever ruleset the run uses: a classic or
/// flag-list rule's match can span a token that only these recognise.
static SECRET_RULES: LazyLock<SecretRules> = LazyLock::new(|| {
    SecretRules::new(
        builtin::rules(RulesetName::Default)
            .unwrap_or_default()
            .into_iter()
            .filter(|rule| rule.redact && rule.kind == RuleKind::Content)
            .filter_map(|rule| rule.pattern)
            .collect(),
    )
});

/// Secret rules' regexes behind one literal pass. Every match of a regex holds one of a finite
/// set of literals (see `required`); one Aho-Corasick pass over the text for all of them
/// (ignoring ASCII case, which only adds hits) tells which regexes can match at all, and only
/// those run, compiled on first use. A regex without such a set always runs.
struct SecretRules {
    patterns: Vec<String>,
    regexes: Vec<OnceLock<Option<BytesRegex>>>,
    /// Every rule's required literals, lowercased and deduplicated; `None` if it failed to build.
    literals: Option<AhoCorasick>,
    /// For each literal of `literals`, the rules (positions in `patterns`) that require it.
    starts: Vec<Vec<usize>>,
    /// Rules without a finite set of non-empty required literals.
    always: Vec<usize>,
}

impl SecretRules {
    fn new(patterns: Vec<String>) -> Self {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut starts: Vec<Vec<usize>> = Vec::new();
        let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut always = Vec::new();
        for (rule, pattern) in patterns.iter().enumerate() {
            match required_literals(pattern) {
                Some(prefixes) => {
                    for literal in prefixes {
                        let at = *index.entry(literal.clone()).or_insert_with(|| {
                            literals.push(literal);
                            starts.push(Vec::new());
                            starts.len() - 1
                        });
                        if starts[at].last() != Some(&rule) {
                            starts[at].push(rule);
                        }
                    }
                }
                None => always.push(rule),
            }
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&literals)
            .ok();
        if automaton.is_none() {
            // Unreachable in practice (the literals are few and short); stay correct regardless.
            always = (0..patterns.len()).collect();
        }
        Self {
            regexes: patterns.iter().map(|_| OnceLock::new()).collect(),
            patterns,
            literals: automaton,
            starts,
            always,
        }
    }

    /// The ranges of `text` any secret rule matches.
    fn matches(&self, text: &[u8], masked: &mut Vec<Range<usize>>) {
        let mut live = vec![false; self.patterns.len()];
        for &rule in &self.always {
            live[rule] = true;
        }
        if let Some(literals) = &self.literals {
            for found in literals.find_overlapping_iter(text) {
                for &rule in &self.starts[found.pattern().as_usize()] {
                    live[rule] = true;
                }
            }
        }
        for (rule, _) in live.iter().enumerate().filter(|(_, live)| **live) {
            if let Some(regex) = self.regex(rule) {
                masked.extend(regex.find_iter(text).map(|m| m.range()));
            }
        }
    }

    fn regex(&self, rule: usize) -> Option<&BytesRegex> {
        self.regexes[rule]
            .get_or_init(|| compile::content_regex(&self.patterns[rule]).ok())
            .as_ref()
    }
}

/// Lowercased literals of which every match of `pattern` holds one, or `None` when no such
/// finite set of non-empty strings is known (then the regex has to run on every text).
fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .multi_line(true)
        .crlf(true)
        .build()
        .parse(pattern)
        .ok()?;
    let mut literals = required(&hir)?;
    literals.sort();
    literals.dedup();
    Some(literals)
}

/// Literals of which every match of `hir` holds one: its prefix literals when they are a finite
/// set of non-empty strings; else those of one part of a concatenation (every match holds a
/// match of each part), those of every branch of an alternation together, those of what a
/// repetition repeats at least once. Lowercased: they are searched ignoring ASCII case.
fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let prefixes = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    if let Some(literals) = prefixes.literals() {
        if !literals.is_empty() && literals.iter().all(|literal| !literal.as_bytes().is_empty()) {
            return Some(
                literals
                    .iter()
                    .map(|literal| literal.as_bytes().to_ascii_lowercase())
                    .collect(),
            );
        }
    }
    match hir.kind() {
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min > 0 => required(&repetition.sub),
        // The part whose literals are longest (fewest false hits).
        HirKind::Concat(parts) => parts
            .iter()
            .filter_map(required)
            .max_by_key(|literals| literals.iter().map(Vec::len).min().unwrap_or(0)),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(required(branch)?);
            }
            Some(all)
        }
        _ => None,
    }
}

/// A value given to a credential-like name (`pass=`, `"pw": "…"`, `Authorization: Bearer …`), and
/// the password of a URL's user information: the value is masked.
static ASSIGNED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:pass\w*|pwd|pw|secret\w*|token\w*|\w*api_?key|key|auth\w*|credential\w*|bearer|sig|signature)["']?\s*(?:[:=]|\s)\s*["']?(?:bearer\s+|basic\s+|token\s+)?([^\s"'`,;&)]{4,})|://[^/\s:@]*:([^@/\s]+)@"#,
    )
    .expect("valid")
});

/// `text` (already escaped evidence of a rule that does not redact, a configuration entry, a
/// detail) with every secret in it masked as secrets' evidence is: a short prefix and
/// `… (redacted)`. What counts: a match of any built-in secret rule, a token-shaped run, a value
/// given to a credential-like name, a URL's password, and a long run a truncation cut. Matches
/// of rules that do not detect secrets can span a token; this is the last gate before output.
pub fn mask_secrets(text: &str) -> String {
    let mut masked: Vec<Range<usize>> = Vec::new();
    SECRET_RULES.matches(text.as_bytes(), &mut masked);
    for captures in ASSIGNED.captures_iter(text) {
        masked.extend(captures.iter().skip(1).flatten().map(|m| m.range()));
    }
    let token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '=');
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (token_char(c) && i < text.len(), start) {
            (true, None) => start = Some(i),
            (false, Some(from)) => {
                let run = &text[from..i];
                let cut = text[i..].starts_with('…') && run.len() >= CUT_RUN && mixed(run);
                if cut || key_shaped(run) {
                    masked.push(from..i);
                }
                start = None;
            }
            _ => {}
        }
    }
    if masked.is_empty() {
        return text.to_string();
    }
    masked.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for range in masked {
        if range.end <= at {
            continue;
        }
        let from = range.start.max(at);
        out.push_str(&text[at..from]);
        let secret = &text[from..range.end];
        let shown = (secret.chars().count() / 4).min(4);
        out.extend(secret.chars().take(shown));
        out.push_str("… (redacted)");
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A run of token characters that holds a key: one of its parts (between `-`, `_`, `.`, `/`) is
/// token-shaped (`ghp_…`, a Slack token's last part, a hex digest), or the whole run is long and
/// mixes both cases and digits (base64 with `/` and `+`). Paths such as `gui/ip-address/90` are
/// not: each part is a word or a number.
fn key_shaped(run: &str) -> bool {
    let has = |test: fn(&char) -> bool| run.chars().any(|c| test(&c));
    run.split(['-', '_', '.', '/']).any(token_shaped)
        || (run.len() >= BASE64_RUN
            && has(char::is_ascii_uppercase)
            && has(char::is_ascii_lowercase)
            && has(char::is_ascii_digit))
}

/// `text` holds a key-shaped run (see `key_shaped`): a token, not a name or a short word.
pub fn holds_key(text: &str) -> bool {
    let token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '=');
    text.split(|c: char| !token_char(c)).any(key_shaped)
}

fn mixed(run: &str) -> bool {
    let has = |test: fn(&char) -> bool| run.chars().any(|c| test(&c));
    (has(char::is_ascii_digit) && has(char::is_ascii_alphabetic))
        || (has(char::is_ascii_uppercase) && has(char::is_ascii_lowercase))
}

/// A run of letters and digits shaped like a token (the one test for what may not be printed
/// and what may not leave for VirusTotal).
pub(crate) fn token_shaped(run: &str) -> bool {
    let has = |test: fn(&char) -> bool| run.chars().any(|c| test(&c));
    let digits = has(char::is_ascii_digit);
    let letters = has(char::is_ascii_alphabetic);
    let upper = has(char::is_ascii_uppercase);
    let lower = has(char::is_ascii_lowercase);
    (run.len() >= TOKEN_RUN && digits && letters) || (run.len() >= MIXED_CASE_RUN && upper && lower)
}

/// How matched bytes are shown. For secrets, at most a quarter of the value and never more than
/// four characters, and never the exact length (it narrows a guess).
pub fn evidence(matched: &[u8], redact: bool) -> String {
    let text = String::from_utf8_lossy(matched);
    let chars = text.chars().count();
    if redact {
        let shown = (chars / 4).min(4);
        let prefix: String = text.chars().take(shown).collect();
        format!("{}… (redacted)", escape(&prefix))
    } else if chars > MAX_EVIDENCE_CHARS {
        let head: String = text.chars().take(MAX_EVIDENCE_CHARS).collect();
        format!("{}…", escape(&head))
    } else {
        escape(&text)
    }
}

/// Escapes control characters (C0, DEL, C1) and the Unicode line/paragraph separators and bidi
/// controls as `\u{..}`, keeping everything else.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_dangerous(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_show_a_short_prefix_only() {
        let shown = evidence(b"AKIAABCDEFGHIJKLMNOP", true); // fake-secret-for-tests
        assert_eq!(shown, "AKIA… (redacted)");
        assert!(!shown.contains("MNOP"));
        assert_eq!(evidence(b"hunter2", true), "h… (redacted)");
        assert_eq!(evidence(b"abc", true), "… (redacted)");
    }

    #[test]
    fn plain_evidence_is_escaped_and_bounded() {
        assert_eq!(evidence(b"md5(\x1b[31m)", false), "md5(\\u{1b}[31m)");
        assert_eq!(
            evidence(&[b'a'; 200], false).chars().count(),
            MAX_EVIDENCE_CHARS + 1
        );
        assert_eq!(evidence(b"\xff\xfeok", false), "\u{fffd}\u{fffd}ok");
    }

    #[test]
    fn secrets_inside_printed_text_are_masked() {
        for (text, secret) in [
            (
                "shell=os.getenv('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') or True", // fake-secret-for-tests
                "0123456789abcdef",
            ), // fake-secret-for-tests
            ("exec(\"aws --key AKIAZZZZ7EXAMPLEQQQ4\")", "ZZZZ7EXAMPLE"), // fake-secret-for-tests
            (
                "run(url='https://u:correcthorse@db.example.org/x')", // fake-secret-for-tests
                "correcthorse",
            ), // fake-secret-for-tests
            ("curl -H 'Authorization: Bearer abc.def.ghi-longer' x", "def.ghi"), // fake-secret-for-tests
            ("login(pass=Tr0ub4dor, user=x)", "Tr0ub4dor"),               // fake-secret-for-tests
            ("x = 'ghp_0123456789abcde…", "0123456789"),                  // fake-secret-for-tests
        ] {
            let masked = mask_secrets(text);
            assert!(!masked.contains(secret), "{text} -> {masked}");
            assert!(masked.contains("(redacted)"), "{masked}");
        }
        for plain in [
            "md5(data)",
            "shell=True",
            "yaml.load(stream)",
            "see https://example.org/a/b",
        ] {
            assert_eq!(mask_secrets(plain), plain);
        }
    }

    #[test]
    fn escape_neutralises_line_breaks_and_bidi() {
        assert_eq!(escape("a\nb\u{202e}c"), "a\\nb\\u{202e}c");
    }

    /// The literal pass is exact: on every example and negative example of the default ruleset
    /// (and the texts above), the rules it lets run mask what every secret rule's regex, run on
    /// its own, masks.
    #[test]
    fn the_literal_pass_masks_what_every_secret_regex_masks() {
        let specs = builtin::load(RulesetName::Default).unwrap();
        let mut texts: Vec<String> = specs
            .content
            .iter()
            .flat_map(|spec| spec.examples.iter().chain(&spec.negative_examples))
            .map(|example| example.text().to_string())
            .collect();
        texts.push("x = 'ghp_0123456789abcde…".into()); // fake-secret-for-tests
        texts.push(String::new());
        let every: Vec<BytesRegex> = SECRET_RULES
            .patterns
            .iter()
            .map(|pattern| compile::content_regex(pattern).unwrap())
            .collect();
        assert!(every.len() > 50, "the default ruleset's secret rules");
        let mut matched = 0;
        for text in &texts {
            // Ignoring ASCII case changes nothing the regexes see; upper case tests the fold.
            for text in [text.clone(), text.to_ascii_uppercase()] {
                let mut slow: Vec<Range<usize>> = every
                    .iter()
                    .flat_map(|regex| regex.find_iter(text.as_bytes()).map(|m| m.range()))
                    .collect();
                let mut fast = Vec::new();
                SECRET_RULES.matches(text.as_bytes(), &mut fast);
                slow.sort_by_key(|r| (r.start, r.end));
                fast.sort_by_key(|r| (r.start, r.end));
                matched += slow.len();
                assert_eq!(fast, slow, "{text}");
            }
        }
        assert!(matched > 100, "the examples hold secrets: {matched}");
    }

    #[test]
    fn every_secret_rule_has_required_literals_or_always_runs() {
        let rules = &*SECRET_RULES;
        let indexed: std::collections::HashSet<usize> = rules.starts.iter().flatten().copied().collect();
        for rule in 0..rules.patterns.len() {
            assert!(
                indexed.contains(&rule) != rules.always.contains(&rule),
                "{}",
                rules.patterns[rule]
            );
        }
        // The literal pass only pays if few rules run on every text.
        assert!(
            rules.always.len() * 10 < rules.patterns.len(),
            "{:?}",
            rules.always
        );
    }
}
