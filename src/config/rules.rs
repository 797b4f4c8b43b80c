//! The rules and exceptions of a run: built-in rulesets, an original-style flag list, a
//! `.gitleaks.toml`, the VirusTotal and change-watching rules, and the exception files, each
//! read through the plan's [`ConfigReader`] at the revision under review.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::bail;

use super::own::{confined, OwnFiles};
use crate::cli::Cli;
use crate::enrich::VtPlan;
use crate::inspect::exceptions::{self, Exceptions};
use crate::legacy::conf::LegacyConf;
use crate::legacy::lists::FlagList;
use crate::paths;
use crate::plan::config_change::ConfigKind;
use crate::plan::reader::ConfigReader;
use crate::rules::RulesetName;
use crate::rules::{builtin, Precision, RuleKind, RuleMeta, RuleSet, Severity};

/// The rules: the flag list when one is configured, a built-in ruleset otherwise (or both when
/// --ruleset is given explicitly), plus the VirusTotal and config-changed rules when they can
/// fire. A configuration that checks nothing is an error, never an empty pass.
pub(super) fn build_rules(
    cli: &Cli,
    flag_list: Option<(FlagList, &Path)>,
    gitleaks: Option<(Vec<RuleMeta>, PathBuf)>,
    virustotal: Option<&VtPlan>,
    watches_changes: bool,
    own: &mut OwnFiles,
    cwd: &Path,
) -> anyhow::Result<RuleSet> {
    let mut rules = Vec::new();
    let has_flag_list = flag_list.is_some();
    if let Some((list, path)) = flag_list {
        rules.extend(flag_list_rules(list, path)?);
        own.watch(ConfigKind::FlagList, path);
        own.configuration.push(paths::resolve(path, cwd));
        own.sources.push(format!("flag list {}", path.display()));
    }
    let mut builtin_rules = 0..0;
    if !has_flag_list || cli.ruleset.is_some() {
        let name = cli.ruleset.unwrap_or(RulesetName::Default);
        let start = rules.len();
        rules.extend(builtin::rules(name)?);
        builtin_rules = start..rules.len();
        own.sources.push(builtin::origin(name));
    }
    if let Some((extra, path)) = gitleaks {
        // Added to the rules above, whatever they are: a discovered .gitleaks.toml must not
        // turn the built-in rules off.
        rules.extend(extra);
        own.sources.push(format!("gitleaks config {}", path.display()));
    }
    if let Some(plan) = virustotal {
        rules.extend(crate::rules::virustotal_rules(plan.fail_closed));
    }
    if watches_changes {
        rules.push(crate::rules::config_changed_rule());
    }
    if watches_changes || cli.staged {
        rules.push(crate::rules::waiver_added_rule(cli.strict_waivers));
    }
    let checks_anything = rules
        .iter()
        .any(|rule| matches!(rule.kind, RuleKind::Content | RuleKind::FileName));
    if !checks_anything {
        bail!(
            "the configuration ends with no content rules and no file-name rules ({}): nothing \
             would be checked",
            own.sources.join(", ")
        );
    }
    RuleSet::compile_deferring(rules, builtin_rules)
}

/// Exceptions: the global ignore list, then the project's own file, each read at the revision
/// under review.
pub(super) fn load_exceptions(
    ignore_list: Option<&Path>,
    conf: Option<&LegacyConf>,
    project: &str,
    reader: &ConfigReader<'_>,
    own: &mut OwnFiles,
    (cwd, boundary): (&Path, &Path),
) -> anyhow::Result<Exceptions> {
    let mut files = Vec::new();
    if let Some(path) = ignore_list {
        let path_of_list = path;
        let global = reader.exceptions(path, "ignore list")?;
        own.watch(ConfigKind::Exceptions, path);
        own.configuration.push(paths::resolve(path, cwd));
        own.sources.push(format!("ignore list {}", path.display()));
        let project_file = match global.project_exceptions.file_for(project) {
            Some(file) => {
                let base = conf
                    .and_then(|c| c.path.parent().map(Path::to_path_buf))
                    .unwrap_or_else(|| cwd.to_path_buf());
                let list_dir = path.parent().unwrap_or(Path::new("."));
                let path = find_project_file(file, &[&base, list_dir], project)?;
                confined(path_of_list, "project_exceptions", &path, boundary, cwd)?;
                let loaded = reader.exceptions(&path, "project exception file")?;
                own.watch(ConfigKind::Exceptions, &path);
                own.configuration.push(paths::resolve(&path, cwd));
                own.sources
                    .push(format!("project `{project}` exceptions {}", path.display()));
                Some((path, loaded))
            }
            None => None,
        };
        files.push((path.to_path_buf(), global));
        files.extend(project_file);
    }
    let sources: Vec<_> = files
        .iter()
        .map(|(path, file)| exceptions::Source {
            file,
            origin: path.display().to_string(),
        })
        .collect();
    Exceptions::compile(&sources)
}

