//! The global rate limiter for VirusTotal lookups.
//!
//! Every CI job that uses the same API key shares one budget: a sliding-window log kept in Redis
//! and updated by one atomic Lua script that reads Redis's own clock, so concurrent jobs on
//! runners with skewed clocks together never exceed `requests` per window, nor the optional daily
//! quota (VirusTotal resets it at 00:00 UTC). When Redis is unreachable the caller falls back to
//! the in-process [`RateLimiter::local`], which keeps the same promise for this process only.
//!
//! Redis keys (the budget id is a hash of the API key, never the key; the braces make it a hash
//! tag, so all keys of one budget live in the same slot of a Redis Cluster):
//! - `anteater:vt:{<budget>}:window` — ZSET of grants, score = Redis time in µs, member
//!   `<µs>-<random>`; expires one window after the last grant;
//! - `anteater:vt:{<budget>}:hold` — Redis time in µs before which nothing is granted (set after
//!   a 429 by [`RateLimiter::penalize`]);
//! - `anteater:vt:{<budget>}:day:<days since 1970-01-01, UTC>` — granted requests that day,
//!   expires after two days.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use super::redis_conn::{unique_token, ConnProblem, Link, TlsFiles};
use super::retry::{retry, Retry};

/// Bound on connecting to Redis (and loading the script) in [`RateLimiter::shared`].
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Five attempts per limiter call before giving up with [`LimiterError::Unavailable`]; the
/// pause between them starts at 100 ms and doubles (100, 200, 400, 800 ms).
const RETRY: Retry = Retry::new(5, Duration::from_millis(100));
/// Attempts that time out before giving up early (each costs [`CONNECT_TIMEOUT`]).
const MAX_TIMEOUTS: u32 = 2;
/// Added to every wait so that the retry lands after the slot has opened, not just before.
const WAIT_SLACK: Duration = Duration::from_millis(5);
/// Longest accepted rate window; longer budgets belong in the daily quota.
const MAX_WINDOW: Duration = Duration::from_secs(31 * 86_400);

/// `requests` requests per `per`, parsed from `3/1m`, `4/60s`, `1000/1m`, `5/2s`, `10/1h`, `500/1d`
/// (also `3/min`, `4 / 60 s`, `5/500ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: u32,
    pub per: Duration,
}

impl Rate {
    /// The window the limiter really enforces: the nominal one plus a safety margin of
    /// min(window/10, 1 s). A grant is stamped when the limiter says yes, but the request leaves
    /// the runner some milliseconds later (TLS, DNS, a busy runner) and network jitter can bunch
    /// requests from different jobs at VirusTotal, so `requests` grants spread over exactly one
    /// nominal window may arrive there inside a shorter one and trip its per-minute quota. The
    /// margin absorbs that; it costs at most 10 % of the throughput (1 s per minute for 4/1m).
    /// Example: 5/2s admits at most 5 grants in any 2.2 s.
    pub fn effective_window(self) -> Duration {
        self.per + (self.per / 10).min(Duration::from_secs(1))
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Rate, String> {
        let invalid = |why: &str| {
            format!(
                "invalid rate {text:?}: {why}; expected REQUESTS/DURATION such as 4/1m, 1000/1m, 5/2s, \
                 10/1h or 500/1d (units ms, s, m, h, d)"
            )
        };
        let (requests, per) = text.split_once('/').ok_or_else(|| invalid("no '/'"))?;
        let requests = requests.trim();
        if requests.is_empty() || !requests.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("the number of requests must be a positive whole number"));
        }
        let requests: u32 = requests
            .parse()
            .map_err(|_| invalid("the number of requests is too large"))?;
        if requests == 0 {
            return Err(invalid("the number of requests must be at least 1"));
        }
        let per = per.trim();
        let digits = per.find(|c: char| !c.is_ascii_digit()).unwrap_or(per.len());
        let amount: u64 = if digits == 0 {
            1
        } else {
            per[..digits]
                .parse()
                .map_err(|_| invalid("the duration is too large"))?
        };
        let unit_ms: u64 = match per[digits..].trim().to_ascii_lowercase().as_str() {
            "ms" | "msec" | "millisecond" | "milliseconds" => 1,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            "" => return Err(invalid("the duration has no unit")),
            _ => return Err(invalid("unknown duration unit")),
        };
        let millis = amount
            .checked_mul(unit_ms)
            .ok_or_else(|| invalid("the duration is too large"))?;
        if millis == 0 {
            return Err(invalid("the duration must be longer than zero"));
        }
        let per = Duration::from_millis(millis);
        if per > MAX_WINDOW {
            return Err(invalid(
                "the duration must be at most 31 days (use the daily quota for more)",
            ));
        }
        Ok(Rate { requests, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.per.as_millis();
        let (amount, unit) = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s")]
            .into_iter()
            .find(|(unit_ms, _)| millis >= *unit_ms && millis % unit_ms == 0)
            .map_or((millis, "ms"), |(unit_ms, unit)| (millis / unit_ms, unit));
        write!(f, "{}/{amount}{unit}", self.requests)
    }
}

/// What a limiter enforces for one VirusTotal key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterConfig {
    pub rate: Rate,
    /// Requests per UTC day, when the key has such a quota (public keys: 500).
    pub daily_quota: Option<u32>,
    /// Hex hash of the API key, computed by the caller; never the key. Jobs with the same id share
    /// one budget. Anything but `[0-9A-Za-z_.-]{1,128}` is hashed again before it goes into keys.
    pub budget_id: String,
}

