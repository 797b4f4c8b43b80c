//! The circuit breaker of the VirusTotal phase: after [`BREAKER_THRESHOLD`] transport failures or
//! timeouts in a row (VirusTotal, or a Redis component failing), nothing more is asked and the
//! rest is reported unverified at once, instead of paying a timeout per indicator.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Transport failures or timeouts in a row (VirusTotal or Redis) that stop the lookups.
pub const BREAKER_THRESHOLD: u32 = 5;

/// Counts transport failures in a row; once open, nothing more is asked.
#[derive(Default)]
pub struct Breaker {
    consecutive: AtomicU32,
    open: AtomicBool,
}

impl Breaker {
    /// Records a failure; `true` when this one opened the breaker.
    pub fn failure(&self) -> bool {
        let count = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        count >= BREAKER_THRESHOLD && !self.open.swap(true, Ordering::Relaxed)
    }

    /// An answer from VirusTotal: the transport works.
    pub fn success(&self) {
        self.consecutive.store(0, Ordering::Relaxed);
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_failures_in_a_row_only() {
        let breaker = Breaker::default();
        for _ in 0..BREAKER_THRESHOLD - 1 {
            assert!(!breaker.failure());
        }
        breaker.success();
        for _ in 0..BREAKER_THRESHOLD - 1 {
            assert!(!breaker.failure());
        }
        assert!(!breaker.is_open());
        assert!(breaker.failure(), "the fifth in a row opens it");
        assert!(breaker.is_open());
        assert!(!breaker.failure(), "reported once");
    }
}
