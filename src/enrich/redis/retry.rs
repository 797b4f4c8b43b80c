//! One retry schedule for every call that is retried after a failure (Redis commands, the rate
//! limiter's script, VirusTotal requests): a bounded number of attempts, a first pause that
//! doubles after each failure, and an optional deadline that no pause runs past. Having one
//! keeps the bounds of every loop visible in one place, instead of in hand-written counters
//! that drift apart.
//!
//! [`retry`] runs a whole call; [`Backoff`] is the schedule alone, for a loop that does more
//! between attempts than sleep (the lookups re-check the cache and the rate budget).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first one included (0 counts as 1).
    pub attempts: u32,
    /// The pause after the first failure; each later pause is twice the one before.
    pub first_backoff: Duration,
    /// No pause runs past this instant, and no attempt is made after it.
    pub deadline: Option<Instant>,
}

impl Retry {
    /// `attempts` attempts, pausing `first_backoff`, then twice that, and so on; no deadline.
    pub const fn new(attempts: u32, first_backoff: Duration) -> Retry {
        Retry {
            attempts,
            first_backoff,
            deadline: None,
        }
    }

    /// The same schedule, cut short at `deadline`.
    pub const fn until(self, deadline: Instant) -> Retry {
        Retry {
            deadline: Some(deadline),
            ..self
        }
    }
}

/// What [`Backoff::pause`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// Slept the whole pause: the next attempt may go.
    Slept,
    /// Every attempt has been made: give up.
    Exhausted,
    /// The deadline came before the pause was over (slept until the deadline, not past it).
    DeadlinePassed,
}

/// The schedule of one retried call: attempts made so far and the next pause.
#[derive(Debug)]
pub struct Backoff {
    policy: Retry,
    made: u32,
    next: Duration,
}

impl Backoff {
    /// A schedule whose first attempt is under way.
    pub fn new(policy: Retry) -> Backoff {
        Backoff {
            policy,
            made: 1,
            next: policy.first_backoff,
        }
    }

    /// Attempts made so far, the one under way included.
    pub fn attempts(&self) -> u32 {
        self.made
    }

    /// After a failed attempt: sleeps before the next one, unless every attempt has been made or
    /// the deadline comes first.
    pub async fn pause(&mut self) -> Pause {
        if self.made >= self.policy.attempts.max(1) {
            return Pause::Exhausted;
        }
        let now = Instant::now();
        let until = now.checked_add(self.next);
        match (self.policy.deadline, until) {
            (Some(deadline), _) if deadline <= now => return Pause::DeadlinePassed,
            (Some(deadline), Some(until)) if deadline <= until => {
                tokio::time::sleep_until(deadline).await;
                return Pause::DeadlinePassed;
            }
            (Some(deadline), None) => {
                tokio::time::sleep_until(deadline).await;
                return Pause::DeadlinePassed;
            }
            (_, Some(until)) => tokio::time::sleep_until(until).await,
            // A pause too long to represent, and no deadline: the schedule is over.
            (None, None) => return Pause::Exhausted,
        }
        self.next = self.next.saturating_mul(2);
        self.made += 1;
        Pause::Slept
    }
}

/// Why [`retry`] gave up: the last error and the attempts made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp<E> {
    pub error: E,
    pub attempts: u32,
}

