//! `--validate`: asks each secret's own provider, read-only, whether it is still live.
//!
//! The driver: which findings have a check (the provider table in [`providers`]), one request
//! per distinct credential, bounded concurrency per provider, a provider's 429 and `Retry-After`
//! honoured by all its requests, an overall deadline, and a cache of answers in the run's Redis (the one connection VirusTotal
//! uses too), keyed by an HMAC of the credential. A provider family's checks live in
//! their own file; adding a provider is one `Provider` value there and one line in the table.
//!
//! Three answers only: `live` when the provider accepted the credential, `revoked` on the
//! provider's documented invalid-credential answer, `unknown` for everything else (no check for
//! the rule, network error, timeout, 429, 5xx, redirect, an answer of another shape).
//!
//! This file is the policy (which findings make which checks, and what an answer does to a
//! finding); [`plan`] the settings, [`runner`] the requests, [`cache`] the kept answers.

mod ai;
pub mod aws;
mod cache;
mod chat;
mod cloud;
mod code_hosts;
mod devtools;
mod email;
mod payments;
mod plan;
pub mod providers;
mod runner;

use std::collections::HashMap;

use crate::enrich::Shared;
use crate::finding::{Finding, Level, Secret, Validation, ValidationState};
use crate::redact;
use crate::rules::RuleSet;
pub use plan::Plan;
pub use providers::{Answer, Credential, Provider, Reply, PROVIDERS};

/// What a run of validation did, for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub live: usize,
    pub revoked: usize,
    pub unknown: usize,
    /// Credentials answered from the cache, without a request.
    pub cached: usize,
    /// Requests sent to providers.
    pub requests: usize,
}

/// One credential to check, and the findings that carry it.
struct Job {
    provider: &'static Provider,
    credential: Credential,
    findings: Vec<usize>,
}

/// Validates every finding whose rule has a provider check; sets `validation` (and `detail`) on
/// it, drops a revoked one to `note`, and moves live findings first. Warnings (an unreachable
/// cache) go to `warn`.
pub fn validate(
    plan: &Plan,
    shared: &Shared,
    rules: &RuleSet,
    findings: &mut [Finding],
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<Summary> {
    let jobs = jobs(rules, findings);
    // No job, no request and no Redis: nothing leaves the machine.
    let (answers, mut summary) = if jobs.is_empty() {
        (Vec::new(), Summary::default())
    } else {
        shared.block_on(runner::run(plan, shared.redis(), &jobs, warn))??
    };
    for (job, answer) in jobs.iter().zip(answers) {
        let validation = validation(job.provider, &answer);
        for &index in &job.findings {
            apply(&mut findings[index], validation.clone());
        }
    }
    // A secret no provider check covers is `unknown` too: --validate said nothing about it.
    for finding in findings.iter_mut() {
        if finding.validation.is_none() && rules.rule(finding.rule).redact {
            let validation = Validation {
                state: ValidationState::Unknown,
                provider: "none".to_string(),
                said: format!("no provider check for rule {}", rules.rule(finding.rule).id),
                revoke: None,
            };
            apply(finding, validation);
        }
    }
    for finding in findings.iter() {
        match finding.validation.as_ref().map(|v| v.state) {
            Some(ValidationState::Live) => summary.live += 1,
            Some(ValidationState::Revoked) => summary.revoked += 1,
            Some(ValidationState::Unknown) => summary.unknown += 1,
            None => {}
        }
    }
    // Live first, then the report's order.
    findings.sort_by_key(|f| f.validation.as_ref().map(|v| v.state) != Some(ValidationState::Live));
    Ok(summary)
}

/// The findings' distinct credentials, each with its provider. AWS needs two findings for one
/// credential: an access key id and the secret access key nearest to it in the same file.
fn jobs(rules: &RuleSet, findings: &[Finding]) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut seen: HashMap<(&'static str, Credential), usize> = HashMap::new();
    for (index, finding) in findings.iter().enumerate() {
        let Some(secret) = &finding.secret else {
            continue;
        };
        let rule = &rules.rule(finding.rule).id;
        let Some(provider) = providers::for_rule(rule) else {
            continue;
        };
        let credential = match provider.pair_with {
            Some(pair) => {
                let (key_id, key_secret) = if provider.rules.contains(&rule.as_str()) {
                    (Some(secret.clone()), nearest(rules, findings, finding, pair))
                } else {
                    (
                        nearest(rules, findings, finding, provider.rules[0]),
                        Some(secret.clone()),
                    )
                };
                match (key_id, key_secret) {
                    (Some(id), Some(pair)) => Credential {
                        token: id,
                        pair: Some(pair),
                    },
                    // Half a credential cannot be checked; say so rather than guess.
                    _ => Credential {
                        token: secret.clone(),
                        pair: None,
                    },
                }
            }
            None => Credential {
                token: secret.clone(),
                pair: None,
            },
        };
        match seen.get(&(provider.id, credential.clone())) {
            Some(&job) => jobs[job].findings.push(index),
            None => {
                seen.insert((provider.id, credential.clone()), jobs.len());
                jobs.push(Job {
                    provider,
                    credential,
                    findings: vec![index],
                });
            }
        }
    }
    jobs
}

/// The secret of the finding of rule `rule` nearest to `finding` in the same file.
fn nearest(rules: &RuleSet, findings: &[Finding], finding: &Finding, rule: &str) -> Option<Secret> {
    findings
        .iter()
        .filter(|f| f.path == finding.path && rules.rule(f.rule).id == rule)
        .filter_map(|f| Some((f.line.abs_diff(finding.line), f.secret.clone()?)))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, secret)| secret)
}

fn validation(provider: &Provider, answer: &Answer) -> Validation {
    let (state, said) = match answer {
        Answer::Live(who) => (ValidationState::Live, format!("accepted; {who}")),
        Answer::Revoked(said) => (ValidationState::Revoked, format!("refused: {said}")),
        Answer::Unknown(why) => (ValidationState::Unknown, why.clone()),
    };
    Validation {
        state,
        provider: provider.name.to_string(),
        said: redact::escape(&said),
        revoke: Some(provider.revoke.to_string()),
    }
}

/// The policy: a revoked credential is reported as a note, live and unknown keep their level.
fn apply(finding: &mut Finding, validation: Validation) {
    if validation.state == ValidationState::Revoked {
        finding.level = Level::Note;
    }
    let summary = validation.summary();
    finding.detail = Some(match finding.detail.take() {
        Some(detail) => format!("{summary}; {detail}"),
        None => summary,
    });
    finding.validation = Some(validation);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_finding_becomes_a_note_and_names_where_to_revoke() {
        let rules = crate::report::testing::rules();
        let mut finding = crate::report::testing::finding(&rules, "crit", "a.env", 1, "ghp_… (redacted)");
        assert_eq!(finding.level, Level::Error);
        let github = providers::for_rule("github-token").unwrap();
        apply(
            &mut finding,
            validation(github, &Answer::Revoked("HTTP 401".into())),
        );
        assert_eq!(finding.level, Level::Note);
        let detail = finding.detail.unwrap();
        assert!(
            detail.contains("revoked credential (GitHub: refused: HTTP 401)"),
            "{detail}"
        );
        assert!(
            detail.contains("revoke at https://github.com/settings/tokens"),
            "{detail}"
        );
    }
}