/// The answer of [`RateLimiter::acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// One request may be sent now.
    Granted,
    /// The daily quota of the current UTC day is used up; nothing was granted.
    DailyQuotaSpent,
}

/// The limiter could not answer; nothing was granted.
#[derive(Debug, thiserror::Error)]
pub enum LimiterError {
    /// Setting up the shared limiter failed (Redis unreachable, invalid URL, script not loadable).
    #[error("Redis at {url}: {message}")]
    Connect {
        url: String,
        message: String,
        problem: ConnProblem,
    },
    /// Redis kept failing while a permit was asked for (or a penalty recorded).
    #[error("Redis at {url}: rate limiter gave up after {attempts} attempts: {message}")]
    Unavailable {
        url: String,
        attempts: u32,
        message: String,
    },
}

/// A VirusTotal rate limiter: shared by all jobs through Redis, or local to this process.
pub enum RateLimiter {
    Shared(Box<SharedLimiter>),
    Local(LocalLimiter),
}

impl RateLimiter {
    /// Connects to Redis (bounded by a 3 s timeout) and loads the limiter script. Errs when Redis
    /// is unreachable, so that the caller can fall back to [`RateLimiter::local`] with a warning.
    pub async fn shared(
        redis_url: &str,
        tls: &TlsFiles,
        config: LimiterConfig,
    ) -> Result<RateLimiter, LimiterError> {
        let link = Link::open(redis_url, tls, CONNECT_TIMEOUT)
            .await
            .map_err(|e| LimiterError::Connect {
                url: e.url,
                message: e.message,
                problem: e.problem,
            })?;
        let script = redis::Script::new(SCRIPT);
        let loaded = link
            .run(|mut conn| {
                let script = &script;
                async move { script.prepare_invoke().load_async(&mut conn).await }
            })
            .await;
        if let Err(e) = loaded {
            return Err(LimiterError::Connect {
                url: link.redacted_url().to_string(),
                message: format!("cannot load the rate-limit script: {}", e.message()),
                // Reachable and answering, yet refusing the script: an ACL without EVAL rights.
                problem: ConnProblem::Misconfigured,
            });
        }
        let prefix = format!("anteater:vt:{{{}}}", key_safe(&config.budget_id));
        Ok(RateLimiter::Shared(Box::new(SharedLimiter {
            link,
            script,
            window_key: format!("{prefix}:window"),
            hold_key: format!("{prefix}:hold"),
            day_key_prefix: format!("{prefix}:day:"),
            config,
        })))
    }

