//! `--validate`'s driver: on the run's runtime, one request per credential, bounded concurrency per
//! provider (its gate), a provider's 429 and `Retry-After` honoured by all its requests, and the
//! overall deadline. Separate from the policy in `mod.rs` (what an answer does to a finding) and
//! from the cache: this is the only part that talks to the network.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use tokio::sync::{Mutex, Semaphore};

use super::cache::Caches;
use super::{Answer, Job, Plan, Reply, Summary};
use crate::enrich::redis::RunRedis;

/// Requests in flight per provider: enough for 200 findings in a few seconds, few enough not to
/// trip a provider's abuse detection.
const PER_PROVIDER: usize = 8;
/// 429 answers waited out per credential before it is `unknown`.
const MAX_RETRIES: u32 = 2;
/// A `Retry-After` longer than this is not waited for: the credential is `unknown`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Bodies longer than this are not read (an identity answer is a few kB).
const MAX_BODY: usize = 1 << 20;

/// Per provider: its concurrency and when a 429 lets it send again.
struct Gate {
    permits: Semaphore,
    resume_at: Mutex<Instant>,
}

/// Every job's answer, in the jobs' order, from the cache or its provider.
pub(super) async fn run(
    plan: &Plan,
    redis: &RunRedis,
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
    let caches = Caches::open(plan, redis, warn).await?;
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
    let deadline = tokio::time::Instant::now() + plan.deadline;
    let summary = Mutex::new(Summary::default());
    let tasks = jobs.iter().map(|job| {
        let gate = Arc::clone(&gates[job.provider.id]);
        let (client, caches, summary) = (&client, &caches, &summary);
        async move {
            let keys = caches.keys(job).await;
            if let Some(answer) = caches.lookup(&keys).await {
                summary.lock().await.cached += 1;
                return answer;
            }
            let checked = tokio::time::timeout_at(deadline, check(plan, client, &gate, job, summary)).await;
            let answer = checked.unwrap_or_else(|_| {
                Answer::Unknown(format!(
                    "not checked within --validate-deadline ({} s)",
                    plan.deadline.as_secs_f64()
                ))
            });
            caches.store(keys, &answer).await;
            answer
        }
    });
    let answers = futures_util::future::join_all(tasks).await;
    caches.save(warn);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_a_second_for_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(1)));
    }
}
