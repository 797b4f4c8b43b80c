//! Baselines: accepted findings recorded in a file, so that a team adopting the gate is held to
//! new findings only. Entries are keyed by rule, path and the finding's fingerprint (a hash of
//! the rule, path and matched text, and of how many identical matches precede it in the file):
//! never the secret itself and never the line number, so entries survive moved lines, rebases and
//! squashes.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::finding::{fingerprints, Finding};
use crate::rules::RuleSet;

const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub rule: String,
    pub path: String,
    pub fingerprint: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    tool: String,
    version: u32,
    entries: Vec<Entry>,
}

/// The findings that remain after a baseline, and what the baseline no longer matches.
#[derive(Debug, Default)]
pub struct Applied {
    pub kept: Vec<Finding>,
    /// Findings the baseline accepted.
    pub baselined: usize,
    /// Entries that matched nothing in this run: fixed, or moved to another file.
    pub stale: Vec<Entry>,
}

pub fn entries(findings: &[Finding], rules: &RuleSet) -> Vec<Entry> {
    findings
        .iter()
        .zip(fingerprints(findings, rules))
        .map(|(finding, fingerprint)| Entry {
            rule: rules.rule(finding.rule).id.clone(),
            path: finding.path.clone(),
            fingerprint,
        })
        .collect()
}

/// Writes the findings as a baseline (sorted, so that the file diffs well in review).
pub fn write(path: &Path, findings: &[Finding], rules: &RuleSet) -> anyhow::Result<()> {
    let mut entries = entries(findings, rules);
    entries.sort();
    entries.dedup();
    let file = BaselineFile {
        tool: "anteater".into(),
        version: FORMAT_VERSION,
        entries,
    };
    crate::atomic_file::write(path, "baseline", |out| {
        serde_json::to_writer_pretty(&mut *out, &file)?;
        out.write_all(b"\n")?;
        Ok(())
    })
}

/// Reads a baseline; a malformed one is an error, never "accept nothing" or "accept everything".
pub fn load(path: &Path) -> anyhow::Result<BTreeSet<Entry>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading baseline {}", path.display()))?;
    parse(&bytes, path)
}

/// Parses a baseline's bytes (from disk or a git revision); `path` names it in errors.
pub fn parse(bytes: &[u8], path: &Path) -> anyhow::Result<BTreeSet<Entry>> {
    let shown = path.display();
    let file: BaselineFile = serde_json::from_slice(bytes)
        .with_context(|| format!("baseline {shown} is not an anteater baseline"))?;
    if file.tool != "anteater" || file.version != FORMAT_VERSION {
        bail!(
            "baseline {shown}: written by {} format {}, expected anteater format {FORMAT_VERSION}",
            file.tool,
            file.version
        );
    }
    Ok(file.entries.into_iter().collect())
}

/// Drops the findings the baseline accepts.
pub fn apply(baseline: &BTreeSet<Entry>, findings: Vec<Finding>, rules: &RuleSet) -> Applied {
    let keys = entries(&findings, rules);
    let mut used = BTreeSet::new();
    let mut applied = Applied::default();
    for (finding, key) in findings.into_iter().zip(keys) {
        if baseline.contains(&key) {
            applied.baselined += 1;
            used.insert(key);
        } else {
            applied.kept.push(finding);
        }
    }
    applied.stale = baseline.difference(&used).cloned().collect();
    applied
}
