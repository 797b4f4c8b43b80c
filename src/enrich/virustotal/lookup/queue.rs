//! Working the queue: the cache file and the shared cache first, then every remaining indicator
//! at once (the rate budget and the in-flight bound pace them), with progress lines while
//! something is waited on and `--vt-deadline` over the whole.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use super::{lock, Engine, Fatal, Indicator, Origin, Progress, Resolution, Status, Summary};

impl Engine<'_> {
    pub(super) async fn run(
        &self,
        indicators: Vec<Indicator>,
    ) -> Result<(BTreeMap<Indicator, Resolution>, Summary), Fatal> {
        let mut resolutions = BTreeMap::new();
        let mut queue = Vec::new();
        let summary = Summary {
            indicators: indicators.len(),
            ..Summary::default()
        };
        let mut to_ask_redis = Vec::new();
        for indicator in indicators {
            let from_file = lock(&self.file)
                .as_ref()
                .and_then(|f| f.get(indicator.kind, &indicator.value));
            match from_file {
                Some(verdict) => {
                    resolutions.insert(
                        indicator,
                        Resolution::Checked {
                            verdict,
                            origin: Origin::Cached,
                        },
                    );
                }
                None => to_ask_redis.push(indicator),
            }
        }
        // All at once: one round trip's time for the batch, not one per indicator.
        let cached = futures_util::future::join_all(to_ask_redis.iter().map(|i| self.cache_get(i))).await;
        for (indicator, verdict) in to_ask_redis.into_iter().zip(cached) {
            match verdict {
                // Not copied into the cache file: it would start a fresh TTL there for a verdict
                // already part-way through Redis's, and be trusted for up to twice the TTL.
                Some(verdict) => {
                    resolutions.insert(
                        indicator,
                        Resolution::Checked {
                            verdict,
                            origin: Origin::Cached,
                        },
                    );
                }
                None => queue.push(indicator),
            }
        }
        if queue.is_empty() {
            return Ok((resolutions, summary));
        }
        let per_request = self.settings.rate.effective_window().as_secs_f64()
            / f64::from(self.settings.rate.requests.max(1));
        let estimate = Duration::from_secs_f64(per_request * queue.len().saturating_sub(1) as f64);
        (lock(&self.progress))(Progress::Starting {
            to_look_up: queue.len(),
            cached: resolutions.len(),
            rate: self.settings.rate,
            estimate,
        });
        // Files and URLs first: an unknown one starts an analysis that takes a while, better
        // polled while the addresses are looked up than after them.
        queue.sort_by(|a, b| b.kind.cmp(&a.kind).then_with(|| a.value.cmp(&b.value)));
        *lock(&self.places) = (0u64..)
            .zip(&queue)
            .map(|(place, i)| (i.clone(), place))
            .collect();
        let total = queue.len();
        let mut pending: FuturesUnordered<_> = queue
            .iter()
            .map(|indicator| async move { (indicator, self.settle(indicator).await) })
            .collect();
        let mut done = 0;
        let deadline = tokio::time::sleep_until(self.deadline);
        tokio::pin!(deadline);
        let mut ticks = tokio::time::interval_at(
            Instant::now() + self.settings.progress_every,
            self.settings.progress_every,
        );
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while done < total {
            tokio::select! {
                next = pending.next() => {
                    let Some((indicator, resolution)) = next else { break };
                    done += 1;
                    resolutions.insert(indicator.clone(), resolution?);
                }
                () = &mut deadline => {
                    self.deadline_passed.store(true, Ordering::Relaxed);
                    self.warn(format!(
                        "--vt-deadline {}s passed: the remaining indicators are reported unverified",
                        self.settings.deadline.as_secs()
                    ));
                    break;
                }
                _ = ticks.tick() => self.report_status(done, total, per_request),
            }
        }
        drop(pending);
        for indicator in queue {
            resolutions
                .entry(indicator)
                .or_insert_with(|| Resolution::Unverified {
                    reason: self.deadline_reason(),
                });
        }
        Ok((resolutions, summary))
    }

    /// A progress line, when something is being waited on.
    fn report_status(&self, done: usize, total: usize, per_request: f64) {
        let now = Instant::now();
        let budget_wait = lock(&self.budget_wait_until)
            .filter(|until| *until > now)
            .map(|until| until - now);
        let analyses = self.analyses.load(Ordering::Relaxed);
        let claims = self.claims_waited.load(Ordering::Relaxed);
        if budget_wait.is_none() && analyses == 0 && claims == 0 {
            return;
        }
        let remaining = total.saturating_sub(done);
        let eta = Duration::from_secs_f64(per_request * remaining.saturating_sub(1) as f64)
            + budget_wait.unwrap_or_default();
        let status = Status {
            done,
            total,
            queued: total.saturating_sub(self.started.load(Ordering::Relaxed)),
            budget_wait,
            analyses,
            claims,
            eta,
            rate: self.settings.rate,
        };
        (lock(&self.progress))(Progress::Waiting(status));
    }
}