/// Turns an original-style flag list into rules. Content rules keep their names as ids and are
/// redacted unless they opt out; file-name patterns get ids derived from the pattern.
fn flag_list_rules(list: FlagList, path: &Path) -> anyhow::Result<Vec<RuleMeta>> {
    if list.rule_count() == 0 {
        // An empty file, `---` or `nullvalue` is a list that checks nothing: most likely a
        // truncated or wrongly generated file, never a reason to pass.
        bail!(
            "flag list {}: defines no rules (no `file_audits.file_contents` or `file_audits.file_names` \
             entries); a flag list that checks nothing cannot pass a scan",
            path.display()
        );
    }
    let origin = format!("flag list {}", path.display());
    let mut rules = Vec::new();
    for (name, entry) in list.file_audits.file_contents.0 {
        let description = match entry.desc.trim().trim_matches('"').trim() {
            "" => format!("Matches the flag list rule `{name}`."),
            text => text.to_string(),
        };
        rules.push(RuleMeta {
            id: name.clone(),
            name: name.clone(),
            description,
            remediation: None,
            severity: entry.severity.unwrap_or(Severity::High),
            redact: entry.redact.unwrap_or(true),
            kind: RuleKind::Content,
            pattern: Some(entry.regex),
            origin: origin.clone(),
            precision: Precision::Medium,
            filter: None,
            demote_in_tests: false,
        });
    }
    let mut seen = BTreeSet::new();
    // Looked up per pattern: a scan of `rules` each time made 20,000 patterns quadratic.
    let mut ids: BTreeSet<String> = rules.iter().map(|rule| rule.id.clone()).collect();
    for pattern in list.file_audits.file_names.0 {
        if !seen.insert(pattern.clone()) {
            continue; // The original's list repeats a few patterns.
        }
        let mut id = format!("file-name:{}", slug(&pattern));
        let mut n = 2;
        while ids.contains(&id) {
            id = format!("file-name:{}-{n}", slug(&pattern));
            n += 1;
        }
        ids.insert(id.clone());
        rules.push(RuleMeta {
            id,
            name: format!("File name matches `{pattern}`"),
            description: format!("The file name matches the flag list pattern `{pattern}`."),
            remediation: None,
            severity: Severity::High,
            redact: false,
            kind: RuleKind::FileName,
            pattern: Some(pattern),
            origin: origin.clone(),
            precision: Precision::Medium,
            filter: None,
            demote_in_tests: false,
        });
    }
    Ok(rules)
}

/// A stable, readable id fragment for a regex: letters and digits kept, runs of anything else
/// turned into one '-'.
fn slug(pattern: &str) -> String {
    let mut out = String::new();
    for c in pattern.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "pattern".to_string()
    } else {
        trimmed.to_string()
    }
}

fn find_project_file(file: &str, bases: &[&Path], project: &str) -> anyhow::Result<PathBuf> {
    let candidates: Vec<PathBuf> = if Path::new(file).is_absolute() {
        vec![PathBuf::from(file)]
    } else {
        bases.iter().map(|base| base.join(file)).collect()
    };
    candidates
        .iter()
        .find(|candidate| candidate.is_file())
        .cloned()
        .ok_or_else(|| {
            let tried: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
            anyhow::anyhow!(
                "project `{project}`: its exception file `{file}` does not exist (looked for {})",
                tried.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_readable_and_stable() {
        assert_eq!(slug("\\.pem"), "pem");
        assert_eq!(
            slug("(irb|plsq|mysql|bash|zsh)_history"),
            "irb-plsq-mysql-bash-zsh-history"
        );
        assert_eq!(slug("\\.md(2|3|4|5)"), "md-2-3-4-5");
        assert_eq!(slug("***"), "pattern");
    }
}