    /// The in-process fallback: the same sliding window, margin and daily quota, for this process.
    pub fn local(config: LimiterConfig) -> RateLimiter {
        RateLimiter::Local(LocalLimiter {
            config,
            state: tokio::sync::Mutex::new(LocalState::default()),
        })
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, RateLimiter::Shared(_))
    }

    pub fn rate(&self) -> Rate {
        self.config().rate
    }

    fn config(&self) -> &LimiterConfig {
        match self {
            RateLimiter::Shared(shared) => &shared.config,
            RateLimiter::Local(local) => &local.config,
        }
    }

    /// Waits until one request may be sent now, calling `on_wait(how_long)` before each sleep (for
    /// progress output). Returns [`Permit::DailyQuotaSpent`] without waiting when the daily quota
    /// of the current UTC day is used up. Never grants when Redis fails: after bounded retries the
    /// error comes back.
    pub async fn acquire(&self, on_wait: &mut (dyn FnMut(Duration) + Send)) -> Result<Permit, LimiterError> {
        loop {
            let decision = match self {
                RateLimiter::Shared(shared) => shared.call(Mode::Acquire).await?,
                RateLimiter::Local(local) => local.try_acquire().await,
            };
            match decision {
                Decision::Granted => return Ok(Permit::Granted),
                Decision::QuotaSpent => return Ok(Permit::DailyQuotaSpent),
                Decision::Wait(wait) => {
                    on_wait(wait);
                    tokio::time::sleep(wait + WAIT_SLACK).await;
                }
            }
        }
    }

    /// One look at the budget without waiting: the caller sleeps on [`Decision::Wait`] itself
    /// (to report progress and keep its own deadline).
    pub async fn try_acquire(&self) -> Result<Decision, LimiterError> {
        match self {
            RateLimiter::Shared(shared) => shared.call(Mode::Acquire).await,
            RateLimiter::Local(local) => Ok(local.try_acquire().await),
        }
    }

    /// Requests granted so far in the current UTC day for this budget (all jobs when shared).
    pub async fn granted_today(&self) -> Result<u64, LimiterError> {
        match self {
            RateLimiter::Shared(shared) => shared.granted_today().await,
            RateLimiter::Local(local) => {
                let state = local.state.lock().await;
                Ok(if state.day == utc_day() {
                    u64::from(state.used_today)
                } else {
                    0
                })
            }
        }
    }

    /// After a 429 from VirusTotal: every job using this budget holds off until one (effective)
    /// window from now has passed; then up to `requests` requests may go at once, as if the
    /// window had been filled now.
    pub async fn penalize(&self) -> Result<(), LimiterError> {
        match self {
            RateLimiter::Shared(shared) => shared.call(Mode::Penalize).await.map(|_| ()),
            RateLimiter::Local(local) => {
                local.penalize().await;
                Ok(())
            }
        }
    }
}

/// `id` as it goes into key names: kept when it looks like a hash, else hashed (so that braces,
/// spaces or an over-long value cannot break the key layout).
pub(crate) fn key_safe(id: &str) -> String {
    let plain = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if plain {
        id.to_string()
    } else {
        format!("{:x}", Sha256::digest(id.as_bytes()))
    }
}

/// One look at the budget (see [`RateLimiter::try_acquire`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// One request may be sent now (and was counted).
    Granted,
    /// The daily quota is spent; nothing was granted.
    QuotaSpent,
    /// Nothing granted; the next slot opens in this long.
    Wait(Duration),
}

#[derive(Clone, Copy)]
enum Mode {
    Acquire,
    Penalize,
}

