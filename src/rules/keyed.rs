//! Provider credentials recognised by the name they are assigned to.
//!
//! Most services issue API keys with no prefix of their own: 32 hex characters, 40 letters and
//! digits. Such a value is evidence of that provider only where the code names it
//! (`calendarific_api_key: "…"`, `MIXPANEL_SECRET=…`, `'flickr' => '…'`). A `keyed` entry in a
//! ruleset file states just that: the provider's names (its keywords) and the documented shape of
//! its key. Every entry becomes an ordinary content rule with one shared pattern shape, so the
//! hundreds of such providers peers know cost one line of shape each, and a fix to how a key is
//! found next to its name is made once, here.

use serde::Deserialize;

use super::spec::{Example, RuleSpec};
use super::{Precision, Severity};

/// One provider whose keys are found next to its name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyedSpec {
    pub id: String,
    /// What the key is, as a reader says it: "Calendarific API key".
    pub name: String,
    /// The provider's names as they appear in variable and key names, in lowercase letters,
    /// digits, `_` and `-` (found in any case): `calendarific`, `mixpanel`.
    pub keywords: Vec<String>,
    /// The documented shape of the key (a regex with no capture groups): `[a-z0-9]{32}`. Matched
    /// case-sensitively.
    pub value: String,
    /// What the key opens, for the rule's description; a generic sentence when not given.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub remediation: Option<String>,
    /// `high` (an error) unless given.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// `medium` unless given: the value's shape alone does not prove the provider.
    #[serde(default)]
    pub precision: Option<Precision>,
    /// Minimum Shannon entropy of the key; 3.0 unless given.
    #[serde(default)]
    pub entropy: Option<f64>,
    #[serde(default)]
    pub stopwords: Vec<String>,
    #[serde(default)]
    pub allow: Vec<String>,
    pub examples: Vec<Example>,
    pub negative_examples: Vec<Example>,
}

/// The name the key is assigned to: the keyword inside an identifier (`my_calendarific_api_key`,
/// `Calendarific.Token`), then what separates a name from its value in code, configuration and
/// shells (`:`, `=`, `:=`, `=>`, Go's `name string =`, a header's `: `, the `,` of a `("name", "value")` pair), then
/// an optional quote and authorization scheme. A call is not an assignment: `mixpanel.init("…")`
/// takes a public project token. The key must end where its shape ends (not be the start of a longer
/// token).
fn pattern(keywords: &[String], value: &str) -> String {
    let names = keywords
        .iter()
        .map(|keyword| word_start(keyword))
        .collect::<Vec<_>>()
        .join("|");
    format!(
        r#"(?i-u)(?:{names})[\w.\-]{{0,30}}["'`\]]?(?:\s+string)?\s{{0,3}}(?:[:=]{{1,2}}>?|,)\s{{0,3}}["'`]?(?:(?:bearer|basic|token)\s+)?(?-i:(?P<secret>{value}))(?:[^A-Za-z0-9_\-]|$)"#
    )
}

/// A keyword where a word of an identifier starts: at the start of the line, after a character
/// that is not a letter or digit (`my_meraki_key`, `settings.meraki`), or capitalised after a
/// lowercase letter or digit (`cameraMerakiKey`), but never inside a word (`CameraKit` holds
/// `meraki`, `toggle` holds `toggl`).
fn word_start(keyword: &str) -> String {
    let escaped = regex::escape(keyword);
    let mut chars = keyword.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() => format!(
            "(?:^|[^A-Za-z0-9]){escaped}|(?-i:[a-z0-9]{}){}",
            first.to_ascii_uppercase(),
            regex::escape(chars.as_str())
        ),
        _ => format!("(?:^|[^A-Za-z0-9]){escaped}"),
    }
}

