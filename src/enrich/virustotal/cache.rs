//! The verdict cache: what VirusTotal said about an indicator, kept for a while so that jobs do not
//! spend the shared quota asking again. Shared through Redis, or in memory when Redis is
//! unreachable.
//!
//! Redis layout: `anteater:vt:verdict:<kind>:<sha256 hex of the indicator>` → JSON of [`Verdict`],
//! with an expiry of the TTL. The indicator itself never appears in keys or values: URLs may carry
//! tokens. A value that does not parse (corrupt, or written by another version) is a miss.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::verdict::{IndicatorKind, Verdict};
use crate::enrich::redis::cache::ttl_secs;
pub use crate::enrich::redis::cache::{CacheError, SharedCache};
use crate::enrich::redis::link::Link;

/// Bound on connecting in [`VerdictCache::shared`].
#[cfg(test)]
const TIMEOUT: Duration = Duration::from_secs(2);
/// The local cache drops expired entries once it holds this many.
const LOCAL_PRUNE_AT: usize = 4096;

/// Verdicts by indicator, shared through Redis or local to this process.
pub enum VerdictCache {
    Shared(Box<SharedCache>),
    Local(LocalCache),
}

impl VerdictCache {
    /// Connects to Redis (bounded by a 2 s timeout). Entries live `ttl`, rounded up to whole
    /// seconds and at least 1 s.
    #[cfg(test)]
    pub async fn shared(
        redis_url: &str,
        tls: &crate::enrich::redis::link::TlsFiles,
        ttl: Duration,
    ) -> Result<VerdictCache, CacheError> {
        let link = Link::open(redis_url, tls, TIMEOUT)
            .await
            .map_err(|e| CacheError::Connect {
                url: e.url,
                message: e.message,
                problem: e.problem,
            })?;
        Ok(VerdictCache::on_link(&link, ttl))
    }

    /// The cache on a connection already open (see [`SharedCache::on_link`]).
    pub(crate) fn on_link(link: &Link, ttl: Duration) -> VerdictCache {
        VerdictCache::Shared(Box::new(SharedCache::on_link(link, ttl)))
    }

    /// An in-memory cache for this process, for when Redis is unreachable.
    pub fn local(ttl: Duration) -> VerdictCache {
        VerdictCache::Local(LocalCache {
            ttl: Duration::from_secs(ttl_secs(ttl)),
            entries: Mutex::new(HashMap::new()),
        })
    }

    #[cfg(test)]
    pub fn is_shared(&self) -> bool {
        matches!(self, VerdictCache::Shared(_))
    }

    /// The cached verdict for `value`, if any and not expired.
    pub async fn get(&self, kind: IndicatorKind, value: &str) -> Result<Option<Verdict>, CacheError> {
        let key = key(kind, value);
        match self {
            // A value that does not parse (corrupt, another version's) is a miss.
            VerdictCache::Shared(shared) => Ok(shared
                .get_bytes(&key)
                .await?
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())),
            VerdictCache::Local(local) => Ok(local.get(&key)),
        }
    }

    /// Remembers `verdict` for `value` for the cache's TTL.
    pub async fn put(&self, kind: IndicatorKind, value: &str, verdict: &Verdict) -> Result<(), CacheError> {
        let key = key(kind, value);
        match self {
            VerdictCache::Shared(shared) => {
                let json = serde_json::to_string(verdict).map_err(|e| CacheError::Encode(e.to_string()))?;
                shared.put(&key, &json).await
            }
            VerdictCache::Local(local) => {
                local.put(key, verdict.clone());
                Ok(())
            }
        }
    }
}

/// `anteater:vt:verdict:<kind>:<sha256 hex of value>`.
pub fn key(kind: IndicatorKind, value: &str) -> String {
    format!(
        "anteater:vt:verdict:{}:{:x}",
        kind.as_str(),
        Sha256::digest(value.as_bytes())
    )
}

/// The cache in this process's memory.
pub struct LocalCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Verdict)>>,
}

impl LocalCache {
    fn get(&self, key: &str) -> Option<Verdict> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match entries.get(key) {
            Some((expires, verdict)) if *expires > Instant::now() => Some(verdict.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn put(&self, key: String, verdict: Verdict) {
        let now = Instant::now();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= LOCAL_PRUNE_AT {
            entries.retain(|_, (expires, _)| *expires > now);
        }
        entries.insert(key, (now + self.ttl, verdict));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict() -> Verdict {
        Verdict {
            malicious: 3,
            suspicious: 1,
            harmless: 60,
            undetected: 10,
            permalink: "https://www.virustotal.com/gui/ip-address/203.0.113.7".into(),
            analysis_date: Some(1_700_000_000),
        }
    }

    #[test]
    fn keys_hold_a_hash_never_the_value() {
        let url = "https://example.com/download?token=s3cr3t";
        let key = key(IndicatorKind::Url, url);
        assert!(key.starts_with("anteater:vt:verdict:url:"), "{key}");
        assert_eq!(key.len(), "anteater:vt:verdict:url:".len() + 64);
        assert!(!key.contains("s3cr3t") && !key.contains("example"));
        assert_ne!(key, super::key(IndicatorKind::Ip, url));
    }

    #[test]
    fn ttl_is_whole_seconds_at_least_one() {
        assert_eq!(ttl_secs(Duration::ZERO), 1);
        assert_eq!(ttl_secs(Duration::from_millis(1500)), 2);
        assert_eq!(ttl_secs(Duration::from_secs(3600)), 3600);
    }

    #[tokio::test]
    async fn local_cache_round_trips_and_expires() {
        let cache = VerdictCache::local(Duration::from_secs(1));
        assert!(!cache.is_shared());
        assert_eq!(cache.get(IndicatorKind::Ip, "203.0.113.7").await.unwrap(), None);
        cache
            .put(IndicatorKind::Ip, "203.0.113.7", &verdict())
            .await
            .unwrap();
        assert_eq!(
            cache.get(IndicatorKind::Ip, "203.0.113.7").await.unwrap(),
            Some(verdict())
        );
        assert_eq!(cache.get(IndicatorKind::Url, "203.0.113.7").await.unwrap(), None);
        if let VerdictCache::Local(local) = &cache {
            // Age the entry instead of sleeping.
            let mut entries = local.entries.lock().unwrap();
            for (expires, _) in entries.values_mut() {
                *expires = Instant::now();
            }
        }
        assert_eq!(cache.get(IndicatorKind::Ip, "203.0.113.7").await.unwrap(), None);
    }
}
