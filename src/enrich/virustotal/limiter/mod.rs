//! The global rate limiter for VirusTotal lookups.
//!
//! Every CI job that uses the same API key shares one budget: a sliding-window log kept in Redis
//! and updated by one atomic Lua script that reads Redis's own clock, so concurrent jobs on
//! runners with skewed clocks together never exceed `requests` per window, nor the optional daily
//! quota (VirusTotal resets it at 00:00 UTC). When Redis is unreachable the caller falls back to
//! the in-process [`RateLimiter::local`], which keeps the same promise for this process only.
//!
//! Redis keys (the budget id is a hash of the API key, never the key; the braces make it a hash
//! tag, so all keys of one budget live in the same slot of a Redis Cluster):
//! - `anteater:vt:{<budget>}:window` — ZSET of grants, score = Redis time in µs, member
//!   `<µs>-<random>`; expires one window after the last grant;
//! - `anteater:vt:{<budget>}:hold` — Redis time in µs before which nothing is granted (set after
//!   a 429 by [`RateLimiter::penalize`]);
//! - `anteater:vt:{<budget>}:day:<days since 1970-01-01, UTC>` — granted requests that day,
//!   expires after two days.
//!
//! Submodules: `rate` (the `4/1m` rates and their margin), `shared` (the Redis script and
//! its retries), `local` (the in-process stand-in).

mod local;
mod rate;
mod shared;

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::enrich::redis::link::{ConnError, ConnProblem, Link};
pub use local::LocalLimiter;
pub use rate::Rate;
pub use shared::SharedLimiter;

/// Bound on connecting to Redis (and loading the script) in [`RateLimiter::shared`], and on each
/// run of the script. The longest of the limiter's, the cache's and the claims' bounds, so the
/// one connection they share is opened with it.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Added to every wait so that the retry lands after the slot has opened, not just before.
#[cfg(test)]
const WAIT_SLACK: Duration = Duration::from_millis(5);

/// What a limiter enforces for one VirusTotal key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterConfig {
    pub rate: Rate,
    /// Requests per UTC day, when the key has such a quota (public keys: 500).
    pub daily_quota: Option<u32>,
    /// Hex hash of the API key, computed by the caller; never the key. Jobs with the same id share
    /// one budget. Anything but `[0-9A-Za-z_.-]{1,128}` is hashed again before it goes into keys.
    pub budget_id: String,
}

/// The answer of [`RateLimiter::acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg(test)]
pub enum Permit {
    /// One request may be sent now.
    Granted,
    /// The daily quota of the current UTC day is used up; nothing was granted.
    DailyQuotaSpent,
}

/// The limiter could not answer; nothing was granted.
#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    /// Setting up the shared limiter failed (Redis unreachable, invalid URL, script not loadable).
    #[error("Redis at {url}: {message}")]
    Connect {
        url: String,
        message: String,
        problem: ConnProblem,
    },
    /// Redis kept failing while a permit was asked for (or a penalty recorded).
    #[error("Redis at {url}: rate limiter gave up after {attempts} attempts: {message}")]
    Unavailable {
        url: String,
        attempts: u32,
        message: String,
    },
}

impl LimiterError {
    /// Connecting to Redis failed.
    pub(crate) fn connect(err: ConnError) -> LimiterError {
        LimiterError::Connect {
            url: err.url,
            message: err.message,
            problem: err.problem,
        }
    }
}

/// A VirusTotal rate limiter: shared by all jobs through Redis, or local to this process.
pub enum RateLimiter {
    Shared(Box<SharedLimiter>),
    Local(LocalLimiter),
}

impl RateLimiter {
    /// Connects to Redis (bounded by a 3 s timeout) and loads the limiter script. Errs when Redis
    /// is unreachable, so that the caller can fall back to [`RateLimiter::local`] with a warning.
    #[cfg(test)]
    pub async fn shared(
        redis_url: &str,
        tls: &crate::enrich::redis::link::TlsFiles,
        config: LimiterConfig,
    ) -> Result<RateLimiter, LimiterError> {
        let link = Link::open(redis_url, tls, CONNECT_TIMEOUT)
            .await
            .map_err(LimiterError::connect)?;
        RateLimiter::on_link(&link, config).await
    }

    /// The limiter on a connection already open (shared with the cache and the claims), its
    /// commands bounded by 3 s; loads the limiter script.
    pub(crate) async fn on_link(link: &Link, config: LimiterConfig) -> Result<RateLimiter, LimiterError> {
        let shared = SharedLimiter::load(link.with_timeout(CONNECT_TIMEOUT), config).await?;
        Ok(RateLimiter::Shared(Box::new(shared)))
    }

    /// The in-process fallback: the same sliding window, margin and daily quota, for this process.
    pub fn local(config: LimiterConfig) -> RateLimiter {
        RateLimiter::Local(LocalLimiter::new(config))
    }

    #[cfg(test)]
    pub fn is_shared(&self) -> bool {
        matches!(self, RateLimiter::Shared(_))
    }

    #[cfg(test)]
    pub fn rate(&self) -> Rate {
        self.config().rate
    }

    #[cfg(test)]
    fn config(&self) -> &LimiterConfig {
        match self {
            RateLimiter::Shared(shared) => shared.config(),
            RateLimiter::Local(local) => local.config(),
        }
    }