impl KeyedSpec {
    /// The ordinary content rule this entry stands for.
    pub fn into_rule_spec(self) -> RuleSpec {
        let first = self.keywords.first().cloned().unwrap_or_default();
        let article = match self.name.chars().next() {
            Some(c) if "AEIOUaeiou".contains(c) => "An",
            _ => "A",
        };
        let description = self.description.unwrap_or_else(|| {
            format!(
                "{article} {} assigned to a name that says `{first}`: the value has the key's \
                 documented shape.",
                self.name
            )
        });
        let remediation = self.remediation.unwrap_or_else(|| {
            format!(
                "Revoke the {} in the provider's console, remove it from the repository (and its \
                 history), and load it from a secret store or environment variable at run time.",
                self.name
            )
        });
        let pattern = pattern(&self.keywords, &self.value);
        let severity = self.severity.unwrap_or(Severity::High);
        RuleSpec {
            remediation: Some(remediation),
            precision: Some(self.precision.unwrap_or(Precision::Medium)),
            secret: true,
            keywords: self.keywords,
            entropy: Some(self.entropy.unwrap_or(3.0)),
            stopwords: self.stopwords,
            allow: self.allow,
            // The value's shape is no evidence of a live key (test fixtures are full of
            // `stripe_key: "abc…"`): reported one level lower in test and documentation paths,
            // like the other rules whose match carries no distinctive format.
            demote_in_tests: Some(true),
            examples: self.examples,
            negative_examples: self.negative_examples,
            ..RuleSpec::new(self.id, self.name, description, pattern, severity)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(value: &str) -> regex::bytes::Regex {
        regex::bytes::Regex::new(&pattern(&["calendarific".to_string()], value)).unwrap()
    }

    fn secret(line: &str) -> Option<String> {
        rule("[A-Za-z0-9]{32}")
            .captures(line.as_bytes())
            .map(|c| String::from_utf8_lossy(&c["secret"]).into_owned())
    }

    const KEY: &str = "M9qT0uymrS2FgJ78p9CpLIlFOBLUtmao"; // fake-secret-for-tests

    #[test]
    fn finds_the_key_where_code_and_configuration_name_it() {
        for line in [
            format!("calendarific_api_key: \"{KEY}\""),
            format!("\"calendarific_secret\": \"{KEY}\","),
            format!("export CALENDARIFIC_KEY={KEY}"),
            format!("CalendarificKey := \"{KEY}\""),
            format!("(\"calendarific_key\", \"{KEY}\")"),
            format!("X-Calendarific-Token: Bearer {KEY}"),
            format!("'calendarific' => '{KEY}',"),
            format!("settings.calendarific.key = '{KEY}'"),
            format!("const calendarificKey string = \"{KEY}\""),
            format!("appCalendarificKey = \"{KEY}\""),
        ] {
            assert_eq!(secret(&line).as_deref(), Some(KEY), "{line}");
        }
    }

    #[test]
    fn a_longer_token_or_a_value_elsewhere_on_the_line_is_not_the_key() {
        for line in [
            format!("calendarific_api_key: \"{KEY}abc\""),
            format!("https://api.calendarific.com/v1/holidays?key={KEY}"),
            format!("calendarific_url = \"https://example.com/{KEY}\""),
            format!("mixpanel_key = \"{KEY}\""),
            format!("calendarific.init(\"{KEY}\")"),
            format!("mycalendarific_key = \"{KEY}\""),
        ] {
            assert_eq!(secret(&line), None, "{line}");
        }
    }

    #[test]
    fn an_entry_becomes_a_secret_rule_demoted_in_tests() {
        let spec = KeyedSpec {
            id: "calendarific-api-key".into(),
            name: "Calendarific API key".into(),
            keywords: vec!["calendarific".into()],
            value: "[A-Za-z0-9]{32}".into(),
            description: None,
            remediation: None,
            severity: None,
            precision: None,
            entropy: None,
            stopwords: Vec::new(),
            allow: Vec::new(),
            examples: Vec::new(),
            negative_examples: Vec::new(),
        }
        .into_rule_spec();
        assert!(spec.secret);
        assert_eq!(spec.severity, Severity::High);
        assert_eq!(spec.demote_in_tests, Some(true));
        assert!(spec.description.contains("Calendarific API key"));
        assert!(spec.remediation.unwrap().contains("Revoke"));
    }
}
