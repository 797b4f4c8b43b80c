//! Opening the run's Redis connection (one, shared by VirusTotal's limiter, verdict cache and
//! claims and by `--validate`'s cache), keeping it open across failures, and naming a Redis
//! server in messages without leaking the credentials its URL may carry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use std::path::PathBuf;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, ClientTlsConfig, RedisFuture, TlsCertificates};
use tokio::sync::Mutex;

/// Why talking to Redis failed, already phrased for a message (`message` never holds credentials).
#[derive(Debug, Clone)]
pub struct ConnError {
    /// The server's URL with any credentials replaced by `***` (see [`redacted`]).
    pub url: String,
    pub message: String,
    pub problem: ConnProblem,
}

/// `url` with everything that may be a credential replaced by `***`: the whole user-info part
/// (`redis://user:secret@host` → `redis://***@host`) and `pass`/`password` query parameters
/// (`redis+unix:///run/redis.sock?pass=secret`).
pub fn redacted(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => (&url[..at + 3], &url[at + 3..]),
        None => ("", url),
    };
    // The last '@' ends the user info: an unencoded '@' inside a password must not leak the rest.
    let rest = match rest.rfind('@') {
        Some(at) => format!("***@{}", &rest[at + 1..]),
        None => rest.to_string(),
    };
    let Some(q) = rest.find('?') else {
        return format!("{scheme}{rest}");
    };
    let (base, query) = (&rest[..q], &rest[q + 1..]);
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            if pair.contains('=') && matches!(name.to_ascii_lowercase().as_str(), "pass" | "password") {
                format!("{name}=***")
            } else {
                pair.to_string()
            }
        })
        .collect();
    format!("{scheme}{base}?{}", query.join("&"))
}

/// The secrets `url` may hold (password, user name, query passwords), to scrub from messages
/// produced by the redis client library.
fn secrets_of(url: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    let rest = url.find("://").map_or(url, |at| &url[at + 3..]);
    if let Some(at) = rest.rfind('@') {
        let userinfo = &rest[..at];
        secrets.push(userinfo.to_string());
        secrets.extend(userinfo.split(':').map(str::to_string));
    }
    if let Some(q) = rest.find('?') {
        for pair in rest[q + 1..].split('&') {
            if let Some((name, value)) = pair.split_once('=') {
                if matches!(name.to_ascii_lowercase().as_str(), "pass" | "password") {
                    secrets.push(value.to_string());
                }
            }
        }
    }
    secrets.retain(|s| !s.is_empty());
    // Longest first, so that a whole "user:password" goes before its parts.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
}

/// `err` as text, with anything from `url` that might be a credential replaced by `***`.
pub fn describe(err: &redis::RedisError, url: &str) -> String {
    scrub(&err.to_string(), url)
}

fn scrub(text: &str, url: &str) -> String {
    let mut text = text.to_string();
    for secret in secrets_of(url) {
        text = text.replace(&secret, "***");
    }
    text
}

/// TLS material for `rediss://` servers beyond the system trust store: a private CA (managed
/// Redis services and self-hosted servers often use one) and a client certificate where the
/// server asks for one (mutual TLS). Paths as given by the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl TlsFiles {
    fn is_empty(&self) -> bool {
        self.ca.is_none() && self.client_cert.is_none() && self.client_key.is_none()
    }

    /// The files' contents, as the client library takes them.
    fn load(&self) -> Result<TlsCertificates, String> {
        let read = |path: &PathBuf, what: &str| {
            std::fs::read(path).map_err(|e| format!("{what} {}: cannot read: {e}", path.display()))
        };
        let client_tls = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Some(ClientTlsConfig {
                client_cert: read(cert, "--redis-client-cert")?,
                client_key: read(key, "--redis-client-key")?,
            }),
            (None, None) => None,
            _ => return Err("--redis-client-cert and --redis-client-key go together".to_string()),
        };
        let root_cert = self.ca.as_ref().map(|ca| read(ca, "--redis-ca")).transpose()?;
        Ok(TlsCertificates {
            client_tls,
            root_cert,
        })
    }
}

/// A connection to a single server or to a Redis Cluster: both run the same commands and scripts
/// (every key anteater uses carries a hash tag, so one script's keys share a slot).
#[derive(Clone)]
pub enum RedisConn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RedisConn::Single(_) => "RedisConn::Single",
            RedisConn::Cluster(_) => "RedisConn::Cluster",
        })
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, redis::Value> {
        match self {
            RedisConn::Single(conn) => conn.req_packed_command(cmd),
            RedisConn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<redis::Value>> {
        match self {
            RedisConn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(conn) => conn.get_db(),
            RedisConn::Cluster(conn) => conn.get_db(),
        }
    }
}

/// Why a server could not be used, for the caller to decide between falling back and stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnProblem {
    /// Not reachable (refused, timed out, reset): the job may go on without a shared Redis.
    Unreachable,
    /// Reachable but refused us as configured (wrong password or user, a certificate the CA does
    /// not vouch for, unreadable TLS files, an invalid URL): a configuration error to fix, never
    /// silently replaced by a local budget.
    Misconfigured,
}

