//! A faithful local mock of the VirusTotal API v3 (see `/work/shared/reference/virustotal-v3.md`).
//!
//! Each [`VtMock::start`] binds its own free loopback port and serves an axum app on a private
//! tokio runtime in a background thread, so it works from plain `#[test]` functions and from tests
//! that run the `anteater` binary as a child process (point `VT_API_URL` at [`VtMock::base_url`]).
//!
//! What it reproduces: the `/api/v3` prefix; `x-apikey` auth (401 `AuthenticationRequiredError` /
//! `WrongCredentialsError`); file reports by md5, sha1 or sha256 (always answered with the sha256
//! `id`); direct uploads and single-use upload URLs with size limits; analyses that stay `queued`
//! for N polls and then complete, after which the file or URL report exists; URL reports by
//! unpadded base64url id or by sha256 id; URL submission (urlencoded or multipart); IP reports
//! (every valid IP has one); per-minute and per-day quotas (429 `QuotaExceededError`, plain JSON,
//! no `Retry-After`); injectable faults; integer Unix timestamps, hyphenated file stat keys,
//! `result: null` rows, unknown extra attributes and missing optional attributes; gzip of success
//! bodies when the client asks for it the way the official clients do.
//!
//! Mock choices where the real service is undocumented: oversize uploads get 413
//! `BadRequestError`; a reused upload URL gets 400 `BadRequestError`, an unknown one 404
//! `NotFoundError`; malformed hashes and URL ids get 404 `NotFoundError`; an invalid IP gets 400
//! `InvalidArgumentError`; a known path with the wrong method gets 405 `BadRequestError`.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, Form, FromRequest, Multipart, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The API key a default [`MockConfig`] accepts.
pub const DEFAULT_API_KEY: &str = "test-key-0123456789abcdef"; // fake-secret-for-tests

/// Extra bytes allowed on top of an upload limit for the multipart envelope.
const MULTIPART_SLACK: u64 = 64 * 1024;
/// Body cap for requests that are not uploads.
const OTHER_BODY_CAP: u64 = 1024 * 1024;

/// Engine verdict counts. Reports and analyses add the remaining stat keys (`timeout`, and for
/// files `confirmed-timeout`, `failure`, `type-unsupported`) as 0. `Default` is all zeros.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    pub malicious: u32,
    pub suspicious: u32,
    pub harmless: u32,
    pub undetected: u32,
}

impl Stats {
    pub const fn new(malicious: u32, suspicious: u32, harmless: u32, undetected: u32) -> Stats {
        Stats {
            malicious,
            suspicious,
            harmless,
            undetected,
        }
    }

    /// No engine flags it: 60 harmless, 10 undetected.
    pub const fn clean() -> Stats {
        Stats::new(0, 0, 60, 10)
    }

    /// `n` engines say malicious, the rest as in [`Stats::clean`].
    pub const fn malicious(n: u32) -> Stats {
        Stats::new(n, 0, 60, 10)
    }

    /// `n` engines say suspicious, the rest as in [`Stats::clean`].
    pub const fn suspicious(n: u32) -> Stats {
        Stats::new(0, n, 60, 10)
    }

    fn reputation(&self) -> i64 {
        -(i64::from(self.malicious) * 3 + i64::from(self.suspicious))
    }
}

/// Real hashes, size and name of a file in [`MockConfig::files`]. Without an entry the mock
/// derives stable stand-in md5/sha1 values from the sha256 (lookups by them work too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub md5: String,
    pub sha1: String,
    pub size: u64,
    pub name: Option<String>,
}

impl FileInfo {
    pub fn of(content: &[u8], name: Option<&str>) -> FileInfo {
        FileInfo {
            md5: md5_hex(content),
            sha1: sha1_hex(content),
            size: content.len() as u64,
            name: name.map(str::to_string),
        }
    }
}

/// What the mock knows and how it behaves. Build with `MockConfig { field, ..Default::default() }`.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Accepted `x-apikey` values.
    pub api_keys: Vec<String>,
    /// sha256 (lowercase hex) -> stats of files VirusTotal already knows.
    pub files: HashMap<String, Stats>,
    /// Optional real md5/sha1/size/name for entries of `files` (see [`MockConfig::add_file`]).
    pub file_info: HashMap<String, FileInfo>,
    /// URL as found (e.g. `http://evil.example/x`) -> stats of URLs VirusTotal knows.
    pub urls: HashMap<String, Stats>,
    /// IP -> stats; any other valid IP gets a clean report without `last_analysis_date`.
    pub ips: HashMap<String, Stats>,
    /// sha256 -> stats an upload's analysis yields (default: the known stats, else clean).
    pub upload_verdicts: HashMap<String, Stats>,
    /// URL -> stats a submission's analysis yields (default: the known stats, else clean).
    pub submit_verdicts: HashMap<String, Stats>,
    /// `GET /analyses/{id}` answers `queued` this many times, then `completed`.
    pub polls_before_complete: u32,
    /// `GET /analyses/{id}` answers 404 this many times on a fresh analysis before `queued`.
    pub analysis_not_found_polls: u32,
    /// 429 `QuotaExceededError` past this many `/api/v3` requests with a valid key in any 60 s.
    pub quota_per_minute: Option<u32>,
    /// 429 `QuotaExceededError` past this many `/api/v3` requests with a valid key per UTC day.
    pub quota_per_day: Option<u32>,
    /// `POST /files` file size limit; bigger -> 413 (mock choice).
    pub max_direct_upload: u64,
    /// Upload URL file size limit; bigger -> 413 (mock choice).
    pub max_upload_url_upload: u64,
    /// Gzip 200 bodies when the request has `Accept-Encoding: gzip` and a User-Agent containing
    /// `gzip` (what the real front end does). Errors are never gzipped.
    pub gzip: bool,
    /// Every request is answered after this long (a distant or slow service; a huge value
    /// makes the service hang).
    pub latency: Duration,
}

