//! Network indicators in text: every IPv4/IPv6 literal and every http(s) URL of a line (the
//! original only took the first of each), filtered to what may be sent to VirusTotal: globally
//! routable addresses only, and only URLs made of a scheme, a public host, a path and at most a
//! query of small numbers: no user information, fragment or other query, no webhook or bot URL whose path is the secret, no
//! token-shaped path segment or host label.

use crate::redact::token_shaped;
use crate::rules::IndicatorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::LazyLock;

use regex::bytes::Regex;

/// Which indicators a run collects: --ips, --urls, --bincheck.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    pub ips: bool,
    pub urls: bool,
    pub files: bool,
}

/// One thing to ask VirusTotal about. For files the value is the sha256.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Indicator {
    pub kind: IndicatorKind,
    pub value: String,
}

/// A binary that may have to be uploaded.
#[derive(Debug, Clone)]
pub struct UploadSource {
    pub path: PathBuf,
    pub size: u64,
}

static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}").expect("valid"));
static IPV6: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}").expect("valid"));
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\bhttps?://[^\s"'<>`\\^{}|]+"#).expect("valid"));
/// Hosts and path prefixes whose URLs carry their credential in the path: whoever holds the URL
/// can post to the channel or drive the bot.
const SECRET_PATH_PREFIXES: &[(&str, &str)] = &[
    ("hooks.slack.com", "/"),
    ("discord.com", "/api/webhooks/"),
    ("discordapp.com", "/api/webhooks/"),
    ("ptb.discord.com", "/api/webhooks/"),
    ("canary.discord.com", "/api/webhooks/"),
    ("api.telegram.org", "/bot"),
    ("api.telegram.org", "/file/bot"),
    ("outlook.office.com", "/webhook"),
    ("chat.googleapis.com", "/v1/spaces/"),
];

/// An indicator found in a line: its value and where it is (a range of the line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub value: T,
    pub range: Range<usize>,
}

/// Every globally routable IP address literal in `line`.
pub fn public_ips(line: &[u8]) -> Vec<Found<IpAddr>> {
    let mut found = Vec::new();
    for candidate in IPV4.find_iter(line) {
        if !delimited(line, candidate.range(), |b| b.is_ascii_digit() || b == b'.') {
            continue;
        }
        let Ok(ip) = std::str::from_utf8(candidate.as_bytes())
            .unwrap_or("")
            .parse::<Ipv4Addr>()
        else {
            continue;
        };
        if is_global_v4(ip) {
            found.push(Found {
                value: IpAddr::V4(ip),
                range: candidate.range(),
            });
        }
    }
    for candidate in IPV6.find_iter(line) {
        if !delimited(line, candidate.range(), |b| {
            b.is_ascii_hexdigit() || b == b':' || b == b'.'
        }) {
            continue;
        }
        let Ok(ip) = std::str::from_utf8(candidate.as_bytes())
            .unwrap_or("")
            .parse::<Ipv6Addr>()
        else {
            continue;
        };
        if is_global_v6(ip) {
            found.push(Found {
                value: IpAddr::V6(ip),
                range: candidate.range(),
            });
        }
    }
    found.sort_by_key(|f| f.range.start);
    found
}

/// Every http(s) URL in `line`, with trailing punctuation and unbalanced closing brackets
/// trimmed. URLs that hold more than a scheme, a public host and a path are left out (see
/// `shareable`): what is sent to VirusTotal becomes visible to its community.
pub fn urls(line: &[u8]) -> Vec<Found<String>> {
    let mut found = Vec::new();
    for candidate in URL.find_iter(line) {
        let Ok(text) = std::str::from_utf8(candidate.as_bytes()) else {
            continue;
        };
        let text = trim_url(text);
        if text.len() <= "https://".len() || !shareable(text) {
            continue;
        }
        let start = candidate.start();
        found.push(Found {
            value: text.to_string(),
            range: start..start + text.len(),
        });
    }
    found
}

/// The URL's host, when it can be told.
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

