//! What the lookups report: a resolution per indicator, the summary, and progress on the way.

use std::time::Duration;

use super::super::limiter::Rate;
use super::super::verdict::Verdict;

/// Where a verdict came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// This job asked VirusTotal.
    LookedUp,
    /// In the cache (Redis or the cache file) before the lookups began.
    Cached,
    /// Another job asked while this one waited on its claim.
    Shared,
}

/// What became of one indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Checked {
        verdict: Verdict,
        origin: Origin,
    },
    /// Could not be settled (VirusTotal or Redis failing, quota spent, analysis unfinished,
    /// uploads disabled, deadline passed): reported as such, never as clean.
    Unverified {
        reason: String,
    },
}

/// Counts for the summary line and table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub indicators: usize,
    pub cached: usize,
    pub looked_up: usize,
    /// Answered by another job's claim (single flight).
    pub shared: usize,
    pub malicious: usize,
    pub unverified: usize,
    /// HTTP requests sent to VirusTotal by this job.
    pub requests: usize,
    /// Requests granted today under this key by every job sharing the budget (Redis's daily
    /// counter); `None` when the budget is not shared.
    pub requests_today: Option<u64>,
    /// The rate budget was shared through Redis at the start (false: in-process fallback).
    pub shared_budget: bool,
    /// Why and when the budget stopped being shared during the run, if it did.
    pub budget_lost: Option<String>,
    /// Why the lookups stopped early (deadline, circuit breaker), if they did.
    pub stopped: Option<String>,
}

/// What a long queue is waiting on, for the console.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub done: usize,
    pub total: usize,
    /// Indicators no request was sent for yet.
    pub queued: usize,
    /// Until the next slot of the rate budget opens, when a request waits for one.
    pub budget_wait: Option<Duration>,
    /// Analyses (uploads, URL submissions) being polled.
    pub analyses: usize,
    /// Indicators another job has claimed, whose verdict this job waits for.
    pub claims: usize,
    /// Time left at the rate limit.
    pub eta: Duration,
    pub rate: Rate,
}

/// Progress of a long queue, for the console.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Starting {
        to_look_up: usize,
        cached: usize,
        rate: Rate,
        estimate: Duration,
    },
    /// At most every `progress_every`, while something is waited on.
    Waiting(Status),
    Warning(String),
}

/// A failure that stops the whole VirusTotal phase: the key is refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Fatal(pub(super) String);
