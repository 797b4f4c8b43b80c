//! In --diff mode, a change that edits anteater's own configuration to waive something is itself
//! reported: a reviewer must see a pull request that whitelists its own secret. Only loosening is
//! reported (new waivers, allowlisted binaries, removed or weakened rules, new baseline entries);
//! tightening needs no attention.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::decide::baseline;
use crate::git::diff;
use crate::legacy::conf::LegacyConf;
use crate::legacy::lists::{ExceptionFile, FlagList};
use crate::redact;
use crate::rules::{RuleSet, Severity};

/// A configuration file anteater used in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    Conf,
    FlagList,
    Exceptions,
    Baseline,
}

/// What a change loosened in one configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loosening {
    pub path: PathBuf,
    pub changes: Vec<String>,
}

/// Where the change leaves anteater's configuration files.
#[derive(Debug, Clone, Copy)]
pub enum Head<'a> {
    /// `--diff BASE`: the working tree.
    WorkTree,
    /// `--staged`: the index, what the commit will record.
    Index,
    /// `--diff A..B`: revision B.
    Commit(&'a str),
}

/// Compares each file as the change leaves it (`head`) with the same file at `base`. `rules`
/// decide which added entries are secrets themselves (someone waiving a token by writing it
/// into the ignore list): those are shown redacted, like any other secret.
pub fn detect(
    base: &str,
    head: Head<'_>,
    files: &[(ConfigKind, PathBuf)],
    rules: &RuleSet,
) -> anyhow::Result<Vec<Loosening>> {
    let shown = |entry: &str| -> String {
        let secret = rules
            .content_rules()
            .any(|(rule, regex)| rules.rule(rule).redact && regex.regex().is_match(entry.as_bytes()));
        if secret {
            redact::evidence(entry.as_bytes(), true)
        } else {
            redact::escape(entry)
        }
    };
    let mut out = Vec::new();
    for (kind, path) in files {
        let head = match head {
            Head::WorkTree => std::fs::read(path).ok(),
            // `:./name` is the index's version of the file.
            Head::Index => diff::file_at(path, "")?,
            Head::Commit(revision) => diff::file_at(path, revision)?,
        };
        let before = diff::file_at(path, base)?;
        if head == before {
            continue;
        }
        let changes = match kind {
            ConfigKind::Conf => conf_changes(path, before.as_deref(), head.as_deref()),
            ConfigKind::FlagList => flag_list_changes(path, before.as_deref(), head.as_deref()),
            ConfigKind::Exceptions => exception_changes(path, before.as_deref(), head.as_deref(), &shown),
            ConfigKind::Baseline => baseline_changes(path, before.as_deref(), head.as_deref()),
        };
        if !changes.is_empty() {
            out.push(Loosening {
                path: path.clone(),
                changes,
            });
        }
    }
    Ok(out)
}

/// What a change does to anteater.conf: which of the folder skipped as anteater's own and the
/// lists it now names differently. Any other edit is still reported, in general terms.
fn conf_changes(path: &Path, before: Option<&[u8]>, after: Option<&[u8]>) -> Vec<String> {
    let parse = |bytes: Option<&[u8]>| -> Option<LegacyConf> {
        let text = std::str::from_utf8(bytes?).ok()?;
        LegacyConf::parse(text, path).ok()
    };
    let general = "changes anteater.conf, which decides the lists in use".to_string();
    let (Some(before), Some(after)) = (parse(before), parse(after)) else {
        return vec![general];
    };
    let dir = path.parent().unwrap_or(Path::new(""));
    let shown = |value: &Option<PathBuf>| match value {
        Some(value) => format!(
            "`{}`",
            redact::escape(&value.strip_prefix(dir).unwrap_or(value).display().to_string())
        ),
        None => "nothing".to_string(),
    };
    let mut changes = Vec::new();
    for (key, what, old, new) in [
        (
            "anteater_files",
            " (the folder skipped as anteater's own)",
            &before.anteater_files,
            &after.anteater_files,
        ),
        ("flag_list", "", &before.flag_list, &after.flag_list),
        ("ignore_list", "", &before.ignore_list, &after.ignore_list),
    ] {
        if old != new {
            changes.push(format!(
                "points {key}{what} at {} (was {})",
                shown(new),
                shown(old)
            ));
        }
    }
    if changes.is_empty() {
        changes.push(general);
    }
    changes
}

