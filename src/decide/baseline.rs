//! Baselines: accepted findings recorded in a file, so that a team adopting the gate is held to
//! new findings only. Entries are keyed by rule, path and the finding's fingerprint: an HMAC,
//! keyed with the baseline's own random salt, of the rule, path and matched text and of how many
//! identical matches precede it in the file. Never the secret itself, never an unsalted hash of
//! it (which a dictionary reverses offline), and never the line number, so entries survive moved
//! lines, rebases and squashes.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::finding::{hex, Finding};
use crate::rules::RuleSet;

/// Format 2: salted, keyed fingerprints. Format 1 hashed without a key.
const FORMAT_VERSION: u32 = 2;
/// Bytes of salt, written as hex.
const SALT_BYTES: usize = 32;

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
    /// Hex; absent in format 1.
    #[serde(default)]
    salt: String,
    entries: Vec<Entry>,
}

/// A loaded baseline: its salt and its accepted entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    pub salt: Vec<u8>,
    pub entries: BTreeSet<Entry>,
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

/// The baseline entries of `findings`, fingerprinted with `salt`.
pub fn entries(findings: &[Finding], rules: &RuleSet, salt: &[u8]) -> Vec<Entry> {
    crate::finding::numbered(findings, |finding| finding.match_hash.as_str())
        .map(|(finding, occurrence)| {
            let rule = &rules.rule(finding.rule).id;
            Entry {
                rule: rule.clone(),
                path: finding.path.clone(),
                fingerprint: keyed_fingerprint(salt, rule, finding, occurrence),
            }
        })
        .collect()
}

/// HMAC-SHA256 under the baseline's salt of the rule, path, the hash of what matched and the
/// occurrence, truncated to 128 bits. Without the salt nothing can be checked against it, and a
/// dictionary computed for one repository is no use for another.
fn keyed_fingerprint(salt: &[u8], rule_id: &str, finding: &Finding, occurrence: usize) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC takes keys of any length");
    for part in [
        rule_id,
        &finding.path,
        &finding.match_hash,
        &occurrence.to_string(),
    ] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    hex(&mac.finalize().into_bytes()[..16])
}

/// The salt for a baseline written to `path`: the one it already has (so that rewriting it
/// changes only the entries that changed), else the one of `fallback` (the --baseline in use),
/// else a fresh random one.
pub fn salt_for(path: &Path, fallback: Option<&Baseline>) -> anyhow::Result<Vec<u8>> {
    if let Ok(bytes) = std::fs::read(path) {
        if let Ok(existing) = parse(&bytes, path) {
            return Ok(existing.salt);
        }
    }
    // A baseline the base revision did not have has no salt yet: draw one.
    if let Some(baseline) = fallback.filter(|baseline| !baseline.salt.is_empty()) {
        return Ok(baseline.salt.clone());
    }
    let mut salt = vec![0; SALT_BYTES];
    getrandom::getrandom(&mut salt)
        .map_err(|err| anyhow::anyhow!("drawing a random salt for the baseline: {err}"))?;
    Ok(salt)
}

/// Writes the findings as a baseline (sorted, so that the file diffs well in review).
pub fn write(path: &Path, findings: &[Finding], rules: &RuleSet, salt: &[u8]) -> anyhow::Result<()> {
    let mut entries = entries(findings, rules, salt);
    entries.sort();
    entries.dedup();
    let file = BaselineFile {
        tool: "anteater".into(),
        version: FORMAT_VERSION,
        salt: hex(salt),
        entries,
    };
    crate::atomic_file::write(path, "baseline", |out| {
        serde_json::to_writer_pretty(&mut *out, &file)?;
        out.write_all(b"\n")?;
        Ok(())
    })
}

/// Reads a baseline; a malformed one is an error, never "accept nothing" or "accept everything".
pub fn load(path: &Path) -> anyhow::Result<Baseline> {
    let bytes = std::fs::read(path).with_context(|| format!("reading baseline {}", path.display()))?;
    parse(&bytes, path)
}

/// Parses a baseline's bytes (from disk or a git revision); `path` names it in errors.
pub fn parse(bytes: &[u8], path: &Path) -> anyhow::Result<Baseline> {
    let shown = path.display();
    let file: BaselineFile = serde_json::from_slice(bytes)
        .with_context(|| format!("baseline {shown} is not an anteater baseline"))?;
    if file.tool == "anteater" && file.version == 1 {
        bail!(
            "baseline {shown} is format 1, whose unsalted fingerprints let weak secrets be guessed \
             offline; write it again with `anteater --write-baseline {shown}` (this accepts every \
             current finding: review the new file before committing it) and rotate any secret it \
             accepted"
        );
    }
    if file.tool != "anteater" || file.version != FORMAT_VERSION {
        bail!(
            "baseline {shown}: written by {} format {}, expected anteater format {FORMAT_VERSION}",
            file.tool,
            file.version
        );
    }
    let salt = decode_hex(&file.salt)
        .filter(|salt| salt.len() >= 16)
        .with_context(|| format!("baseline {shown}: `salt` must be at least 16 bytes of hex"))?;
    Ok(Baseline {
        salt,
        entries: file.entries.into_iter().collect(),
    })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Drops the findings the baseline accepts.
pub fn apply(baseline: &Baseline, findings: Vec<Finding>, rules: &RuleSet) -> Applied {
    let keys = entries(&findings, rules, &baseline.salt);
    let mut used = BTreeSet::new();
    let mut applied = Applied::default();
    for (finding, key) in findings.into_iter().zip(keys) {
        if baseline.entries.contains(&key) {
            applied.baselined += 1;
            used.insert(key);
        } else {
            applied.kept.push(finding);
        }
    }
    applied.stale = baseline.entries.difference(&used).cloned().collect();
    applied
}
