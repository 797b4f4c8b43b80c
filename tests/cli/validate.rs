//! `--validate` end to end: the real binary against loopback mocks of each provider (reached
//! through `ANTEATER_VALIDATE_URL_*`) and a real redis-server for the cache.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{anteater, tree, Invocation, Run};
use crate::support::provider_mock::{specs, Behaviour, ProviderMock, Spec, AWS_SECRETS};
use crate::support::redis_server::RedisServer;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Deterministic random-looking text: each seed gives other tokens, all of high entropy.
struct Random(u64);

impl Random {
    fn new(seed: u64) -> Random {
        Random(
            seed.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        )
    }

    fn text(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len)
            .map(|_| {
                self.0 = self
                    .0
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                alphabet[((self.0 >> 33) % alphabet.len() as u64) as usize] as char
            })
            .collect()
    }
}

/// A token of `provider`'s shape (as its rule in the default ruleset matches it) and the line
/// that holds it.
pub(crate) fn token(provider: &str, seed: u64) -> (String, String) {
    let mut r = Random::new(seed);
    let token = match provider {
        "github" => {
            // GitHub tokens end in a CRC32 checksum, which the rule checks.
            let random = r.text(30, ALNUM);
            format!(
                "ghp_{random}{}",
                anteater::testing::base62_crc32(random.as_bytes())
            )
        }
        "gitlab" => format!("glpat-{}", r.text(20, ALNUM)),
        "slack" => format!(
            "xoxb-{}-{}-{}",
            r.text(13, DIGITS),
            r.text(13, DIGITS),
            r.text(24, ALNUM)
        ),
        "discord" => format!(
            "M{}.{}.{}",
            r.text(25, ALNUM),
            r.text(6, ALNUM),
            r.text(27, ALNUM)
        ),
        "telegram" => format!("1{}:AA{}", r.text(8, DIGITS), r.text(33, ALNUM)),
        "stripe" => format!("sk_live_{}", r.text(24, ALNUM)),
        "square" => format!("sq0atp-{}", r.text(22, ALNUM)),
        "openai" => format!("sk-proj-{}", r.text(64, ALNUM)),
        "anthropic" => format!("sk-ant-api03-{}", r.text(90, ALNUM)),
        "huggingface" => format!("hf_{}", r.text(34, LETTERS)),
        "aws" => format!("AKIA{}", r.text(16, BASE32)),
        "sendgrid" => format!("SG.{}.{}", r.text(22, ALNUM), r.text(43, ALNUM)),
        "mailgun" => format!("key-{}", r.text(32, HEX)),
        "digitalocean" => format!("dop_v1_{}", r.text(64, HEX)),
        "heroku" => format!(
            "{}-{}-4{}-8{}-{}",
            r.text(8, HEX),
            r.text(4, HEX),
            r.text(3, HEX),
            r.text(3, HEX),
            r.text(12, HEX)
        ),
        "google" => format!("AIza{}", r.text(35, ALNUM)),
        "terraform" => format!("{}.atlasv1.{}", r.text(14, ALNUM), r.text(64, ALNUM)),
        "postman" => format!("PMAK-{}-{}", r.text(24, HEX), r.text(34, HEX)),
        "linear" => format!("lin_api_{}", r.text(40, ALNUM)),
        "doppler" => format!("dp.st.{}", r.text(40, ALNUM)),
        "datadog" => r.text(32, HEX),
        "newrelic" => format!("NRAK-{}", r.text(27, UPPER_DIGITS)),
        "rubygems" => format!("rubygems_{}", r.text(48, HEX)),
        "cloudflare" => r.text(40, ALNUM),
        "notion" => format!("ntn_{}{}", r.text(11, DIGITS), r.text(35, ALNUM)),
        "sentry" => format!("sntryu_{}", r.text(64, HEX)),
        other => panic!("no token shape for {other}"),
    };
    let line = match provider {
        "heroku" => format!("export HEROKU_API_KEY={token}"),
        "datadog" => format!("DD_API_KEY: {token}"),
        "cloudflare" => format!("CLOUDFLARE_API_TOKEN={token}"),
        "aws" => format!("aws_access_key_id = {token}"),
        other => format!("{}_TOKEN={token}", other.to_ascii_uppercase()),
    };
    (token, line)
}

