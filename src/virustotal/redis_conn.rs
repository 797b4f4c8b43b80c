//! Opening Redis connections for the limiter and the verdict cache, and naming a Redis server in
//! messages without leaking the credentials its URL may carry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use tokio::sync::Mutex;

/// Why talking to Redis failed, already phrased for a message (`message` never holds credentials).
#[derive(Debug, Clone)]
pub struct ConnError {
    /// The server's URL with any credentials replaced by `***` (see [`redacted`]).
    pub url: String,
    pub message: String,
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

/// Opens a multiplexed connection to `url` and checks it with `PING`, all within `timeout`;
/// every later command on the connection also times out after `timeout`.
pub async fn connect(url: &str, timeout: Duration) -> Result<MultiplexedConnection, ConnError> {
    let fail = |message: String| ConnError {
        url: redacted(url),
        message,
    };
    let client = redis::Client::open(url).map_err(|e| fail(format!("invalid URL: {}", describe(&e, url))))?;
    connect_client(&client, url, timeout).await.map_err(fail)
}

/// Like [`connect`] for an already parsed client; the error is the bare message.
pub(crate) async fn connect_client(
    client: &redis::Client,
    url: &str,
    timeout: Duration,
) -> Result<MultiplexedConnection, String> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    let opened = tokio::time::timeout(timeout, async {
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("PING").query_async::<()>(&mut conn).await?;
        Ok::<_, redis::RedisError>(conn)
    })
    .await;
    match opened {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(format!("cannot connect: {}", describe(&e, url))),
        Err(_) => Err(format!(
            "cannot connect: no answer within {} ms",
            timeout.as_millis()
        )),
    }
}

/// One Redis server used by one component: the parsed client, the redacted URL for messages and
/// a connection that is opened lazily and reopened after any failure (a multiplexed connection
/// does not recover by itself once the server went away).
pub(crate) struct Link {
    client: redis::Client,
    url: String,
    redacted: String,
    timeout: Duration,
    conn: Mutex<Option<MultiplexedConnection>>,
}

impl Link {
    /// Parses `url`, connects and checks the connection (one attempt, bounded by `timeout`).
    pub(crate) async fn open(url: &str, timeout: Duration) -> Result<Link, ConnError> {
        let fail = |message: String| ConnError {
            url: redacted(url),
            message,
        };
        let client =
            redis::Client::open(url).map_err(|e| fail(format!("invalid URL: {}", describe(&e, url))))?;
        let conn = connect_client(&client, url, timeout).await.map_err(fail)?;
        Ok(Link {
            client,
            url: url.to_string(),
            redacted: redacted(url),
            timeout,
            conn: Mutex::new(Some(conn)),
        })
    }

    /// The server's URL without credentials.
    pub(crate) fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// Text for `err` without credentials.
    pub(crate) fn describe(&self, err: &redis::RedisError) -> String {
        describe(err, &self.url)
    }

    /// A handle on the current connection, opening a new one when there is none.
    pub(crate) async fn connection(&self) -> Result<MultiplexedConnection, String> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let conn = connect_client(&self.client, &self.url, self.timeout).await?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Forgets the current connection after a failure so that the next attempt opens a new one.
    pub(crate) async fn reset(&self) {
        *self.conn.lock().await = None;
    }

    /// Runs `op` on a connection within the per-command timeout; on any failure the connection is
    /// dropped (so the next call reconnects) and the error comes back as text.
    pub(crate) async fn run<T, F, Fut>(&self, op: F) -> Result<T, LinkError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.connection().await.map_err(LinkError::Other)?;
        match tokio::time::timeout(self.timeout, op(conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                // Reconnecting is cheap and also cures what a live connection cannot (a server
                // that became a read-only replica after a failover, a half-closed socket).
                self.reset().await;
                let message = self.describe(&e);
                Err(LinkError::Redis(e, message))
            }
            Err(_) => {
                self.reset().await;
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

    #[tokio::test]
    async fn connect_to_closed_port_fails_fast_and_names_the_url() {
        // Bound but not listening: connections are refused, and no one else can take the port.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        let url = format!("redis://u:secretpw@127.0.0.1:{port}");
        let started = std::time::Instant::now();
        let err = connect(&url, Duration::from_secs(2)).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(err.url, format!("redis://***@127.0.0.1:{port}"));
        assert!(!err.message.contains("secretpw"), "{}", err.message);
    }
}
