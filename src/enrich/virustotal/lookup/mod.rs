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
//!
//! Submodules, one job each: `settings` (what the lookups are told), `outcome` (what they
//! report), `queue` (every indicator at once, progress, the deadline), `claiming` (single flight:
//! claim, renew, release, wait for another job), `asking` (reports, uploads, polling analyses) and
//! `call` (one request through the rate budget, with its retries).

mod asking;
mod call;
mod claiming;
mod outcome;
mod queue;
mod settings;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::breaker::{Breaker, BREAKER_THRESHOLD};
use super::cache::VerdictCache;
use super::cache_file::CacheFile;
use super::claims::{Claims, Token};
use super::client::Client;
use super::gate::Gate;
use super::limiter::{key_safe, LimiterConfig, LimiterError, RateLimiter};
use super::verdict::Verdict;
use crate::enrich::redis::link::ConnProblem;
use crate::enrich::redis::RunRedis;
use crate::finding::hex;
pub use crate::inspect::indicators::{Indicator, UploadSource};
use crate::platform_env::ApiKey;
pub use outcome::{Fatal, Origin, Progress, Resolution, Status, Summary};
pub use settings::Settings;

/// Requests to VirusTotal in flight at once: enough to keep a premium budget busy over a slow
/// link (1,000/min at 1 s round trips needs 17), few enough not to look like a flood.
pub const IN_FLIGHT: usize = 24;

/// The budget id: a hash of the API key, so jobs with the same key share one budget and the key
/// itself never reaches Redis.
pub fn budget_id(key: &ApiKey) -> String {
    hex(&Sha256::digest(key.expose().as_bytes())[..12])
}

/// Looks up every indicator once and says what became of each.
pub async fn run(
    settings: &Settings,
    redis: &RunRedis,
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
    // The run's one connection, for the limiter, the cache and the claims (and `--validate`'s
    // cache): a frozen Redis costs one connect timeout, and a failover one reconnection, not one
    // per component.
    let (limiter, link) = match redis.link(&settings.redis_url, &settings.redis_tls).await {
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

/// One run's lookups: the components (each falling back to its in-process stand-in on its own),
/// the bounds and the counters for progress. Defined here, with the helpers every submodule
/// uses (warnings, stop reasons, Redis failures, the cache), so that the submodules share its
/// fields without widening their visibility.
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
