//! The enrichers' plans from the command line and the environment: VirusTotal (`--ips`,
//! `--urls`, `--bincheck`) and `--validate`, each checked before any git work.

use std::time::Duration;

use anyhow::bail;

use crate::cli::Cli;
use crate::enrich::redis::link::TlsFiles;
use crate::enrich::virustotal::lookup;
use crate::enrich::VtPlan;
use crate::platform_env::PlatformEnv;

impl VtPlan {
    pub(super) fn from_cli(cli: &Cli, env: &PlatformEnv) -> anyhow::Result<Option<Self>> {
        if !(cli.ips || cli.urls || cli.bincheck) {
            return Ok(None);
        }
        let Some(api_key) = env.virustotal_key().cloned() else {
            bail!(
                "--ips, --urls and --bincheck need a VirusTotal API key in VT_API_KEY (or VT_KEY); \
                 in CI, pass it from the platform's secret store"
            );
        };
        if api_key.expose().trim().is_empty() || api_key.expose().chars().any(char::is_control) {
            bail!("VT_API_KEY is set but is not a usable key (empty or containing control characters)");
        }
        if cli.vt_cache_ttl < Duration::from_secs(1) {
            bail!("--vt-cache-ttl must be at least 1s");
        }
        if cli.vt_poll_interval.is_zero() || cli.vt_timeout.is_zero() || cli.vt_deadline.is_zero() {
            bail!("--vt-poll-interval, --vt-timeout and --vt-deadline must be more than zero");
        }
        if cli.vt_progress_every.is_zero() || cli.vt_claim_lease < Duration::from_millis(300) {
            bail!("--vt-progress-every must be more than zero and --vt-claim-lease at least 300ms");
        }
        let api_url = env
            .vt_api_url
            .clone()
            .unwrap_or_else(|| DEFAULT_VT_API_URL.to_string());
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            bail!("VT_API_URL `{api_url}` is not an http(s) URL");
        }
        let redis_url = cli
            .redis_url
            .clone()
            .or_else(|| env.redis_url.clone())
            .unwrap_or_else(|| DEFAULT_REDIS_URL.to_string());
        Ok(Some(Self {
            wanted: crate::inspect::indicators::Wanted {
                ips: cli.ips,
                urls: cli.urls,
                files: cli.bincheck,
            },
            fail_closed: cli.vt_fail_closed,
            settings: lookup::Settings {
                api_key,
                api_url,
                redis_url,
                redis_tls: TlsFiles {
                    ca: cli.redis_ca.clone(),
                    client_cert: cli.redis_client_cert.clone(),
                    client_key: cli.redis_client_key.clone(),
                },
                rate: cli.vt_rate,
                daily_quota: cli.vt_daily_quota,
                cache_ttl: cli.vt_cache_ttl,
                cache_file: cli.vt_cache_file.clone(),
                min_detections: cli.vt_min_detections,
                upload: !cli.no_upload,
                poll_interval: cli.vt_poll_interval,
                max_wait: cli.vt_max_wait,
                request_timeout: cli.vt_timeout,
                retry_delay: cli.vt_retry_delay,
                deadline: cli.vt_deadline,
                claim_lease: cli.vt_claim_lease,
                progress_every: cli.vt_progress_every,
            },
        }))
    }
}

/// --validate's plan: its timings, the provider overrides from the environment, and the Redis
/// VirusTotal uses for its cache.
pub(super) fn validate_plan(
    cli: &Cli,
    env: &PlatformEnv,
) -> anyhow::Result<Option<crate::enrich::validate::Plan>> {
    if !cli.validate {
        return Ok(None);
    }
    let explicit = cli.redis_url.clone().or_else(|| env.redis_url.clone());
    let vars = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)));
    crate::enrich::validate::Plan::new(
        vars,
        cli.validate_cache_ttl,
        cli.validate_timeout,
        cli.validate_deadline,
        explicit.clone().unwrap_or_else(|| DEFAULT_REDIS_URL.to_string()),
        explicit.is_some(),
        TlsFiles {
            ca: cli.redis_ca.clone(),
            client_cert: cli.redis_client_cert.clone(),
            client_key: cli.redis_client_key.clone(),
        },
    )
    .map(|mut plan| {
        // The file is authenticated with the VirusTotal key; without one it is not used here.
        plan.cache_file = cli.vt_cache_file.clone().zip(env.virustotal_key().cloned());
        Some(plan)
    })
}

const DEFAULT_VT_API_URL: &str = "https://www.virustotal.com/api/v3";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
