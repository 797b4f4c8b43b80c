//! One request to VirusTotal: a slot of the rate budget and of the in-flight bound, then the
//! request, retried after transient failures (the shared retry schedule) and after 429s (the
//! limiter's penalty window), with the shared cache checked again before every attempt.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::SemaphorePermit;
use tokio::time::Instant;

use super::super::breaker::BREAKER_THRESHOLD;
use super::super::client::VtError;
use super::super::limiter::Decision;
use super::super::verdict::Verdict;
use super::{lock, Engine, Fatal, Indicator, Origin, Resolution};
use crate::enrich::redis::retry::{Backoff, Pause, Retry};

/// How many times one call is retried after a transient error (5xx, timeout, bad answer).
const MAX_TRANSIENT_RETRIES: u32 = 3;
/// How many 429 answers one call may get before the indicator is given up as unverified.
const MAX_RATE_LIMITED_RETRIES: u32 = 5;
/// Added to a budget wait so that the retry lands after the slot opened, not just before.
const WAIT_SLACK: Duration = Duration::from_millis(5);

/// Why one call did not produce an answer.
pub(super) enum CallError {
    NotFound,
    /// The verdict landed in the cache meanwhile (another job asked): no request needed.
    Answered(Verdict),
    Unverified(String),
    Fatal(String),
}

impl Engine<'_> {
    /// A slot of the rate budget and of the in-flight bound, or why there is none.
    async fn permit(&self, rank: u64) -> Result<SemaphorePermit<'_>, CallError> {
        let _turn = self.gate.enter(rank).await;
        let slot = self
            .in_flight
            .acquire()
            .await
            .expect("the in-flight semaphore is never closed");
        loop {
            if let Some(reason) = self.stop_reason() {
                return Err(CallError::Unverified(reason));
            }
            if self.quota_spent.load(Ordering::Relaxed) {
                return Err(CallError::Unverified(
                    "the daily VirusTotal quota is spent".into(),
                ));
            }
            match self.limiter.current().try_acquire().await {
                Ok(Decision::Granted) => {
                    *lock(&self.budget_wait_until) = None;
                    return Ok(slot);
                }
                Ok(Decision::QuotaSpent) => {
                    if !self.quota_spent.swap(true, Ordering::Relaxed) {
                        self.warn(
                            "the daily VirusTotal quota (--vt-daily-quota) is spent: remaining indicators are unverified"
                                .into(),
                        );
                    }
                }
                Ok(Decision::Wait(wait)) => {
                    let until = Instant::now() + wait + WAIT_SLACK;
                    *lock(&self.budget_wait_until) = Some(until);
                    tokio::time::sleep_until(until.min(self.deadline)).await;
                }
                Err(err) => self.redis_failed(
                    &self.limiter,
                    "the VirusTotal budget is NOT shared with other jobs any more (in-process rate limiter)",
                    &err,
                ),
            }
        }
    }

    /// One API call through the rate limiter, with bounded retries. The cache is checked again
    /// before each attempt: another job may have answered meanwhile.
    pub(super) async fn call<T, F, Fut>(
        &self,
        indicator: &Indicator,
        urgent: bool,
        mut attempt: F,
    ) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, VtError>>,
    {
        // Transient failures (5xx, timeouts) follow the shared retry schedule. 429s are counted
        // on their own and do not sleep here: the limiter's penalty makes every job sharing the
        // budget wait a whole window, which `permit` then sleeps through.
        let mut transient = Backoff::new(
            Retry::new(MAX_TRANSIENT_RETRIES + 1, self.settings.retry_delay).until(self.deadline),
        );
        let mut rate_limited = 0;
        let mut first = !urgent;
        loop {
            if let Some(reason) = self.stop_reason() {
                return Err(CallError::Unverified(reason));
            }
            if self.cache.is_shared() {
                if let Some(verdict) = self.cache_get(indicator).await {
                    return Err(CallError::Answered(verdict));
                }
            }
            // Continuations first, then by place in the queue.
            let place = lock(&self.places)
                .get(indicator)
                .copied()
                .unwrap_or(u64::from(u32::MAX));
            let rank = (u64::from(!urgent) << 32) | place;
            let slot = self.permit(rank).await?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            if std::mem::take(&mut first) {
                self.started.fetch_add(1, Ordering::Relaxed);
            }
            let result = attempt().await;
            drop(slot);
            match result {
                Ok(value) => {
                    self.breaker.success();
                    return Ok(value);
                }
                Err(VtError::NotFound) => {
                    self.breaker.success();
                    return Err(CallError::NotFound);
                }
                Err(VtError::Auth { code }) => {
                    return Err(CallError::Fatal(format!(
                        "VirusTotal refused the API key ({code}): check VT_API_KEY (or VT_KEY)"
                    )))
                }
                Err(VtError::RateLimited { code }) => {
                    self.breaker.success();
                    rate_limited += 1;
                    if rate_limited > MAX_RATE_LIMITED_RETRIES {
                        return Err(CallError::Unverified(format!(
                            "VirusTotal kept answering 429 {code} after {MAX_RATE_LIMITED_RETRIES} retries"
                        )));
                    }
                    // Push every job sharing the budget back by a window, then try again.
                    if let Err(err) = self.limiter.current().penalize().await {
                        self.redis_failed(
                            &self.limiter,
                            "the VirusTotal budget is NOT shared with other jobs any more (in-process rate limiter)",
                            &err,
                        );
                        let _ = self.limiter.current().penalize().await;
                    }
                }
                Err(VtError::Transient(message)) => {
                    if self.breaker.failure() {
                        self.warn(format!(
                            "{BREAKER_THRESHOLD} transport failures in a row (last: {message}): the remaining indicators are reported unverified"
                        ));
                    }
                    if transient.pause().await == Pause::Exhausted {
                        return Err(CallError::Unverified(format!(
                            "{message} (after {MAX_TRANSIENT_RETRIES} retries)"
                        )));
                    }
                    // Slept, or reached the deadline: the loop's first check says which.
                }
                Err(err @ (VtError::Rejected { .. } | VtError::NotAVerdict(_))) => {
                    self.breaker.success();
                    return Err(CallError::Unverified(err.to_string()));
                }
                Err(VtError::Untrusted(reason)) => {
                    // An answer, though not one to believe (a redirect, an oversized body): the
                    // service is reachable, so the breaker sees no transport failure.
                    self.breaker.success();
                    return Err(CallError::Unverified(reason));
                }
            }
        }
    }
}

/// The resolution a call error settles on; `None` for NotFound (the caller decides).
pub(super) fn settled(error: CallError) -> Option<Result<Resolution, Fatal>> {
    match error {
        CallError::NotFound => None,
        CallError::Answered(verdict) => Some(Ok(Resolution::Checked {
            verdict,
            origin: Origin::Shared,
        })),
        CallError::Unverified(reason) => Some(Ok(Resolution::Unverified { reason })),
        CallError::Fatal(message) => Some(Err(Fatal(message))),
    }
}
