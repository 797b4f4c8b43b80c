//! Looks up a batch of indicators: the shared cache first, then VirusTotal through the shared
//! rate limiter, with bounded retries, uploads and submissions for unknown items, and bounded
//! polling of their analyses. Whatever cannot be settled is "unverified", never "clean".

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::cache::VerdictCache;
use super::client::{Client, VtError, UPLOAD_URL_LIMIT};
use super::limiter::{LimiterConfig, Permit, Rate, RateLimiter};
use super::verdict::{IndicatorKind, Verdict};
use crate::finding::hex;
use crate::platform_env::ApiKey;

/// How many times one call is retried after a transient error (5xx, timeout, bad answer).
const MAX_TRANSIENT_RETRIES: u32 = 3;
/// How many 429 answers one call may get before the indicator is given up as unverified.
const MAX_RATE_LIMITED_RETRIES: u32 = 5;
/// How many times a failing rate limiter (Redis gone) is retried before giving up on a call.
const MAX_LIMITER_FAILURES: u32 = 2;

/// Everything the lookups need, validated by `config`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_key: ApiKey,
    pub api_url: String,
    pub redis_url: String,
    pub rate: Rate,
    pub daily_quota: Option<u32>,
    pub cache_ttl: Duration,
    pub min_detections: u32,
    /// Upload unknown files and submit unknown URLs (off with `--no-upload`).
    pub upload: bool,
    pub poll_interval: Duration,
    pub max_wait: Duration,
    pub request_timeout: Duration,
    /// First backoff after a transient error; doubled each retry.
    pub retry_delay: Duration,
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

/// What became of one indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Checked {
        verdict: Verdict,
        cached: bool,
    },
    /// Could not be settled (VirusTotal or Redis failing, quota spent, analysis unfinished,
    /// uploads disabled): reported as such, never as clean.
    Unverified {
        reason: String,
    },
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub indicators: usize,
    pub cached: usize,
    pub looked_up: usize,
    pub malicious: usize,
    pub unverified: usize,
    /// HTTP requests sent to VirusTotal.
    pub requests: usize,
    /// The rate budget was shared through Redis (false: in-process fallback).
    pub shared_budget: bool,
}

/// Progress of a long queue, for the console.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Starting {
        to_look_up: usize,
        cached: usize,
        rate: Rate,
        estimate: Duration,
    },
    Waiting {
        wait: Duration,
        done: usize,
        total: usize,
    },
    Warning(String),
}

/// A failure that stops the whole VirusTotal phase: the key is refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Fatal(String);

/// The budget id: a hash of the API key, so jobs with the same key share one budget and the key
/// itself never reaches Redis.
pub fn budget_id(key: &ApiKey) -> String {
    hex(&Sha256::digest(key.expose().as_bytes())[..12])
}

