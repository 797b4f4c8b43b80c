//! The environment the CI platform itself provides (`GITHUB_*`, `VT_*`, `REDIS_URL`), read in
//! this one place with `envy`. anteater's own options come from `cli`.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// Variables set by the platform or by the user for services anteater talks to.
#[derive(Debug, Default, Deserialize)]
pub struct PlatformEnv {
    /// `true` inside a GitHub Actions job.
    #[serde(default)]
    pub github_actions: Option<String>,
    pub github_step_summary: Option<PathBuf>,
    pub github_output: Option<PathBuf>,
    pub github_event_name: Option<String>,
    pub github_event_path: Option<PathBuf>,
    pub github_base_ref: Option<String>,
    /// GitLab merge request pipelines: the commit the merge request is compared with.
    pub ci_merge_request_diff_base_sha: Option<String>,
    /// Jenkins multibranch pipelines building a change request (pull or merge request): its
    /// number, and the name of the branch it targets.
    pub change_id: Option<String>,
    pub change_target: Option<String>,
    /// VirusTotal API key (the original tool's users know it as `VT_KEY`).
    pub vt_api_key: Option<ApiKey>,
    pub vt_key: Option<ApiKey>,
    pub vt_api_url: Option<String>,
    pub redis_url: Option<String>,
}

impl PlatformEnv {
    /// Reads the process environment. Variables whose value is not UTF-8 are ignored rather than
    /// failing the whole run, and empty values count as unset.
    pub fn from_process() -> anyhow::Result<Self> {
        let vars = std::env::vars_os().filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let value = value.into_string().ok()?;
            (!value.is_empty()).then_some((name, value))
        });
        envy::from_iter(vars).map_err(|err| anyhow::anyhow!("reading the environment: {err}"))
    }

    pub fn in_github_actions(&self) -> bool {
        self.github_actions.as_deref() == Some("true")
    }

    /// The VirusTotal key, `VT_API_KEY` first, then the original's `VT_KEY`.
    pub fn virustotal_key(&self) -> Option<&ApiKey> {
        self.vt_api_key.as_ref().or(self.vt_key.as_ref())
    }
}

/// A credential that must never be printed: `Debug` and `Display` show a fixed mask.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    #[cfg(test)]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The key itself, for the one place that sends it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_never_formats_its_value() {
        let key = ApiKey::new("s3cr3t-key-value");
        assert!(!format!("{key:?}").contains("s3cr3t"));
        assert!(!format!("{key}").contains("s3cr3t"));
        assert_eq!(key.expose(), "s3cr3t-key-value");
    }

    #[test]
    fn reads_platform_variables() {
        let env: PlatformEnv = envy::from_iter(vec![
            ("GITHUB_ACTIONS".to_string(), "true".to_string()),
            ("VT_KEY".to_string(), "legacy".to_string()),
            ("UNRELATED".to_string(), "x".to_string()),
        ])
        .unwrap();
        assert!(env.in_github_actions());
        assert_eq!(env.virustotal_key().map(ApiKey::expose), Some("legacy"));
    }
}
