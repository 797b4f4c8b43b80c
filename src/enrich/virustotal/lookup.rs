//! Looks up a batch of indicators: the shared cache first, then VirusTotal through the shared
//! rate limiter, with bounded retries, uploads and submissions for unknown items, and bounded
//! polling of their analyses. Whatever cannot be settled is "unverified", never "clean".
//!
//! Fleet behaviour:
//! - **single flight**: an indicator is claimed in Redis before VirusTotal is asked (see
//!   [`super::claims`]); other jobs wait for the verdict in the shared cache, or take over a
//!   lapsed claim. The cache is checked again right after claiming and before every request.
//! - **pipelining**: every indicator is worked on at once; requests go out as fast as the limiter
//!   grants, at most [`IN_FLIGHT`] at a time, and analyses are polled while other lookups go on.
//!   Requests that continue an indicator already started (uploads, polls) go before new ones.
//! - **bounds**: `--vt-deadline` bounds the whole phase, and a circuit breaker reports the rest
//!   unverified after [`BREAKER_THRESHOLD`] transport failures in a row from VirusTotal or Redis.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::breaker::{Breaker, BREAKER_THRESHOLD};
use super::cache::VerdictCache;
use super::cache_file::CacheFile;
use super::claims::{Claims, Token};
use super::client::{Client, VtError, UPLOAD_URL_LIMIT};
use super::gate::Gate;
use super::limiter::{key_safe, Decision, LimiterConfig, LimiterError, Rate, RateLimiter, CONNECT_TIMEOUT};
use super::redis_conn::{ConnProblem, Link, TlsFiles};
use super::retry::{Backoff, Pause, Retry};
use super::verdict::{IndicatorKind, Verdict};
use crate::finding::hex;
use crate::platform_env::ApiKey;

/// How many times one call is retried after a transient error (5xx, timeout, bad answer).
const MAX_TRANSIENT_RETRIES: u32 = 3;
/// How many 429 answers one call may get before the indicator is given up as unverified.
const MAX_RATE_LIMITED_RETRIES: u32 = 5;
/// Requests to VirusTotal in flight at once: enough to keep a premium budget busy over a slow
/// link (1,000/min at 1 s round trips needs 17), few enough not to look like a flood.
pub const IN_FLIGHT: usize = 24;
/// How often a job waiting on another job's claim looks for the verdict.
const CLAIM_POLL: Duration = Duration::from_millis(500);
/// Added to a budget wait so that the retry lands after the slot opened, not just before.
const WAIT_SLACK: Duration = Duration::from_millis(5);

/// Everything the lookups need, validated by `config`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_key: ApiKey,
    pub api_url: String,
    pub redis_url: String,
    /// TLS material for a `rediss://` Redis beyond the system trust store.
    pub redis_tls: TlsFiles,
    pub rate: Rate,
    pub daily_quota: Option<u32>,
    pub cache_ttl: Duration,
    /// `--vt-cache-file`: verdicts kept in a file between runs, besides Redis.
    pub cache_file: Option<PathBuf>,
    pub min_detections: u32,
    /// Upload unknown files and submit unknown URLs (off with `--no-upload`).
    pub upload: bool,
    pub poll_interval: Duration,
    pub max_wait: Duration,
    pub request_timeout: Duration,
    /// First backoff after a transient error; doubled each retry.
    pub retry_delay: Duration,
    /// `--vt-deadline`: bound on the whole enrichment.
    pub deadline: Duration,
    /// How long a claim on an indicator lives unless its holder renews it.
    pub claim_lease: Duration,
    /// Least time between two progress lines.
    pub progress_every: Duration,
}

pub use crate::indicators::{Indicator, UploadSource};

/// Where a verdict came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// This job asked VirusTotal.
    LookedUp,
    /// In the cache (Redis or the cache file) before the lookups began.
    Cached,
    /// Another job asked while this one waited on its claim.
    Shared,
}

/// What became of one indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Checked {
        verdict: Verdict,
        origin: Origin,
    },
    /// Could not be settled (VirusTotal or Redis failing, quota spent, analysis unfinished,
    /// uploads disabled, deadline passed): reported as such, never as clean.
    Unverified {
        reason: String,
    },
}

