//! `--validate`'s cache of settled answers: in the run's Redis (the connection VirusTotal uses
//! too, through the same string cache as its verdicts), keyed by an
//! HMAC of the credential under a random key kept in that Redis, and in `--vt-cache-file`.
//! Separate from the driver because what may be kept, and under which key, is a question of its
//! own: a credential must never be readable from the cache, and `unknown` is never kept.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::Mutex;

use super::{Answer, Credential, Job, Plan, Provider};
use crate::enrich::redis::cache::SharedCache;
use crate::enrich::redis::RunRedis;
use crate::enrich::virustotal::cache_file::CacheFile;
use crate::finding::{hex, ValidationState};

/// Where answers are kept for this run: the shared Redis (with its MAC key) when reachable, and
/// the cache file when one is given.
pub(super) struct Caches {
    redis: Option<SharedCache>,
    mac_key: Option<Vec<u8>>,
    file: Option<Mutex<CacheFile>>,
    ttl: std::time::Duration,
}

/// One job's keys in each cache.
pub(super) struct Keys {
    redis: Option<String>,
    file: Option<String>,
}

impl Caches {
    /// Takes the run's Redis connection (opening it if no enricher did yet; a warning when the
    /// user chose the server and it is unreachable) and loads the cache file.
    pub(super) async fn open(
        plan: &Plan,
        redis: &RunRedis,
        warn: &mut dyn FnMut(String),
    ) -> anyhow::Result<Caches> {
        let redis = match redis.link(&plan.redis_url, &plan.redis_tls).await {
            Ok(link) => Some(SharedCache::on_link(&link, plan.cache_ttl)),
            Err(err) => {
                if plan.redis_explicit {
                    warn(format!(
                        "--validate: no shared cache: Redis at {}: {}",
                        err.url, err.message
                    ));
                }
                None
            }
        };
        let mac_key = match &redis {
            Some(cache) => Some(mac_key(cache).await?),
            None => None,
        };
        let file = plan.cache_file.as_ref().map(|(path, key)| {
            let (file, warning) = CacheFile::load(path, key, plan.cache_ttl);
            if let Some(warning) = warning {
                warn(warning);
            }
            Mutex::new(file)
        });
        Ok(Caches {
            redis,
            mac_key,
            file,
            ttl: plan.cache_ttl,
        })
    }

    pub(super) async fn keys(&self, job: &Job) -> Keys {
        let redis = self
            .mac_key
            .as_ref()
            .map(|mac_key| cache_key(mac_key, job.provider, &job.credential));
        let file = match &self.file {
            Some(file) => Some(file.lock().await.answer_key(
                &format!("validate:{}", job.provider.id),
                &credential_bytes(&job.credential),
            )),
            None => None,
        };
        Keys { redis, file }
    }

    /// A settled answer kept in the file, else in the Redis.
    pub(super) async fn lookup(&self, keys: &Keys) -> Option<Answer> {
        if let (Some(file), Some(file_key)) = (&self.file, &keys.file) {
            let kept = file.lock().await.get_answer(file_key).map(str::to_string);
            if let Some(answer) = kept.and_then(|json| cached_answer(json.as_bytes())) {
                return Some(answer);
            }
        }
        if let (Some(cache), Some(key)) = (&self.redis, &keys.redis) {
            if let Some(answer) = cache
                .get_bytes(key)
                .await
                .ok()
                .flatten()
                .and_then(|b| cached_answer(&b))
            {
                return Some(answer);
            }
        }
        None
    }

    /// Keeps a settled answer in both caches; `unknown` is not kept.
    pub(super) async fn store(&self, keys: Keys, answer: &Answer) {
        let settled = match answer {
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
            if let (Some(cache), Some(key)) = (&self.redis, &keys.redis) {
                // A cache that fails costs a request next time, never a wrong answer.
                let _ = cache.put(key, &json).await;
            }
            if let (Some(file), Some(file_key)) = (&self.file, keys.file) {
                file.lock().await.put_answer(file_key, json, self.ttl);
            }
        }
    }

    /// Writes the cache file back (a warning when that fails).
    pub(super) fn save(self, warn: &mut dyn FnMut(String)) {
        if let Some(file) = self.file {
            if let Err(err) = file.into_inner().save() {
                warn(format!("--validate: {err:#}"));
            }
        }
    }
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
    use crate::enrich::validate::providers;
    use crate::finding::Secret;

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
}
