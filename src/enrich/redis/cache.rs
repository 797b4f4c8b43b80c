//! A cache of strings in the run's Redis, each kept for a TTL: VirusTotal's verdicts and
//! `--validate`'s answers are both kept through it. Separate from what is kept (each enricher
//! chooses its keys and encodes its values) because how a cache command is bounded and retried
//! is one policy for every enricher: a failing cache costs a request next time, never a wrong
//! answer, and a frozen server never costs the whole timeout more than once per command.

use std::time::Duration;

use super::link::{Link, LinkError};
use super::retry::{retry, Retry};

/// Bound on every cache command.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Three attempts per cache call; the pause between them starts at 50 ms and doubles.
const RETRY: Retry = Retry::new(3, Duration::from_millis(50));

/// The cache failed; the caller treats this as a miss (and warns).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Connecting failed (Redis unreachable or the URL invalid): only the unit tests connect
    /// the cache themselves; a run hands it the connection it opened.
    #[cfg(test)]
    #[error("Redis at {url}: {message}")]
    Connect {
        url: String,
        message: String,
        problem: super::link::ConnProblem,
    },
    /// Redis kept failing on a cache read or write.
    #[error("Redis at {url}: cache gave up after {attempts} attempts: {message}")]
    Unavailable {
        url: String,
        attempts: u32,
        message: String,
    },
    /// The value could not be encoded.
    #[error("cache: cannot encode the value: {0}")]
    Encode(String),
}

pub(crate) fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_millis().div_ceil(1000).clamp(1, u128::from(u64::MAX)) as u64
}

/// A cache of strings in Redis, each kept for the TTL.
pub struct SharedCache {
    link: Link,
    ttl_secs: u64,
}

impl SharedCache {
    /// The cache on the run's connection (shared with the limiter, the claims and the other
    /// enrichers), its commands bounded by 2 s. Entries live `ttl`, rounded up to whole seconds
    /// and at least 1 s.
    pub(crate) fn on_link(link: &Link, ttl: Duration) -> SharedCache {
        SharedCache {
            link: link.with_timeout(TIMEOUT),
            ttl_secs: ttl_secs(ttl),
        }
    }

    /// The raw value under `key`; something that is not a string there is a miss.
    pub async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let reply = self
            .retrying(|| {
                self.link.run(|mut conn| async move {
                    redis::cmd("GET")
                        .arg(key)
                        .query_async::<Option<Vec<u8>>>(&mut conn)
                        .await
                })
            })
            .await;
        match reply {
            Ok(bytes) => Ok(bytes),
            // Something else (not a string) under our key: a foreign value, i.e. a miss.
            Err(Failure::WrongType(_)) => Ok(None),
            Err(Failure::Gave(message, attempts)) => Err(self.unavailable(message, attempts)),
        }
    }

    /// Stores `json` under `key` for the cache's TTL.
    pub async fn put(&self, key: &str, json: &str) -> Result<(), CacheError> {
        let mut set = redis::cmd("SET");
        set.arg(key).arg(json).arg("EX").arg(self.ttl_secs);
        self.set(&set).await
    }

    /// Stores `value` under `key` without expiry, unless something is there already.
    pub async fn put_new(&self, key: &str, value: &[u8]) -> Result<(), CacheError> {
        let mut set = redis::cmd("SET");
        set.arg(key).arg(value).arg("NX");
        self.set(&set).await
    }

    /// Runs a `SET`, retried as every command is.
    async fn set(&self, set: &redis::Cmd) -> Result<(), CacheError> {
        self.retrying(|| {
            self.link
                .run(|mut conn| async move { set.query_async::<()>(&mut conn).await })
        })
        .await
        .map_err(|failure| match failure {
            Failure::WrongType(attempts) => self.unavailable("unexpected WRONGTYPE on SET".into(), attempts),
            Failure::Gave(message, attempts) => self.unavailable(message, attempts),
        })
    }

    /// Runs `op` with bounded retries. WRONGTYPE stops at once (a foreign value, which retrying
    /// cannot change), and so does a failure that took half the timeout or more: a frozen server
    /// would cost the whole timeout again on every attempt.
    async fn retrying<T, F, Fut>(&self, op: F) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, LinkError>>,
    {
        let mut wrong_type = false;
        retry(RETRY, op, |err, took| {
            wrong_type = matches!(err, LinkError::Redis(e, _) if e.code() == Some("WRONGTYPE"));
            !wrong_type && !err.is_timeout() && took < TIMEOUT / 2
        })
        .await
        .map_err(|gave_up| {
            if wrong_type {
                Failure::WrongType(gave_up.attempts)
            } else {
                Failure::Gave(gave_up.error.message().to_string(), gave_up.attempts)
            }
        })
    }

    fn unavailable(&self, message: String, attempts: u32) -> CacheError {
        CacheError::Unavailable {
            url: self.link.redacted_url().to_string(),
            attempts,
            message,
        }
    }
}

enum Failure {
    /// WRONGTYPE at this attempt.
    WrongType(u32),
    /// Gave up with this message after this many attempts (fewer than [`RETRY`] allows on a
    /// frozen server).
    Gave(String, u32),
}