/// An AWS key pair: the id the mock knows (with its secret) and the lines holding both.
fn aws_pair(seed: u64, known: bool) -> (String, String) {
    let (key_id, line) = token("aws", seed);
    let secret = Random::new(seed + 1000).text(40, ALNUM);
    if known {
        AWS_SECRETS.lock().unwrap().push((key_id.clone(), secret.clone()));
    }
    (key_id, format!("{line}\naws_secret_access_key = {secret}\n"))
}

pub(crate) fn spec(id: &str) -> Spec {
    specs()
        .into_iter()
        .find(|s| s.id == id)
        .expect("a mocked provider")
}

/// Points the run at every mock, with short timings and no proxy.
pub(crate) fn against(mut invocation: Invocation, mocks: &[&ProviderMock]) -> Invocation {
    for mock in mocks {
        invocation = invocation.env(&mock.variable(), &mock.origin());
    }
    invocation
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("ANTEATER_VALIDATE_TIMEOUT", "2s")
        // No shared cache unless a test starts one: a closed port.
        .env("REDIS_URL", "redis://127.0.0.1:9")
}

/// The JSON findings of a `--format json` run.
fn findings(run: &Run) -> Vec<Value> {
    let document: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    document["findings"].as_array().unwrap().clone()
}

/// (path, line) → validation state.
fn states(run: &Run) -> HashMap<(String, u64), String> {
    findings(run)
        .iter()
        .filter_map(|f| {
            Some((
                (f["path"].as_str()?.to_string(), f["line"].as_u64()?),
                f["validation"]["state"].as_str()?.to_string(),
            ))
        })
        .collect()
}