/// Counts for the summary line and table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub indicators: usize,
    pub cached: usize,
    pub looked_up: usize,
    /// Answered by another job's claim (single flight).
    pub shared: usize,
    pub malicious: usize,
    pub unverified: usize,
    /// HTTP requests sent to VirusTotal by this job.
    pub requests: usize,
    /// Requests granted today under this key by every job sharing the budget (Redis's daily
    /// counter); `None` when the budget is not shared.
    pub requests_today: Option<u64>,
    /// The rate budget was shared through Redis at the start (false: in-process fallback).
    pub shared_budget: bool,
    /// Why and when the budget stopped being shared during the run, if it did.
    pub budget_lost: Option<String>,
    /// Why the lookups stopped early (deadline, circuit breaker), if they did.
    pub stopped: Option<String>,
}

/// What a long queue is waiting on, for the console.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub done: usize,
    pub total: usize,
    /// Indicators no request was sent for yet.
    pub queued: usize,
    /// Until the next slot of the rate budget opens, when a request waits for one.
    pub budget_wait: Option<Duration>,
    /// Analyses (uploads, URL submissions) being polled.
    pub analyses: usize,
    /// Indicators another job has claimed, whose verdict this job waits for.
    pub claims: usize,
    /// Time left at the rate limit.
    pub eta: Duration,
    pub rate: Rate,
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
    /// At most every `progress_every`, while something is waited on.
    Waiting(Status),
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
    let deadline = Instant::now() + settings.deadline;
    let limiter_config = LimiterConfig {
        rate: settings.rate,
        daily_quota: settings.daily_quota,
        budget_id: budget_id(&settings.api_key),
    };
    let budget_key = key_safe(&limiter_config.budget_id);
    // One connection for the limiter, the cache and the claims: a frozen Redis costs one
    // connect timeout, and a failover one reconnection, not one per component.
    let (limiter, link) = match Link::open(&settings.redis_url, &settings.redis_tls, CONNECT_TIMEOUT).await {
        Ok(link) => (
            RateLimiter::on_link(&link, limiter_config.clone()).await,
            Some(link),
        ),
        Err(err) => (Err(LimiterError::connect(err)), None),
    };
    let limiter = match limiter {
        Ok(limiter) => Some(limiter),
        // A Redis that answers but refuses us (password, user, CA) is a setting to fix: falling
        // back would quietly split the budget every other job relies on.
        Err(
            err @ LimiterError::Connect {
                problem: ConnProblem::Misconfigured,
                ..
            },
        ) => return Err(Fatal(err.to_string())),
        Err(err) => {
            progress(Progress::Warning(format!(
                "{err}; falling back to an in-process rate limiter: the VirusTotal budget is NOT shared with other jobs, \
                 and single flight (one question per indicator) holds within this job only"
            )));
            None
        }
    };
    // Without the connection the limiter's warning has said all (cache and claims included).
    let cache = link
        .as_ref()
        .map(|link| VerdictCache::on_link(link, settings.cache_ttl));
    let claims = link
        .as_ref()
        .map(|link| Claims::on_link(link, &budget_key, settings.claim_lease));
    let client = Client::new(
        &settings.api_url,
        settings.api_key.clone(),
        settings.request_timeout,
    )
    .map_err(|err| Fatal(err.to_string()))?;

    let file = settings.cache_file.as_deref().map(|path| {
        let (file, warning) = CacheFile::load(path, &settings.api_key, settings.cache_ttl);
        if let Some(warning) = warning {
            progress(Progress::Warning(warning));
        }
        file
    });
    let engine = Engine {
        settings,
        client,
        uploads,
        limiter: Fallback::new(limiter, RateLimiter::local(limiter_config)),
        cache: Fallback::new(cache, VerdictCache::local(settings.cache_ttl)),
        claims: Fallback::new(claims, Claims::Local),
        file: Mutex::new(file),
        gate: Gate::default(),
        in_flight: Semaphore::new(IN_FLIGHT),
        breaker: Breaker::default(),
        deadline,
        progress: Mutex::new(progress),
        requests: AtomicUsize::new(0),
        quota_spent: AtomicBool::new(false),
        started: AtomicUsize::new(0),
        analyses: AtomicUsize::new(0),
        claims_waited: AtomicUsize::new(0),
        budget_wait_until: Mutex::new(None),
        held: Mutex::new(HashMap::new()),
        deadline_passed: AtomicBool::new(false),
        places: Mutex::new(HashMap::new()),
    };
    let outcome = engine.run(indicators).await;
    engine.release_all().await;
    let (resolutions, mut summary) = outcome?;
    summary.requests = engine.requests.load(Ordering::Relaxed);
    summary.shared_budget = engine.limiter.shared.is_some();
    summary.budget_lost = engine.limiter.lost();
    summary.stopped = if engine.breaker.is_open() {
        Some(format!(
            "VirusTotal or Redis failed {BREAKER_THRESHOLD} times in a row (circuit breaker); the rest is unverified"
        ))
    } else if engine.deadline_passed.load(Ordering::Relaxed) {
        Some(format!(
            "--vt-deadline {}s passed; the rest is unverified",
            settings.deadline.as_secs()
        ))
    } else {
        None
    };
    if summary.shared_budget && summary.budget_lost.is_none() {
        summary.requests_today = engine.limiter.current().granted_today().await.ok();
    }
    if let Some(file) = lock(&engine.file).as_mut() {
        // The cache only saves requests: failing to keep it costs time, never a verdict.
        if let Err(err) = file.save() {
            engine.warn(format!("{err:#}; the verdicts were not kept"));
        }
    }
    for resolution in resolutions.values() {
        match resolution {
            Resolution::Checked { verdict, origin } => {
                match origin {
                    Origin::LookedUp => summary.looked_up += 1,
                    Origin::Cached => summary.cached += 1,
                    Origin::Shared => summary.shared += 1,
                }
                if verdict.is_malicious(settings.min_detections) {
                    summary.malicious += 1;
                }
            }
            Resolution::Unverified { .. } => summary.unverified += 1,
        }
    }
    Ok((resolutions, summary))
}