/// The limit check, atomic in Redis. Times are Redis's `TIME` in µs (exact in Lua's doubles until
/// the year 2255); integers go to Redis through `%d` so that they never turn into `1.7e+15`.
///
/// KEYS: window ZSET, hold key, day-counter key prefix (same hash tag as the others).
/// ARGV: requests, effective window µs, daily quota (-1 = none), unique token, mode.
/// Reply: {1, 0} granted, {2, 0} daily quota spent, {0, µs} wait, {3, µs} penalty recorded.
const SCRIPT: &str = r#"
if redis.replicate_commands then pcall(redis.replicate_commands) end
local function int(n) return string.format('%d', n) end
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local quota = tonumber(ARGV[3])
local ttl_ms = int(math.floor(window / 1000) + 1000)

if ARGV[5] == 'penalize' then
  local hold_until = now + window
  local current = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
  if current < hold_until or current > hold_until + window then
    redis.call('SET', KEYS[2], int(hold_until), 'PX', ttl_ms)
  end
  return {3, window}
end

local day_key = KEYS[3] .. int(math.floor(sec / 86400))
if quota >= 0 then
  local used = tonumber(redis.call('GET', day_key) or '0') or 0
  if used >= quota then return {2, 0} end
end

local hold = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if hold > now + window then
  -- Redis's clock stepped back: a penalty never lasts more than one window from now.
  hold = now + window
  redis.call('SET', KEYS[2], int(hold), 'PX', ttl_ms)
end
if hold > now then return {0, hold - now} end

-- Grants stamped in the future (clock stepped back) count as granted now.
local future = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. int(now), '+inf')
for _, member in ipairs(future) do redis.call('ZADD', KEYS[1], int(now), member) end
-- A grant at g counts while g > now - window.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now - window))
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], int(now), int(now) .. '-' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
  redis.call('INCR', day_key)
  redis.call('EXPIRE', day_key, 172800)
  return {1, 0}
end
-- The next slot opens when enough of the oldest grants have left the window.
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return {0, wait}
"#;

/// The limiter shared through Redis (see the module documentation).
pub struct SharedLimiter {
    link: Link,
    script: redis::Script,
    window_key: String,
    hold_key: String,
    day_key_prefix: String,
    config: LimiterConfig,
}

impl SharedLimiter {
    /// One run of the script, retried with exponential backoff on any failure.
    async fn call(&self, mode: Mode) -> Result<Decision, LimiterError> {
        let window_us = u64::try_from(self.config.rate.effective_window().as_micros()).unwrap_or(u64::MAX);
        let quota = self.config.daily_quota.map_or(-1, i64::from);
        let mode_arg = match mode {
            Mode::Acquire => "acquire",
            Mode::Penalize => "penalize",
        };
        let attempt = || async move {
            let reply = self
                .link
                .run(|mut conn| {
                    let mut invocation = self.script.prepare_invoke();
                    invocation
                        .key(&self.window_key)
                        .key(&self.hold_key)
                        .key(&self.day_key_prefix)
                        .arg(self.config.rate.requests)
                        .arg(window_us)
                        .arg(quota)
                        .arg(unique_token())
                        .arg(mode_arg);
                    async move { invocation.invoke_async::<Vec<i64>>(&mut conn).await }
                })
                .await;
            match reply {
                Ok(reply) => decode(&reply).ok_or_else(|| AttemptError {
                    message: format!("unexpected reply from the rate-limit script: {reply:?}"),
                    timed_out: false,
                }),
                Err(err) => Err(AttemptError {
                    message: err.message().to_string(),
                    timed_out: err.is_timeout(),
                }),
            }
        };
        let mut timeouts = 0;
        retry(RETRY, attempt, |err, took| {
            // A frozen server costs a whole timeout per attempt: two are enough to know.
            if err.timed_out || took >= CONNECT_TIMEOUT / 2 {
                timeouts += 1;
            }
            timeouts < MAX_TIMEOUTS
        })
        .await
        .map_err(|gave_up| LimiterError::Unavailable {
            url: self.link.redacted_url().to_string(),
            attempts: gave_up.attempts,
            message: gave_up.error.message,
        })
    }
}