/// A parsed Redis target: the client for a single server and, with TLS, the certificates (kept
/// to build a cluster client if the server turns out to be a cluster node).
struct Target {
    client: redis::Client,
    certificates: Option<TlsCertificates>,
}

fn target(url: &str, tls: &TlsFiles) -> Result<Target, (ConnProblem, String)> {
    let misconfigured = |message: String| (ConnProblem::Misconfigured, message);
    if !tls.is_empty() && !url.starts_with("rediss://") {
        return Err(misconfigured(
            "--redis-ca, --redis-client-cert and --redis-client-key need a rediss:// URL".to_string(),
        ));
    }
    let certificates = if tls.is_empty() {
        None
    } else {
        Some(tls.load().map_err(misconfigured)?)
    };
    let client = match &certificates {
        Some(certificates) => redis::Client::build_with_tls(url, certificates.clone()),
        None => redis::Client::open(url),
    }
    .map_err(|e| misconfigured(format!("invalid URL: {}", describe(&e, url))))?;
    Ok(Target { client, certificates })
}

/// Whether a failed connection attempt is the configuration's fault rather than the network's.
fn problem_of(err: &redis::RedisError) -> ConnProblem {
    if err.kind() == redis::ErrorKind::AuthenticationFailed {
        return ConnProblem::Misconfigured;
    }
    let text = err.to_string().to_ascii_lowercase();
    let refused_by_config = [
        "wrongpass",
        "noauth",
        "noperm",
        "invalid username-password",
        "certificate",
        "unknownissuer",
        "handshake",
        "invalid dns name",
    ];
    if refused_by_config.iter().any(|needle| text.contains(needle)) {
        ConnProblem::Misconfigured
    } else {
        ConnProblem::Unreachable
    }
}

/// Opens a connection to `url` (TLS material from `tls`) and checks it with `PING`, all within
/// `timeout`; every later command on the connection also times out after `timeout`.
#[cfg(test)]
pub async fn connect(url: &str, tls: &TlsFiles, timeout: Duration) -> Result<RedisConn, ConnError> {
    let fail = |(problem, message): (ConnProblem, String)| ConnError {
        url: redacted(url),
        message,
        problem,
    };
    let target = target(url, tls).map_err(fail)?;
    connect_target(&target, url, timeout, timeout).await.map_err(fail)
}

/// Like [`connect`] for an already parsed target, connected and checked within `timeout`; the
/// connection's commands time out after `response_timeout`. A server that is a Redis Cluster
/// node (it says `cluster_enabled:1`) is used through a cluster connection seeded with it.
async fn connect_target(
    target: &Target,
    url: &str,
    timeout: Duration,
    response_timeout: Duration,
) -> Result<RedisConn, (ConnProblem, String)> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(response_timeout));
    let opened = tokio::time::timeout(timeout, async {
        let mut conn = target
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("PING").query_async::<()>(&mut conn).await?;
        // A user without INFO rights is no cluster user either: take the server as it is.
        let info: String = redis::cmd("INFO")
            .arg("cluster")
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        if !info.lines().any(|line| line.trim() == "cluster_enabled:1") {
            return Ok(RedisConn::Single(conn));
        }
        let mut builder = ClusterClientBuilder::new(vec![url])
            .connection_timeout(timeout)
            .response_timeout(response_timeout);
        if let Some(certificates) = &target.certificates {
            builder = builder.certs(certificates.clone());
        }
        let mut cluster = builder.build()?.get_async_connection().await?;
        redis::cmd("PING").query_async::<()>(&mut cluster).await?;
        Ok::<_, redis::RedisError>(RedisConn::Cluster(cluster))
    })
    .await;
    match opened {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err((problem_of(&e), format!("cannot connect: {}", describe(&e, url)))),
        Err(_) => Err((
            ConnProblem::Unreachable,
            format!("cannot connect: no answer within {} ms", timeout.as_millis()),
        )),
    }
}