/// Why one call did not produce an answer.
enum CallError {
    NotFound,
    /// The verdict landed in the cache meanwhile (another job asked): no request needed.
    Answered(Verdict),
    Unverified(String),
    Fatal(String),
}

/// A shared component and its in-process stand-in, used from the moment the shared one fails.
struct Fallback<T> {
    shared: Option<T>,
    local: T,
    lost: Mutex<Option<String>>,
}

impl<T> Fallback<T> {
    fn new(shared: Option<T>, local: T) -> Self {
        Self {
            shared,
            local,
            lost: Mutex::new(None),
        }
    }

    fn current(&self) -> &T {
        match &self.shared {
            Some(shared) if lock(&self.lost).is_none() => shared,
            _ => &self.local,
        }
    }

    fn is_shared(&self) -> bool {
        self.shared.is_some() && lock(&self.lost).is_none()
    }

    /// Switches to the local stand-in; `true` the first time (so that the caller warns once).
    fn lose(&self, why: String) -> bool {
        let mut lost = lock(&self.lost);
        if self.shared.is_none() || lost.is_some() {
            return false;
        }
        *lost = Some(why);
        true
    }

    fn lost(&self) -> Option<String> {
        lock(&self.lost).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Decrements a counter when dropped (also when a future is cancelled).
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Counted(counter)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Engine<'a> {
    settings: &'a Settings,
    client: Client,
    uploads: &'a HashMap<String, UploadSource>,
    limiter: Fallback<RateLimiter>,
    cache: Fallback<VerdictCache>,
    claims: Fallback<Claims>,
    file: Mutex<Option<CacheFile>>,
    gate: Gate,
    in_flight: Semaphore,
    breaker: Breaker,
    deadline: Instant,
    progress: Mutex<&'a mut (dyn FnMut(Progress) + Send)>,
    requests: AtomicUsize,
    /// Once the daily quota is spent, nothing more is asked in this run.
    quota_spent: AtomicBool,
    /// Indicators a first request was sent for.
    started: AtomicUsize,
    analyses: AtomicUsize,
    claims_waited: AtomicUsize,
    budget_wait_until: Mutex<Option<Instant>>,
    /// Claims this job holds, released at the end even when cut short.
    held: Mutex<HashMap<Indicator, Token>>,
    deadline_passed: AtomicBool,
    /// Each indicator's place in the queue, for the order of requests.
    places: Mutex<HashMap<Indicator, u64>>,
}

impl Engine<'_> {
    fn warn(&self, message: String) {
        (lock(&self.progress))(Progress::Warning(message));
    }

