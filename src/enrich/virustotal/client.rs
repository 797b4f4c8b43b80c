//! The VirusTotal API v3 client: one method per endpoint anteater uses, each returning either the
//! parsed answer or a classified error. Retries and rate limiting are the caller's (`lookup`);
//! this module only speaks HTTP. The API key travels in the `x-apikey` header and nowhere else.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use super::verdict::Verdict;
use crate::platform_env::ApiKey;

/// VirusTotal accepts files up to 32 MB on `POST /files`; bigger ones go through an upload URL.
pub const DIRECT_UPLOAD_LIMIT: u64 = 32 * 1024 * 1024;
/// The largest file VirusTotal accepts at all.
pub const UPLOAD_URL_LIMIT: u64 = 650 * 1024 * 1024;
const GUI: &str = "https://www.virustotal.com/gui";
/// The largest answer read. VirusTotal's reports are tens of kilobytes; anything past this is not
/// an answer to trust, and reading it whole let a hostile server exhaust memory.
pub const MAX_ANSWER_BYTES: usize = 4 << 20;
/// How much of a server-supplied error code and message is shown.
const MAX_SERVER_TEXT_CHARS: usize = 160;

/// What can go wrong with one call, classified by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum VtError {
    /// 401/403: the key is missing, wrong or lacks the privilege. Fatal for the run.
    #[error("VirusTotal refused the API key ({code}): check VT_API_KEY")]
    Auth { code: String },
    /// 404 with VirusTotal's `NotFoundError` body: it has no such item. Only `/files/{hash}` and
    /// `/urls/{id}` (and a fresh analysis) mean "unknown" by it; any other 404 (a wrong API
    /// root, a proxy) is `Rejected`.
    #[error("not known to VirusTotal")]
    NotFound,
    /// A 200 that is not a verdict: no `last_analysis_stats`, or an object other than the one
    /// asked about. Never taken as clean, never cached, not retried.
    #[error("VirusTotal's answer is not a verdict: {0}")]
    NotAVerdict(String),
    /// 429: a quota window is spent; wait for the next slot and retry.
    #[error("VirusTotal quota exceeded ({code})")]
    RateLimited { code: String },
    /// 5xx, timeouts, transport errors, malformed answers: worth retrying a few times.
    #[error("{0}")]
    Transient(String),
    /// Any other 4xx: retrying will not help for this item.
    #[error("VirusTotal rejected the request: HTTP {status} {code}")]
    Rejected { status: u16, code: String },
    /// An answer VirusTotal's API never gives (a redirect, an oversized body): not retried, the
    /// indicator stays unverified.
    #[error("{0}")]
    Untrusted(String),
}

/// An analysis VirusTotal is running for an uploaded file or a submitted URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisStatus {
    pub completed: bool,
    pub verdict: Verdict,
}

pub struct Client {
    http: reqwest::Client,
    base_url: String,
    key: ApiKey,
}

