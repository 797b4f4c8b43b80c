//! `--validate`: asks each secret's own provider, read-only, whether it is still live.
//!
//! The driver: which findings have a check (the provider table in [`providers`]), one request
//! per distinct credential, bounded concurrency per provider, a provider's 429 and `Retry-After`
//! honoured by all its requests, an overall deadline, and a cache of answers in the Redis that
//! VirusTotal verdicts use, keyed by an HMAC of the credential. A provider family's checks live in
//! their own file; adding a provider is one `Provider` value there and one line in the table.
//!
//! Three answers only: `live` when the provider accepted the credential, `revoked` on the
//! provider's documented invalid-credential answer, `unknown` for everything else (no check for
//! the rule, network error, timeout, 429, 5xx, redirect, an answer of another shape).

mod ai;
pub mod aws;
mod chat;
mod cloud;
mod code_hosts;
mod devtools;
mod email;
mod payments;
pub mod providers;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::{Mutex, Semaphore};

use crate::enrich::virustotal::cache::SharedCache;
use crate::enrich::virustotal::cache_file::CacheFile;
use crate::enrich::virustotal::redis_conn::TlsFiles;
use crate::finding::{hex, Finding, Level, Secret, Validation, ValidationState};
use crate::platform_env::ApiKey;
use crate::redact;
use crate::rules::RuleSet;
pub use providers::{Answer, Call, Credential, Provider, Reply, PROVIDERS};

/// Requests in flight per provider: enough for 200 findings in a few seconds, few enough not to
/// trip a provider's abuse detection.
const PER_PROVIDER: usize = 8;
/// 429 answers waited out per credential before it is `unknown`.
const MAX_RETRIES: u32 = 2;
/// A `Retry-After` longer than this is not waited for: the credential is `unknown`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Bodies longer than this are not read (an identity answer is a few kB).
const MAX_BODY: usize = 1 << 20;

/// How `--validate` runs, from the command line and the environment.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Per provider id, the scheme and host (and port) that replace the documented ones:
    /// `ANTEATER_VALIDATE_URL_<PROVIDER>`.
    pub overrides: HashMap<&'static str, reqwest::Url>,
    pub cache_ttl: Duration,
    pub timeout: Duration,
    pub deadline: Duration,
    pub redis_url: String,
    /// The Redis URL was chosen by the user (flag or `REDIS_URL`): failing to reach it is worth a
    /// warning, while the default local address missing is the common case.
    pub redis_explicit: bool,
    pub redis_tls: TlsFiles,
    /// `--vt-cache-file` and the VirusTotal key that authenticates it: answers are kept there
    /// too (a file without the key would let a pull request forge `revoked`).
    pub cache_file: Option<(PathBuf, ApiKey)>,
}

impl Plan {
    /// Reads the `ANTEATER_VALIDATE_URL_*` overrides from `vars`; an override that is not an
    /// http(s) origin, or that names no provider, is a configuration error.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        vars: impl IntoIterator<Item = (String, String)>,
        cache_ttl: Duration,
        timeout: Duration,
        deadline: Duration,
        redis_url: String,
        redis_explicit: bool,
        redis_tls: TlsFiles,
    ) -> anyhow::Result<Plan> {
        if cache_ttl < Duration::from_secs(1) {
            bail!("--validate-cache-ttl must be at least 1s");
        }
        if timeout.is_zero() || deadline.is_zero() {
            bail!("--validate-timeout and --validate-deadline must be more than zero");
        }
        let mut overrides = HashMap::new();
        for (name, value) in vars {
            let Some(id) = name.strip_prefix(OVERRIDE_PREFIX) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let Some(provider) = PROVIDERS.iter().find(|p| p.id.eq_ignore_ascii_case(id)) else {
                let known: Vec<String> = PROVIDERS.iter().map(|p| p.id.to_ascii_uppercase()).collect();
                bail!("{name}: no provider `{id}` (known: {})", known.join(", "));
            };
            overrides.insert(provider.id, parse_origin(&name, &value)?);
        }
        Ok(Plan {
            overrides,
            cache_ttl,
            timeout,
            deadline,
            redis_url,
            redis_explicit,
            redis_tls,
            cache_file: None,
        })
    }

    /// The URL a call goes to: the provider's documented base, or its override's scheme and
    /// host with the documented path kept, then the call's path.
    fn url(&self, provider: &Provider, path: &str) -> anyhow::Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(provider.base).context("a provider's documented base")?;
        if let Some(origin) = self.overrides.get(provider.id) {
            url.set_scheme(origin.scheme())
                .ok()
                .and_then(|()| url.set_host(origin.host_str()).ok())
                .and_then(|()| url.set_port(origin.port()).ok())
                .context("cannot apply the override")?;
        }
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path("");
        Ok(reqwest::Url::parse(&format!(
            "{}{}",
            url.as_str().trim_end_matches('/'),
            joined
        ))?)
    }
}

