//! The in-process limiter, for when Redis is unreachable: the same sliding window, margin, hold
//! and daily quota as the shared one, for this process only.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use super::{Decision, LimiterConfig};

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
    pub(super) fn new(config: LimiterConfig) -> LocalLimiter {
        LocalLimiter {
            config,
            state: tokio::sync::Mutex::new(LocalState::default()),
        }
    }

    #[cfg(test)]
    pub(super) fn config(&self) -> &LimiterConfig {
        &self.config
    }

    pub(super) async fn granted_today(&self) -> u64 {
        let state = self.state.lock().await;
        if state.day == utc_day() {
            u64::from(state.used_today)
        } else {
            0
        }
    }

    pub(super) async fn try_acquire(&self) -> Decision {
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

    pub(super) async fn penalize(&self) {
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
