//! Enrichers: stages after the scan that ask someone outside about what was found. VirusTotal
//! turns the indicators the walk collected into findings (each unique indicator looked up once,
//! every occurrence of a malicious or unverified one a finding); `validate` asks each secret's
//! provider whether it is live. Each runs only when its option asks for it: without one,
//! nothing leaves the machine. Both run on one runtime and share the run's one Redis connection
//! ([`Shared`], [`redis`]).

pub mod redis;
mod shared;
pub mod validate;
pub mod virustotal;

use std::collections::HashMap;

use crate::enrich::virustotal::lookup::Progress;
use crate::finding::Finding;
use crate::inspect::indicators::UploadSource;
use crate::inspect::IndicatorHit;
use crate::rules::RuleSet;

pub use shared::Shared;
pub use virustotal::VtPlan;

/// What the sources collected besides findings, for enrichers that ask about it: every
/// indicator with where it was found, and the binaries that may have to be uploaded.
pub struct Collected<'a> {
    pub indicators: &'a [(String, IndicatorHit)],
    pub uploads: &'a HashMap<String, UploadSource>,
}

/// What an enricher has to say while it works.
pub enum Note {
    /// A problem that does not stop the run.
    Warning(String),
    /// VirusTotal lookups under way.
    VirusTotal(Progress),
}

/// The seam between the pipeline and the stages that ask someone outside about what was found.
/// An enricher reads what the scan collected and the findings, adds findings or changes them in
/// place (details, levels, order), and returns its summary. What it needs from outside the
/// process (a runtime, the Redis connection) comes from the run's [`Shared`], never its own.
pub trait Enricher {
    type Summary;

    fn enrich(
        &self,
        shared: &Shared,
        collected: &Collected<'_>,
        rules: &RuleSet,
        findings: &mut Vec<Finding>,
        note: &mut (dyn FnMut(Note) + Send),
    ) -> anyhow::Result<Self::Summary>;
}

/// `--validate`: the summary is one line for the console.
impl Enricher for validate::Plan {
    type Summary = String;

    fn enrich(
        &self,
        shared: &Shared,
        _collected: &Collected<'_>,
        rules: &RuleSet,
        findings: &mut Vec<Finding>,
        note: &mut (dyn FnMut(Note) + Send),
    ) -> anyhow::Result<String> {
        let summary = validate::validate(self, shared, rules, findings, &mut |warning| {
            note(Note::Warning(warning))
        })?;
        Ok(format!(
            "validated secrets: {} live, {} revoked, {} unknown ({} answers from the cache, {} requests)",
            summary.live, summary.revoked, summary.unknown, summary.cached, summary.requests
        ))
    }
}