#[test]
fn every_provider_tells_live_from_revoked_and_the_secret_goes_nowhere_else() {
    let ids: Vec<&str> = specs().iter().map(|s| s.id).collect();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut secrets: HashMap<&str, Vec<String>> = HashMap::new();
    let mut mocks = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let seed = 100 + 2 * n as u64;
        let (live, revoked, content) = if *id == "aws" {
            let (live, live_lines) = aws_pair(seed, true);
            let (revoked, revoked_lines) = aws_pair(seed + 1, false);
            (live, revoked, format!("{live_lines}\n\n\n\n{revoked_lines}"))
        } else {
            let (live, live_line) = token(id, seed);
            let (revoked, revoked_line) = token(id, seed + 1);
            (live, revoked, format!("{live_line}\n{revoked_line}\n"))
        };
        files.push((format!("{id}.env"), content.into_bytes()));
        secrets.insert(id, vec![live.clone(), revoked.clone()]);
        mocks.push(ProviderMock::start(
            spec(id),
            &[(&live, Behaviour::Live)],
            Duration::ZERO,
        ));
    }
    let file_refs: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
    let dir = tree(&file_refs);
    let refs: Vec<&ProviderMock> = mocks.iter().collect();
    let run = against(anteater(dir.path()), &refs)
        .args(&[
            "--validate",
            "--format",
            "json",
            "--junit",
            "junit.xml",
            "--gitlab-codequality",
            "gl.json",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", "summary.md")
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let states = states(&run);
    for id in &ids {
        let path = format!("{id}.env");
        let revoked_line = if *id == "aws" { 7 } else { 2 };
        assert_eq!(
            states.get(&(path.clone(), 1)).map(String::as_str),
            Some("live"),
            "{id}: {states:?}\n{}",
            run.stdout
        );
        assert_eq!(
            states.get(&(path.clone(), revoked_line)).map(String::as_str),
            Some("revoked"),
            "{id}: {states:?}"
        );
    }
    // Live findings first; revoked ones are notes.
    let all = findings(&run);
    let first_other = all
        .iter()
        .position(|f| f["validation"]["state"] != "live")
        .unwrap();
    assert!(all[first_other..]
        .iter()
        .all(|f| f["validation"]["state"] != "live"));
    for finding in &all {
        if finding["validation"]["state"] == "revoked" {
            assert_eq!(finding["level"], "note", "{finding}");
        }
    }
    // Each provider's mock saw its own secrets and none of the others'.
    for mock in &mocks {
        let requests = mock.requests();
        assert!(!requests.is_empty(), "{} was never asked", mock.id());
        for (id, tokens) in &secrets {
            for token in tokens {
                let leaked = requests.iter().any(|r| r.everything().contains(token.as_str()));
                let own = *id == mock.id();
                assert!(own || !leaked, "a {id} secret reached the {} mock", mock.id());
            }
        }
    }
    // Every output says it, and none holds a secret.
    let outputs = [
        run.all_output(),
        std::fs::read_to_string(dir.path().join("junit.xml")).unwrap(),
        std::fs::read_to_string(dir.path().join("gl.json")).unwrap(),
        std::fs::read_to_string(dir.path().join("summary.md")).unwrap(),
    ];
    for output in &outputs {
        assert!(output.contains("LIVE credential"), "{output}");
        assert!(
            output.contains("revoke at https://github.com/settings/tokens"),
            "{output}"
        );
        for token in secrets.values().flatten() {
            assert!(
                !output.contains(token.as_str()),
                "a secret in an output:\n{output}"
            );
        }
    }
    let results = run.results();
    let validations: Vec<&str> = results
        .iter()
        .filter_map(|r| r["properties"]["validation"].as_str())
        .collect();
    assert!(validations.contains(&"live") && validations.contains(&"revoked"));
    let rules = run.sarif.as_ref().unwrap()["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let github = rules.iter().find(|r| r["id"] == "github-token").unwrap();
    assert!(github["help"]["text"]
        .as_str()
        .unwrap()
        .contains("https://github.com/settings/tokens"));
}

#[test]
fn nothing_is_sent_without_validate() {
    let (live, line) = token("github", 1);
    let mock = ProviderMock::start(spec("github"), &[(&live, Behaviour::Live)], Duration::ZERO);
    let dir = tree(&[("a.env", line.as_bytes())]);
    let run = against(anteater(dir.path()), &[&mock])
        .args(&["--format", "json"])
        .run();
    assert_eq!(run.code, 1);
    assert!(mock.requests().is_empty());
    assert!(findings(&run).iter().all(|f| f.get("validation").is_none()));
    assert!(!run.all_output().contains("validation"), "{}", run.all_output());
}

/// Each way of not knowing is `unknown`, keeps its level, and says why.
#[test]
fn what_is_not_a_clear_answer_is_unknown() {
    let elsewhere = ProviderMock::start(spec("github"), &[], Duration::ZERO);
    let cases = [
        (
            "rate",
            Behaviour::RateLimited {
                times: 10,
                retry_after: 120,
            },
            "429",
        ),
        ("5xx", Behaviour::ServerError, "HTTP 503"),
        (
            "slow",
            Behaviour::Slow(Duration::from_secs(5)),
            "no answer within",
        ),
        ("malformed", Behaviour::Malformed, "not in the documented shape"),
        (
            "redirect",
            Behaviour::Redirect(format!("{}/user", elsewhere.origin())),
            "redirect, not followed",
        ),
    ];
    let tokens: Vec<(String, String)> = (0..cases.len())
        .map(|n| token("github", 500 + n as u64))
        .collect();
    let behaviours: Vec<(&str, Behaviour)> = tokens
        .iter()
        .zip(&cases)
        .map(|((token, _), (_, behaviour, _))| (token.as_str(), behaviour.clone()))
        .collect();
    let mock = ProviderMock::start(spec("github"), &behaviours, Duration::ZERO);
    let files: Vec<(String, String)> = cases
        .iter()
        .zip(&tokens)
        .map(|((name, _, _), (_, line))| (format!("{name}.env"), format!("{line}\n")))
        .collect();
    let mut refs: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_bytes())).collect();
    refs.push(("app.conf", b"db_password = \"Qm8#vLp2!xTz9@rW\"\n"));
    let dir = tree(&refs);
    let started = Instant::now();
    let run = against(anteater(dir.path()), &[&mock])
        .args(&["--validate", "--format", "json", "--validate-timeout", "500ms"])
        .run();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let all = findings(&run);
    for (name, _, why) in &cases {
        let finding = all
            .iter()
            .find(|f| f["path"] == format!("{name}.env") && f["rule_id"] == "github-token")
            .unwrap_or_else(|| panic!("{name}: {}", run.stdout));
        assert_eq!(finding["validation"]["state"], "unknown", "{name}: {finding}");
        assert_eq!(finding["level"], "error", "{name}: unknown keeps its level");
        assert!(
            finding["detail"].as_str().unwrap().contains(why),
            "{name}: {finding}"
        );
    }
    // A secret no provider check covers is unknown too, and names no revocation page.
    let generic = all
        .iter()
        .find(|f| f["path"] == "app.conf")
        .unwrap_or_else(|| panic!("the password is found: {}", run.stdout));
    assert_eq!(generic["validation"]["state"], "unknown");
    assert!(generic["validation"].get("revoke_at").is_none(), "{generic}");
    assert!(
        generic["detail"].as_str().unwrap().contains("no provider check"),
        "{generic}"
    );
    assert!(elsewhere.requests().is_empty(), "a redirect was followed");
    for (secret, _) in &tokens {
        assert!(!run.all_output().contains(secret.as_str()));
    }
}

