//! `--validate`'s plan: the settings it runs with (timeouts, deadline, cache) and where each
//! provider is asked (`ANTEATER_VALIDATE_URL_*` overrides). Separate from the driver because it is
//! built while the configuration is read, long before any request, and its checks are all about
//! what the user typed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

use super::{Provider, PROVIDERS};
use crate::enrich::redis::link::TlsFiles;
use crate::platform_env::ApiKey;
use crate::redact;

/// How `--validate` runs, from the command line and the environment.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Per provider id, the scheme and host (and port) that replace the documented ones:
    /// `ANTEATER_VALIDATE_URL_<PROVIDER>`.
    pub overrides: HashMap<&'static str, reqwest::Url>,
    pub cache_ttl: Duration,
    pub timeout: Duration,
    pub deadline: Duration,
    pub redis_url: String,
    /// The Redis URL was chosen by the user (flag or `REDIS_URL`): failing to reach it is worth a
    /// warning, while the default local address missing is the common case.
    pub redis_explicit: bool,
    pub redis_tls: TlsFiles,
    /// `--vt-cache-file` and the VirusTotal key that authenticates it: answers are kept there
    /// too (a file without the key would let a pull request forge `revoked`).
    pub cache_file: Option<(PathBuf, ApiKey)>,
}

impl Plan {
    /// Reads the `ANTEATER_VALIDATE_URL_*` overrides from `vars`; an override that is not an
    /// http(s) origin, or that names no provider, is a configuration error.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        vars: impl IntoIterator<Item = (String, String)>,
        cache_ttl: Duration,
        timeout: Duration,
        deadline: Duration,
        redis_url: String,
        redis_explicit: bool,
        redis_tls: TlsFiles,
    ) -> anyhow::Result<Plan> {
        if cache_ttl < Duration::from_secs(1) {
            bail!("--validate-cache-ttl must be at least 1s");
        }
        if timeout.is_zero() || deadline.is_zero() {
            bail!("--validate-timeout and --validate-deadline must be more than zero");
        }
        let mut overrides = HashMap::new();
        for (name, value) in vars {
            let Some(id) = name.strip_prefix(OVERRIDE_PREFIX) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let Some(provider) = PROVIDERS.iter().find(|p| p.id.eq_ignore_ascii_case(id)) else {
                let known: Vec<String> = PROVIDERS.iter().map(|p| p.id.to_ascii_uppercase()).collect();
                bail!("{name}: no provider `{id}` (known: {})", known.join(", "));
            };
            overrides.insert(provider.id, parse_origin(&name, &value)?);
        }
        Ok(Plan {
            overrides,
            cache_ttl,
            timeout,
            deadline,
            redis_url,
            redis_explicit,
            redis_tls,
            cache_file: None,
        })
    }

    /// The URL a call goes to: the provider's documented base, or its override's scheme and
    /// host with the documented path kept, then the call's path.
    pub(super) fn url(&self, provider: &Provider, path: &str) -> anyhow::Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(provider.base).context("a provider's documented base")?;
        if let Some(origin) = self.overrides.get(provider.id) {
            url.set_scheme(origin.scheme())
                .ok()
                .and_then(|()| url.set_host(origin.host_str()).ok())
                .and_then(|()| url.set_port(origin.port()).ok())
                .context("cannot apply the override")?;
        }
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path("");
        Ok(reqwest::Url::parse(&format!(
            "{}{}",
            url.as_str().trim_end_matches('/'),
            joined
        ))?)
    }
}

const OVERRIDE_PREFIX: &str = "ANTEATER_VALIDATE_URL_";

/// `value` as a bare http(s) origin (a path, query or credentials are refused: only the scheme and
/// host are replaced, and a credential in the URL would go to every request).
fn parse_origin(name: &str, value: &str) -> anyhow::Result<reqwest::Url> {
    let shown = redact::escape(value);
    let url = reqwest::Url::parse(value).map_err(|e| anyhow::anyhow!("{name}=`{shown}`: not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("{name}=`{shown}`: give an http(s) scheme and host, like https://proxy.example:8443");
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!("{name}: credentials in the URL are not allowed");
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        bail!("{name}=`{shown}`: give the scheme and host only; the provider's path is kept");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::validate::providers;

    fn plan(vars: &[(&str, &str)]) -> anyhow::Result<Plan> {
        Plan::new(
            vars.iter().map(|(n, v)| (n.to_string(), v.to_string())),
            Duration::from_secs(3600),
            Duration::from_secs(10),
            Duration::from_secs(60),
            "redis://127.0.0.1:9".into(),
            false,
            TlsFiles::default(),
        )
    }

    #[test]
    fn an_override_replaces_scheme_and_host_and_keeps_the_path() {
        let plan = plan(&[("ANTEATER_VALIDATE_URL_GITHUB", "http://127.0.0.1:8080")]).unwrap();
        let github = providers::for_rule("github-token").unwrap();
        assert_eq!(
            plan.url(github, "/user").unwrap().as_str(),
            "http://127.0.0.1:8080/user"
        );
        let gitlab = providers::for_rule("gitlab-pat").unwrap();
        assert_eq!(
            plan.url(gitlab, "/api/v4/personal_access_tokens/self")
                .unwrap()
                .as_str(),
            "https://gitlab.com/api/v4/personal_access_tokens/self"
        );
        let aws = providers::for_rule("aws-secret-access-key").unwrap();
        assert_eq!(plan.url(aws, "/").unwrap().as_str(), "https://sts.amazonaws.com/");
    }

    #[test]
    fn overrides_are_bare_origins_of_known_providers() {
        assert!(plan(&[("ANTEATER_VALIDATE_URL_GITHUB", "https://proxy.test/")]).is_ok());
        assert!(plan(&[("ANTEATER_VALIDATE_URL_GITHUB", "")]).is_ok());
        for (name, value) in [
            ("ANTEATER_VALIDATE_URL_GITHUB", "https://proxy.test/v3"),
            ("ANTEATER_VALIDATE_URL_GITHUB", "https://proxy.test/?a=b"),
            ("ANTEATER_VALIDATE_URL_GITHUB", "file:///etc"),
            ("ANTEATER_VALIDATE_URL_GITHUB", "https://u:p@proxy.test"),
            ("ANTEATER_VALIDATE_URL_PASTEBIN", "https://proxy.test"),
        ] {
            assert!(plan(&[(name, value)]).is_err(), "{name}={value}");
        }
    }
}
