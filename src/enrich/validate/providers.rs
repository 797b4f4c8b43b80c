//! The provider table and what a provider check is made of: the request it sends (built from
//! the credential, with the key only where the provider documents it) and how it judges the
//! answer. Each family's providers live in their own file; adding one is one `Provider` there and
//! one line in [`PROVIDERS`].

use std::time::SystemTime;

use base64::Engine;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::{ai, aws, chat, cloud, code_hosts, devtools, email, payments};
use crate::finding::Secret;

/// Every provider `--validate` can ask, in README order.
pub static PROVIDERS: &[&Provider] = &[
    &code_hosts::GITHUB,
    &code_hosts::GITLAB,
    &chat::SLACK,
    &chat::DISCORD,
    &chat::TELEGRAM,
    &payments::STRIPE,
    &payments::SQUARE,
    &ai::OPENAI,
    &ai::ANTHROPIC,
    &ai::HUGGINGFACE,
    &aws::AWS,
    &email::SENDGRID,
    &email::MAILGUN,
    &cloud::DIGITALOCEAN,
    &cloud::HEROKU,
    &cloud::CLOUDFLARE,
    &cloud::GOOGLE,
    &cloud::TERRAFORM,
    &cloud::NETLIFY,
    &devtools::POSTMAN,
    &devtools::LINEAR,
    &devtools::DOPPLER,
    &devtools::DATADOG,
    &devtools::NEWRELIC,
    &devtools::RUBYGEMS,
    &devtools::SENTRY,
    &devtools::NOTION,
    &devtools::CIRCLECI,
];

/// One provider's check.
pub struct Provider {
    /// Lower case; `ANTEATER_VALIDATE_URL_<ID in upper case>` overrides its base.
    pub id: &'static str,
    pub name: &'static str,
    /// The rules whose findings it checks. A rule missing from the ruleset simply never triggers.
    pub rules: &'static [&'static str],
    /// A second rule whose secret completes the credential (AWS's secret access key).
    pub pair_with: Option<&'static str>,
    /// The documented API base: always HTTPS.
    pub base: &'static str,
    /// What is called, for the README.
    pub calls: &'static str,
    /// Where to revoke a credential.
    pub revoke: &'static str,
    /// The request for a credential, or why it cannot be checked.
    pub request: fn(&Credential) -> Result<Call, String>,
    pub judge: fn(&Reply) -> Answer,
}

/// The provider whose check covers `rule`.
pub fn for_rule(rule: &str) -> Option<&'static Provider> {
    PROVIDERS
        .iter()
        .copied()
        .find(|p| p.rules.contains(&rule) || p.pair_with == Some(rule))
}

/// What is checked: a token, and for AWS the secret that goes with the key id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Credential {
    pub token: Secret,
    pub pair: Option<Secret>,
}

impl Credential {
    /// The token without what a rule matched around it (a `=` before, a quote after): only
    /// ASCII letters, digits and `extra`, from the first such character on.
    pub fn token(&self, extra: &str) -> &str {
        clean(self.token.expose(), extra)
    }
}

pub fn clean<'a>(text: &'a str, extra: &str) -> &'a str {
    let keep = |c: char| c.is_ascii_alphanumeric() || extra.contains(c);
    let start = text.find(keep).unwrap_or(text.len());
    let text = &text[start..];
    let end = text.find(|c: char| !keep(c)).unwrap_or(text.len());
    &text[..end]
}