#[test]
fn a_short_retry_after_is_waited_out_by_the_provider() {
    let (limited, line) = token("stripe", 7);
    let mock = ProviderMock::start(
        spec("stripe"),
        &[(
            &limited,
            Behaviour::RateLimited {
                times: 1,
                retry_after: 1,
            },
        )],
        Duration::ZERO,
    );
    let dir = tree(&[("pay.env", format!("{line}\n").as_bytes())]);
    let run = against(anteater(dir.path()), &[&mock])
        .args(&["--validate", "--format", "json"])
        .run();
    assert_eq!(
        states(&run).get(&("pay.env".into(), 1)).map(String::as_str),
        Some("live"),
        "{}",
        run.stdout
    );
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let waited = requests[1].at.duration_since(requests[0].at);
    assert!(waited >= Duration::from_millis(950), "retried after {waited:?}");
}

#[test]
fn a_second_run_is_answered_by_the_shared_cache() {
    let redis = RedisServer::start();
    let (live, live_line) = token("gitlab", 11);
    let (revoked, revoked_line) = token("gitlab", 12);
    let mock = ProviderMock::start(spec("gitlab"), &[(&live, Behaviour::Live)], Duration::ZERO);
    let dir = tree(&[("ci.env", format!("{live_line}\n{revoked_line}\n").as_bytes())]);
    let run_once = || {
        against(anteater(dir.path()), &[&mock])
            .env("REDIS_URL", &redis.url())
            .args(&["--validate", "--format", "json"])
            .run()
    };
    let first = run_once();
    assert_eq!(mock.requests().len(), 2, "{}", first.stderr);
    mock.clear();
    let second = run_once();
    assert!(mock.requests().is_empty(), "{:?}", mock.requests());
    assert_eq!(states(&first), states(&second));
    assert_eq!(
        states(&second).get(&("ci.env".into(), 1)).map(String::as_str),
        Some("live")
    );
    assert!(
        second.stderr.contains("2 answers from the cache, 0 requests"),
        "{}",
        second.stderr
    );
    // The cache holds MACs, never the secrets.
    let keys = redis.cli(None, &["KEYS", "anteater:validate:*"]);
    assert_eq!(
        keys.lines()
            .filter(|k| k.starts_with("anteater:validate:gitlab:"))
            .count(),
        2,
        "{keys}"
    );
    let dump: String = keys.lines().map(|key| redis.cli(None, &["GET", key])).collect();
    for secret in [&live, &revoked] {
        assert!(!keys.contains(secret.as_str()) && !dump.contains(secret.as_str()));
    }
    let ttl: i64 = redis
        .cli(
            None,
            &["TTL", keys.lines().find(|k| k.contains(":gitlab:")).unwrap()],
        )
        .trim()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&ttl), "{ttl}");
}

#[test]
fn an_override_must_be_a_bare_origin_of_a_known_provider() {
    let dir = tree(&[("a.txt", b"nothing\n")]);
    for (name, value, says) in [
        (
            "ANTEATER_VALIDATE_URL_GITHUB",
            "http://127.0.0.1:1/api",
            "scheme and host only",
        ),
        (
            "ANTEATER_VALIDATE_URL_GITHUB",
            "ftp://127.0.0.1",
            "http(s) scheme",
        ),
        (
            "ANTEATER_VALIDATE_URL_GITHUB",
            "https://user:pw@proxy.test",
            "credentials",
        ),
        (
            "ANTEATER_VALIDATE_URL_NOSUCH",
            "https://proxy.test",
            "no provider `NOSUCH`",
        ),
    ] {
        let run = anteater(dir.path()).args(&["--validate"]).env(name, value).run();
        assert_eq!(run.code, 2, "{name}={value}");
        assert!(run.stderr.contains(says), "{name}={value}: {}", run.stderr);
        assert!(!run.stderr.contains("pw@"), "{}", run.stderr);
    }
}