const OVERRIDE_PREFIX: &str = "ANTEATER_VALIDATE_URL_";

/// `value` as a bare http(s) origin (a path, query or credentials are refused: only the scheme and
/// host are replaced, and a credential in the URL would go to every request).
fn parse_origin(name: &str, value: &str) -> anyhow::Result<reqwest::Url> {
    let shown = redact::escape(value);
    let url = reqwest::Url::parse(value).map_err(|e| anyhow::anyhow!("{name}=`{shown}`: not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("{name}=`{shown}`: give an http(s) scheme and host, like https://proxy.example:8443");
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!("{name}: credentials in the URL are not allowed");
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        bail!("{name}=`{shown}`: give the scheme and host only; the provider's path is kept");
    }
    Ok(url)
}

/// What a run of validation did, for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub live: usize,
    pub revoked: usize,
    pub unknown: usize,
    /// Credentials answered from the cache, without a request.
    pub cached: usize,
    /// Requests sent to providers.
    pub requests: usize,
}

/// One credential to check, and the findings that carry it.
struct Job {
    provider: &'static Provider,
    credential: Credential,
    findings: Vec<usize>,
}

/// Validates every finding whose rule has a provider check; sets `validation` (and `detail`) on
/// it, drops a revoked one to `note`, and moves live findings first. Warnings (an unreachable
/// cache) go to `warn`.
pub fn validate(
    plan: &Plan,
    rules: &RuleSet,
    findings: &mut [Finding],
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<Summary> {
    let jobs = jobs(rules, findings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the validation client")?;
    let (answers, mut summary) = if jobs.is_empty() {
        (Vec::new(), Summary::default())
    } else {
        runtime.block_on(run(plan, &jobs, warn))?
    };
    runtime.shutdown_background();
    for (job, answer) in jobs.iter().zip(answers) {
        let validation = validation(job.provider, &answer);
        for &index in &job.findings {
            apply(&mut findings[index], validation.clone());
        }
    }
    // A secret no provider check covers is `unknown` too: --validate said nothing about it.
    for finding in findings.iter_mut() {
        if finding.validation.is_none() && rules.rule(finding.rule).redact {
            let validation = Validation {
                state: ValidationState::Unknown,
                provider: "none".to_string(),
                said: format!("no provider check for rule {}", rules.rule(finding.rule).id),
                revoke: None,
            };
            apply(finding, validation);
        }
    }
    for finding in findings.iter() {
        match finding.validation.as_ref().map(|v| v.state) {
            Some(ValidationState::Live) => summary.live += 1,
            Some(ValidationState::Revoked) => summary.revoked += 1,
            Some(ValidationState::Unknown) => summary.unknown += 1,
            None => {}
        }
    }
    // Live first, then the report's order.
    findings.sort_by_key(|f| f.validation.as_ref().map(|v| v.state) != Some(ValidationState::Live));
    Ok(summary)
}

/// The findings' distinct credentials, each with its provider. AWS needs two findings for one
/// credential: an access key id and the secret access key nearest to it in the same file.
fn jobs(rules: &RuleSet, findings: &[Finding]) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut seen: HashMap<(&'static str, Credential), usize> = HashMap::new();
    for (index, finding) in findings.iter().enumerate() {
        let Some(secret) = &finding.secret else {
            continue;
        };
        let rule = &rules.rule(finding.rule).id;
        let Some(provider) = providers::for_rule(rule) else {
            continue;
        };
        let credential = match provider.pair_with {
            Some(pair) => {
                let (key_id, key_secret) = if provider.rules.contains(&rule.as_str()) {
                    (Some(secret.clone()), nearest(rules, findings, finding, pair))
                } else {
                    (
                        nearest(rules, findings, finding, provider.rules[0]),
                        Some(secret.clone()),
                    )
                };
                match (key_id, key_secret) {
                    (Some(id), Some(pair)) => Credential {
                        token: id,
                        pair: Some(pair),
                    },
                    // Half a credential cannot be checked; say so rather than guess.
                    _ => Credential {
                        token: secret.clone(),
                        pair: None,
                    },
                }
            }
            None => Credential {
                token: secret.clone(),
                pair: None,
            },
        };
        match seen.get(&(provider.id, credential.clone())) {
            Some(&job) => jobs[job].findings.push(index),
            None => {
                seen.insert((provider.id, credential.clone()), jobs.len());
                jobs.push(Job {
                    provider,
                    credential,
                    findings: vec![index],
                });
            }
        }
    }
    jobs
}

/// The secret of the finding of rule `rule` nearest to `finding` in the same file.
fn nearest(rules: &RuleSet, findings: &[Finding], finding: &Finding, rule: &str) -> Option<Secret> {
    findings
        .iter()
        .filter(|f| f.path == finding.path && rules.rule(f.rule).id == rule)
        .filter_map(|f| Some((f.line.abs_diff(finding.line), f.secret.clone()?)))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, secret)| secret)
}