/// One Redis server, shared by every component that talks to it (the rate limiter, the verdict
/// cache, the claims and `--validate`'s cache of one run): the parsed client, the redacted URL for messages and one
/// connection. The connection is multiplexed, so one is enough for all of them, and sharing it
/// means a frozen or failed-over server is found out, and reconnected to, once rather than once
/// per component.
struct Server {
    target: Target,
    url: String,
    redacted: String,
    /// The response timeout of the connections opened to this server: the one given to
    /// [`Link::open`]. Each [`Link`] bounds its own commands further (see [`Link::run`]).
    response_timeout: Duration,
    /// Reconnections that failed so far (only ever increased under the `slot` lock).
    failures: AtomicU64,
    slot: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    /// The current connection and its generation, if there is one.
    conn: Option<(u64, RedisConn)>,
    generation: u64,
    /// Why the last reconnection failed.
    failed: Option<String>,
}

/// One component's handle on a shared [`Server`]: cheap to clone, with its own bound on
/// commands. The connection is opened lazily and reopened after any failure (a multiplexed
/// connection does not recover by itself once the server went away).
#[derive(Clone)]
pub(crate) struct Link {
    server: Arc<Server>,
    timeout: Duration,
}

impl Link {
    /// Parses `url`, connects and checks the connection (one attempt, bounded by `timeout`).
    pub(crate) async fn open(url: &str, tls: &TlsFiles, timeout: Duration) -> Result<Link, ConnError> {
        let fail = |(problem, message): (ConnProblem, String)| ConnError {
            url: redacted(url),
            message,
            problem,
        };
        let target = target(url, tls).map_err(fail)?;
        let conn = connect_target(&target, url, timeout, timeout)
            .await
            .map_err(fail)?;
        let server = Server {
            target,
            url: url.to_string(),
            redacted: redacted(url),
            response_timeout: timeout,
            failures: AtomicU64::new(0),
            slot: Mutex::new(Slot {
                conn: Some((0, conn)),
                ..Slot::default()
            }),
        };
        Ok(Link {
            server: Arc::new(server),
            timeout,
        })
    }

    /// Another handle on the same server and connection, whose commands (and reconnections)
    /// are bounded by `timeout`.
    pub(crate) fn with_timeout(&self, timeout: Duration) -> Link {
        Link {
            server: Arc::clone(&self.server),
            timeout,
        }
    }

    /// The server's URL without credentials.
    pub(crate) fn redacted_url(&self) -> &str {
        &self.server.redacted
    }

    /// Text for `err` without credentials.
    pub(crate) fn describe(&self, err: &redis::RedisError) -> String {
        describe(err, &self.server.url)
    }

    /// A handle on the current connection and its generation, opening a new one when there is
    /// none. Callers that waited while another one tried to reconnect share its failure instead
    /// of trying again in turn: a frozen server costs them one timeout, not one each.
    async fn connection(&self) -> Result<(u64, RedisConn), String> {
        let server = &self.server;
        let failures_before = server.failures.load(Ordering::Acquire);
        let mut slot = server.slot.lock().await;
        if let Some((generation, conn)) = &slot.conn {
            return Ok((*generation, conn.clone()));
        }
        if server.failures.load(Ordering::Acquire) > failures_before {
            if let Some(message) = &slot.failed {
                return Err(message.clone());
            }
        }
        match connect_target(&server.target, &server.url, self.timeout, server.response_timeout).await {
            Ok(conn) => {
                slot.generation += 1;
                slot.conn = Some((slot.generation, conn.clone()));
                slot.failed = None;
                Ok((slot.generation, conn))
            }
            Err((_, message)) => {
                slot.failed = Some(message.clone());
                server.failures.fetch_add(1, Ordering::AcqRel);
                Err(message)
            }
        }
    }

    /// Forgets connection `generation` after a failure so that the next attempt opens a new
    /// one; a newer connection (another component reconnected meanwhile) is kept.
    async fn reset(&self, generation: u64) {
        let mut slot = self.server.slot.lock().await;
        if slot
            .conn
            .as_ref()
            .is_some_and(|(current, _)| *current == generation)
        {
            slot.conn = None;
        }
    }

    /// Runs `op` on a connection within this handle's timeout; on any failure the connection is
    /// dropped (so the next call, from any component, reconnects) and the error comes back as
    /// text.
    pub(crate) async fn run<T, F, Fut>(&self, op: F) -> Result<T, LinkError>
    where
        F: FnOnce(RedisConn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let (generation, conn) = self.connection().await.map_err(LinkError::Other)?;
        match tokio::time::timeout(self.timeout, op(conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                // Reconnecting is cheap and also cures what a live connection cannot (a server
                // that became a read-only replica after a failover, a half-closed socket).
                self.reset(generation).await;
                let message = self.describe(&e);
                Err(LinkError::Redis(e, message))
            }
            Err(_) => {
                self.reset(generation).await;
                Err(LinkError::Other(format!(
                    "no answer within {} ms",
                    self.timeout.as_millis()
                )))
            }
        }
    }
}

