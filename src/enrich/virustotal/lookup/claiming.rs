//! Single flight across jobs, seen from one indicator: claim it (or wait for the job that holds
//! it and take over a lapsed claim), keep the claim alive while asking, release it once the
//! verdict is in the cache. See [`super::super::claims`] for the Redis side.

use std::time::Duration;

use tokio::time::Instant;

use super::super::claims::Token;
use super::super::verdict::Verdict;
use super::{lock, Counted, Engine, Fatal, Indicator, Origin, Resolution};

/// How often a job waiting on another job's claim looks for the verdict.
const CLAIM_POLL: Duration = Duration::from_millis(500);

impl Engine<'_> {
    /// Settles one indicator: claims it (or waits for the job that holds it), then asks.
    pub(super) async fn settle(&self, indicator: &Indicator) -> Result<Resolution, Fatal> {
        loop {
            if let Some(reason) = self.stop_reason() {
                return Ok(Resolution::Unverified { reason });
            }
            let claimed = match self
                .claims
                .current()
                .try_claim(indicator.kind, &indicator.value)
                .await
            {
                Ok(claimed) => claimed,
                Err(err) => {
                    self.redis_failed(&self.claims, "single flight holds within this job only", &err);
                    continue;
                }
            };
            let Some(token) = claimed else {
                // Another job asks: wait for its verdict, or for its claim to go.
                let _waiting = Counted::new(&self.claims_waited);
                if let Some(verdict) = self.await_other_job(indicator).await {
                    return Ok(Resolution::Checked {
                        verdict,
                        origin: Origin::Shared,
                    });
                }
                continue;
            };
            // The previous holder may have just finished.
            if self.claims.is_shared() {
                if let Some(verdict) = self.cache_get(indicator).await {
                    self.release(indicator, &token).await;
                    return Ok(Resolution::Checked {
                        verdict,
                        origin: Origin::Shared,
                    });
                }
            }
            lock(&self.held).insert(indicator.clone(), token.clone());
            let resolution = tokio::select! {
                resolution = self.ask(indicator) => resolution,
                () = self.keep_claim(indicator, &token) => unreachable!("keep_claim never returns"),
            };
            if let Ok(Resolution::Checked {
                verdict,
                origin: Origin::LookedUp,
            }) = &resolution
            {
                // Into the cache before the claim goes, so that waiting jobs find it.
                self.remember(indicator, verdict).await;
            }
            self.release(indicator, &token).await;
            return resolution;
        }
    }

    /// Renews this job's claim on `indicator` every third of its lease, for as long as it works.
    async fn keep_claim(&self, indicator: &Indicator, token: &Token) {
        let every = self.claims.current().lease() / 3;
        loop {
            tokio::time::sleep(every).await;
            if !self.claims.is_shared() {
                continue;
            }
            match self
                .claims
                .current()
                .renew(indicator.kind, &indicator.value, token)
                .await
            {
                Ok(_) => {}
                Err(err) => self.redis_failed(&self.claims, "single flight holds within this job only", &err),
            }
        }
    }

    async fn release(&self, indicator: &Indicator, token: &Token) {
        lock(&self.held).remove(indicator);
        if !self.claims.is_shared() {
            return;
        }
        if let Err(err) = self
            .claims
            .current()
            .release(indicator.kind, &indicator.value, token)
            .await
        {
            self.redis_failed(&self.claims, "single flight holds within this job only", &err);
        }
    }

    /// Gives up the claims of indicators cut short (deadline, fatal error), so that other jobs
    /// need not wait for the leases to lapse.
    pub(super) async fn release_all(&self) {
        let held: Vec<(Indicator, Token)> = lock(&self.held).drain().collect();
        if held.is_empty() || !self.claims.is_shared() {
            return;
        }
        let claims = self.claims.current();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            for (indicator, token) in &held {
                if claims
                    .release(indicator.kind, &indicator.value, token)
                    .await
                    .is_err()
                {
                    break;
                }
            }
        })
        .await;
    }

    /// Waits while another job holds the claim: the verdict when it lands in the cache, `None`
    /// when the claim is gone without one (given up, or lapsed: then this job claims it).
    async fn await_other_job(&self, indicator: &Indicator) -> Option<Verdict> {
        loop {
            tokio::time::sleep_until((Instant::now() + CLAIM_POLL).min(self.deadline)).await;
            if self.stop_reason().is_some() {
                return None;
            }
            if let Some(verdict) = self.cache_get(indicator).await {
                return Some(verdict);
            }
            if !self.claims.is_shared() {
                return None;
            }
            match self
                .claims
                .current()
                .is_held(indicator.kind, &indicator.value)
                .await
            {
                Ok(true) => {}
                Ok(false) => return None,
                Err(err) => {
                    self.redis_failed(&self.claims, "single flight holds within this job only", &err);
                    return None;
                }
            }
        }
    }
}