/// 200 findings across 10 providers, every mock answering in 100 ms: bounded concurrency per
/// provider, providers in parallel.
#[test]
fn two_hundred_findings_across_ten_providers_in_under_five_seconds() {
    let providers = [
        "github",
        "gitlab",
        "stripe",
        "digitalocean",
        "linear",
        "postman",
        "mailgun",
        "rubygems",
        "doppler",
        "sendgrid",
    ];
    let mut mocks = Vec::new();
    let mut files = Vec::new();
    for (p, id) in providers.iter().enumerate() {
        let tokens: Vec<(String, String)> = (0..20)
            .map(|n| token(id, 10_000 + (p * 100 + n) as u64))
            .collect();
        let behaviours: Vec<(&str, Behaviour)> = tokens
            .iter()
            .map(|(t, _)| (t.as_str(), Behaviour::Live))
            .collect();
        mocks.push(ProviderMock::start(
            spec(id),
            &behaviours,
            Duration::from_millis(100),
        ));
        let content: String = tokens.iter().map(|(_, line)| format!("{line}\n")).collect();
        files.push((format!("{id}.env"), content));
    }
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_bytes())).collect();
    let dir = tree(&refs);
    let mock_refs: Vec<&ProviderMock> = mocks.iter().collect();
    let started = Instant::now();
    let run = against(anteater(dir.path()), &mock_refs)
        .args(&["--validate", "--format", "json"])
        .run();
    let elapsed = started.elapsed();
    let states = states(&run);
    assert_eq!(states.len(), 200, "{}", run.stderr);
    assert!(states.values().all(|s| s == "live"), "{states:?}");
    assert_eq!(mocks.iter().map(|m| m.requests().len()).sum::<usize>(), 200);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    // The number the README quotes, shown with --nocapture.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "200 findings across 10 providers validated in {elapsed:?}"
    );
}

/// The README's validation table names every provider, what it calls and its override.
#[test]
fn the_readme_documents_every_provider() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("## Is it live?").expect("the validation section");
    let section = &readme[start..start + readme[start..].find("\n## Rules").unwrap()];
    for provider in anteater::testing::PROVIDERS {
        let row = section
            .lines()
            .find(|line| line.starts_with(&format!("| {} |", provider.name)))
            .unwrap_or_else(|| panic!("no README row for {}", provider.name));
        let variable = format!("`ANTEATER_VALIDATE_URL_{}`", provider.id.to_ascii_uppercase());
        for needed in [provider.calls, provider.base, &variable, provider.revoke] {
            assert!(row.contains(needed), "{}: the row lacks {needed}", provider.name);
        }
        for rule in provider.rules {
            assert!(
                row.contains(&format!("`{rule}`")),
                "{}: the row lacks {rule}",
                provider.name
            );
        }
    }
}

/// Without a shared Redis, `--vt-cache-file`'s file (authenticated with the VirusTotal key)
/// answers a second run, and holds no secret.
#[test]
fn the_vt_cache_file_answers_a_second_run_too() {
    let (live, line) = token("openai", 21);
    let mock = ProviderMock::start(spec("openai"), &[(&live, Behaviour::Live)], Duration::ZERO);
    let dir = tree(&[("ai.env", format!("{line}\n").as_bytes())]);
    let run_once = || {
        against(anteater(dir.path()), &[&mock])
            .env("VT_API_KEY", "a-key-that-authenticates-the-file")
            .args(&["--validate", "--format", "json", "--vt-cache-file", "cache.json"])
            .run()
    };
    let first = run_once();
    assert_eq!(mock.requests().len(), 1, "{}", first.stderr);
    let file = std::fs::read_to_string(dir.path().join("cache.json")).unwrap();
    assert!(!file.contains(live.as_str()), "{file}");
    mock.clear();
    let second = run_once();
    assert!(mock.requests().is_empty(), "{}", second.stderr);
    assert_eq!(
        states(&second).get(&("ai.env".into(), 1)).map(String::as_str),
        Some("live")
    );
}