/// One request: method, path (and query) under the provider's base, headers, body.
#[derive(Debug)]
pub struct Call {
    pub method: reqwest::Method,
    pub path: String,
    /// Headers; those marked secret are flagged sensitive, so no debug output shows them.
    pub headers: Vec<(&'static str, String, bool)>,
    pub body: Option<(&'static str, String)>,
    /// Signed with SigV4 for this region and service (AWS).
    pub sigv4: Option<(&'static str, &'static str)>,
}

impl Call {
    pub fn get(path: impl Into<String>) -> Call {
        Call {
            method: reqwest::Method::GET,
            path: path.into(),
            headers: vec![("accept", "application/json".into(), false)],
            body: None,
            sigv4: None,
        }
    }

    pub fn post(path: impl Into<String>, content_type: &'static str, body: impl Into<String>) -> Call {
        Call {
            body: Some((content_type, body.into())),
            method: reqwest::Method::POST,
            ..Call::get(path)
        }
    }

    /// A header holding the credential.
    pub fn secret_header(mut self, name: &'static str, value: String) -> Call {
        self.headers.push((name, value, true));
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Call {
        self.headers.push((name, value.to_string(), false));
        self
    }

    pub fn bearer(self, token: &str) -> Call {
        self.secret_header("authorization", format!("Bearer {token}"))
    }

    /// HTTP basic authentication.
    pub fn basic(self, user: &str, password: &str) -> Call {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.secret_header("authorization", format!("Basic {encoded}"))
    }

    /// The request for `url`, signed when the provider wants it.
    pub fn build(
        &self,
        client: &reqwest::Client,
        url: &reqwest::Url,
        credential: &Credential,
        now: SystemTime,
    ) -> Result<reqwest::Request, String> {
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value, secret) in &self.headers {
            let mut value =
                HeaderValue::from_str(value).map_err(|_| "the credential cannot be sent in a header")?;
            value.set_sensitive(*secret);
            headers.insert(HeaderName::from_static(name), value);
        }
        let body = self
            .body
            .as_ref()
            .map(|(_, body)| body.clone())
            .unwrap_or_default();
        if let Some((content_type, _)) = &self.body {
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
        }
        if let Some((region, service)) = self.sigv4 {
            aws::sign_request(
                &self.method,
                url,
                &mut headers,
                body.as_bytes(),
                credential,
                region,
                service,
                now,
            )?;
        }
        let mut request = client.request(self.method.clone(), url.clone()).headers(headers);
        if self.body.is_some() {
            request = request.body(body);
        }
        request
            .build()
            .map_err(|err| format!("cannot build the request: {}", err.without_url()))
    }
}

/// A provider's answer.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// The body as JSON, when it is.
    pub json: Option<Value>,
}

impl Reply {
    pub fn new(status: u16, body: Vec<u8>) -> Reply {
        let json = serde_json::from_slice(&body).ok();
        Reply { status, body, json }
    }

    /// The string at a JSON pointer.
    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.json.as_ref()?.pointer(pointer)?.as_str()
    }

    pub fn at(&self, pointer: &str) -> Option<&Value> {
        self.json.as_ref()?.pointer(pointer)
    }

    /// The body as text, for XML answers.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

/// The three answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Accepted; what the provider said about whom, already redacted.
    Live(String),
    /// The provider's documented invalid-credential answer, in short.
    Revoked(String),
    /// Anything else, and why.
    Unknown(String),
}

/// `value` cut to a short prefix: enough for the owner to recognise an account, too little to
/// name a person to anyone else.
pub fn partial(value: &str) -> String {
    let chars = value.chars().count();
    let shown: String = value.chars().take((chars / 3).clamp(1, 4)).collect();
    format!("{shown}…")
}

/// The usual judgement: 200 with a string at `who` (a JSON pointer) is live, naming `label`
/// and a prefix of it; `revoked_status` is the documented invalid-credential answer; anything
/// else is unknown.
pub fn judge_json(reply: &Reply, who: &str, label: &str, revoked_status: u16) -> Answer {
    match reply.status {
        200 => match reply.at(who) {
            Some(Value::String(value)) => Answer::Live(format!("{label} {}", partial(value))),
            Some(Value::Number(value)) => Answer::Live(format!("{label} {}", partial(&value.to_string()))),
            Some(Value::Array(_) | Value::Object(_) | Value::Bool(true)) => Answer::Live(label.to_string()),
            _ => not_documented(reply),
        },
        status if status == revoked_status => Answer::Revoked(format!("HTTP {status}")),
        _ => not_documented(reply),
    }
}

/// An answer the provider's documentation does not describe for this call.
pub fn not_documented(reply: &Reply) -> Answer {
    Answer::Unknown(format!(
        "HTTP {} with an answer not in the documented shape",
        reply.status
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_drops_what_the_rule_matched_around_the_token() {
        assert_eq!(clean("=123:AAx_y-z'", "_-:"), "123:AAx_y-z");
        assert_eq!(clean("AIzaSy0_-x\"", "_-"), "AIzaSy0_-x");
        assert_eq!(clean("", "_"), "");
    }

    #[test]
    fn provider_ids_are_unique_and_bases_are_https() {
        let mut ids: Vec<&str> = PROVIDERS.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), PROVIDERS.len());
        assert!(PROVIDERS.len() >= 25);
        for provider in PROVIDERS {
            assert!(provider.base.starts_with("https://"), "{}", provider.id);
            assert!(provider.revoke.starts_with("https://"), "{}", provider.id);
            assert!(
                provider.id.chars().all(|c| c.is_ascii_lowercase()),
                "{}",
                provider.id
            );
        }
    }

    #[test]
    fn partial_keeps_a_prefix_only() {
        assert_eq!(partial("octocat"), "oc…");
        assert_eq!(partial("a"), "a…");
        assert_eq!(partial("someone@example.com"), "some…");
    }
}