impl Default for MockConfig {
    fn default() -> MockConfig {
        MockConfig {
            api_keys: vec![DEFAULT_API_KEY.to_string()],
            files: HashMap::new(),
            file_info: HashMap::new(),
            urls: HashMap::new(),
            ips: HashMap::new(),
            upload_verdicts: HashMap::new(),
            submit_verdicts: HashMap::new(),
            polls_before_complete: 1,
            analysis_not_found_polls: 0,
            quota_per_minute: None,
            quota_per_day: None,
            max_direct_upload: 32 * 1024 * 1024,
            max_upload_url_upload: 650 * 1024 * 1024,
            gzip: true,
            latency: Duration::ZERO,
        }
    }
}

impl MockConfig {
    /// Makes `content` a known file with real hashes; returns its sha256.
    pub fn add_file(&mut self, content: &[u8], stats: Stats) -> String {
        let sha256 = sha256_hex(content);
        self.files.insert(sha256.clone(), stats);
        self.file_info.insert(sha256.clone(), FileInfo::of(content, None));
        sha256
    }
}

/// Misbehaviour injected with [`VtMock::inject_faults`]; one is consumed per request (FIFO),
/// before auth, quota and routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 503 `TransientError` JSON.
    Status503,
    /// 504 `DeadlineExceededError` JSON.
    Status504,
    /// 502 with a `text/html` body.
    NonJson502,
    /// 200 `application/json` with a truncated body.
    MalformedJson200,
    /// Sleep, then handle the request normally.
    Delay(Duration),
    /// 401 `WrongCredentialsError` JSON.
    Status401WrongCredentials,
    /// 429 `QuotaExceededError` JSON (without configuring a quota).
    Status429QuotaExceeded,
    /// Any JSON error: status, `error.code`.
    ApiError(u16, &'static str),
    /// 200 `application/json` with this body, whatever was asked: an answer that is not a
    /// verdict (`{"data":{}}`) or one about another object.
    Json200(String),
}

/// One request as the mock saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path as received, with the query string.
    pub path: String,
    /// Taken first thing when the request reached the handler.
    pub at: SystemTime,
    pub api_key: Option<String>,
    /// Status answered; 0 when the handler was cancelled before answering (client went away).
    pub status: u16,
    /// The request's `Content-Type`.
    pub content_type: Option<String>,
    /// Request body bytes received.
    pub body_len: usize,
}