/// Why one run of the limiter script failed.
struct AttemptError {
    message: String,
    /// Redis did not answer in time (as opposed to an error it answered).
    timed_out: bool,
}

impl SharedLimiter {
    async fn granted_today(&self) -> Result<u64, LimiterError> {
        let script = redis::Script::new(TODAY_SCRIPT);
        let reply = self
            .link
            .run(|mut conn| {
                let mut invocation = script.prepare_invoke();
                invocation.key(&self.day_key_prefix);
                async move { invocation.invoke_async::<i64>(&mut conn).await }
            })
            .await;
        reply
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|err| LimiterError::Unavailable {
                url: self.link.redacted_url().to_string(),
                attempts: 1,
                message: err.message().to_string(),
            })
    }
}

/// The day counter of Redis's current UTC day (KEYS[1]: the day-key prefix).
const TODAY_SCRIPT: &str = r#"
local t = redis.call('TIME')
local day = string.format('%d', math.floor(tonumber(t[1]) / 86400))
return tonumber(redis.call('GET', KEYS[1] .. day) or '0') or 0
"#;

fn decode(reply: &[i64]) -> Option<Decision> {
    match *reply {
        [1, _] => Some(Decision::Granted),
        [2, _] => Some(Decision::QuotaSpent),
        [0, wait] if wait > 0 => Some(Decision::Wait(Duration::from_micros(wait as u64))),
        // A recorded penalty: the caller of penalize() does not wait itself.
        [3, _] => Some(Decision::Granted),
        _ => None,
    }
}

/// The in-process limiter: the same algorithm as the script, on this process's monotonic clock.
pub struct LocalLimiter {
    config: LimiterConfig,
    state: tokio::sync::Mutex<LocalState>,
}

#[derive(Default)]
struct LocalState {
    /// Grant instants within the effective window, oldest first.
    grants: VecDeque<Instant>,
    hold_until: Option<Instant>,
    /// Days since 1970-01-01 (UTC) that `used_today` counts.
    day: u64,
    used_today: u32,
}

impl LocalLimiter {
    async fn try_acquire(&self) -> Decision {
        let window = self.config.rate.effective_window();
        let limit = self.config.rate.requests as usize;
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let day = utc_day();
        if state.day != day {
            state.day = day;
            state.used_today = 0;
        }
        if self
            .config
            .daily_quota
            .is_some_and(|quota| state.used_today >= quota)
        {
            return Decision::QuotaSpent;
        }
        if let Some(hold) = state.hold_until {
            if hold > now {
                return Decision::Wait(hold - now);
            }
            state.hold_until = None;
        }
        while state
            .grants
            .front()
            .is_some_and(|&g| now.duration_since(g) >= window)
        {
            state.grants.pop_front();
        }
        if state.grants.len() < limit {
            state.grants.push_back(now);
            state.used_today = state.used_today.saturating_add(1);
            return Decision::Granted;
        }
        let opens = state.grants[state.grants.len() - limit] + window;
        Decision::Wait(opens.saturating_duration_since(now).max(Duration::from_micros(1)))
    }

    async fn penalize(&self) {
        let mut state = self.state.lock().await;
        let until = Instant::now() + self.config.rate.effective_window();
        if state.hold_until.is_none_or(|hold| hold < until) {
            state.hold_until = Some(until);
        }
    }
}

