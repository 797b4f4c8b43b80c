//! The limiter shared through Redis: one Lua script, run atomically on Redis's own clock, keeps
//! the sliding window, the hold after a 429 and the day's count for every job of a budget.

use std::time::Duration;

use super::{key_safe, Decision, LimiterConfig, LimiterError, Mode, CONNECT_TIMEOUT};
use crate::enrich::redis::link::{unique_token, ConnProblem, Link};
use crate::enrich::redis::retry::{retry, Retry};

/// Five attempts per limiter call before giving up with [`LimiterError::Unavailable`]; the
/// pause between them starts at 100 ms and doubles (100, 200, 400, 800 ms).
const RETRY: Retry = Retry::new(5, Duration::from_millis(100));
/// Attempts that time out before giving up early (each costs [`CONNECT_TIMEOUT`]).
const MAX_TIMEOUTS: u32 = 2;

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
    /// Loads the limiter script through `link` (so that a Redis refusing it is found out now,
    /// as a configuration error, not on the first request).
    pub(super) async fn load(link: Link, config: LimiterConfig) -> Result<SharedLimiter, LimiterError> {
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
        Ok(SharedLimiter {
            link,
            script,
            window_key: format!("{prefix}:window"),
            hold_key: format!("{prefix}:hold"),
            day_key_prefix: format!("{prefix}:day:"),
            config,
        })
    }

    #[cfg(test)]
    pub(super) fn config(&self) -> &LimiterConfig {
        &self.config
    }

    /// One run of the script, retried with exponential backoff on any failure.
    pub(super) async fn call(&self, mode: Mode) -> Result<Decision, LimiterError> {
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
    pub(super) async fn granted_today(&self) -> Result<u64, LimiterError> {
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
