//! Single flight across jobs: before a job asks VirusTotal about an indicator it claims the
//! indicator in Redis, so that jobs sharing a budget ask once and the others wait for the verdict
//! to land in the shared cache.
//!
//! A claim is a lease: `SET key token NX PX lease`, renewed by its holder while it works (a
//! compare-and-pexpire script, so a holder whose lease lapsed and was taken over cannot extend
//! the new holder's) and deleted by compare-and-delete when done. A job that dies stops renewing
//! and its claim expires, so another job takes over after at most one lease.
//!
//! An upload or URL submission is part of the claim: its analysis id is kept next to the claim,
//! so a job taking over polls the running analysis instead of uploading the file again.
//!
//! Without a shared Redis ([`Claims::Local`]) every claim is granted at once: the indicators of
//! one process are unique already, so single flight then holds within this process only.
//!
//! Redis keys (same hash tag as the limiter's, so one budget's keys share a Redis Cluster slot):
//! - `anteater:vt:{<budget>}:claim:<kind>:<sha256 of the indicator>` — holder's random token;
//! - `anteater:vt:{<budget>}:analysis:<kind>:<sha256 of the indicator>` — running analysis id.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::verdict::IndicatorKind;
use crate::enrich::redis::link::{unique_token, Link, LinkError};

/// Bound on connecting and on every command.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Extends the lease only while the caller still holds it.
const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

/// Deletes the claim only while the caller still holds it.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// Claims failed to answer (Redis gone): the caller stops sharing claims and warns.
#[derive(Debug, thiserror::Error)]
#[error("Redis at {url}: single-flight claim failed: {message}")]
pub struct ClaimError {
    pub url: String,
    pub message: String,
}

/// A won claim: release it (or let it expire) when done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token(String);

/// Claims on indicators, shared through Redis or (fallback) trivially granted in-process.
pub enum Claims {
    Shared(Box<SharedClaims>),
    Local,
}

pub struct SharedClaims {
    link: Link,
    prefix: String,
    lease: Duration,
    renew: redis::Script,
    release: redis::Script,
}

impl Claims {
    /// Connects to Redis (bounded by 2 s). `budget_key` is the limiter's key-safe budget id.
    #[cfg(test)]
    pub async fn shared(
        redis_url: &str,
        tls: &crate::enrich::redis::link::TlsFiles,
        budget_key: &str,
        lease: Duration,
    ) -> Result<Claims, crate::enrich::redis::link::ConnError> {
        let link = Link::open(redis_url, tls, TIMEOUT).await?;
        Ok(Claims::on_link(&link, budget_key, lease))
    }

    /// Claims on a connection already open (shared with the limiter and the cache), their
    /// commands bounded by 2 s.
    pub(crate) fn on_link(link: &Link, budget_key: &str, lease: Duration) -> Claims {
        Claims::Shared(Box::new(SharedClaims {
            link: link.with_timeout(TIMEOUT),
            prefix: format!("anteater:vt:{{{budget_key}}}"),
            lease,
            renew: redis::Script::new(RENEW),
            release: redis::Script::new(RELEASE),
        }))
    }

    #[cfg(test)]
    pub fn is_shared(&self) -> bool {
        matches!(self, Claims::Shared(_))
    }

    /// How long a claim lives without renewal (renew at a third of it).
    pub fn lease(&self) -> Duration {
        match self {
            Claims::Shared(shared) => shared.lease,
            Claims::Local => Duration::from_secs(3600),
        }
    }