fn validation(provider: &Provider, answer: &Answer) -> Validation {
    let (state, said) = match answer {
        Answer::Live(who) => (ValidationState::Live, format!("accepted; {who}")),
        Answer::Revoked(said) => (ValidationState::Revoked, format!("refused: {said}")),
        Answer::Unknown(why) => (ValidationState::Unknown, why.clone()),
    };
    Validation {
        state,
        provider: provider.name.to_string(),
        said: redact::escape(&said),
        revoke: Some(provider.revoke.to_string()),
    }
}

/// The policy: a revoked credential is reported as a note, live and unknown keep their level.
fn apply(finding: &mut Finding, validation: Validation) {
    if validation.state == ValidationState::Revoked {
        finding.level = Level::Note;
    }
    let summary = validation.summary();
    finding.detail = Some(match finding.detail.take() {
        Some(detail) => format!("{summary}; {detail}"),
        None => summary,
    });
    finding.validation = Some(validation);
}

/// What is cached: only settled answers (`live`, `revoked`); `unknown` is asked again.
#[derive(Serialize, Deserialize)]
struct Cached {
    state: ValidationState,
    said: String,
}

/// A cached answer, if `bytes` is one.
fn cached_answer(bytes: &[u8]) -> Option<Answer> {
    let cached: Cached = serde_json::from_slice(bytes).ok()?;
    match cached.state {
        ValidationState::Live => Some(Answer::Live(cached.said)),
        ValidationState::Revoked => Some(Answer::Revoked(cached.said)),
        ValidationState::Unknown => None,
    }
}

/// The credential's bytes, for a MAC: token, and the pair after a NUL.
fn credential_bytes(credential: &Credential) -> Vec<u8> {
    let mut bytes = credential.token.expose().as_bytes().to_vec();
    if let Some(pair) = &credential.pair {
        bytes.push(0);
        bytes.extend_from_slice(pair.expose().as_bytes());
    }
    bytes
}

/// Per provider: its concurrency and when a 429 lets it send again.
struct Gate {
    permits: Semaphore,
    resume_at: Mutex<Instant>,
}

