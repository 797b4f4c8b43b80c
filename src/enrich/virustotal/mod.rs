//! VirusTotal (API v3) as an enricher: the indicators every source collected are looked up after
//! the scan, as one batch (each unique one once), through a rate limiter, a verdict cache and
//! single-flight claims shared by every job through Redis; every occurrence of a malicious or
//! unverified one becomes a finding.

pub mod breaker;
pub mod cache;
pub mod cache_file;
pub mod claims;
pub mod client;
pub mod gate;
pub mod limiter;
pub mod lookup;
pub mod verdict;

use std::collections::BTreeSet;

use super::{Collected, Enricher, Note, Shared};
use crate::finding::{sha256_hex, Finding};
use crate::redact;
use crate::rules::{vt_ids, RuleSet};
use lookup::{Indicator, Progress, Resolution, Summary};

/// Which indicators to look up on VirusTotal, and how.
#[derive(Debug)]
pub struct VtPlan {
    /// --ips, --urls, --bincheck.
    pub wanted: crate::inspect::indicators::Wanted,
    /// Unverified indicators fail the gate.
    pub fail_closed: bool,
    pub settings: lookup::Settings,
}

/// --ips, --urls, --bincheck: every unique indicator is looked up once; each occurrence of a
/// malicious or unverified one becomes a finding.
impl Enricher for VtPlan {
    type Summary = Summary;

    fn enrich(
        &self,
        shared: &Shared,
        collected: &Collected<'_>,
        rules: &RuleSet,
        findings: &mut Vec<Finding>,
        note: &mut (dyn FnMut(Note) + Send),
    ) -> anyhow::Result<Summary> {
        let mut progress = |event: Progress| note(Note::VirusTotal(event));
        look_up(self, shared, rules, collected, findings, &mut progress)
    }
}

/// Looks up every unique indicator, adds a finding for each occurrence of a malicious or
/// unverified one, and returns the lookup summary.
fn look_up(
    plan: &VtPlan,
    shared: &Shared,
    rules: &RuleSet,
    collected: &Collected<'_>,
    findings: &mut Vec<Finding>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> anyhow::Result<Summary> {
    let (occurrences, uploads) = (collected.indicators, collected.uploads);
    let unique: BTreeSet<&Indicator> = occurrences.iter().map(|(_, hit)| &hit.indicator).collect();
    let indicators: Vec<Indicator> = unique.into_iter().cloned().collect();
    if indicators.is_empty() {
        return Ok(Summary::default());
    }
    let (resolutions, summary) = shared.block_on(lookup::run(
        &plan.settings,
        shared.redis(),
        indicators,
        uploads,
        progress,
    ))??;

    let rule_index = |id: &str| {
        rules
            .index_of(id)
            .expect("VirusTotal rules are registered with the plan")
    };
    for (path, hit) in occurrences {
        let Some(resolution) = resolutions.get(&hit.indicator) else {
            continue;
        };
        let (rule, detail) = match resolution {
            Resolution::Checked { verdict, .. } if verdict.is_malicious(plan.settings.min_detections) => {
                let rule = vt_ids::malicious(hit.indicator.kind);
                let engines = verdict.malicious + verdict.suspicious + verdict.harmless + verdict.undetected;
                let mut detail = format!("{} of {engines} engines flag it as malicious", verdict.malicious);
                if verdict.suspicious > 0 {
                    detail.push_str(&format!(", {} as suspicious", verdict.suspicious));
                }
                detail.push_str(&format!("; {}", verdict.permalink));
                (rule, detail)
            }
            Resolution::Checked { .. } => continue,
            Resolution::Unverified { reason } => (vt_ids::UNVERIFIED, format!("not verified: {reason}")),
        };
        let rule = rule_index(rule);
        findings.push(Finding {
            rule,
            level: rules.rule(rule).severity.level(),
            path: path.clone(),
            line: hit.line,
            columns: hit.columns,
            evidence: redact::evidence(hit.indicator.value.as_bytes(), false),
            match_hash: sha256_hex(hit.indicator.value.as_bytes()),
            detail: Some(redact::escape(&detail)),
            introduced: None,
            secret: None,
            validation: None,
        });
    }
    Ok(summary)
}

#[cfg(test)]
mod tests;