/// Looks up every indicator once and says what became of each.
pub async fn run(
    settings: &Settings,
    indicators: Vec<Indicator>,
    uploads: &HashMap<String, UploadSource>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(BTreeMap<Indicator, Resolution>, Summary), Fatal> {
    let limiter_config = LimiterConfig {
        rate: settings.rate,
        daily_quota: settings.daily_quota,
        budget_id: budget_id(&settings.api_key),
    };
    let limiter = match RateLimiter::shared(&settings.redis_url, limiter_config.clone()).await {
        Ok(limiter) => limiter,
        Err(err) => {
            progress(Progress::Warning(format!(
                "{err}; falling back to an in-process rate limiter: the VirusTotal budget is NOT shared with other jobs"
            )));
            RateLimiter::local(limiter_config)
        }
    };
    let mut cache = match VerdictCache::shared(&settings.redis_url, settings.cache_ttl).await {
        Ok(cache) => cache,
        Err(err) => {
            progress(Progress::Warning(format!(
                "{err}; verdicts are cached for this run only"
            )));
            VerdictCache::local(settings.cache_ttl)
        }
    };
    let client = Client::new(
        &settings.api_url,
        settings.api_key.clone(),
        settings.request_timeout,
    )
    .map_err(|err| Fatal(err.to_string()))?;

    let mut summary = Summary {
        indicators: indicators.len(),
        shared_budget: limiter.is_shared(),
        ..Summary::default()
    };
    let mut resolutions = BTreeMap::new();
    let mut queue = Vec::new();

    for indicator in indicators {
        match cache.get(indicator.kind, &indicator.value).await {
            Ok(Some(verdict)) => {
                summary.cached += 1;
                resolutions.insert(
                    indicator,
                    Resolution::Checked {
                        verdict,
                        cached: true,
                    },
                );
            }
            Ok(None) => queue.push(indicator),
            Err(err) => {
                // A failing Redis can take seconds per call: stop asking it for this run.
                progress(Progress::Warning(format!(
                    "verdict cache unavailable ({err}); caching for this run only"
                )));
                cache = VerdictCache::local(settings.cache_ttl);
                queue.push(indicator);
            }
        }
    }

    if !queue.is_empty() {
        let per_request = settings.rate.per.as_secs_f64() / f64::from(settings.rate.requests.max(1));
        let estimate = Duration::from_secs_f64(per_request * queue.len().saturating_sub(1) as f64);
        progress(Progress::Starting {
            to_look_up: queue.len(),
            cached: summary.cached,
            rate: settings.rate,
            estimate,
        });
    }

    let total = queue.len();
    let mut session = Session {
        settings,
        client: &client,
        limiter: &limiter,
        progress,
        requests: 0,
        done: 0,
        total,
        quota_spent: false,
    };
    for indicator in queue {
        let resolution = session.resolve(&indicator, uploads).await?;
        session.done += 1;
        if let Resolution::Checked { verdict, .. } = &resolution {
            summary.looked_up += 1;
            if let Err(err) = cache.put(indicator.kind, &indicator.value, verdict).await {
                (session.progress)(Progress::Warning(format!(
                    "could not cache a verdict ({err}); caching for this run only"
                )));
                cache = VerdictCache::local(settings.cache_ttl);
            }
        }
        resolutions.insert(indicator, resolution);
    }
    summary.requests = session.requests;
    for resolution in resolutions.values() {
        match resolution {
            Resolution::Checked { verdict, .. } if verdict.is_malicious(settings.min_detections) => {
                summary.malicious += 1
            }
            Resolution::Unverified { .. } => summary.unverified += 1,
            Resolution::Checked { .. } => {}
        }
    }
    Ok((resolutions, summary))
}

/// Why one call did not produce an answer.
enum CallError {
    NotFound,
    Unverified(String),
    Fatal(String),
}

struct Session<'a> {
    settings: &'a Settings,
    client: &'a Client,
    limiter: &'a RateLimiter,
    progress: &'a mut (dyn FnMut(Progress) + Send),
    requests: usize,
    done: usize,
    total: usize,
    /// Once the daily quota is spent, nothing more is asked in this run.
    quota_spent: bool,
}