async fn run(
    plan: &Plan,
    jobs: &[Job],
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<(Vec<Answer>, Summary)> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(plan.timeout)
        .user_agent(concat!(
            "anteater/",
            env!("CARGO_PKG_VERSION"),
            " (secret validation)"
        ))
        .build()
        .context("building the validation client")?;
    let cache = match SharedCache::connect(&plan.redis_url, &plan.redis_tls, plan.cache_ttl).await {
        Ok(cache) => Some(cache),
        Err(err) => {
            if plan.redis_explicit {
                warn(format!("--validate: no shared cache: {err}"));
            }
            None
        }
    };
    let mac_key = match &cache {
        Some(cache) => Some(mac_key(cache).await?),
        None => None,
    };
    let gates: HashMap<&str, Arc<Gate>> = jobs
        .iter()
        .map(|job| {
            let gate = Gate {
                permits: Semaphore::new(PER_PROVIDER),
                resume_at: Mutex::new(Instant::now()),
            };
            (job.provider.id, Arc::new(gate))
        })
        .collect();
    let file = plan.cache_file.as_ref().map(|(path, key)| {
        let (file, warning) = CacheFile::load(path, key, plan.cache_ttl);
        if let Some(warning) = warning {
            warn(warning);
        }
        Mutex::new(file)
    });
    let deadline = tokio::time::Instant::now() + plan.deadline;
    let summary = Mutex::new(Summary::default());
    let tasks = jobs.iter().map(|job| {
        let gate = Arc::clone(&gates[job.provider.id]);
        let (client, cache, mac_key, summary, file) = (&client, &cache, &mac_key, &summary, &file);
        async move {
            let key = mac_key
                .as_ref()
                .map(|mac_key| cache_key(mac_key, job.provider, &job.credential));
            let file_key = match file {
                Some(file) => Some(file.lock().await.answer_key(
                    &format!("validate:{}", job.provider.id),
                    &credential_bytes(&job.credential),
                )),
                None => None,
            };
            if let (Some(file), Some(file_key)) = (file, &file_key) {
                let kept = file.lock().await.get_answer(file_key).map(str::to_string);
                if let Some(answer) = kept.and_then(|json| cached_answer(json.as_bytes())) {
                    summary.lock().await.cached += 1;
                    return answer;
                }
            }
            if let (Some(cache), Some(key)) = (cache, &key) {
                if let Some(answer) = cache
                    .get_bytes(key)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|b| cached_answer(&b))
                {
                    summary.lock().await.cached += 1;
                    return answer;
                }
            }
            let checked = tokio::time::timeout_at(deadline, check(plan, client, &gate, job, summary)).await;
            let answer = checked.unwrap_or_else(|_| {
                Answer::Unknown(format!(
                    "not checked within --validate-deadline ({} s)",
                    plan.deadline.as_secs_f64()
                ))
            });
            let settled = match &answer {
                Answer::Live(said) => Some((ValidationState::Live, said)),
                Answer::Revoked(said) => Some((ValidationState::Revoked, said)),
                Answer::Unknown(_) => None,
            };
            if let Some((state, said)) = settled {
                let json = serde_json::to_string(&Cached {
                    state,
                    said: said.clone(),
                })
                .expect("a cached answer encodes");
                if let (Some(cache), Some(key)) = (cache, &key) {
                    // A cache that fails costs a request next time, never a wrong answer.
                    let _ = cache.put(key, &json).await;
                }
                if let (Some(file), Some(file_key)) = (file, file_key) {
                    file.lock().await.put_answer(file_key, json, plan.cache_ttl);
                }
            }
            answer
        }
    });
    let answers = futures_util::future::join_all(tasks).await;
    if let Some(file) = file {
        if let Err(err) = file.into_inner().save() {
            warn(format!("--validate: {err:#}"));
        }
    }
    let summary = summary.into_inner();
    Ok((answers, summary))
}