    /// Tries to claim `value`: `Some(token)` when this job now holds it, `None` when another does.
    pub async fn try_claim(&self, kind: IndicatorKind, value: &str) -> Result<Option<Token>, ClaimError> {
        let Claims::Shared(shared) = self else {
            return Ok(Some(Token(String::new())));
        };
        let key = shared.key("claim", kind, value);
        let token = unique_token();
        let lease = millis(shared.lease);
        let won: Option<String> = shared
            .run(|mut conn| {
                let (key, token) = (key.clone(), token.clone());
                async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(token)
                        .arg("NX")
                        .arg("PX")
                        .arg(lease)
                        .query_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(won.map(|_| Token(token)))
    }

    /// Whether some job holds a claim on `value`.
    pub async fn is_held(&self, kind: IndicatorKind, value: &str) -> Result<bool, ClaimError> {
        let Claims::Shared(shared) = self else {
            return Ok(false);
        };
        let key = shared.key("claim", kind, value);
        shared
            .run(|mut conn| {
                let key = key.clone();
                async move { redis::cmd("EXISTS").arg(key).query_async::<bool>(&mut conn).await }
            })
            .await
    }

    /// Extends the lease; `false` when the claim was lost (it lapsed and another job took it).
    pub async fn renew(&self, kind: IndicatorKind, value: &str, token: &Token) -> Result<bool, ClaimError> {
        let Claims::Shared(shared) = self else {
            return Ok(true);
        };
        let key = shared.key("claim", kind, value);
        let lease = millis(shared.lease);
        shared
            .run(|mut conn| {
                let mut invocation = shared.renew.prepare_invoke();
                invocation.key(&key).arg(&token.0).arg(lease);
                async move { invocation.invoke_async::<i64>(&mut conn).await }
            })
            .await
            .map(|renewed| renewed == 1)
    }

    /// Gives the claim up (after the verdict, if any, is in the cache).
    pub async fn release(&self, kind: IndicatorKind, value: &str, token: &Token) -> Result<(), ClaimError> {
        let Claims::Shared(shared) = self else {
            return Ok(());
        };
        let key = shared.key("claim", kind, value);
        shared
            .run(|mut conn| {
                let mut invocation = shared.release.prepare_invoke();
                invocation.key(&key).arg(&token.0);
                async move { invocation.invoke_async::<i64>(&mut conn).await }
            })
            .await
            .map(|_| ())
    }

    /// Records the analysis started for `value`, for a job that takes the claim over.
    pub async fn put_analysis(
        &self,
        kind: IndicatorKind,
        value: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<(), ClaimError> {
        let Claims::Shared(shared) = self else {
            return Ok(());
        };
        let key = shared.key("analysis", kind, value);
        let ttl = millis(ttl);
        shared
            .run(|mut conn| {
                let key = key.clone();
                async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(id)
                        .arg("PX")
                        .arg(ttl)
                        .query_async::<()>(&mut conn)
                        .await
                }
            })
            .await
    }

    /// The analysis a previous holder started for `value`, if it is still recorded.
    pub async fn analysis(&self, kind: IndicatorKind, value: &str) -> Result<Option<String>, ClaimError> {
        let Claims::Shared(shared) = self else {
            return Ok(None);
        };
        let key = shared.key("analysis", kind, value);
        shared
            .run(|mut conn| {
                let key = key.clone();
                async move {
                    redis::cmd("GET")
                        .arg(key)
                        .query_async::<Option<String>>(&mut conn)
                        .await
                }
            })
            .await
    }
}

impl SharedClaims {
    /// `<prefix>:<what>:<kind>:<sha256 hex of value>`: the indicator itself never reaches Redis.
    fn key(&self, what: &str, kind: IndicatorKind, value: &str) -> String {
        format!(
            "{}:{what}:{}:{:x}",
            self.prefix,
            kind.as_str(),
            Sha256::digest(value.as_bytes())
        )
    }

    /// One attempt: the caller's circuit breaker, not a retry loop here, decides what a failure
    /// means (a frozen Redis would cost a timeout per retry).
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, ClaimError>
    where
        F: FnOnce(crate::enrich::redis::link::RedisConn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        self.link.run(op).await.map_err(|err: LinkError| ClaimError {
            url: self.link.redacted_url().to_string(),
            message: err.message().to_string(),
        })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::redis::link::TlsFiles;
    use crate::test_support::redis_server::RedisServer;

    #[tokio::test]
    async fn local_claims_are_always_granted() {
        let claims = Claims::Local;
        assert!(!claims.is_shared());
        let token = claims.try_claim(IndicatorKind::Ip, "203.0.113.7").await.unwrap();
        assert!(token.is_some());
        assert!(!claims.is_held(IndicatorKind::Ip, "203.0.113.7").await.unwrap());
        assert_eq!(claims.analysis(IndicatorKind::File, "ab").await.unwrap(), None);
    }

    /// Claims against a real Redis: exclusive, renewed only by their holder, released only by it,
    /// and free again once a lease lapses.
    #[tokio::test(flavor = "multi_thread")]
    async fn claims_are_exclusive_leases() {
        let redis = RedisServer::start();
        let lease = Duration::from_millis(400);
        let (url, tls) = (redis.url(), TlsFiles::default());
        let open = || Claims::shared(&url, &tls, "budget", lease);
        let (job_a, job_b) = (open().await.unwrap(), open().await.unwrap());
        assert!(job_a.is_shared());
        let kind = IndicatorKind::File;
        let token = job_a.try_claim(kind, "ab12").await.unwrap().expect("free");
        assert_eq!(job_b.try_claim(kind, "ab12").await.unwrap(), None);
        assert!(job_b.is_held(kind, "ab12").await.unwrap());
        // Another indicator is another claim.
        assert!(job_b.try_claim(kind, "cd34").await.unwrap().is_some());
        // Renewing keeps it past its first lease.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(job_a.renew(kind, "ab12", &token).await.unwrap());
        }
        assert_eq!(job_b.try_claim(kind, "ab12").await.unwrap(), None);
        // A holder that stops renewing loses it; the new holder's claim is safe from the old one.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!job_b.is_held(kind, "ab12").await.unwrap());
        let taken = job_b.try_claim(kind, "ab12").await.unwrap().expect("lapsed");
        assert!(!job_a.renew(kind, "ab12", &token).await.unwrap());
        job_a.release(kind, "ab12", &token).await.unwrap();
        assert!(job_b.is_held(kind, "ab12").await.unwrap());
        job_b.release(kind, "ab12", &taken).await.unwrap();
        assert!(!job_b.is_held(kind, "ab12").await.unwrap());
        // The analysis a holder started is there for whoever takes over; nothing names the value.
        job_a
            .put_analysis(kind, "ab12", "NDRk:1700000000", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            job_b.analysis(kind, "ab12").await.unwrap().as_deref(),
            Some("NDRk:1700000000")
        );
        let keys = redis.cli(None, &["--scan", "--pattern", "anteater:vt:*"]);
        assert!(
            keys.lines().all(|k| k.starts_with("anteater:vt:{budget}:")),
            "{keys}"
        );
        assert!(!keys.contains("ab12"), "{keys}");
    }
}