/// A failed [`Link::run`].
pub(crate) enum LinkError {
    /// The server or client library reported an error (with its redacted text).
    Redis(redis::RedisError, String),
    /// Connecting failed or the command timed out.
    Other(String),
}

impl LinkError {
    /// The server did not answer in time (frozen, or a network black hole), as opposed to an
    /// error it answered or a refused connection: retrying costs a whole timeout again.
    pub(crate) fn is_timeout(&self) -> bool {
        match self {
            LinkError::Redis(e, _) => e.is_timeout(),
            LinkError::Other(message) => message.contains("no answer within"),
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            LinkError::Redis(_, message) | LinkError::Other(message) => message,
        }
    }
}

/// A fresh token for unique sorted-set members: not cryptographic, only distinct across the
/// processes and tasks that share a Redis (time, process id, a counter and a random hasher seed).
pub(crate) fn unique_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_hides_credentials() {
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(
            redacted("redis://user:hunter2@redis.local:6379/2"), // fake-secret-for-tests
            "redis://***@redis.local:6379/2"
        );
        assert_eq!(redacted("redis://:p@ss@host"), "redis://***@host");
        assert_eq!(
            redacted("rediss://default:tok@host:6380"),
            "rediss://***@host:6380"
        );
        assert_eq!(
            redacted("redis+unix:///run/redis.sock?db=1&pass=hunter2"),
            "redis+unix:///run/redis.sock?db=1&pass=***"
        );
        assert_eq!(redacted("not a url"), "not a url");
    }

    #[test]
    fn scrub_removes_secrets_from_library_messages() {
        let url = "redis://alice:hunter2@host?password=xyzzy"; // fake-secret-for-tests
        let text = scrub("failed for alice:hunter2 and hunter2 and xyzzy", url);
        assert!(!text.contains("hunter2") && !text.contains("xyzzy"), "{text}");
    }

    #[test]
    fn unique_tokens_differ() {
        let a = unique_token();
        let b = unique_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
    }

    /// A handle on a server that accepts connections and never answers, with no connection
    /// open yet (as after a reset).
    fn link_to_frozen_server(port: u16, timeout: Duration) -> Link {
        let url = format!("redis://127.0.0.1:{port}");
        let Ok(target) = target(&url, &TlsFiles::default()) else {
            panic!("a valid URL");
        };
        let server = Server {
            target,
            url: url.clone(),
            redacted: url,
            response_timeout: timeout,
            failures: AtomicU64::new(0),
            slot: Mutex::new(Slot::default()),
        };
        Link {
            server: Arc::new(server),
            timeout,
        }
    }

    #[tokio::test]
    async fn components_waiting_on_a_reconnection_share_its_failure() {
        // Listening but never accepting: the handshake completes, PING never gets an answer.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let timeout = Duration::from_millis(300);
        let cache = link_to_frozen_server(port, timeout);
        let claims = cache.with_timeout(timeout);
        let limiter = cache.with_timeout(timeout);
        let started = std::time::Instant::now();
        let (a, b, c) = tokio::join!(
            cache.run(|mut conn| async move { redis::cmd("PING").query_async::<()>(&mut conn).await }),
            claims.run(|mut conn| async move { redis::cmd("PING").query_async::<()>(&mut conn).await }),
            limiter.run(|mut conn| async move { redis::cmd("PING").query_async::<()>(&mut conn).await }),
        );
        let elapsed = started.elapsed();
        assert!(a.is_err() && b.is_err() && c.is_err());
        // One reconnection for the three, so one timeout, not three in turn.
        assert_eq!(cache.server.failures.load(Ordering::Acquire), 1);
        assert!(elapsed < timeout * 2, "{elapsed:?}");
        // A later call tries again rather than repeating an old failure.
        assert!(claims
            .run(|mut conn| async move { redis::cmd("PING").query_async::<()>(&mut conn).await })
            .await
            .is_err());
        assert_eq!(cache.server.failures.load(Ordering::Acquire), 2);
        drop(listener);
    }

    #[tokio::test]
    async fn connect_to_closed_port_fails_fast_and_names_the_url() {
        // Bound but not listening: connections are refused, and no one else can take the port.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        let url = format!("redis://u:secretpw@127.0.0.1:{port}");
        let started = std::time::Instant::now();
        let err = connect(&url, &TlsFiles::default(), Duration::from_secs(2))
            .await
            .unwrap_err();
        assert_eq!(err.problem, ConnProblem::Unreachable);
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(err.url, format!("redis://***@127.0.0.1:{port}"));
        assert!(!err.message.contains("secretpw"), "{}", err.message);
    }
}