/// A running mock; dropping it shuts the server down.
pub struct VtMock {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl VtMock {
    /// Binds 127.0.0.1 on a free port and serves until dropped.
    pub fn start(config: MockConfig) -> VtMock {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the VT mock port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared::new(config, format!("http://{addr}")));
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::disable())
            .with_state(Arc::clone(&shared));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("vt-mock-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("vt-mock-worker")
                    .enable_all()
                    .build()
                    .expect("VT mock runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let server = tokio::spawn(async move { axum::serve(listener, app).await });
                    let _ = rx.await;
                    server.abort();
                });
                runtime.shutdown_background();
            })
            .expect("spawn the VT mock thread");
        VtMock {
            shared,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/api/v3`, what `VT_API_URL` is set to.
    pub fn base_url(&self) -> String {
        format!("{}/api/v3", self.shared.origin)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        self.shared.origin.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first accepted API key.
    pub fn api_key(&self) -> String {
        self.shared.config.api_keys.first().cloned().unwrap_or_default()
    }

    /// Every request received, in arrival order, including rejected ones.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// File uploads received (`POST /files` and upload URLs).
    pub fn uploads(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && (r.path == "/api/v3/files" || r.path.starts_with("/_upload/")))
            .count()
    }

    pub fn clear_requests(&self) {
        self.shared.state().requests.clear();
    }

    /// Queues faults; each subsequent request consumes one (FIFO) before normal handling.
    pub fn inject_faults(&self, faults: Vec<Fault>) {
        self.shared.state().faults.extend(faults);
    }

    /// Faults not consumed yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.state().faults.len()
    }

    /// Forgets the requests counted against the quotas (as if the windows had passed).
    pub fn reset_quota(&self) {
        let mut state = self.shared.state();
        state.minute_window.clear();
        state.day_count = (0, 0);
    }
}

impl Drop for VtMock {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers tests can use to build ids.

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Unpadded base64url of the URL: the id form clients should use for `GET /urls/{id}`.
pub fn url_id(url: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url.as_bytes())
}

/// The mock's canonical form of a URL: `/` appended when the path is empty.
pub fn canonical_url(url: &str) -> String {
    let url = url.trim();
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if rest[authority_end..].starts_with('/') {
        url.to_string()
    } else {
        let split = authority_start + authority_end;
        format!("{}/{}", &url[..split], &url[split..])
    }
}

/// sha256 of the canonical URL: the `data.id` of a URL object.
pub fn url_sha256(url: &str) -> String {
    sha256_hex(canonical_url(url).as_bytes())
}

/// The analysis id of a file upload at `ts`: padded std base64 of `"<md5>:<ts>"`.
pub fn file_analysis_id(md5: &str, ts: i64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{md5}:{ts}"))
}

/// The analysis id of a URL submission at `ts`: `u-<url sha256>-<ts>`.
pub fn url_analysis_id(url: &str, ts: i64) -> String {
    format!("u-{}-{ts}", url_sha256(url))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// MD5 (RFC 1321); no md5 crate is available to the tests.
pub fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15,
        21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    const K: [u32; 64] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
    ];
    let mut h: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    for chunk in msg.chunks_exact(64) {
        let m: Vec<u32> = chunk
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(K[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
    }
    hex(&h.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>())
}

/// SHA-1 (FIPS 180-4); no sha1 crate is available to the tests.
pub fn sha1_hex(data: &[u8]) -> String {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i / 20 {
                0 => ((b & c) | (!b & d), 0x5A827999),
                1 => (b ^ c ^ d, 0x6ED9EBA1),
                2 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6u32),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = hi.wrapping_add(v);
        }
    }
    hex(&h.iter().flat_map(|w| w.to_be_bytes()).collect::<Vec<u8>>())
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid gzip member using stored (uncompressed) deflate blocks: no compression crate needed.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut blocks = data.chunks(0xFFFF).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Inverse of [`gzip_stored`] (for tests); `None` unless `data` is a stored-block gzip member.
pub fn gunzip_stored(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < 18 || data[..4] != [0x1f, 0x8b, 8, 0] {
        return None;
    }
    let mut pos = 10;
    let mut out = Vec::new();
    loop {
        let header = *data.get(pos)?;
        if header & 0b110 != 0 {
            return None;
        }
        let len = u16::from_le_bytes([*data.get(pos + 1)?, *data.get(pos + 2)?]) as usize;
        out.extend_from_slice(data.get(pos + 5..pos + 5 + len)?);
        pos += 5 + len;
        if header & 1 == 1 {
            break;
        }
    }
    let crc = u32::from_le_bytes(data.get(pos..pos + 4)?.try_into().ok()?);
    (crc == crc32(&out)).then_some(out)
}

fn percent_decode(segment: &str) -> String {
    fn hex_value(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// State.

#[derive(Debug, Clone)]
struct FileRecord {
    sha256: String,
    md5: String,
    sha1: String,
    size: u64,
    name: Option<String>,
    stats: Stats,
    first_submission: i64,
    last_submission: i64,
    last_analysis: i64,
    times_submitted: u32,
}

#[derive(Debug, Clone)]
struct UrlRecord {
    url: String,
    sha256: String,
    stats: Stats,
    first_submission: i64,
    last_submission: i64,
    last_analysis: i64,
    times_submitted: u32,
}

#[derive(Debug, Clone)]
enum Subject {
    File {
        sha256: String,
        md5: String,
        sha1: String,
        size: u64,
        name: Option<String>,
    },
    Url {
        url: String,
        sha256: String,
    },
}

#[derive(Debug, Clone)]
struct Analysis {
    subject: Subject,
    date: i64,
    stats: Stats,
    polls: u32,
    applied: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Fresh,
    Used,
}

#[derive(Default)]
struct MockState {
    files: HashMap<String, FileRecord>,
    /// md5 or sha1 -> sha256.
    file_aliases: HashMap<String, String>,
    urls: HashMap<String, UrlRecord>,
    ips: HashMap<IpAddr, Stats>,
    analyses: HashMap<String, Analysis>,
    upload_tokens: HashMap<String, Token>,
    token_counter: u64,
    faults: VecDeque<Fault>,
    requests: Vec<RecordedRequest>,
    minute_window: VecDeque<Instant>,
    /// (UTC day number, requests admitted that day).
    day_count: (i64, u32),
}

struct Shared {
    config: MockConfig,
    origin: String,
    state: Mutex<MockState>,
}

impl Shared {
    fn new(config: MockConfig, origin: String) -> Shared {
        let now = unix_now();
        let mut state = MockState::default();
        for (sha256, stats) in &config.files {
            let sha256 = sha256.to_ascii_lowercase();
            assert!(
                is_hex(&sha256, 64),
                "MockConfig.files key {sha256:?} is not a sha256"
            );
            let info = config
                .file_info
                .get(&sha256)
                .cloned()
                .unwrap_or_else(|| FileInfo {
                    md5: sha256_hex(format!("md5:{sha256}").as_bytes())[..32].to_string(),
                    sha1: sha256_hex(format!("sha1:{sha256}").as_bytes())[..40].to_string(),
                    size: 1024 + u64::from_str_radix(&sha256[..4], 16).unwrap_or(0),
                    name: None,
                });
            state
                .file_aliases
                .insert(info.md5.to_ascii_lowercase(), sha256.clone());
            state
                .file_aliases
                .insert(info.sha1.to_ascii_lowercase(), sha256.clone());
            state.files.insert(
                sha256.clone(),
                FileRecord {
                    sha256,
                    md5: info.md5.to_ascii_lowercase(),
                    sha1: info.sha1.to_ascii_lowercase(),
                    size: info.size,
                    name: info.name,
                    stats: *stats,
                    first_submission: now - 90 * 86_400,
                    last_submission: now - 86_400,
                    last_analysis: now - 3_600,
                    times_submitted: 3,
                },
            );
        }
        for (url, stats) in &config.urls {
            let sha256 = url_sha256(url);
            state.urls.insert(
                sha256.clone(),
                UrlRecord {
                    url: url.clone(),
                    sha256,
                    stats: *stats,
                    first_submission: now - 30 * 86_400,
                    last_submission: now - 86_400,
                    last_analysis: now - 3_600,
                    times_submitted: 5,
                },
            );
        }
        for (ip, stats) in &config.ips {
            let parsed: IpAddr = ip
                .parse()
                .unwrap_or_else(|_| panic!("MockConfig.ips key {ip:?} is not an IP"));
            state.ips.insert(parsed, *stats);
        }
        Shared {
            config,
            origin,
            state: Mutex::new(state),
        }
    }

    fn state(&self) -> MutexGuard<'_, MockState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/v3/{path}", self.origin)
    }
}

// ---------------------------------------------------------------------------------------------
// Responses.

fn json_response(status: StatusCode, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("response")
}

fn api_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message.into()}}),
    )
}

fn not_found(message: impl Into<String>) -> Response {
    api_error(StatusCode::NOT_FOUND, "NotFoundError", message)
}

fn bad_request(message: impl Into<String>) -> Response {
    api_error(StatusCode::BAD_REQUEST, "BadRequestError", message)
}

fn too_large(size: u64, limit: u64) -> Response {
    api_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "BadRequestError",
        format!("Payload too large: {size} bytes, the limit is {limit} bytes"),
    )
}

fn quota_exceeded(message: &str) -> Response {
    api_error(StatusCode::TOO_MANY_REQUESTS, "QuotaExceededError", message)
}

fn fault_response(fault: &Fault) -> Option<Response> {
    Some(match fault {
        Fault::Delay(_) => return None,
        Fault::Status503 => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "TransientError",
            "The service is temporarily unavailable, please retry",
        ),
        Fault::Status504 => api_error(
            StatusCode::GATEWAY_TIMEOUT,
            "DeadlineExceededError",
            "The request took too long to complete",
        ),
        Fault::NonJson502 => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .header(header::CONTENT_TYPE, "text/html; charset=UTF-8")
            .body(Body::from(
                "<html><head><title>502 Bad Gateway</title></head>\
                 <body><h1>Error: Server Error</h1><p>The server encountered a temporary error.</p>\
                 </body></html>",
            ))
            .expect("response"),
        Fault::MalformedJson200 => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                r#"{"data": {"type": "file", "id": "275a021bbfb6489e54d4718"#,
            ))
            .expect("response"),
        Fault::Status401WrongCredentials => {
            api_error(StatusCode::UNAUTHORIZED, "WrongCredentialsError", "Wrong API key")
        }
        Fault::Status429QuotaExceeded => quota_exceeded("Quota exceeded"),
        Fault::Json200(body) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.clone()))
            .expect("response"),
        Fault::ApiError(status, code) => api_error(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            format!("Injected {code}"),
        ),
    })
}

const ENGINES: [&str; 20] = [
    "ClamAV",
    "Bkav",
    "Kaspersky",
    "BitDefender",
    "ESET-NOD32",
    "Microsoft",
    "Sophos",
    "Avast",
    "AVG",
    "McAfee",
    "Symantec",
    "TrendMicro",
    "Fortinet",
    "DrWeb",
    "Ikarus",
    "Emsisoft",
    "GData",
    "Panda",
    "Rising",
    "Zillya",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Url,
    Ip,
}

/// The 8 (file) or 5 (URL, IP) stat keys.
fn stats_json(stats: &Stats, kind: Kind) -> Value {
    let mut map = Map::new();
    map.insert("malicious".into(), stats.malicious.into());
    map.insert("suspicious".into(), stats.suspicious.into());
    map.insert("undetected".into(), stats.undetected.into());
    map.insert("harmless".into(), stats.harmless.into());
    map.insert("timeout".into(), 0.into());
    if kind == Kind::File {
        map.insert("confirmed-timeout".into(), 0.into());
        map.insert("failure".into(), 0.into());
        map.insert("type-unsupported".into(), 0.into());
    }
    Value::Object(map)
}

/// One row per engine, consistent with `stats`. File rows for undetected/harmless engines carry
/// `result: null`; one engine reports its version as the literal string "None".
fn results_json(stats: &Stats, kind: Kind) -> Value {
    let categories = [
        ("malicious", stats.malicious),
        ("suspicious", stats.suspicious),
        ("harmless", stats.harmless),
        ("undetected", stats.undetected),
    ];
    let mut map = Map::new();
    let mut index = 0usize;
    for (category, count) in categories {
        for _ in 0..count {
            let name = ENGINES
                .get(index)
                .map(|s| s.to_string())
                .unwrap_or_else(|| format!("MockEngine{index}"));
            let result = match (kind, category) {
                (Kind::File, "malicious") => json!("Trojan.Mock.Generic"),
                (Kind::File, "suspicious") => json!("Suspicious.Mock"),
                (Kind::File, _) => Value::Null,
                (_, "malicious") => json!("malicious"),
                (_, "suspicious") => json!("suspicious"),
                (_, "harmless") => json!("clean"),
                _ => json!("unrated"),
            };
            let mut row = json!({
                "category": category,
                "engine_name": name,
                "method": "blacklist",
                "result": result,
            });
            if kind == Kind::File {
                row["engine_version"] = json!(if index == 1 {
                    "None".to_string()
                } else {
                    format!("1.{index}.0")
                });
                row["engine_update"] = json!("20250829");
            }
            map.insert(name, row);
            index += 1;
        }
    }
    Value::Object(map)
}

fn total_votes(stats: &Stats) -> Value {
    json!({"harmless": if stats.malicious == 0 { 2 } else { 0 }, "malicious": stats.malicious.min(12)})
}

fn file_object(shared: &Shared, file: &FileRecord) -> Value {
    let mut attributes = json!({
        "sha256": file.sha256,
        "sha1": file.sha1,
        "md5": file.md5,
        "size": file.size,
        "type_description": "unknown",
        "first_submission_date": file.first_submission,
        "last_submission_date": file.last_submission,
        "last_analysis_date": file.last_analysis,
        "last_modification_date": file.last_analysis,
        "times_submitted": file.times_submitted,
        "reputation": file.stats.reputation(),
        "total_votes": total_votes(&file.stats),
        "last_analysis_stats": stats_json(&file.stats, Kind::File),
        "last_analysis_results": results_json(&file.stats, Kind::File),
        "tags": [],
        "mock_unknown_attribute": {"nested": [1, "two", null], "note": "clients must ignore this"},
    });
    if let Some(name) = &file.name {
        attributes["meaningful_name"] = json!(name);
        attributes["names"] = json!([name]);
    }
    json!({
        "type": "file",
        "id": file.sha256,
        "links": {"self": shared.api(&format!("files/{}", file.sha256))},
        "attributes": attributes,
    })
}

fn url_object(shared: &Shared, url: &UrlRecord) -> Value {
    json!({
        "type": "url",
        "id": url.sha256,
        "links": {"self": shared.api(&format!("urls/{}", url.sha256))},
        "attributes": {
            "url": url.url,
            "last_final_url": url.url,
            "title": "Mock page",
            "last_http_response_code": 200,
            "first_submission_date": url.first_submission,
            "last_submission_date": url.last_submission,
            "last_analysis_date": url.last_analysis,
            "last_modification_date": url.last_analysis,
            "times_submitted": url.times_submitted,
            "reputation": url.stats.reputation(),
            "total_votes": total_votes(&url.stats),
            "categories": {"MockCategorizer": "information technology"},
            "tags": [],
            "last_analysis_stats": stats_json(&url.stats, Kind::Url),
            "last_analysis_results": results_json(&url.stats, Kind::Url),
            "mock_unknown_attribute": {"nested": true},
        },
    })
}

fn ip_object(shared: &Shared, ip: IpAddr, configured: Option<Stats>) -> Value {
    let now = unix_now();
    let stats = configured.unwrap_or_else(Stats::clean);
    let network = match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    };
    let mut attributes = json!({
        "as_owner": "MOCK-AS-NETWORK",
        "asn": 64500,
        "continent": "EU",
        "country": "NL",
        "network": network,
        "regional_internet_registry": "RIPE NCC",
        "reputation": stats.reputation(),
        "total_votes": total_votes(&stats),
        "tags": [],
        "whois": format!("NetRange: {network}\nOrgName: Mock Networks\n"),
        "whois_date": now - 7 * 86_400,
        "last_analysis_stats": stats_json(&stats, Kind::Ip),
        "last_analysis_results": results_json(&stats, Kind::Ip),
        "mock_unknown_attribute": 42,
    });
    // Like the 2022 capture for 1.1.1.1, unconfigured IPs carry no `last_analysis_date`.
    if configured.is_some() {
        attributes["last_analysis_date"] = json!(now - 3_600);
        attributes["last_modification_date"] = json!(now - 3_600);
    }
    json!({
        "type": "ip_address",
        "id": ip.to_string(),
        "links": {"self": shared.api(&format!("ip_addresses/{ip}"))},
        "attributes": attributes,
    })
}

fn descriptor(shared: &Shared, id: &str) -> Value {
    json!({"data": {"type": "analysis", "id": id, "links": {"self": shared.api(&format!("analyses/{id}"))}}})
}

// ---------------------------------------------------------------------------------------------
// Handling.

/// A JSON success body, or a ready error response (boxed: `Response` is large).
type Reply = Result<Value, Box<Response>>;

/// Records a new analysis, queued, and answers with its descriptor (the same id again is the
/// same analysis).
fn queue_analysis(
    shared: &Shared,
    state: &mut MockState,
    id: String,
    subject: Subject,
    stats: Stats,
    now: i64,
) -> Reply {
    let reply = descriptor(shared, &id);
    state.analyses.entry(id).or_insert(Analysis {
        subject,
        date: now,
        stats,
        polls: 0,
        applied: false,
    });
    Ok(reply)
}

fn reject<T>(response: Response) -> Result<T, Box<Response>> {
    Err(Box::new(response))
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let at = SystemTime::now();
    let (parts, body) = request.into_parts();
    let header_str = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let index = {
        let mut state = shared.state();
        state.requests.push(RecordedRequest {
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str().to_string())
                .unwrap_or_else(|| parts.uri.path().to_string()),
            at,
            api_key: header_str("x-apikey"),
            status: 0,
            content_type: header_str("content-type"),
            body_len: 0,
        });
        state.requests.len() - 1
    };
    let cap = body_cap(&shared.config, &parts);
    let body = read_body(body, cap).await;
    if let Some(record) = shared.state().requests.get_mut(index) {
        record.body_len = body.total;
    }
    let response = respond(&shared, &parts, body).await;
    if let Some(record) = shared.state().requests.get_mut(index) {
        record.status = response.status().as_u16();
    }
    response
}

struct ReadBody {
    bytes: Bytes,
    total: usize,
    overflow: bool,
    failed: bool,
}

fn body_cap(config: &MockConfig, parts: &Parts) -> u64 {
    let path = parts.uri.path();
    if parts.method == Method::POST && path == "/api/v3/files" {
        config.max_direct_upload.saturating_add(MULTIPART_SLACK)
    } else if path.starts_with("/_upload/") {
        config.max_upload_url_upload.saturating_add(MULTIPART_SLACK)
    } else {
        OTHER_BODY_CAP
    }
}

/// Reads the whole body, keeping at most `cap` bytes (the rest is counted and dropped).
async fn read_body(mut body: Body, cap: u64) -> ReadBody {
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut overflow = false;
    let mut failed = false;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(frame) = frame else {
            failed = true;
            break;
        };
        if let Ok(data) = frame.into_data() {
            total += data.len();
            if !overflow && total as u64 <= cap {
                kept.extend_from_slice(&data);
            } else if !overflow {
                overflow = true;
                kept = Vec::new();
            }
        }
    }
    ReadBody {
        bytes: Bytes::from(kept),
        total,
        overflow,
        failed,
    }
}

async fn respond(shared: &Shared, parts: &Parts, body: ReadBody) -> Response {
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    let fault = shared.state().faults.pop_front();
    if let Some(fault) = fault {
        if let Fault::Delay(duration) = fault {
            tokio::time::sleep(duration).await;
        } else if let Some(response) = fault_response(&fault) {
            return response;
        }
    }
    if body.failed {
        return bad_request("The request body could not be read");
    }
    let path = parts.uri.path();
    if let Some(token) = path.strip_prefix("/_upload/") {
        return match upload_via_url(shared, parts, &percent_decode(token), body).await {
            Ok(value) => success(shared, parts, value),
            Err(response) => *response,
        };
    }
    let rest = match path.strip_prefix("/api/v3") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return not_found(format!("Resource \"{path}\" not found")),
    };

    // Auth: missing key, then unknown key.
    let key = parts
        .headers
        .get("x-apikey")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    match key {
        None => {
            return api_error(
                StatusCode::UNAUTHORIZED,
                "AuthenticationRequiredError",
                "X-Apikey header is missing",
            )
        }
        Some(key) if key.is_empty() => {
            return api_error(
                StatusCode::UNAUTHORIZED,
                "AuthenticationRequiredError",
                "X-Apikey header is missing",
            )
        }
        Some(key) if !shared.config.api_keys.contains(&key) => {
            return api_error(StatusCode::UNAUTHORIZED, "WrongCredentialsError", "Wrong API key")
        }
        Some(_) => {}
    }

    if let Err(response) = admit(shared) {
        return *response;
    }

    let segments: Vec<String> = rest.split('/').skip(1).map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = &parts.method;
    let get = method == Method::GET;
    let post = method == Method::POST;
    let reply: Reply = match segments.as_slice() {
        ["files", "upload_url"] if get => Ok(upload_url(shared)),
        ["files"] if post => upload_direct(shared, parts, body).await,
        ["files", id] if get => file_report(shared, id),
        ["files", id, "analyse"] if post => reanalyse_file(shared, id),
        ["analyses", id] if get => analysis(shared, id),
        ["analyses", id, "item"] if get => analysis_item(shared, id),
        ["ip_addresses", ip] if get => ip_report(shared, ip),
        ["urls"] if post => submit_url(shared, parts, body).await,
        ["urls", id] if get => url_report(shared, id),
        ["urls", id, "analyse"] if post => reanalyse_url(shared, id),
        ["files", ..] | ["analyses", _] | ["analyses", _, "item"] | ["ip_addresses", _] | ["urls", ..] => {
            reject(api_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "BadRequestError",
                format!("Method {method} is not allowed on {path}"),
            ))
        }
        _ => reject(not_found(format!("Resource \"{path}\" not found"))),
    };
    match reply {
        Ok(value) => success(shared, parts, value),
        Err(response) => *response,
    }
}

/// 200 JSON, gzipped (stored blocks) when the client asked the way the official clients do.
fn success(shared: &Shared, parts: &Parts, value: Value) -> Response {
    let body = value.to_string().into_bytes();
    let wants_gzip = shared.config.gzip
        && header_contains(&parts.headers, header::ACCEPT_ENCODING, "gzip")
        && header_contains(&parts.headers, header::USER_AGENT, "gzip");
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json");
    if wants_gzip {
        builder
            .header(header::CONTENT_ENCODING, "gzip")
            .body(Body::from(gzip_stored(&body)))
            .expect("response")
    } else {
        builder.body(Body::from(body)).expect("response")
    }
}

fn header_contains(headers: &HeaderMap, name: header::HeaderName, needle: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .to_ascii_lowercase()
            .contains(needle)
    })
}

/// Counts the request against the quotas, or answers 429 (not counted).
fn admit(shared: &Shared) -> Result<(), Box<Response>> {
    let mut state = shared.state();
    let now = Instant::now();
    while state
        .minute_window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
    {
        state.minute_window.pop_front();
    }
    let day = unix_now().div_euclid(86_400);
    if state.day_count.0 != day {
        state.day_count = (day, 0);
    }
    if let Some(limit) = shared.config.quota_per_minute {
        if state.minute_window.len() >= limit as usize {
            return reject(quota_exceeded(&format!(
                "Quota exceeded: {limit} requests per minute"
            )));
        }
    }
    if let Some(limit) = shared.config.quota_per_day {
        if state.day_count.1 >= limit {
            return reject(quota_exceeded(&format!(
                "Quota exceeded: {limit} requests per day"
            )));
        }
    }
    state.minute_window.push_back(now);
    state.day_count.1 += 1;
    Ok(())
}

fn resolve_file<'a>(state: &'a MockState, id: &str) -> Option<&'a FileRecord> {
    let id = id.to_ascii_lowercase();
    if is_hex(&id, 64) {
        state.files.get(&id)
    } else if is_hex(&id, 32) || is_hex(&id, 40) {
        state
            .file_aliases
            .get(&id)
            .and_then(|sha256| state.files.get(sha256))
    } else {
        None
    }
}

fn file_report(shared: &Shared, id: &str) -> Reply {
    let state = shared.state();
    match resolve_file(&state, id) {
        Some(file) => Ok(json!({"data": file_object(shared, file)})),
        None => reject(not_found(format!("File \"{id}\" not found"))),
    }
}

/// The sha256 a URL id stands for: 64 hex digits as is, else base64url (padding tolerated).
fn url_id_to_sha256(id: &str) -> Option<String> {
    if is_hex(id, 64) {
        return Some(id.to_ascii_lowercase());
    }
    let trimmed = id.trim_end_matches('=');
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
        .ok()?;
    let url = String::from_utf8(decoded).ok()?;
    url.contains("://").then(|| url_sha256(&url))
}

fn url_report(shared: &Shared, id: &str) -> Reply {
    let state = shared.state();
    match url_id_to_sha256(id).and_then(|sha256| state.urls.get(&sha256)) {
        Some(url) => Ok(json!({"data": url_object(shared, url)})),
        None => reject(not_found(format!("URL \"{id}\" not found"))),
    }
}

fn ip_report(shared: &Shared, ip: &str) -> Reply {
    let Ok(parsed) = ip.parse::<IpAddr>() else {
        return reject(api_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgumentError",
            format!("\"{ip}\" is not a valid IP address"),
        ));
    };
    let configured = shared.state().ips.get(&parsed).copied();
    Ok(json!({"data": ip_object(shared, parsed, configured)}))
}

fn upload_url(shared: &Shared) -> Value {
    let mut state = shared.state();
    state.token_counter += 1;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!("{}-{}-{nanos}", shared.origin, state.token_counter);
    let token = format!("AMmfu6b{}", &sha256_hex(seed.as_bytes())[..40]);
    state.upload_tokens.insert(token.clone(), Token::Fresh);
    json!({"data": format!("{}/_upload/{token}", shared.origin)})
}

async fn upload_via_url(shared: &Shared, parts: &Parts, token: &str, body: ReadBody) -> Reply {
    {
        let mut state = shared.state();
        match state.upload_tokens.get_mut(token) {
            None => return reject(not_found(format!("Upload URL \"{token}\" not found"))),
            Some(Token::Used) => return reject(bad_request("This upload URL has already been used")),
            Some(slot) => *slot = Token::Used,
        }
    }
    if parts.method != Method::POST {
        return reject(api_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequestError",
            format!("Method {} is not allowed on upload URLs", parts.method),
        ));
    }
    store_upload(shared, parts, body, shared.config.max_upload_url_upload).await
}

async fn upload_direct(shared: &Shared, parts: &Parts, body: ReadBody) -> Reply {
    store_upload(shared, parts, body, shared.config.max_direct_upload).await
}

async fn store_upload(shared: &Shared, parts: &Parts, body: ReadBody, limit: u64) -> Reply {
    if body.overflow {
        return reject(too_large(body.total as u64, limit));
    }
    let (content, name) = multipart_file(parts, body.bytes).await?;
    if content.len() as u64 > limit {
        return reject(too_large(content.len() as u64, limit));
    }
    let sha256 = sha256_hex(&content);
    let md5 = md5_hex(&content);
    let sha1 = sha1_hex(&content);
    let now = unix_now();
    let id = file_analysis_id(&md5, now);
    let mut state = shared.state();
    let stats = shared
        .config
        .upload_verdicts
        .get(&sha256)
        .copied()
        .or_else(|| state.files.get(&sha256).map(|f| f.stats))
        .unwrap_or_else(Stats::clean);
    let subject = Subject::File {
        sha256,
        md5,
        sha1,
        size: content.len() as u64,
        name,
    };
    queue_analysis(shared, &mut state, id, subject, stats, now)
}

/// The `file` part of a multipart body: (content, filename).
async fn multipart_file(parts: &Parts, bytes: Bytes) -> Result<(Vec<u8>, Option<String>), Box<Response>> {
    let request = Request::from_parts(parts.clone(), Body::from(bytes));
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| bad_request(format!("Expected a multipart/form-data body: {}", e.body_text())))?;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().map(str::to_string);
                let data = field
                    .bytes()
                    .await
                    .map_err(|e| bad_request(format!("Malformed multipart body: {}", e.body_text())))?;
                return Ok((data.to_vec(), name));
            }
            Ok(Some(_)) => continue,
            Ok(None) => return reject(bad_request("Missing form field \"file\"")),
            Err(e) => {
                return reject(bad_request(format!(
                    "Malformed multipart body: {}",
                    e.body_text()
                )))
            }
        }
    }
}

async fn submit_url(shared: &Shared, parts: &Parts, body: ReadBody) -> Reply {
    if body.overflow {
        return reject(too_large(body.total as u64, OTHER_BODY_CAP));
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase())
        .unwrap_or_default();
    let url =
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let request = Request::from_parts(parts.clone(), Body::from(body.bytes));
            let Form(fields) = Form::<HashMap<String, String>>::from_request(request, &())
                .await
                .map_err(|e| bad_request(format!("Malformed form body: {}", e.body_text())))?;
            fields.get("url").cloned()
        } else if content_type.starts_with("multipart/form-data") {
            let request = Request::from_parts(parts.clone(), Body::from(body.bytes));
            let mut multipart = Multipart::from_request(request, &())
                .await
                .map_err(|e| bad_request(format!("Malformed multipart body: {}", e.body_text())))?;
            let mut url = None;
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|e| bad_request(format!("Malformed multipart body: {}", e.body_text())))?
            {
                if field.name() == Some("url") {
                    url =
                        Some(field.text().await.map_err(|e| {
                            bad_request(format!("Malformed multipart body: {}", e.body_text()))
                        })?);
                    break;
                }
            }
            url
        } else {
            return reject(bad_request("Expected a form body with the field \"url\""));
        };
    let Some(url) = url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()) else {
        return reject(bad_request("Missing form field \"url\""));
    };
    let sha256 = url_sha256(&url);
    let now = unix_now();
    let id = format!("u-{sha256}-{now}");
    let mut state = shared.state();
    let stats = shared
        .config
        .submit_verdicts
        .get(&url)
        .copied()
        .or_else(|| {
            let canonical = canonical_url(&url);
            shared
                .config
                .submit_verdicts
                .iter()
                .find(|(k, _)| canonical_url(k) == canonical)
                .map(|(_, s)| *s)
        })
        .or_else(|| state.urls.get(&sha256).map(|u| u.stats))
        .unwrap_or_else(Stats::clean);
    queue_analysis(shared, &mut state, id, Subject::Url { url, sha256 }, stats, now)
}

fn reanalyse_file(shared: &Shared, id: &str) -> Reply {
    let now = unix_now();
    let mut state = shared.state();
    let Some(file) = resolve_file(&state, id).cloned() else {
        return reject(not_found(format!("File \"{id}\" not found")));
    };
    let stats = shared
        .config
        .upload_verdicts
        .get(&file.sha256)
        .copied()
        .unwrap_or(file.stats);
    let analysis_id = file_analysis_id(&file.md5, now);
    let subject = Subject::File {
        sha256: file.sha256,
        md5: file.md5,
        sha1: file.sha1,
        size: file.size,
        name: file.name,
    };
    queue_analysis(shared, &mut state, analysis_id, subject, stats, now)
}

fn reanalyse_url(shared: &Shared, id: &str) -> Reply {
    let now = unix_now();
    let mut state = shared.state();
    let Some(url) = url_id_to_sha256(id)
        .and_then(|sha256| state.urls.get(&sha256))
        .cloned()
    else {
        return reject(not_found(format!("URL \"{id}\" not found")));
    };
    let stats = shared
        .config
        .submit_verdicts
        .get(&url.url)
        .copied()
        .unwrap_or(url.stats);
    let analysis_id = format!("u-{}-{now}", url.sha256);
    queue_analysis(
        shared,
        &mut state,
        analysis_id,
        Subject::Url {
            url: url.url,
            sha256: url.sha256,
        },
        stats,
        now,
    )
}

/// Makes the analysed object's report reflect a completed analysis.
fn apply_analysis(state: &mut MockState, analysis: &Analysis) {
    match &analysis.subject {
        Subject::File {
            sha256,
            md5,
            sha1,
            size,
            name,
        } => {
            state.file_aliases.insert(md5.clone(), sha256.clone());
            state.file_aliases.insert(sha1.clone(), sha256.clone());
            let record = state.files.entry(sha256.clone()).or_insert_with(|| FileRecord {
                sha256: sha256.clone(),
                md5: md5.clone(),
                sha1: sha1.clone(),
                size: *size,
                name: None,
                stats: analysis.stats,
                first_submission: analysis.date,
                last_submission: analysis.date,
                last_analysis: analysis.date,
                times_submitted: 0,
            });
            if record.name.is_none() {
                record.name.clone_from(name);
            }
            record.stats = analysis.stats;
            record.last_submission = analysis.date;
            record.last_analysis = analysis.date;
            record.times_submitted += 1;
        }
        Subject::Url { url, sha256 } => {
            let record = state.urls.entry(sha256.clone()).or_insert_with(|| UrlRecord {
                url: url.clone(),
                sha256: sha256.clone(),
                stats: analysis.stats,
                first_submission: analysis.date,
                last_submission: analysis.date,
                last_analysis: analysis.date,
                times_submitted: 0,
            });
            record.stats = analysis.stats;
            record.last_submission = analysis.date;
            record.last_analysis = analysis.date;
            record.times_submitted += 1;
        }
    }
}

fn analysis(shared: &Shared, id: &str) -> Reply {
    let mut state = shared.state();
    let Some(entry) = state.analyses.get_mut(id) else {
        return reject(not_found(format!("Analysis \"{id}\" not found")));
    };
    entry.polls += 1;
    let not_found_polls = shared.config.analysis_not_found_polls;
    if entry.polls <= not_found_polls {
        return reject(not_found(format!("Analysis \"{id}\" not found")));
    }
    let completed = entry.polls - not_found_polls > shared.config.polls_before_complete;
    let newly_completed = completed && !entry.applied;
    if newly_completed {
        entry.applied = true;
    }
    let analysis = entry.clone();
    if newly_completed {
        apply_analysis(&mut state, &analysis);
    }
    let (kind, item, meta) = match &analysis.subject {
        Subject::File {
            sha256,
            md5,
            sha1,
            size,
            ..
        } => (
            Kind::File,
            shared.api(&format!("files/{sha256}")),
            json!({"file_info": {"sha256": sha256, "sha1": sha1, "md5": md5, "size": size}}),
        ),
        Subject::Url { url, sha256 } => (
            Kind::Url,
            shared.api(&format!("urls/{sha256}")),
            json!({"url_info": {"id": sha256, "url": url}}),
        ),
    };
    let (status, stats, results) = if completed {
        (
            "completed",
            stats_json(&analysis.stats, kind),
            results_json(&analysis.stats, kind),
        )
    } else {
        ("queued", stats_json(&Stats::default(), kind), json!({}))
    };
    Ok(json!({
        "data": {
            "type": "analysis",
            "id": id,
            "links": {"self": shared.api(&format!("analyses/{id}")), "item": item},
            "attributes": {"date": analysis.date, "status": status, "stats": stats, "results": results},
        },
        "meta": meta,
    }))
}

fn analysis_item(shared: &Shared, id: &str) -> Reply {
    let state = shared.state();
    let Some(analysis) = state.analyses.get(id) else {
        return reject(not_found(format!("Analysis \"{id}\" not found")));
    };
    match &analysis.subject {
        Subject::File { sha256, .. } => match state.files.get(sha256) {
            Some(file) => Ok(json!({"data": file_object(shared, file)})),
            None => reject(not_found(format!("File \"{sha256}\" not found"))),
        },
        Subject::Url { sha256, .. } => match state.urls.get(sha256) {
            Some(url) => Ok(json!({"data": url_object(shared, url)})),
            None => reject(not_found(format!("URL \"{sha256}\" not found"))),
        },
    }
}