impl Client {
    /// `base_url` is the API root (`https://www.virustotal.com/api/v3`, or a mock's); `timeout`
    /// bounds every request.
    pub fn new(base_url: &str, key: ApiKey, timeout: Duration) -> Result<Self, VtError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("anteater/", env!("CARGO_PKG_VERSION"), "; gzip"))
            // The v3 API never redirects; following one would hand the `x-apikey` header to
            // whatever origin the answer names.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| VtError::Transient(format!("cannot set up HTTPS: {err}")))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
        })
    }

    pub async fn ip_report(&self, ip: &str) -> Result<Verdict, VtError> {
        // VirusTotal has a report for every address: a 404 here is not "unknown", it is a wrong
        // API root or a proxy answering for it.
        let body: Envelope<Object> = match self.get(&format!("/ip_addresses/{ip}")).await {
            Err(VtError::NotFound) => {
                return Err(VtError::Rejected {
                    status: 404,
                    code: "NotFoundError for an IP address (is VT_API_URL right?)".into(),
                })
            }
            other => other?,
        };
        body.data.expect("ip_address", |id| id == ip, self.key.expose())?;
        body.data.verdict(format!("{GUI}/ip-address/{ip}"))
    }

    pub async fn url_report(&self, url: &str) -> Result<Verdict, VtError> {
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url);
        let body: Envelope<Object> = self.get(&format!("/urls/{id}")).await?;
        // A URL object's id is the sha256 of the URL as VirusTotal canonicalises it, which
        // anteater cannot recompute exactly: the type and the id's shape are checked.
        body.data.expect("url", is_sha256, self.key.expose())?;
        // The id comes from the server and ends up in reports: scrubbed like its error texts.
        let permalink = format!("{GUI}/url/{}", self.scrub(&body.data.id));
        body.data.verdict(permalink)
    }

    pub async fn file_report(&self, sha256: &str) -> Result<Verdict, VtError> {
        let body: Envelope<Object> = self.get(&format!("/files/{sha256}")).await?;
        body.data
            .expect("file", |id| id.eq_ignore_ascii_case(sha256), self.key.expose())?;
        body.data.verdict(format!("{GUI}/file/{sha256}"))
    }

    /// Submits a URL for analysis; returns the analysis id.
    pub async fn submit_url(&self, url: &str) -> Result<String, VtError> {
        let request = self
            .request(reqwest::Method::POST, &self.endpoint("/urls"))
            .form(&[("url", url)]);
        let body: Envelope<Descriptor> = self.send(request).await?;
        Ok(self.scrub(&body.data.id))
    }

    /// Uploads a file (directly up to 32 MB, through an upload URL above); returns the analysis id.
    pub async fn upload_file(&self, path: &Path, size: u64) -> Result<String, VtError> {
        let target = if size <= DIRECT_UPLOAD_LIMIT {
            self.endpoint("/files")
        } else {
            let body: Envelope<String> = self.get("/files/upload_url").await?;
            // The upload carries the API key: only to the API's own origin.
            if !same_origin(&body.data, &self.base_url) {
                return Err(VtError::Untrusted(
                    "VirusTotal named an upload URL on another origin; the file and the key were not sent there"
                        .into(),
                ));
            }
            body.data
        };
        // Streamed from disk, not read whole: a file may be up to 650 MB, and several uploads
        // run at once.
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|err| VtError::Transient(format!("reading {} for upload: {err}", path.display())))?;
        let name = path
            .file_name()
            .map_or("file".into(), |n| n.to_string_lossy().into_owned());
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let part = reqwest::multipart::Part::stream_with_length(body, size).file_name(name);
        let form = reqwest::multipart::Form::new().part("file", part);
        let body: Envelope<Descriptor> = self
            .send(self.request(reqwest::Method::POST, &target).multipart(form))
            .await?;
        // Analysis ids are shown in links and messages: scrubbed like error texts.
        Ok(self.scrub(&body.data.id))
    }

    pub async fn analysis(&self, id: &str, permalink: String) -> Result<AnalysisStatus, VtError> {
        let encoded: String = id
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
                other => format!("%{other:02X}"),
            })
            .collect();
        let body: Envelope<Object> = self.get(&format!("/analyses/{encoded}")).await?;
        body.data
            .expect("analysis", |answered| answered == id, self.key.expose())?;
        let status = body.data.attributes.status.as_deref().unwrap_or("queued");
        let completed = status == "completed";
        let stats = match body.data.attributes.stats.clone() {
            Some(stats) if completed => stats.judged()?,
            Some(stats) => stats,
            None if completed => {
                return Err(VtError::NotAVerdict(
                    "a completed analysis without `stats`".into(),
                ))
            }
            None => Stats::default(),
        };
        Ok(AnalysisStatus {
            completed,
            verdict: stats.into_verdict(permalink, body.data.attributes.date),
        })
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header("x-apikey", self.key.expose())
            .header(reqwest::header::ACCEPT, "application/json")
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, VtError> {
        self.send(self.request(reqwest::Method::GET, &self.endpoint(path)))
            .await
    }

    async fn send<T: for<'de> Deserialize<'de>>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, VtError> {
        let response = request
            .send()
            .await
            .map_err(|err| VtError::Transient(describe(&err)))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(VtError::Untrusted(format!(
                "VirusTotal answered HTTP {} with a redirect, which its API never sends; not followed",
                status.as_u16()
            )));
        }
        let body = read_capped(response).await?;
        if status.is_success() {
            // serde quotes the offending value, which the server chose: server text.
            return serde_json::from_slice(&body).map_err(|err| {
                VtError::Transient(format!(
                    "malformed answer from VirusTotal (HTTP {status}): {}",
                    self.scrub(&err.to_string())
                ))
            });
        }
        let error = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .map(|body| body.error);
        let raw_code = error.as_ref().map_or("", |error| error.code.as_str());
        let code = match &error {
            Some(error) if error.message.is_empty() => self.scrub(&error.code),
            Some(error) => self.scrub(&format!("{}: {}", error.code, error.message)),
            None => "no error code".to_string(),
        };
        Err(match status.as_u16() {
            401 | 403 => VtError::Auth { code },
            // Only VirusTotal's own "no such item" answer counts as one.
            404 if raw_code == "NotFoundError" => VtError::NotFound,
            429 => VtError::RateLimited { code },
            400 if raw_code == "NotAvailableYet" => VtError::Transient(format!("HTTP 400 {code}")),
            s if s >= 500 => VtError::Transient(format!("HTTP {s} {code}")),
            s => VtError::Rejected { status: s, code },
        })
    }

    /// Server-supplied text made fit to print: the API key cut out wherever it appears (a
    /// hostile or broken server may echo it), control characters escaped, length bounded.
    fn scrub(&self, text: &str) -> String {
        scrub_server_text(text, self.key.expose())
    }
}