    /// Why nothing more is asked, if so.
    fn stop_reason(&self) -> Option<String> {
        if self.breaker.is_open() {
            return Some(format!(
                "not asked: VirusTotal or Redis failed {BREAKER_THRESHOLD} times in a row (circuit breaker)"
            ));
        }
        if Instant::now() >= self.deadline {
            self.deadline_passed.store(true, Ordering::Relaxed);
            return Some(self.deadline_reason());
        }
        None
    }

    fn deadline_reason(&self) -> String {
        format!(
            "not settled within --vt-deadline {}s",
            self.settings.deadline.as_secs()
        )
    }

    /// A Redis failure: the breaker counts it, and the component continues in-process.
    /// Counted once per component: the failures of requests that were under way when it was
    /// lost say nothing new.
    fn redis_failed<T>(&self, component: &Fallback<T>, what: &str, err: &dyn std::fmt::Display) {
        let requests = self.requests.load(Ordering::Relaxed);
        if !component.lose(format!("Redis failed after {requests} requests ({err})")) {
            return;
        }
        self.warn(format!("{err}; {what} from now on"));
        if self.breaker.failure() {
            self.warn(format!(
                "{BREAKER_THRESHOLD} transport failures in a row: the remaining indicators are reported unverified"
            ));
        }
    }

    async fn cache_get(&self, indicator: &Indicator) -> Option<Verdict> {
        match self.cache.current().get(indicator.kind, &indicator.value).await {
            Ok(verdict) => verdict,
            Err(err) => {
                self.redis_failed(&self.cache, "verdicts are cached for this run only", &err);
                None
            }
        }
    }

    async fn remember(&self, indicator: &Indicator, verdict: &Verdict) {
        if let Some(file) = lock(&self.file).as_mut() {
            file.put(indicator.kind, &indicator.value, verdict);
        }
        if let Err(err) = self
            .cache
            .current()
            .put(indicator.kind, &indicator.value, verdict)
            .await
        {
            self.redis_failed(&self.cache, "verdicts are cached for this run only", &err);
        }
    }

    async fn run(
        &self,
        indicators: Vec<Indicator>,
    ) -> Result<(BTreeMap<Indicator, Resolution>, Summary), Fatal> {
        let mut resolutions = BTreeMap::new();
        let mut queue = Vec::new();
        let summary = Summary {
            indicators: indicators.len(),
            ..Summary::default()
        };
        let mut to_ask_redis = Vec::new();
        for indicator in indicators {
            let from_file = lock(&self.file)
                .as_ref()
                .and_then(|f| f.get(indicator.kind, &indicator.value));
            match from_file {
                Some(verdict) => {
                    resolutions.insert(
                        indicator,
                        Resolution::Checked {
                            verdict,
                            origin: Origin::Cached,
                        },
                    );
                }
                None => to_ask_redis.push(indicator),
            }
        }
        // All at once: one round trip's time for the batch, not one per indicator.
        let cached = futures_util::future::join_all(to_ask_redis.iter().map(|i| self.cache_get(i))).await;
        for (indicator, verdict) in to_ask_redis.into_iter().zip(cached) {
            match verdict {
                // Not copied into the cache file: it would start a fresh TTL there for a verdict
                // already part-way through Redis's, and be trusted for up to twice the TTL.
                Some(verdict) => {
                    resolutions.insert(
                        indicator,
                        Resolution::Checked {
                            verdict,
                            origin: Origin::Cached,
                        },
                    );
                }
                None => queue.push(indicator),
            }
        }
        if queue.is_empty() {
            return Ok((resolutions, summary));
        }
        let per_request = self.settings.rate.effective_window().as_secs_f64()
            / f64::from(self.settings.rate.requests.max(1));
        let estimate = Duration::from_secs_f64(per_request * queue.len().saturating_sub(1) as f64);
        (lock(&self.progress))(Progress::Starting {
            to_look_up: queue.len(),
            cached: resolutions.len(),
            rate: self.settings.rate,
            estimate,
        });
        // Files and URLs first: an unknown one starts an analysis that takes a while, better
        // polled while the addresses are looked up than after them.
        queue.sort_by(|a, b| b.kind.cmp(&a.kind).then_with(|| a.value.cmp(&b.value)));
        *lock(&self.places) = (0u64..)
            .zip(&queue)
            .map(|(place, i)| (i.clone(), place))
            .collect();
        let total = queue.len();
        let mut pending: FuturesUnordered<_> = queue
            .iter()
            .map(|indicator| async move { (indicator, self.settle(indicator).await) })
            .collect();
        let mut done = 0;
        let deadline = tokio::time::sleep_until(self.deadline);
        tokio::pin!(deadline);
        let mut ticks = tokio::time::interval_at(
            Instant::now() + self.settings.progress_every,
            self.settings.progress_every,
        );
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while done < total {
            tokio::select! {
                next = pending.next() => {
                    let Some((indicator, resolution)) = next else { break };
                    done += 1;
                    resolutions.insert(indicator.clone(), resolution?);
                }
                () = &mut deadline => {
                    self.deadline_passed.store(true, Ordering::Relaxed);
                    self.warn(format!(
                        "--vt-deadline {}s passed: the remaining indicators are reported unverified",
                        self.settings.deadline.as_secs()
                    ));
                    break;
                }
                _ = ticks.tick() => self.report_status(done, total, per_request),
            }
        }
        drop(pending);
        for indicator in queue {
            resolutions
                .entry(indicator)
                .or_insert_with(|| Resolution::Unverified {
                    reason: self.deadline_reason(),
                });
        }
        Ok((resolutions, summary))
    }