/// May this URL be shown to VirusTotal? Decided by what it is allowed to hold, not by guessing
/// which parameter names carry secrets (`pass`, `pw`, `sig`, a token in the fragment: a denylist
/// always misses one): a scheme, a public host, a path and at most a query of small numbers
/// (`?page=2&v=1`). User information, a fragment, `;` parameters or any other query keep it home,
/// and so do a token-shaped host label (a key used as a host name) and a token-shaped path
/// segment.
fn shareable(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // `@` anywhere: user information, or a path that embeds one (Teams' webhooks). Any URL that
    // names a hook (host or path) is a webhook, whose path is the credential whatever its shape.
    let webhook = rest.to_ascii_lowercase().contains("hook");
    if authority.contains('@') || rest.contains(['#', ';', '@']) || webhook || holds_token(url) {
        return false;
    }
    if rest
        .split_once('?')
        .is_some_and(|(_, query)| !harmless_query(query))
    {
        return false;
    }
    if host(url)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(token_shaped)
    {
        return false;
    }
    let host = host(url).to_ascii_lowercase();
    if host.is_empty() || host == "localhost" || host.ends_with(".localhost") || !host.contains(['.', ':']) {
        return false;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => is_global_v4(ip),
        Ok(IpAddr::V6(ip)) => is_global_v6(ip),
        Err(_) => true,
    }
}

/// Longest query value shared: a page, a version, a small id; a PIN-length number is not shared.
const QUERY_NUMBER_DIGITS: usize = 3;

/// A query that may leave: every parameter a short plain name that is not credential-like, with
/// an empty value or a number of at most `QUERY_NUMBER_DIGITS` digits.
fn harmless_query(query: &str) -> bool {
    const CREDENTIAL_LIKE: &[&str] = &[
        "pass", "pw", "pin", "otp", "key", "token", "secret", "sig", "auth", "session", "code", "cred",
    ];
    query.split('&').all(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let lowered = name.to_ascii_lowercase();
        !name.is_empty()
            && name.len() <= 16
            && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
            && !CREDENTIAL_LIKE.iter().any(|word| lowered.contains(word))
            && value.len() <= QUERY_NUMBER_DIGITS
            && value.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Does the URL's path or query hold a credential: a known webhook or bot URL, or a token-shaped
/// segment (a long run of letters and digits mixing both, as API keys and signatures are; words,
/// slugs and numbers are not)?
pub fn holds_token(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_start = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let path = &rest[path_start..];
    let host = host(url).to_ascii_lowercase();
    let lowered_path = path.to_ascii_lowercase();
    if SECRET_PATH_PREFIXES
        .iter()
        .any(|(secret_host, prefix)| host == *secret_host && lowered_path.starts_with(prefix))
    {
        return true;
    }
    path.split(|c: char| !c.is_ascii_alphanumeric()).any(token_shaped)
}

fn trim_url(mut text: &str) -> &str {
    loop {
        let Some(last) = text.chars().last() else {
            return text;
        };
        let unbalanced = |open: char, close: char| text.matches(close).count() > text.matches(open).count();
        let trim = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '*' | '\'' | '"' => true,
            ')' => unbalanced('(', ')'),
            ']' => unbalanced('[', ']'),
            _ => false,
        };
        if !trim {
            return text;
        }
        text = &text[..text.len() - last.len_utf8()];
    }
}

/// The match is not part of a longer run of the same kind of characters (a version number
/// `1.2.3.4.5`, a hex string).
fn delimited(line: &[u8], range: Range<usize>, same_kind: impl Fn(u8) -> bool) -> bool {
    let before = range.start.checked_sub(1).map(|i| line[i]);
    let after = line.get(range.end).copied();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    before.is_none_or(|b| !same_kind(b) && !word(b)) && after.is_none_or(|b| !same_kind(b) && !word(b))
}

/// Globally routable IPv4: not private, loopback, link-local, CGNAT/shared, multicast,
/// documentation, benchmarking, "this network", protocol-assignment or reserved space.
pub fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 192 && b == 88 && c == 99)
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224)
}