/// Do both URLs have the same scheme, host and port?
fn same_origin(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// See `Client::scrub`.
fn scrub_server_text(text: &str, key: &str) -> String {
    let without_key = if key.is_empty() {
        text.to_string()
    } else {
        text.replace(key, "[VT_API_KEY]")
    };
    let escaped = crate::redact::escape(&without_key);
    if escaped.chars().count() > MAX_SERVER_TEXT_CHARS {
        let head: String = escaped.chars().take(MAX_SERVER_TEXT_CHARS).collect();
        format!("{head}…")
    } else {
        escaped
    }
}

/// The answer's body, at most `MAX_ANSWER_BYTES`: a longer one is refused, not read on.
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, VtError> {
    let too_large = || {
        VtError::Untrusted(format!(
            "the answer from VirusTotal is larger than {} MiB, far more than any report; not trusted",
            MAX_ANSWER_BYTES >> 20
        ))
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| VtError::Transient(format!("reading the answer: {}", describe(&err))))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error without the URL reqwest attaches (it is harmless, but the message stays
/// about what went wrong, and never about request headers).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    let mut source = std::error::Error::source(err);
    let mut detail = String::new();
    while let Some(inner) = source {
        detail = inner.to_string();
        source = inner.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct Descriptor {
    id: String,
}

#[derive(Deserialize)]
struct Object {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    attributes: Attributes,
}

#[derive(Deserialize, Default)]
struct Attributes {
    last_analysis_stats: Option<Stats>,
    last_analysis_date: Option<i64>,
    stats: Option<Stats>,
    status: Option<String>,
    date: Option<i64>,
}

/// Engine counts; files add keys (`confirmed-timeout`, `type-unsupported`, `failure`) that are
/// not needed for the verdict and are ignored.
#[derive(Deserialize, Default, Clone)]
struct Stats {
    #[serde(default)]
    malicious: u32,
    #[serde(default)]
    suspicious: u32,
    #[serde(default)]
    harmless: u32,
    #[serde(default)]
    undetected: u32,
}

impl Stats {
    /// The counts, when some engine judged: no engine at all (`{}`, or every engine unable to
    /// read the file) is no verdict, not a clean one.
    fn judged(self) -> Result<Self, VtError> {
        // Not a sum: the counts are the server's, and four of them can overflow a u32.
        if [self.malicious, self.suspicious, self.harmless, self.undetected] == [0; 4] {
            return Err(VtError::NotAVerdict("no engine judged it (all counts 0)".into()));
        }
        Ok(self)
    }

    fn into_verdict(self, permalink: String, analysis_date: Option<i64>) -> Verdict {
        Verdict {
            malicious: self.malicious,
            suspicious: self.suspicious,
            harmless: self.harmless,
            undetected: self.undetected,
            permalink,
            analysis_date,
        }
    }
}

impl Object {
    /// Checks that the answer is about what was asked: an object of type `kind` whose id
    /// passes `id_matches`. The server's type and id are shown as server text: without `key`.
    fn expect(&self, kind: &str, id_matches: impl Fn(&str) -> bool, key: &str) -> Result<(), VtError> {
        if self.kind != kind || !id_matches(&self.id) {
            return Err(VtError::NotAVerdict(format!(
                "asked for a `{kind}`, got a `{}` with id `{}`",
                scrub_server_text(&self.kind, key),
                scrub_server_text(&self.id, key)
            )));
        }
        Ok(())
    }

    /// The verdict of a report; one without `last_analysis_stats` has none.
    fn verdict(&self, permalink: String) -> Result<Verdict, VtError> {
        let Some(stats) = self.attributes.last_analysis_stats.clone() else {
            return Err(VtError::NotAVerdict("no `last_analysis_stats`".into()));
        };
        Ok(stats
            .judged()?
            .into_verdict(permalink, self.attributes.last_analysis_date))
    }
}

fn is_sha256(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_counts_that_overflow_a_sum_are_still_a_verdict() {
        let huge: Stats = serde_json::from_str(r#"{"malicious": 4294967295, "harmless": 1}"#).unwrap();
        assert!(huge.judged().is_ok());
        let none: Stats = serde_json::from_str("{}").unwrap();
        assert!(none.judged().is_err());
    }

    #[test]
    fn upload_urls_must_stay_on_the_api_origin() {
        let api = "https://www.virustotal.com/api/v3";
        assert!(same_origin("https://www.virustotal.com/_ah/upload/AMmfu6b", api));
        assert!(!same_origin("https://collector.example/_ah/upload/x", api));
        assert!(!same_origin("http://www.virustotal.com/_ah/upload/x", api));
        assert!(!same_origin("https://www.virustotal.com:8443/x", api));
        assert!(!same_origin("not a url", api));
    }

    #[test]
    fn server_text_loses_the_key_and_is_bounded() {
        let key = "k3y-0123456789abcdef"; // fake-secret-for-tests
        let shown = scrub_server_text(&format!("WrongCredentialsError: key {key} is\x1b[31m wrong"), key);
        assert!(!shown.contains(key), "{shown}");
        assert!(shown.contains("[VT_API_KEY]"));
        assert!(!shown.contains('\x1b'));
        let long = scrub_server_text(&"x".repeat(10_000), key);
        assert_eq!(long.chars().count(), MAX_SERVER_TEXT_CHARS + 1);
    }
}