fn exception_changes(
    path: &Path,
    before: Option<&[u8]>,
    after: Option<&[u8]>,
    shown: &dyn Fn(&str) -> String,
) -> Vec<String> {
    let parse = |bytes: Option<&[u8]>| match bytes {
        Some(bytes) => ExceptionFile::parse_bytes(bytes, path, "exception file"),
        None => Ok(ExceptionFile::default()),
    };
    let before = parse(before).unwrap_or_default();
    let after = match parse(after) {
        Ok(after) => after,
        Err(err) => return vec![format!("leaves the file unreadable ({err:#})")],
    };
    let mut changes = Vec::new();
    let lists: [(&str, &[String], &[String]); 6] = [
        (
            "file_audits.file_names",
            before.file_audits("file_names"),
            after.file_audits("file_names"),
        ),
        (
            "file_audits.file_contents",
            before.file_audits("file_contents"),
            after.file_audits("file_contents"),
        ),
        ("file_ignore", &before.file_ignore.0, &after.file_ignore.0),
        (
            "ignore_directories",
            &before.ignore_directories.0,
            &after.ignore_directories.0,
        ),
        ("url_ignore", &before.url_ignore.0, &after.url_ignore.0),
        ("ip_ignore", &before.ip_ignore.0, &after.ip_ignore.0),
    ];
    for (key, old, new) in lists {
        for entry in new.iter().filter(|entry| !old.contains(entry)) {
            changes.push(format!("adds {key} entry `{}`", shown(entry)));
        }
    }
    for (binary, sums) in &after.binaries.0 {
        let old: &[String] = before
            .binaries
            .0
            .get(binary)
            .map(|s| s.0.as_slice())
            .unwrap_or_default();
        for sum in sums.0.iter().filter(|sum| !old.contains(sum)) {
            let short: String = sum.chars().take(12).collect();
            changes.push(format!("allowlists binary `{binary}` (sha256 {short}…)"));
        }
    }
    for (project, file) in &after.project_exceptions.0 {
        if before.project_exceptions.file_for(project) != Some(file.as_str()) {
            changes.push(format!("points project `{project}` at exception file `{file}`"));
        }
    }
    changes
}

fn flag_list_changes(path: &Path, before: Option<&[u8]>, after: Option<&[u8]>) -> Vec<String> {
    let parse = |bytes: Option<&[u8]>| match bytes {
        Some(bytes) => FlagList::parse_bytes(bytes, path),
        None => Ok(FlagList::default()),
    };
    let before = parse(before).unwrap_or_default();
    let after = match parse(after) {
        Ok(after) => after,
        Err(err) => return vec![format!("leaves the flag list unreadable ({err:#})")],
    };
    let mut changes = Vec::new();
    let old_rules = &before.file_audits.file_contents.0;
    let new_rules = &after.file_audits.file_contents.0;
    for (name, old) in old_rules {
        match new_rules.get(name) {
            None => changes.push(format!("removes rule `{name}`")),
            Some(new) => {
                if new.regex != old.regex {
                    changes.push(format!("changes the regex of rule `{name}`"));
                }
                let severity = |s: Option<Severity>| s.unwrap_or(Severity::High);
                if severity(new.severity) < severity(old.severity) {
                    changes.push(format!("lowers the severity of rule `{name}`"));
                }
                if new.redact == Some(false) && old.redact != Some(false) {
                    changes.push(format!("stops redacting matches of rule `{name}`"));
                }
            }
        }
    }
    let new_names: BTreeSet<&String> = after.file_audits.file_names.0.iter().collect();
    for pattern in &before.file_audits.file_names.0 {
        if !new_names.contains(pattern) {
            changes.push(format!("removes file-name pattern `{pattern}`"));
        }
    }
    changes
}

fn baseline_changes(path: &Path, before: Option<&[u8]>, after: Option<&[u8]>) -> Vec<String> {
    let parse = |bytes: Option<&[u8]>| -> BTreeSet<baseline::Entry> {
        bytes
            .and_then(|b| baseline::parse(b, path).ok())
            .map(|baseline| baseline.entries)
            .unwrap_or_default()
    };
    let (before, after) = (parse(before), parse(after));
    after
        .difference(&before)
        .map(|entry| {
            format!(
                "accepts a `{}` finding in `{}` into the baseline",
                entry.rule, entry.path
            )
        })
        .collect()
}