/// An AWS key id next to a secret that is not its own: STS says `SignatureDoesNotMatch`, which
/// proves nothing about the key: unknown, never revoked. A key id alone is unknown too.
#[test]
fn aws_with_the_wrong_secret_or_none_is_unknown() {
    let (key_id, _) = aws_pair(900, true);
    let wrong = Random::new(901).text(40, ALNUM);
    let (lone, lone_line) = token("aws", 902);
    let mock = ProviderMock::start(spec("aws"), &[(&key_id, Behaviour::Live)], Duration::ZERO);
    let dir = tree(&[
        (
            "wrong.env",
            format!("aws_access_key_id = {key_id}\naws_secret_access_key = {wrong}\n").as_bytes(),
        ),
        ("lone.env", format!("{lone_line}\n").as_bytes()),
    ]);
    let run = against(anteater(dir.path()), &[&mock])
        .args(&["--validate", "--format", "json"])
        .run();
    let all = findings(&run);
    let wrong_finding = all.iter().find(|f| f["path"] == "wrong.env").unwrap();
    assert_eq!(wrong_finding["validation"]["state"], "unknown", "{wrong_finding}");
    assert!(wrong_finding["detail"]
        .as_str()
        .unwrap()
        .contains("does not match"));
    let lone_finding = all.iter().find(|f| f["path"] == "lone.env").unwrap();
    assert_eq!(lone_finding["validation"]["state"], "unknown", "{lone_finding}");
    assert_eq!(mock.requests().len(), 1, "the lone key id is never sent");
    assert!(!run.all_output().contains(&lone) && !run.all_output().contains(&wrong));
}

/// The policy: a secret its provider calls revoked is still reported, as a note, and no longer
/// fails the gate; the same secret unchecked fails it.
#[test]
fn a_revoked_secret_alone_is_a_note_that_passes_the_gate() {
    let (revoked, line) = token("slack", 31);
    let mock = ProviderMock::start(spec("slack"), &[], Duration::ZERO);
    let dir = tree(&[("chat.env", format!("{line}\n").as_bytes())]);
    let validated = against(anteater(dir.path()), &[&mock])
        .args(&["--validate"])
        .run();
    assert_eq!(validated.code, 0, "{}\n{}", validated.stdout, validated.stderr);
    assert!(validated.stdout.contains("(note,"), "{}", validated.stdout);
    assert!(
        validated
            .stdout
            .contains("revoked credential (Slack: refused: invalid_auth)"),
        "{}",
        validated.stdout
    );
    assert!(validated.stdout.contains("revoke at https://api.slack.com/apps"));
    let unchecked = against(anteater(dir.path()), &[&mock]).run();
    assert_eq!(unchecked.code, 1);
    assert_eq!(mock.requests().len(), 1);
    assert!(!validated.all_output().contains(&revoked));
}

/// `--validate-deadline` bounds the whole phase: what is not answered by then is unknown.
#[test]
fn the_deadline_bounds_the_whole_validation() {
    let tokens: Vec<(String, String)> = (0..12).map(|n| token("doppler", 700 + n)).collect();
    let behaviours: Vec<(&str, Behaviour)> = tokens
        .iter()
        .map(|(t, _)| (t.as_str(), Behaviour::Slow(Duration::from_secs(3))))
        .collect();
    let mock = ProviderMock::start(spec("doppler"), &behaviours, Duration::ZERO);
    let content: String = tokens.iter().map(|(_, line)| format!("{line}\n")).collect();
    let dir = tree(&[("d.env", content.as_bytes())]);
    // The bound is on the validation phase, so the same scan without it sets the baseline: start-up
    // and rule compilation vary with the machine's load, the deadline must not.
    let started = Instant::now();
    let unchecked = against(anteater(dir.path()), &[&mock]).run();
    let baseline = started.elapsed();
    assert_eq!(unchecked.code, 1, "{}", unchecked.stderr);
    let started = Instant::now();
    let run = against(anteater(dir.path()), &[&mock])
        .args(&[
            "--validate",
            "--format",
            "json",
            "--validate-timeout",
            "10s",
            "--validate-deadline",
            "1s",
        ])
        .run();
    let took = started.elapsed();
    assert!(
        took < baseline + Duration::from_secs(2),
        "validating took {took:?}, the scan alone {baseline:?}: the 1 s deadline did not bound it"
    );
    let all = findings(&run);
    assert_eq!(all.len(), 12, "{}", run.stdout);
    for finding in &all {
        assert_eq!(finding["validation"]["state"], "unknown");
        assert!(
            finding["detail"]
                .as_str()
                .unwrap()
                .contains("--validate-deadline"),
            "{finding}"
        );
    }
}