impl Session<'_> {
    async fn resolve(
        &mut self,
        indicator: &Indicator,
        uploads: &HashMap<String, UploadSource>,
    ) -> Result<Resolution, Fatal> {
        let client = self.client;
        let value = indicator.value.as_str();
        let report = match indicator.kind {
            IndicatorKind::Ip => self.call(|| client.ip_report(value)).await,
            IndicatorKind::Url => self.call(|| client.url_report(value)).await,
            IndicatorKind::File => self.call(|| client.file_report(value)).await,
        };
        let unknown = match report {
            Ok(verdict) => {
                return Ok(Resolution::Checked {
                    verdict,
                    cached: false,
                })
            }
            Err(CallError::Fatal(message)) => return Err(Fatal(message)),
            Err(CallError::Unverified(reason)) => return Ok(Resolution::Unverified { reason }),
            Err(CallError::NotFound) => indicator.kind,
        };
        // Unknown to VirusTotal.
        let unverified = |reason: &str| {
            Ok(Resolution::Unverified {
                reason: reason.to_string(),
            })
        };
        match unknown {
            // Every routable address has a report; a 404 means VirusTotal holds nothing on it.
            IndicatorKind::Ip => Ok(Resolution::Checked {
                verdict: Verdict {
                    permalink: format!("https://www.virustotal.com/gui/ip-address/{value}"),
                    ..Verdict::default()
                },
                cached: false,
            }),
            _ if !self.settings.upload => {
                unverified("not known to VirusTotal, and uploads are disabled (--no-upload)")
            }
            IndicatorKind::Url => {
                let submitted = self.call(|| client.submit_url(value)).await;
                let permalink = |id: &str| format!("https://www.virustotal.com/gui/url-analysis/{id}");
                self.await_analysis(submitted, permalink).await
            }
            IndicatorKind::File => {
                let Some(source) = uploads.get(value) else {
                    return unverified(
                        "not known to VirusTotal, and the file is no longer at hand to upload",
                    );
                };
                if source.size > UPLOAD_URL_LIMIT {
                    return unverified("not known to VirusTotal, and larger than the 650 MB it accepts");
                }
                let uploaded = self.call(|| client.upload_file(&source.path, source.size)).await;
                let sha256 = value.to_string();
                self.await_analysis(uploaded, move |_| {
                    format!("https://www.virustotal.com/gui/file/{sha256}")
                })
                .await
            }
        }
    }

    /// Polls an analysis until it completes or `max_wait` passes.
    async fn await_analysis(
        &mut self,
        started: Result<String, CallError>,
        permalink: impl Fn(&str) -> String,
    ) -> Result<Resolution, Fatal> {
        let id = match started {
            Ok(id) => id,
            Err(CallError::Fatal(message)) => return Err(Fatal(message)),
            Err(CallError::Unverified(reason)) => return Ok(Resolution::Unverified { reason }),
            Err(CallError::NotFound) => {
                return Ok(Resolution::Unverified {
                    reason: "VirusTotal did not accept the submission".into(),
                })
            }
        };
        let client = self.client;
        let link = permalink(&id);
        let deadline = Instant::now() + self.settings.max_wait;
        loop {
            tokio::time::sleep(self.settings.poll_interval).await;
            match self.call(|| client.analysis(&id, link.clone())).await {
                Ok(status) if status.completed => {
                    return Ok(Resolution::Checked {
                        verdict: status.verdict,
                        cached: false,
                    })
                }
                Ok(_) | Err(CallError::NotFound) => {}
                Err(CallError::Fatal(message)) => return Err(Fatal(message)),
                Err(CallError::Unverified(reason)) => return Ok(Resolution::Unverified { reason }),
            }
            if Instant::now() >= deadline {
                return Ok(Resolution::Unverified {
                    reason: format!(
                        "the VirusTotal analysis had not finished after {}s ({link})",
                        self.settings.max_wait.as_secs()
                    ),
                });
            }
        }
    }

    /// One API call through the rate limiter, with bounded retries.
    async fn call<T, F, Fut>(&mut self, mut attempt: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, VtError>>,
    {
        let mut transient = 0;
        let mut rate_limited = 0;
        let mut limiter_failures = 0;
        loop {
            if self.quota_spent {
                return Err(CallError::Unverified(
                    "the daily VirusTotal quota is spent".into(),
                ));
            }
            let (done, total) = (self.done, self.total);
            let progress = &mut *self.progress;
            let mut on_wait = |wait: Duration| progress(Progress::Waiting { wait, done, total });
            match self.limiter.acquire(&mut on_wait).await {
                Ok(Permit::Granted) => {}
                Ok(Permit::DailyQuotaSpent) => {
                    self.quota_spent = true;
                    (self.progress)(Progress::Warning(
                        "the daily VirusTotal quota (--vt-daily-quota) is spent: remaining indicators are unverified"
                            .into(),
                    ));
                    continue;
                }
                Err(err) => {
                    limiter_failures += 1;
                    if limiter_failures > MAX_LIMITER_FAILURES {
                        return Err(CallError::Unverified(format!("rate limiter failed: {err}")));
                    }
                    continue;
                }
            }
            self.requests += 1;
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(VtError::NotFound) => return Err(CallError::NotFound),
                Err(VtError::Auth { code }) => {
                    return Err(CallError::Fatal(format!(
                        "VirusTotal refused the API key ({code}): check VT_API_KEY (or VT_KEY)"
                    )))
                }
                Err(VtError::RateLimited { code }) => {
                    rate_limited += 1;
                    if rate_limited > MAX_RATE_LIMITED_RETRIES {
                        return Err(CallError::Unverified(format!(
                            "VirusTotal kept answering 429 {code} after {MAX_RATE_LIMITED_RETRIES} retries"
                        )));
                    }
                    // Push every job sharing the budget back by a window, then try again.
                    let _ = self.limiter.penalize().await;
                }
                Err(VtError::Transient(message)) => {
                    transient += 1;
                    if transient > MAX_TRANSIENT_RETRIES {
                        return Err(CallError::Unverified(format!(
                            "{message} (after {MAX_TRANSIENT_RETRIES} retries)"
                        )));
                    }
                    let backoff = self.settings.retry_delay * 2u32.pow(transient - 1);
                    tokio::time::sleep(backoff).await;
                }
                Err(err @ VtError::Rejected { .. }) => return Err(CallError::Unverified(err.to_string())),
                Err(VtError::Untrusted(reason)) => return Err(CallError::Unverified(reason)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_ids_hash_the_key() {
        let id = budget_id(&ApiKey::new("secret-key"));
        assert_eq!(id.len(), 24);
        assert!(!id.contains("secret"));
        assert_eq!(id, budget_id(&ApiKey::new("secret-key")));
        assert_ne!(id, budget_id(&ApiKey::new("other-key")));
    }
}