/// One credential's check: the provider's call, its 429s waited out (for every request to that
/// provider), the answer judged by the provider.
async fn check(
    plan: &Plan,
    client: &reqwest::Client,
    gate: &Gate,
    job: &Job,
    summary: &Mutex<Summary>,
) -> Answer {
    let provider = job.provider;
    let call = match (provider.request)(&job.credential) {
        Ok(call) => call,
        Err(why) => return Answer::Unknown(why),
    };
    let url = match plan.url(provider, &call.path) {
        Ok(url) => url,
        Err(err) => return Answer::Unknown(format!("no URL to ask: {err}")),
    };
    let _permit = gate
        .permits
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let mut retries = 0;
    loop {
        let resume_at = *gate.resume_at.lock().await;
        tokio::time::sleep_until(resume_at.into()).await;
        summary.lock().await.requests += 1;
        let request = match call.build(client, &url, &job.credential, SystemTime::now()) {
            Ok(request) => request,
            Err(why) => return Answer::Unknown(why),
        };
        let response = match client.execute(request).await {
            Ok(response) => response,
            Err(err) if err.is_timeout() => {
                return Answer::Unknown(format!(
                    "no answer within --validate-timeout ({} s)",
                    plan.timeout.as_secs_f64()
                ))
            }
            Err(err) => return Answer::Unknown(format!("request failed: {}", describe(err))),
        };
        let status = response.status().as_u16();
        if status == 429 {
            let wait = retry_after(response.headers());
            if retries < MAX_RETRIES && wait.is_some_and(|wait| wait <= MAX_RETRY_AFTER) {
                let wait = wait.unwrap_or_default();
                retries += 1;
                let mut resume = gate.resume_at.lock().await;
                *resume = (*resume).max(Instant::now() + wait);
                continue;
            }
            return Answer::Unknown(match wait {
                Some(wait) => format!("rate limited (HTTP 429, Retry-After {} s)", wait.as_secs()),
                None => "rate limited (HTTP 429)".to_string(),
            });
        }
        if (300..400).contains(&status) {
            return Answer::Unknown(format!("HTTP {status} redirect, not followed"));
        }
        if status >= 500 {
            return Answer::Unknown(format!("HTTP {status} from the provider"));
        }
        let body = match read_body(response).await {
            Ok(body) => body,
            Err(why) => return Answer::Unknown(why),
        };
        return (provider.judge)(&Reply::new(status, body));
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(format!("answer larger than {} KiB", MAX_BODY >> 10));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(err) if err.is_timeout() => {
                return Err("answer not complete within --validate-timeout".into())
            }
            Err(err) => return Err(format!("reading the answer failed: {}", describe(err))),
        }
    }
}

/// A transport error without its URL: the URL of some checks (Telegram's) holds the token.
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// `Retry-After` in seconds (an HTTP date counts as one second: a wait we honour without
/// parsing dates).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    match value.parse::<u64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds)),
        Err(_) => Some(Duration::from_secs(1)),
    }
}

/// The cache's MAC key: random, made once per Redis and kept there, so that cache keys are
/// useless to anyone who only sees them (a leaked key listing) for guessing credentials.
async fn mac_key(cache: &SharedCache) -> anyhow::Result<Vec<u8>> {
    const KEY: &str = "anteater:validate:mac-key";
    if let Ok(Some(key)) = cache.get_bytes(KEY).await {
        if key.len() == 64 {
            return Ok(key);
        }
    }
    let mut fresh = [0u8; 32];
    getrandom::getrandom(&mut fresh).map_err(|e| anyhow::anyhow!("no randomness for the cache key: {e}"))?;
    let fresh = hex(&fresh).into_bytes();
    match cache.put_new(KEY, &fresh).await {
        Ok(()) => {}
        Err(_) => return Ok(fresh),
    }
    Ok(cache.get_bytes(KEY).await.ok().flatten().unwrap_or(fresh))
}