/// Globally routable IPv6: inside global unicast 2000::/3, minus documentation (2001:db8::/32,
/// 3fff::/20), the IETF protocol assignments 2001::/23 and benchmarking 2001:2::/48.
pub fn is_global_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    let documentation = (s[0] == 0x2001 && s[1] == 0x0db8) || (s[0] == 0x3fff && s[1] < 0x1000);
    let protocol_assignments = s[0] == 0x2001 && s[1] < 0x0200;
    global_unicast && !documentation && !protocol_assignments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(line: &str) -> Vec<String> {
        public_ips(line.as_bytes())
            .into_iter()
            .map(|f| f.value.to_string())
            .collect()
    }

    fn url_values(line: &str) -> Vec<String> {
        urls(line.as_bytes()).into_iter().map(|f| f.value).collect()
    }

    #[test]
    fn every_public_address_of_a_line() {
        assert_eq!(
            ips("app.run(host='172.217.16.206') or 90.156.201.21;"),
            vec!["172.217.16.206", "90.156.201.21"]
        );
        assert_eq!(
            ips("v6 2606:4700:4700::1111 and 8.8.8.8"),
            vec!["2606:4700:4700::1111", "8.8.8.8"]
        );
    }

    #[test]
    fn private_and_reserved_addresses_are_never_looked_up() {
        for line in [
            "10.0.0.1",
            "192.168.1.1",
            "172.16.5.4",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "192.0.2.10",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "::1",
            "fe80::1",
            "fc00::1",
            "2001:db8::1",
            "ff02::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(ips(line).is_empty(), "{line}");
        }
    }

    #[test]
    fn version_numbers_and_code_are_not_addresses() {
        assert!(ips("version 1.2.3.4.5").is_empty());
        assert!(ips("999.1.1.1").is_empty());
        assert!(ips("std::io::Result and a::b::c").is_empty());
        assert!(ips("deadbeef:cafe").is_empty());
    }

    #[test]
    fn urls_are_trimmed_of_surrounding_punctuation() {
        assert_eq!(
            url_values("See http://evil.example/a, (https://x.example/p_(q)) and <https://y.example/z>."),
            vec![
                "http://evil.example/a",
                "https://x.example/p_(q)",
                "https://y.example/z"
            ]
        );
        assert_eq!(
            url_values("curl -L http://cool-mart.ru/katalog-produkcii"),
            vec!["http://cool-mart.ru/katalog-produkcii"]
        );
        assert_eq!(
            url_values("\"https://a.example/x?y=1\";"),
            vec!["https://a.example/x?y=1"]
        );
    }

    #[test]
    fn urls_with_secrets_or_private_hosts_are_not_shared() {
        assert!(url_values("https://user:pass@host.example/x").is_empty());
        assert!(url_values("https://host.example/x?access_token=abc").is_empty());
        assert!(url_values("https://host.example/x?sig=abc&a=1").is_empty());
        for url in [
            "https://host.example/login?pw=hunter2",
            "https://host.example/login?user=1&pin=1234",
            "https://host.example/login?p=1234",
            "https://host.example/login?word=hunter",
            "https://host.example/login?pass=hunter2",
            "https://host.example/login?passphrase=a+b+c",
            "https://host.example/app#access=hunter2",
            "https://host.example/app;jsessionid=hunter2",
            "https://hooks.zapier.com/hooks/catch/1234567/abc1de2/",
            "https://example.webhook.office.com/webhookb2/a-b@c-d/IncomingWebhook/e/f",
            "https://chat.example.org/hooks/abcdefghijklm",
            "https://AKIAZ7QW3RT5YU2IOP4L.example.com/", // fake-secret-for-tests
            "https://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.ngrok.example/x", // fake-secret-for-tests
        ] {
            assert!(url_values(url).is_empty(), "{url}");
        }
        assert!(url_values("http://localhost:8080/x http://10.1.2.3/x http://intranet/x").is_empty());
        assert_eq!(
            url_values("http://92.168.20.22/katalog"),
            vec!["http://92.168.20.22/katalog"]
        );
    }

    #[test]
    fn urls_whose_path_is_a_credential_are_not_shared() {
        for url in [
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
            "https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnop",
            "https://api.example.com/v1/callback?x=1&code=Zx8Kq2Lm9Pw4Rt7Yb3Nc6Vd1",
            "https://files.example.com/d/aB3dE5gH7jK9mN1pQ3sT5vX7z/report.pdf",
        ] {
            assert!(url_values(url).is_empty(), "{url}");
        }
        for url in [
            "https://docs.example.org/guide/how-to-install-python-3-on-ubuntu-20-04",
            "https://example.com/releases/v1.2.3/anteater-x86_64-unknown-linux-gnu.tar.gz",
            "https://example.com/items/1234567890123",
            "http://cool-mart.ru/katalog-produkcii",
        ] {
            assert_eq!(url_values(url), vec![url], "{url}");
        }
    }
}
