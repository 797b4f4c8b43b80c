//! Enrichers: stages after the scan that ask someone outside about what was found. VirusTotal
//! turns the indicators the walk collected into findings (each unique indicator looked up once,
//! every occurrence of a malicious or unverified one a finding); `validate` asks each secret's
//! provider whether it is live. Each runs only when its option asks for it: without one,
//! nothing leaves the machine.

pub mod validate;

use std::collections::{BTreeSet, HashMap};

use anyhow::Context;

use crate::finding::{sha256_hex, Finding};
use crate::inspect::IndicatorHit;
use crate::redact;
use crate::rules::{vt_ids, RuleSet};
use crate::virustotal::lookup::{self, Indicator, Progress, Resolution, Summary, UploadSource};

/// Which indicators to look up on VirusTotal, and how.
#[derive(Debug)]
pub struct VtPlan {
    pub ips: bool,
    pub urls: bool,
    pub files: bool,
    /// Unverified indicators fail the gate.
    pub fail_closed: bool,
    pub settings: crate::virustotal::lookup::Settings,
}

/// The seam between the pipeline and an enricher that works on the findings themselves.
pub trait Enricher {
    /// Changes `findings` in place (details, levels, order) and returns a line for the summary;
    /// warnings that do not stop the run go to `warn`.
    fn enrich(
        &self,
        rules: &RuleSet,
        findings: &mut Vec<Finding>,
        warn: &mut dyn FnMut(String),
    ) -> anyhow::Result<String>;
}

impl Enricher for validate::Plan {
    fn enrich(
        &self,
        rules: &RuleSet,
        findings: &mut Vec<Finding>,
        warn: &mut dyn FnMut(String),
    ) -> anyhow::Result<String> {
        let summary = validate::validate(self, rules, findings, warn)?;
        Ok(format!(
            "validated secrets: {} live, {} revoked, {} unknown ({} answers from the cache, {} requests)",
            summary.live, summary.revoked, summary.unknown, summary.cached, summary.requests
        ))
    }
}

/// Looks up every unique indicator and returns the findings, with the lookup summary.
pub fn enrich(
    plan: &VtPlan,
    rules: &RuleSet,
    occurrences: &[(String, IndicatorHit)],
    uploads: &HashMap<String, UploadSource>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> anyhow::Result<(Vec<Finding>, Summary)> {
    let unique: BTreeSet<&Indicator> = occurrences.iter().map(|(_, hit)| &hit.indicator).collect();
    let indicators: Vec<Indicator> = unique.into_iter().cloned().collect();
    if indicators.is_empty() {
        return Ok((Vec::new(), Summary::default()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the VirusTotal client")?;
    let (resolutions, summary) =
        runtime.block_on(lookup::run(&plan.settings, indicators, uploads, progress))?;

    let rule_index = |id: &str| {
        rules
            .index_of(id)
            .expect("VirusTotal rules are registered with the plan")
    };
    let mut findings = Vec::new();
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
    Ok((findings, summary))
}
