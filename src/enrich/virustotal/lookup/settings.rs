//! What the lookups are told: every setting `config` validated for them.

use std::path::PathBuf;
use std::time::Duration;

use super::super::limiter::Rate;
use crate::enrich::redis::link::TlsFiles;
use crate::platform_env::ApiKey;

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