/// Days since 1970-01-01 in UTC (VirusTotal's daily quota resets at 00:00 UTC).
fn utc_day() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> Rate {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            ("3/1m", 3, 60_000),
            ("4/60s", 4, 60_000),
            ("1000/1m", 1000, 60_000),
            ("5/2s", 5, 2_000),
            ("10/1h", 10, 3_600_000),
            ("500/1d", 500, 86_400_000),
            ("3/min", 3, 60_000),
            ("4 / 60 s", 4, 60_000),
            (" 4/1M ", 4, 60_000),
            ("5/500ms", 5, 500),
            ("2/3 minutes", 2, 180_000),
        ];
        for (text, requests, millis) in cases {
            assert_eq!(
                rate(text),
                Rate {
                    requests,
                    per: Duration::from_millis(millis)
                },
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_invalid_forms_with_clear_messages() {
        for text in [
            "",
            "4",
            "4/",
            "/1m",
            "0/1m",
            "-1/1m",
            "4/0s",
            "4/1x",
            "4/m1",
            "x/1m",
            "4/1.5m",
            "4/-1m",
            "1/1m/2",
            "99999999999/1m",
            "4/32d",
            "4/99999999999999999999d",
        ] {
            let err = text.parse::<Rate>().unwrap_err();
            assert!(
                err.contains("invalid rate") && err.contains("4/1m"),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn displays_in_the_largest_whole_unit_and_round_trips() {
        for (text, shown) in [
            ("4/60s", "4/1m"),
            ("3/min", "3/1m"),
            ("5/2s", "5/2s"),
            ("10/1h", "10/1h"),
            ("500/1d", "500/1d"),
            ("5/500ms", "5/500ms"),
            ("7/90s", "7/90s"),
        ] {
            assert_eq!(rate(text).to_string(), shown);
            assert_eq!(rate(shown), rate(text));
        }
    }

    #[test]
    fn effective_window_adds_a_tenth_capped_at_one_second() {
        assert_eq!(rate("5/2s").effective_window(), Duration::from_millis(2_200));
        assert_eq!(rate("4/1m").effective_window(), Duration::from_secs(61));
        assert_eq!(rate("5/500ms").effective_window(), Duration::from_millis(550));
    }

    #[test]
    fn budget_ids_that_do_not_look_like_hashes_are_hashed() {
        assert_eq!(key_safe("ab12"), "ab12");
        assert_eq!(key_safe("a{b}").len(), 64);
        assert_eq!(key_safe("").len(), 64);
    }

    fn local(text: &str, daily_quota: Option<u32>) -> RateLimiter {
        RateLimiter::local(LimiterConfig {
            rate: rate(text),
            daily_quota,
            budget_id: "test".into(),
        })
    }

    #[tokio::test]
    async fn local_limiter_keeps_the_window_with_its_margin() {
        let limiter = local("2/100ms", None);
        assert!(!limiter.is_shared());
        let started = Instant::now();
        let mut grants = Vec::new();
        let mut waits = 0;
        for _ in 0..6 {
            let permit = limiter.acquire(&mut |_| waits += 1).await.unwrap();
            assert_eq!(permit, Permit::Granted);
            grants.push(started.elapsed());
        }
        // 2 per 110 ms: grants at ~0, ~110, ~220 ms (pairs); no nominal 100 ms holds three.
        assert!(grants[5] >= Duration::from_millis(215), "{grants:?}");
        for three in grants.windows(3) {
            assert!(three[2] - three[0] >= Duration::from_millis(100), "{grants:?}");
        }
        assert!(waits >= 2);
    }

    #[tokio::test]
    async fn local_limiter_enforces_the_daily_quota_without_waiting() {
        let limiter = local("100/1s", Some(2));
        let mut waits = 0;
        for _ in 0..2 {
            assert_eq!(
                limiter.acquire(&mut |_| waits += 1).await.unwrap(),
                Permit::Granted
            );
        }
        let started = Instant::now();
        assert_eq!(
            limiter.acquire(&mut |_| waits += 1).await.unwrap(),
            Permit::DailyQuotaSpent
        );
        assert!(started.elapsed() < Duration::from_millis(50));
        assert_eq!(waits, 0);
    }

    #[tokio::test]
    async fn local_penalty_holds_off_one_window() {
        let limiter = local("5/200ms", None);
        limiter.acquire(&mut |_| {}).await.unwrap();
        limiter.penalize().await.unwrap();
        let started = Instant::now();
        let mut waited = Vec::new();
        limiter.acquire(&mut |d| waited.push(d)).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(215),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(waited.len(), 1);
    }
}