    /// A progress line, when something is being waited on.
    fn report_status(&self, done: usize, total: usize, per_request: f64) {
        let now = Instant::now();
        let budget_wait = lock(&self.budget_wait_until)
            .filter(|until| *until > now)
            .map(|until| until - now);
        let analyses = self.analyses.load(Ordering::Relaxed);
        let claims = self.claims_waited.load(Ordering::Relaxed);
        if budget_wait.is_none() && analyses == 0 && claims == 0 {
            return;
        }
        let remaining = total.saturating_sub(done);
        let eta = Duration::from_secs_f64(per_request * remaining.saturating_sub(1) as f64)
            + budget_wait.unwrap_or_default();
        let status = Status {
            done,
            total,
            queued: total.saturating_sub(self.started.load(Ordering::Relaxed)),
            budget_wait,
            analyses,
            claims,
            eta,
            rate: self.settings.rate,
        };
        (lock(&self.progress))(Progress::Waiting(status));
    }

    /// Settles one indicator: claims it (or waits for the job that holds it), then asks.
    async fn settle(&self, indicator: &Indicator) -> Result<Resolution, Fatal> {
        loop {
            if let Some(reason) = self.stop_reason() {
                return Ok(Resolution::Unverified { reason });
            }
            let claimed = match self
                .claims
                .current()
                .try_claim(indicator.kind, &indicator.value)
                .await
            {
                Ok(claimed) => claimed,
                Err(err) => {
                    self.redis_failed(&self.claims, "single flight holds within this job only", &err);
                    continue;
                }
            };
            let Some(token) = claimed else {
                // Another job asks: wait for its verdict, or for its claim to go.
                let _waiting = Counted::new(&self.claims_waited);
                if let Some(verdict) = self.await_other_job(indicator).await {
                    return Ok(Resolution::Checked {
                        verdict,
                        origin: Origin::Shared,
                    });
                }
                continue;
            };
            // The previous holder may have just finished.
            if self.claims.is_shared() {
                if let Some(verdict) = self.cache_get(indicator).await {
                    self.release(indicator, &token).await;
                    return Ok(Resolution::Checked {
                        verdict,
                        origin: Origin::Shared,
                    });
                }
            }
            lock(&self.held).insert(indicator.clone(), token.clone());
            let resolution = tokio::select! {
                resolution = self.ask(indicator) => resolution,
                () = self.keep_claim(indicator, &token) => unreachable!("keep_claim never returns"),
            };
            if let Ok(Resolution::Checked {
                verdict,
                origin: Origin::LookedUp,
            }) = &resolution
            {
                // Into the cache before the claim goes, so that waiting jobs find it.
                self.remember(indicator, verdict).await;
            }
            self.release(indicator, &token).await;
            return resolution;
        }
    }