/// `anteater:validate:<provider>:<HMAC of the credential>`: never the credential itself.
fn cache_key(mac_key: &[u8], provider: &Provider, credential: &Credential) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(mac_key).expect("HMAC takes keys of any length");
    mac.update(provider.id.as_bytes());
    mac.update(&[0]);
    mac.update(credential.token.expose().as_bytes());
    if let Some(pair) = &credential.pair {
        mac.update(&[0]);
        mac.update(pair.expose().as_bytes());
    }
    format!(
        "anteater:validate:{}:{}",
        provider.id,
        hex(&mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(vars: &[(&str, &str)]) -> anyhow::Result<Plan> {
        Plan::new(
            vars.iter().map(|(n, v)| (n.to_string(), v.to_string())),
            Duration::from_secs(3600),
            Duration::from_secs(10),
            Duration::from_secs(60),
            "redis://127.0.0.1:9".into(),
            false,
            TlsFiles::default(),
        )
    }

    #[test]
    fn an_override_replaces_scheme_and_host_and_keeps_the_path() {
        let plan = plan(&[("ANTEATER_VALIDATE_URL_GITHUB", "http://127.0.0.1:8080")]).unwrap();
        let github = providers::for_rule("github-token").unwrap();
        assert_eq!(
            plan.url(github, "/user").unwrap().as_str(),
            "http://127.0.0.1:8080/user"
        );
        let gitlab = providers::for_rule("gitlab-pat").unwrap();
        assert_eq!(
            plan.url(gitlab, "/api/v4/personal_access_tokens/self")
                .unwrap()
                .as_str(),
            "https://gitlab.com/api/v4/personal_access_tokens/self"
        );
        let aws = providers::for_rule("aws-secret-access-key").unwrap();
        assert_eq!(plan.url(aws, "/").unwrap().as_str(), "https://sts.amazonaws.com/");
    }

    #[test]
    fn overrides_are_bare_origins_of_known_providers() {
        assert!(plan(&[("ANTEATER_VALIDATE_URL_GITHUB", "https://proxy.test/")]).is_ok());
        assert!(plan(&[("ANTEATER_VALIDATE_URL_GITHUB", "")]).is_ok());
        for (name, value) in [
            ("ANTEATER_VALIDATE_URL_GITHUB", "https://proxy.test/v3"),
            ("ANTEATER_VALIDATE_URL_GITHUB", "https://proxy.test/?a=b"),
            ("ANTEATER_VALIDATE_URL_GITHUB", "file:///etc"),
            ("ANTEATER_VALIDATE_URL_GITHUB", "https://u:p@proxy.test"),
            ("ANTEATER_VALIDATE_URL_PASTEBIN", "https://proxy.test"),
        ] {
            assert!(plan(&[(name, value)]).is_err(), "{name}={value}");
        }
    }

    #[test]
    fn retry_after_in_seconds_or_a_second_for_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(1)));
    }

    #[test]
    fn cache_keys_hold_a_mac_of_the_credential_never_the_credential() {
        let github = providers::for_rule("github-token").unwrap();
        let credential = Credential {
            token: Secret::new(b"ghp_s3cr3tvalue"),
            pair: None,
        };
        let key = cache_key(b"k1", github, &credential);
        assert!(key.starts_with("anteater:validate:github:") && !key.contains("s3cr3t"));
        assert_ne!(key, cache_key(b"k2", github, &credential));
    }

    #[test]
    fn a_revoked_finding_becomes_a_note_and_names_where_to_revoke() {
        let rules = crate::report::testing::rules();
        let mut finding = crate::report::testing::finding(&rules, "crit", "a.env", 1, "ghp_… (redacted)");
        assert_eq!(finding.level, Level::Error);
        let github = providers::for_rule("github-token").unwrap();
        apply(
            &mut finding,
            validation(github, &Answer::Revoked("HTTP 401".into())),
        );
        assert_eq!(finding.level, Level::Note);
        let detail = finding.detail.unwrap();
        assert!(
            detail.contains("revoked credential (GitHub: refused: HTTP 401)"),
            "{detail}"
        );
        assert!(
            detail.contains("revoke at https://github.com/settings/tokens"),
            "{detail}"
        );
    }
}