/// Runs `op` until it succeeds, `retryable` says an error is not worth another attempt, the
/// attempts are spent or the deadline passes. `retryable` sees each error with the time its
/// attempt took (a slow failure often means a frozen server, where every retry costs a whole
/// timeout again); it may keep count across calls.
pub async fn retry<T, E, F, Fut>(
    policy: Retry,
    mut op: F,
    mut retryable: impl FnMut(&E, Duration) -> bool,
) -> Result<T, GaveUp<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut backoff = Backoff::new(policy);
    loop {
        let sent = Instant::now();
        let error = match op().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let gave_up = |error| GaveUp {
            error,
            attempts: backoff.attempts(),
        };
        if !retryable(&error, sent.elapsed()) {
            return Err(gave_up(error));
        }
        let gave_up = gave_up(error);
        if backoff.pause().await != Pause::Slept {
            return Err(gave_up);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Runs `retry` with an operation that fails `failures` times (then succeeds), recording
    /// when each attempt began, relative to the start.
    async fn attempts_at(policy: Retry, failures: u32) -> (Result<u32, GaveUp<u32>>, Vec<Duration>) {
        let start = Instant::now();
        let log = RefCell::new(Vec::new());
        let result = retry(
            policy,
            || {
                log.borrow_mut().push(start.elapsed());
                let n = log.borrow().len() as u32;
                async move {
                    if n <= failures {
                        Err(n)
                    } else {
                        Ok(n)
                    }
                }
            },
            |_, _| true,
        )
        .await;
        (result, log.into_inner())
    }

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded_and_the_last_error_comes_back() {
        let (result, at) = attempts_at(Retry::new(3, ms(10)), 100).await;
        assert_eq!(
            result,
            Err(GaveUp {
                error: 3,
                attempts: 3
            })
        );
        assert_eq!(at.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_backoff_doubles() {
        let (result, at) = attempts_at(Retry::new(5, ms(100)), 100).await;
        assert_eq!(result.unwrap_err().attempts, 5);
        assert_eq!(at, [ms(0), ms(100), ms(300), ms(700), ms(1500)]);
    }

    #[tokio::test(start_paused = true)]
    async fn success_ends_the_retries() {
        let (result, at) = attempts_at(Retry::new(5, ms(50)), 2).await;
        assert_eq!(result, Ok(3));
        assert_eq!(at, [ms(0), ms(50), ms(150)]);
    }

    #[tokio::test(start_paused = true)]
    async fn no_pause_runs_past_the_deadline() {
        let start = Instant::now();
        let policy = Retry::new(10, ms(100)).until(start + ms(250));
        let (result, at) = attempts_at(policy, 100).await;
        // Attempts at 0 and 100 ms; the next pause (200 ms) would end at 300 ms: cut at 250.
        assert_eq!(at, [ms(0), ms(100)]);
        assert_eq!(result.unwrap_err().attempts, 2);
        assert_eq!(start.elapsed(), ms(250));
    }

    #[tokio::test(start_paused = true)]
    async fn a_passed_deadline_means_no_pause_at_all() {
        let start = Instant::now();
        let mut backoff = Backoff::new(Retry::new(10, ms(100)).until(start));
        assert_eq!(backoff.pause().await, Pause::DeadlinePassed);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_that_are_not_retryable_stop_at_once() {
        let start = Instant::now();
        let mut calls = 0;
        let result: Result<(), GaveUp<&str>> = retry(
            Retry::new(5, ms(100)),
            || {
                calls += 1;
                async { Err("refused") }
            },
            |error, _| *error != "refused",
        )
        .await;
        assert_eq!(
            result,
            Err(GaveUp {
                error: "refused",
                attempts: 1
            })
        );
        assert_eq!(calls, 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_predicate_sees_how_long_each_attempt_took() {
        let mut took = Vec::new();
        let result: Result<(), GaveUp<()>> = retry(
            Retry::new(3, ms(10)),
            || async {
                tokio::time::sleep(ms(40)).await;
                Err(())
            },
            |_, elapsed| {
                took.push(elapsed);
                // Two slow failures are enough to know.
                took.len() < 2
            },
        )
        .await;
        assert_eq!(result.unwrap_err().attempts, 2);
        assert_eq!(took, [ms(40), ms(40)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_schedule_counts_its_attempts_by_hand() {
        let mut backoff = Backoff::new(Retry::new(3, ms(20)));
        assert_eq!(backoff.attempts(), 1);
        assert_eq!(backoff.pause().await, Pause::Slept);
        assert_eq!(backoff.pause().await, Pause::Slept);
        assert_eq!(backoff.attempts(), 3);
        assert_eq!(backoff.pause().await, Pause::Exhausted);
        // Zero attempts still means the first one.
        assert_eq!(
            Backoff::new(Retry::new(0, ms(20))).pause().await,
            Pause::Exhausted
        );
    }
}