    /// Waits until one request may be sent now, calling `on_wait(how_long)` before each sleep (for
    /// progress output). Returns [`Permit::DailyQuotaSpent`] without waiting when the daily quota
    /// of the current UTC day is used up. Never grants when Redis fails: after bounded retries the
    /// error comes back.
    #[cfg(test)]
    pub async fn acquire(&self, on_wait: &mut (dyn FnMut(Duration) + Send)) -> Result<Permit, LimiterError> {
        loop {
            let decision = match self {
                RateLimiter::Shared(shared) => shared.call(Mode::Acquire).await?,
                RateLimiter::Local(local) => local.try_acquire().await,
            };
            match decision {
                Decision::Granted => return Ok(Permit::Granted),
                Decision::QuotaSpent => return Ok(Permit::DailyQuotaSpent),
                Decision::Wait(wait) => {
                    on_wait(wait);
                    tokio::time::sleep(wait + WAIT_SLACK).await;
                }
            }
        }
    }

    /// One look at the budget without waiting: the caller sleeps on [`Decision::Wait`] itself
    /// (to report progress and keep its own deadline).
    pub async fn try_acquire(&self) -> Result<Decision, LimiterError> {
        match self {
            RateLimiter::Shared(shared) => shared.call(Mode::Acquire).await,
            RateLimiter::Local(local) => Ok(local.try_acquire().await),
        }
    }

    /// Requests granted so far in the current UTC day for this budget (all jobs when shared).
    pub async fn granted_today(&self) -> Result<u64, LimiterError> {
        match self {
            RateLimiter::Shared(shared) => shared.granted_today().await,
            RateLimiter::Local(local) => Ok(local.granted_today().await),
        }
    }

    /// After a 429 from VirusTotal: every job using this budget holds off until one (effective)
    /// window from now has passed; then up to `requests` requests may go at once, as if the
    /// window had been filled now.
    pub async fn penalize(&self) -> Result<(), LimiterError> {
        match self {
            RateLimiter::Shared(shared) => shared.call(Mode::Penalize).await.map(|_| ()),
            RateLimiter::Local(local) => {
                local.penalize().await;
                Ok(())
            }
        }
    }
}

/// `id` as it goes into key names: kept when it looks like a hash, else hashed (so that braces,
/// spaces or an over-long value cannot break the key layout).
pub(crate) fn key_safe(id: &str) -> String {
    let plain = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if plain {
        id.to_string()
    } else {
        format!("{:x}", Sha256::digest(id.as_bytes()))
    }
}

/// One look at the budget (see [`RateLimiter::try_acquire`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// One request may be sent now (and was counted).
    Granted,
    /// The daily quota is spent; nothing was granted.
    QuotaSpent,
    /// Nothing granted; the next slot opens in this long.
    Wait(Duration),
}

/// What one run of the shared script does.
#[derive(Clone, Copy)]
enum Mode {
    Acquire,
    Penalize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn rate(text: &str) -> Rate {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }
    #[test]
    fn budget_ids_that_do_not_look_like_hashes_are_hashed() {
        assert_eq!(key_safe("ab12"), "ab12");
        assert_eq!(key_safe("a{b}").len(), 64);
        assert_eq!(key_safe("").len(), 64);
    }

    fn local(text: &str, daily_quota: Option<u32>) -> RateLimiter {
        RateLimiter::local(LimiterConfig {
            rate: rate(text),
            daily_quota,
            budget_id: "test".into(),
        })
    }

    #[tokio::test]
    async fn local_limiter_keeps_the_window_with_its_margin() {
        let limiter = local("2/100ms", None);
        assert!(!limiter.is_shared());
        let started = Instant::now();
        let mut grants = Vec::new();
        let mut waits = 0;
        for _ in 0..6 {
            let permit = limiter.acquire(&mut |_| waits += 1).await.unwrap();
            assert_eq!(permit, Permit::Granted);
            grants.push(started.elapsed());
        }
        // 2 per 110 ms: grants at ~0, ~110, ~220 ms (pairs); no nominal 100 ms holds three.
        assert!(grants[5] >= Duration::from_millis(215), "{grants:?}");
        for three in grants.windows(3) {
            assert!(three[2] - three[0] >= Duration::from_millis(100), "{grants:?}");
        }
        assert!(waits >= 2);
    }

    #[tokio::test]
    async fn local_limiter_enforces_the_daily_quota_without_waiting() {
        let limiter = local("100/1s", Some(2));
        let mut waits = 0;
        for _ in 0..2 {
            assert_eq!(
                limiter.acquire(&mut |_| waits += 1).await.unwrap(),
                Permit::Granted
            );
        }
        let started = Instant::now();
        assert_eq!(
            limiter.acquire(&mut |_| waits += 1).await.unwrap(),
            Permit::DailyQuotaSpent
        );
        assert!(started.elapsed() < Duration::from_millis(50));
        assert_eq!(waits, 0);
    }

    #[tokio::test]
    async fn local_penalty_holds_off_one_window() {
        let limiter = local("5/200ms", None);
        limiter.acquire(&mut |_| {}).await.unwrap();
        limiter.penalize().await.unwrap();
        let started = Instant::now();
        let mut waited = Vec::new();
        limiter.acquire(&mut |d| waited.push(d)).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(215),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(waited.len(), 1);
    }
}
