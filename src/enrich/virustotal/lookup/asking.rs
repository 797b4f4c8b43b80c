//! Asking VirusTotal about one indicator, under this job's claim: its report; for an unknown
//! file or URL an upload or submission, recorded next to the claim so that a job taking over
//! polls it rather than uploading again; then bounded polling of the analysis.

use tokio::time::Instant;

use super::super::client::UPLOAD_URL_LIMIT;
use super::super::verdict::IndicatorKind;
use super::call::{settled, CallError};
use super::{Counted, Engine, Fatal, Indicator, Origin, Resolution};

impl Engine<'_> {
    /// Asks VirusTotal, under this job's claim.
    pub(super) async fn ask(&self, indicator: &Indicator) -> Result<Resolution, Fatal> {
        let client = &self.client;
        let value = indicator.value.as_str();
        let url_permalink = |id: &str| format!("https://www.virustotal.com/gui/url-analysis/{id}");
        let file_permalink = |_: &str| format!("https://www.virustotal.com/gui/file/{value}");
        // A previous holder's analysis (it died or ran out of time): poll it, never upload twice.
        if indicator.kind != IndicatorKind::Ip && self.claims.is_shared() {
            match self.claims.current().analysis(indicator.kind, value).await {
                Ok(Some(id)) => {
                    return match indicator.kind {
                        IndicatorKind::Url => self.await_analysis(indicator, Ok(id), url_permalink).await,
                        _ => self.await_analysis(indicator, Ok(id), file_permalink).await,
                    }
                }
                Ok(None) => {}
                Err(err) => self.redis_failed(&self.claims, "single flight holds within this job only", &err),
            }
        }
        let report = match indicator.kind {
            IndicatorKind::Ip => self.call(indicator, false, || client.ip_report(value)).await,
            IndicatorKind::Url => self.call(indicator, false, || client.url_report(value)).await,
            IndicatorKind::File => self.call(indicator, false, || client.file_report(value)).await,
        };
        let unknown = match report {
            Ok(verdict) => {
                return Ok(Resolution::Checked {
                    verdict,
                    origin: Origin::LookedUp,
                })
            }
            Err(error) => match settled(error) {
                Some(resolution) => return resolution,
                None => indicator.kind,
            },
        };
        // Unknown to VirusTotal.
        let unverified = |reason: &str| {
            Ok(Resolution::Unverified {
                reason: reason.to_string(),
            })
        };
        match unknown {
            // `ip_report` never answers NotFound (a 404 there is no verdict); kept unverified
            // should that ever change, rather than clean.
            IndicatorKind::Ip => unverified("VirusTotal answered 404 for an IP address"),
            _ if !self.settings.upload => {
                unverified("not known to VirusTotal, and uploads are disabled (--no-upload)")
            }
            IndicatorKind::Url => {
                let submitted = self.call(indicator, true, || client.submit_url(value)).await;
                let submitted = self.share_analysis(indicator, submitted).await;
                self.await_analysis(indicator, submitted, url_permalink).await
            }
            IndicatorKind::File => {
                let Some(source) = self.uploads.get(value) else {
                    return unverified(
                        "not known to VirusTotal, and the file is no longer at hand to upload",
                    );
                };
                if source.size > UPLOAD_URL_LIMIT {
                    return unverified("not known to VirusTotal, and larger than the 650 MB it accepts");
                }
                let uploaded = self
                    .call(indicator, true, || client.upload_file(&source.path, source.size))
                    .await;
                let uploaded = self.share_analysis(indicator, uploaded).await;
                self.await_analysis(indicator, uploaded, file_permalink).await
            }
        }
    }

    /// Records a started analysis next to the claim, for a job that may take it over.
    async fn share_analysis(
        &self,
        indicator: &Indicator,
        started: Result<String, CallError>,
    ) -> Result<String, CallError> {
        if let Ok(id) = &started {
            if self.claims.is_shared() {
                let ttl = self.settings.max_wait + self.settings.claim_lease;
                if let Err(err) = self
                    .claims
                    .current()
                    .put_analysis(indicator.kind, &indicator.value, id, ttl)
                    .await
                {
                    self.redis_failed(&self.claims, "single flight holds within this job only", &err);
                }
            }
        }
        started
    }

    /// Polls an analysis until it completes or `max_wait` passes; other lookups go on meanwhile.
    async fn await_analysis(
        &self,
        indicator: &Indicator,
        started: Result<String, CallError>,
        permalink: impl Fn(&str) -> String,
    ) -> Result<Resolution, Fatal> {
        let id = match started {
            Ok(id) => id,
            Err(CallError::NotFound) => {
                return Ok(Resolution::Unverified {
                    reason: "VirusTotal did not accept the submission".into(),
                })
            }
            Err(error) => return settled(error).expect("only NotFound is unsettled"),
        };
        let _polling = Counted::new(&self.analyses);
        let client = &self.client;
        let link = permalink(&id);
        let deadline = Instant::now() + self.settings.max_wait;
        loop {
            tokio::time::sleep_until((Instant::now() + self.settings.poll_interval).min(self.deadline)).await;
            match self
                .call(indicator, true, || client.analysis(&id, link.clone()))
                .await
            {
                Ok(status) if status.completed => {
                    return Ok(Resolution::Checked {
                        verdict: status.verdict,
                        origin: Origin::LookedUp,
                    })
                }
                Ok(_) | Err(CallError::NotFound) => {}
                Err(error) => return settled(error).expect("only NotFound is unsettled"),
            }
            if Instant::now() >= deadline {
                return Ok(Resolution::Unverified {
                    reason: format!(
                        "the VirusTotal analysis had not finished after {}s ({link})",
                        self.settings.max_wait.as_secs()
                    ),
                });
            }
        }
    }
}