    /// Renews this job's claim on `indicator` every third of its lease, for as long as it works.
    async fn keep_claim(&self, indicator: &Indicator, token: &Token) {
        let every = self.claims.current().lease() / 3;
        loop {
            tokio::time::sleep(every).await;
            if !self.claims.is_shared() {
                continue;
            }
            match self
                .claims
                .current()
                .renew(indicator.kind, &indicator.value, token)
                .await
            {
                Ok(_) => {}
                Err(err) => self.redis_failed(&self.claims, "single flight holds within this job only", &err),
            }
        }
    }

    async fn release(&self, indicator: &Indicator, token: &Token) {
        lock(&self.held).remove(indicator);
        if !self.claims.is_shared() {
            return;
        }
        if let Err(err) = self
            .claims
            .current()
            .release(indicator.kind, &indicator.value, token)
            .await
        {
            self.redis_failed(&self.claims, "single flight holds within this job only", &err);
        }
    }

    /// Gives up the claims of indicators cut short (deadline, fatal error), so that other jobs
    /// need not wait for the leases to lapse.
    async fn release_all(&self) {
        let held: Vec<(Indicator, Token)> = lock(&self.held).drain().collect();
        if held.is_empty() || !self.claims.is_shared() {
            return;
        }
        let claims = self.claims.current();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            for (indicator, token) in &held {
                if claims
                    .release(indicator.kind, &indicator.value, token)
                    .await
                    .is_err()
                {
                    break;
                }
            }
        })
        .await;
    }

    /// Waits while another job holds the claim: the verdict when it lands in the cache, `None`
    /// when the claim is gone without one (given up, or lapsed: then this job claims it).
    async fn await_other_job(&self, indicator: &Indicator) -> Option<Verdict> {
        loop {
            tokio::time::sleep_until((Instant::now() + CLAIM_POLL).min(self.deadline)).await;
            if self.stop_reason().is_some() {
                return None;
            }
            if let Some(verdict) = self.cache_get(indicator).await {
                return Some(verdict);
            }
            if !self.claims.is_shared() {
                return None;
            }
            match self
                .claims
                .current()
                .is_held(indicator.kind, &indicator.value)
                .await
            {
                Ok(true) => {}
                Ok(false) => return None,
                Err(err) => {
                    self.redis_failed(&self.claims, "single flight holds within this job only", &err);
                    return None;
                }
            }
        }
    }

    /// Asks VirusTotal, under this job's claim.
    async fn ask(&self, indicator: &Indicator) -> Result<Resolution, Fatal> {
        let client = &self.client;
        let value = indicator.value.as_str();
        let url_permalink = |id: &str| format!("https://www.virustotal.com/gui/url-analysis/{id}");
        let file_permalink = |_: &str| format!("https://www.virustotal.com/gui/file/{value}");
        // A previous holder's analysis (it died or ran out of time): poll it, never upload twice.
        if indicator.kind != IndicatorKind::Ip && self.claims.is_shared() {
            match self.claims.current().analysis(indicator.kind, value).await {
                Ok(Some(id)) => {
                    return match indicator.kind {
                        IndicatorKind::Url => self.await_analysis(indicator, Ok(id), url_permalink).await,
                        _ => self.await_analysis(indicator, Ok(id), file_permalink).await,
                    }
                }
                Ok(None) => {}
                Err(err) => self.redis_failed(&self.claims, "single flight holds within this job only", &err),
            }
        }
        let report = match indicator.kind {
            IndicatorKind::Ip => self.call(indicator, false, || client.ip_report(value)).await,
            IndicatorKind::Url => self.call(indicator, false, || client.url_report(value)).await,
            IndicatorKind::File => self.call(indicator, false, || client.file_report(value)).await,
        };
        let unknown = match report {
            Ok(verdict) => {
                return Ok(Resolution::Checked {
                    verdict,
                    origin: Origin::LookedUp,
                })
            }
            Err(error) => match settled(error) {
                Some(resolution) => return resolution,
                None => indicator.kind,
            },
        };
        // Unknown to VirusTotal.
        let unverified = |reason: &str| {
            Ok(Resolution::Unverified {
                reason: reason.to_string(),
            })
        };
        match unknown {
            // `ip_report` never answers NotFound (a 404 there is no verdict); kept unverified
            // should that ever change, rather than clean.
            IndicatorKind::Ip => unverified("VirusTotal answered 404 for an IP address"),
            _ if !self.settings.upload => {
                unverified("not known to VirusTotal, and uploads are disabled (--no-upload)")
            }
            IndicatorKind::Url => {
                let submitted = self.call(indicator, true, || client.submit_url(value)).await;
                let submitted = self.share_analysis(indicator, submitted).await;
                self.await_analysis(indicator, submitted, url_permalink).await
            }
            IndicatorKind::File => {
                let Some(source) = self.uploads.get(value) else {
                    return unverified(
                        "not known to VirusTotal, and the file is no longer at hand to upload",
                    );
                };
                if source.size > UPLOAD_URL_LIMIT {
                    return unverified("not known to VirusTotal, and larger than the 650 MB it accepts");
                }
                let uploaded = self
                    .call(indicator, true, || client.upload_file(&source.path, source.size))
                    .await;
                let uploaded = self.share_analysis(indicator, uploaded).await;
                self.await_analysis(indicator, uploaded, file_permalink).await
            }
        }
    }

    /// Records a started analysis next to the claim, for a job that may take it over.
    async fn share_analysis(
        &self,
        indicator: &Indicator,
        started: Result<String, CallError>,
    ) -> Result<String, CallError> {
        if let Ok(id) = &started {
            if self.claims.is_shared() {
                let ttl = self.settings.max_wait + self.settings.claim_lease;
                if let Err(err) = self
                    .claims
                    .current()
                    .put_analysis(indicator.kind, &indicator.value, id, ttl)
                    .await
                {
                    self.redis_failed(&self.claims, "single flight holds within this job only", &err);
                }
            }
        }
        started
    }

    /// Polls an analysis until it completes or `max_wait` passes; other lookups go on meanwhile.
    async fn await_analysis(
        &self,
        indicator: &Indicator,
        started: Result<String, CallError>,
        permalink: impl Fn(&str) -> String,
    ) -> Result<Resolution, Fatal> {
        let id = match started {
            Ok(id) => id,
            Err(CallError::NotFound) => {
                return Ok(Resolution::Unverified {
                    reason: "VirusTotal did not accept the submission".into(),
                })
            }
            Err(error) => return settled(error).expect("only NotFound is unsettled"),
        };
        let _polling = Counted::new(&self.analyses);
        let client = &self.client;
        let link = permalink(&id);
        let deadline = Instant::now() + self.settings.max_wait;
        loop {
            tokio::time::sleep_until((Instant::now() + self.settings.poll_interval).min(self.deadline)).await;
            match self
                .call(indicator, true, || client.analysis(&id, link.clone()))
                .await
            {
                Ok(status) if status.completed => {
                    return Ok(Resolution::Checked {
                        verdict: status.verdict,
                        origin: Origin::LookedUp,
                    })
                }
                Ok(_) | Err(CallError::NotFound) => {}
                Err(error) => return settled(error).expect("only NotFound is unsettled"),
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

    /// A slot of the rate budget and of the in-flight bound, or why there is none.
    async fn permit(&self, rank: u64) -> Result<SemaphorePermit<'_>, CallError> {
        let _turn = self.gate.enter(rank).await;
        let slot = self
            .in_flight
            .acquire()
            .await
            .expect("the in-flight semaphore is never closed");
        loop {
            if let Some(reason) = self.stop_reason() {
                return Err(CallError::Unverified(reason));
            }
            if self.quota_spent.load(Ordering::Relaxed) {
                return Err(CallError::Unverified(
                    "the daily VirusTotal quota is spent".into(),
                ));
            }
            match self.limiter.current().try_acquire().await {
                Ok(Decision::Granted) => {
                    *lock(&self.budget_wait_until) = None;
                    return Ok(slot);
                }
                Ok(Decision::QuotaSpent) => {
                    if !self.quota_spent.swap(true, Ordering::Relaxed) {
                        self.warn(
                            "the daily VirusTotal quota (--vt-daily-quota) is spent: remaining indicators are unverified"
                                .into(),
                        );
                    }
                }
                Ok(Decision::Wait(wait)) => {
                    let until = Instant::now() + wait + WAIT_SLACK;
                    *lock(&self.budget_wait_until) = Some(until);
                    tokio::time::sleep_until(until.min(self.deadline)).await;
                }
                Err(err) => self.redis_failed(
                    &self.limiter,
                    "the VirusTotal budget is NOT shared with other jobs any more (in-process rate limiter)",
                    &err,
                ),
            }
        }
    }

    /// One API call through the rate limiter, with bounded retries. The cache is checked again
    /// before each attempt: another job may have answered meanwhile.
    async fn call<T, F, Fut>(
        &self,
        indicator: &Indicator,
        urgent: bool,
        mut attempt: F,
    ) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, VtError>>,
    {
        // Transient failures (5xx, timeouts) follow the shared retry schedule. 429s are counted
        // on their own and do not sleep here: the limiter's penalty makes every job sharing the
        // budget wait a whole window, which `permit` then sleeps through.
        let mut transient = Backoff::new(
            Retry::new(MAX_TRANSIENT_RETRIES + 1, self.settings.retry_delay).until(self.deadline),
        );
        let mut rate_limited = 0;
        let mut first = !urgent;
        loop {
            if let Some(reason) = self.stop_reason() {
                return Err(CallError::Unverified(reason));
            }
            if self.cache.is_shared() {
                if let Some(verdict) = self.cache_get(indicator).await {
                    return Err(CallError::Answered(verdict));
                }
            }
            // Continuations first, then by place in the queue.
            let place = lock(&self.places)
                .get(indicator)
                .copied()
                .unwrap_or(u64::from(u32::MAX));
            let rank = (u64::from(!urgent) << 32) | place;
            let slot = self.permit(rank).await?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            if std::mem::take(&mut first) {
                self.started.fetch_add(1, Ordering::Relaxed);
            }
            let result = attempt().await;
            drop(slot);
            match result {
                Ok(value) => {
                    self.breaker.success();
                    return Ok(value);
                }
                Err(VtError::NotFound) => {
                    self.breaker.success();
                    return Err(CallError::NotFound);
                }
                Err(VtError::Auth { code }) => {
                    return Err(CallError::Fatal(format!(
                        "VirusTotal refused the API key ({code}): check VT_API_KEY (or VT_KEY)"
                    )))
                }
                Err(VtError::RateLimited { code }) => {
                    self.breaker.success();
                    rate_limited += 1;
                    if rate_limited > MAX_RATE_LIMITED_RETRIES {
                        return Err(CallError::Unverified(format!(
                            "VirusTotal kept answering 429 {code} after {MAX_RATE_LIMITED_RETRIES} retries"
                        )));
                    }
                    // Push every job sharing the budget back by a window, then try again.
                    if let Err(err) = self.limiter.current().penalize().await {
                        self.redis_failed(
                            &self.limiter,
                            "the VirusTotal budget is NOT shared with other jobs any more (in-process rate limiter)",
                            &err,
                        );
                        let _ = self.limiter.current().penalize().await;
                    }
                }
                Err(VtError::Transient(message)) => {
                    if self.breaker.failure() {
                        self.warn(format!(
                            "{BREAKER_THRESHOLD} transport failures in a row (last: {message}): the remaining indicators are reported unverified"
                        ));
                    }
                    if transient.pause().await == Pause::Exhausted {
                        return Err(CallError::Unverified(format!(
                            "{message} (after {MAX_TRANSIENT_RETRIES} retries)"
                        )));
                    }
                    // Slept, or reached the deadline: the loop's first check says which.
                }
                Err(err @ (VtError::Rejected { .. } | VtError::NotAVerdict(_))) => {
                    self.breaker.success();
                    return Err(CallError::Unverified(err.to_string()));
                }
                Err(VtError::Untrusted(reason)) => {
                    // An answer, though not one to believe (a redirect, an oversized body): the
                    // service is reachable, so the breaker sees no transport failure.
                    self.breaker.success();
                    return Err(CallError::Unverified(reason));
                }
            }
        }
    }
}

/// The resolution a call error settles on; `None` for NotFound (the caller decides).
fn settled(error: CallError) -> Option<Result<Resolution, Fatal>> {
    match error {
        CallError::NotFound => None,
        CallError::Answered(verdict) => Some(Ok(Resolution::Checked {
            verdict,
            origin: Origin::Shared,
        })),
        CallError::Unverified(reason) => Some(Ok(Resolution::Unverified { reason })),
        CallError::Fatal(message) => Some(Err(Fatal(message))),
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
