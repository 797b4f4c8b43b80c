//! Rules people already wrote for gitleaks (`--gitleaks-config FILE`, or `.gitleaks.toml` in the
//! scanned folder) become anteater rules, added to the run's other rules: custom rules (regex,
//! secretGroup, entropy, keywords, path) and allowlists (regexes on the secret or the line,
//! stop words), a rule's own and the global ones. What has no faithful equivalent (allowlisted
//! paths or commits, `condition = "AND"`, `regexTarget = "match"`, `[extend] path`, disabled
//! rules, unknown keys) is an error naming it, never silently dropped: a gate that quietly
//! ignores half of a configuration would pass what its owners meant to block.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::rules::spec::RuleSpec;
use crate::rules::{Precision, RuleKind, RuleMeta, Severity};

/// The file discovered in the scanned folder when --gitleaks-config does not name one.
pub const DISCOVERED_NAME: &str = ".gitleaks.toml";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GitleaksFile {
    #[serde(default)]
    extend: Option<Extend>,
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    allowlist: Option<Allowlist>,
    #[serde(default)]
    allowlists: Vec<Allowlist>,
    /// `title`, `description` and anything else, checked by name.
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extend {
    #[serde(default)]
    use_default: bool,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    disabled_rules: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    allowlist: Option<Allowlist>,
    #[serde(default)]
    allowlists: Vec<Allowlist>,
    /// `tags` and anything else, checked by name.
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Allowlist {
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    commits: Vec<String>,
    /// `description` and anything else, checked by name.
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

/// What the allowlists of one rule add to its spec.
#[derive(Default)]
struct Allowed {
    secrets: Vec<String>,
    lines: Vec<String>,
    stopwords: Vec<String>,
}

/// The rules of a gitleaks configuration, read from `text` (the file at `path`).
pub fn rules(text: &str, path: &Path) -> anyhow::Result<Vec<RuleMeta>> {
    let shown = path.display().to_string();
    let origin = format!("gitleaks config {shown}");
    let file: GitleaksFile = toml::from_str(text).with_context(|| format!("{origin}: not valid TOML"))?;
    check_keys(&file.other, &["title", "description"], &origin)?;
    if let Some(extend) = &file.extend {
        if extend.path.is_some() || extend.url.is_some() {
            bail!("{origin}: [extend] path/url cannot be mapped: give the extended file itself with --gitleaks-config");
        }
        if !extend.disabled_rules.is_empty() {
            bail!("{origin}: [extend] disabledRules cannot be mapped (gitleaks' own default rules are not anteater's)");
        }
        // useDefault: gitleaks' rules are not shipped; anteater's built-in rules stay on (see
        // --ruleset), which is what a user extending the defaults wants.
        let _ = extend.use_default;
    }
    let global: Vec<Allowlist> = file.allowlist.into_iter().chain(file.allowlists).collect();
    let mut global_allowed = Allowed::default();
    for list in &global {
        add_allowlist(&mut global_allowed, list, &format!("{origin}: global allowlist"))?;
    }
    if file.rules.is_empty() {
        bail!("{origin}: no [[rules]]: nothing to add");
    }
    file.rules
        .into_iter()
        .map(|rule| to_meta(rule, &global_allowed, &origin))
        .collect()
}

fn to_meta(rule: Rule, global: &Allowed, origin: &str) -> anyhow::Result<RuleMeta> {
    let context = format!("{origin}: rule `{}`", rule.id);
    check_keys(&rule.other, &["tags"], &context)?;
    let mut allowed = Allowed {
        secrets: global.secrets.clone(),
        lines: global.lines.clone(),
        stopwords: global.stopwords.clone(),
    };
    for list in rule.allowlist.iter().chain(&rule.allowlists) {
        add_allowlist(&mut allowed, list, &format!("{context}: allowlist"))?;
    }
    let (kind, pattern, paths) = match (&rule.regex, &rule.path) {
        (Some(regex), path) => {
            let pattern = match rule.secret_group {
                Some(group) if group > 0 => {
                    with_secret_group(regex, group).with_context(|| context.clone())?
                }
                _ => regex.clone(),
            };
            (RuleKind::Content, pattern, path.clone())
        }
        // A path alone: a file-name rule, as in gitleaks.
        (None, Some(path)) => (RuleKind::FileName, path.clone(), None),
        (None, None) => bail!("{context}: neither `regex` nor `path`"),
    };
    let description = rule
        .description
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| format!("gitleaks rule {}", rule.id));
    let spec = RuleSpec {
        remediation: Some(
            "Remove the secret from the repository and its history, rotate it, and read it from a \
             secret store at run time."
                .to_string(),
        ),
        secret: kind == RuleKind::Content,
        keywords: rule.keywords.iter().map(|k| k.to_lowercase()).collect(),
        entropy: rule.entropy,
        stopwords: allowed.stopwords,
        allow: allowed.secrets,
        allow_lines: allowed.lines,
        paths,
        ..RuleSpec::new(
            rule.id.clone(),
            description.clone(),
            description,
            pattern,
            Severity::High,
        )
    };
    spec.into_meta(kind, origin, Precision::Medium, &[], false)
}

fn add_allowlist(allowed: &mut Allowed, list: &Allowlist, context: &str) -> anyhow::Result<()> {
    check_keys(&list.other, &["description"], context)?;
    if !list.paths.is_empty() {
        bail!("{context}: `paths` cannot be mapped: waive paths in anteater's ignore list (file_ignore, exceptions)");
    }
    if !list.commits.is_empty() {
        bail!(
            "{context}: `commits` cannot be mapped: anteater waives findings, not commits (use --baseline)"
        );
    }
    if list
        .condition
        .as_deref()
        .is_some_and(|c| !c.eq_ignore_ascii_case("or"))
        && !list.regexes.is_empty()
        && !list.stopwords.is_empty()
    {
        bail!("{context}: condition = \"AND\" over regexes and stopwords cannot be mapped");
    }
    match list.regex_target.as_deref() {
        None | Some("secret") => allowed.secrets.extend(list.regexes.iter().cloned()),
        Some("line") => allowed.lines.extend(list.regexes.iter().cloned()),
        Some(other) => {
            bail!("{context}: regexTarget = \"{other}\" cannot be mapped (use \"secret\" or \"line\")")
        }
    }
    allowed
        .stopwords
        .extend(list.stopwords.iter().map(|w| w.to_lowercase()));
    Ok(())
}

/// Refuses keys anteater does not know, by name.
fn check_keys(
    other: &BTreeMap<String, toml::Value>,
    ignorable: &[&str],
    context: &str,
) -> anyhow::Result<()> {
    match other.keys().find(|key| !ignorable.contains(&key.as_str())) {
        Some(key) => bail!("{context}: `{key}` cannot be mapped to anteater"),
        None => Ok(()),
    }
}

/// gitleaks numbers the secret's group (`secretGroup = 2`); anteater reads a group named
/// `secret`. The N-th capturing group gets that name.
fn with_secret_group(regex: &str, group: usize) -> anyhow::Result<String> {
    use regex_syntax::ast::{Ast, GroupKind};
    let ast = regex_syntax::ast::parse::Parser::new()
        .parse(regex)
        .map_err(|err| anyhow::anyhow!("invalid regex: {err}"))?;
    fn find(ast: &Ast, group: usize, found: &mut Option<(usize, bool)>) {
        match ast {
            Ast::Group(g) => {
                match &g.kind {
                    GroupKind::CaptureIndex(index) if *index as usize == group => {
                        *found = Some((g.span.start.offset, false));
                    }
                    GroupKind::CaptureName { name, .. } if name.index as usize == group => {
                        *found = Some((g.span.start.offset, true));
                    }
                    _ => {}
                }
                find(&g.ast, group, found);
            }
            Ast::Concat(c) => c.asts.iter().for_each(|a| find(a, group, found)),
            Ast::Alternation(a) => a.asts.iter().for_each(|a| find(a, group, found)),
            Ast::Repetition(r) => find(&r.ast, group, found),
            _ => {}
        }
    }
    let mut found = None;
    find(&ast, group, &mut found);
    match found {
        Some((_, true)) => bail!("secretGroup = {group} is a named group: cannot be renamed `secret`"),
        Some((offset, false)) => Ok(format!("{}(?P<secret>{}", &regex[..offset], &regex[offset + 1..])),
        None => bail!("secretGroup = {group}, but the regex has fewer capturing groups"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_group_is_named_by_its_number() {
        assert_eq!(
            with_secret_group(r"(?i)(key|token)\s*=\s*(?:')?([a-z0-9]{16})", 2).unwrap(),
            r"(?i)(key|token)\s*=\s*(?:')?(?P<secret>[a-z0-9]{16})"
        );
        assert!(with_secret_group(r"(a)(b)", 3).is_err());
        assert!(with_secret_group(r"(?P<x>a)", 1).is_err());
    }

    #[test]
    fn what_cannot_be_mapped_is_named() {
        let path = Path::new(".gitleaks.toml");
        let err = |text: &str| format!("{:#}", rules(text, path).unwrap_err());
        let rule = "[[rules]]\nid = \"r\"\nregex = 'x'\n";
        assert!(
            err(&format!("{rule}[[rules.allowlists]]\npaths = ['a']\n")).contains("`paths` cannot be mapped")
        );
        assert!(
            err(&format!("{rule}[allowlist]\ncommits = ['abc']\n")).contains("`commits` cannot be mapped")
        );
        assert!(err(&format!(
            "{rule}[[rules.allowlists]]\nregexTarget = 'match'\nregexes = ['x']\n"
        ))
        .contains("regexTarget = \"match\""));
        assert!(err(&format!("[extend]\npath = 'base.toml'\n{rule}")).contains("[extend] path"));
        assert!(err(&format!("{rule}severity = 'high'\n")).contains("`severity` cannot be mapped"));
        assert!(err("title = 'x'\n").contains("no [[rules]]"));
    }
}

/// The waiver file gitleaks reads next to its configuration.
pub const IGNORE_NAME: &str = ".gitleaksignore";

/// `.gitleaksignore`: findings waived by fingerprint, `FILE:RULE:LINE` or
/// `COMMIT:FILE:RULE:LINE` (what gitleaks prints), FILE relative to the scanned folder.
#[derive(Debug, Default, Clone)]
pub struct IgnoreList {
    entries: Vec<IgnoreEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct IgnoreEntry {
    commit: Option<String>,
    file: String,
    rule: String,
    line: u32,
}

impl IgnoreList {
    /// Parses the file; a line that is no fingerprint is an error naming it.
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Self> {
        let mut entries = Vec::new();
        for (number, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let entry = parse_fingerprint(line).with_context(|| {
                format!(
                    "{} line {}: `{}` is not a gitleaks fingerprint (FILE:RULE:LINE or COMMIT:FILE:RULE:LINE)",
                    path.display(),
                    number + 1,
                    crate::redact::escape(line)
                )
            })?;
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    /// Whether the finding of `rule` at `file:line` (relative to the scanned folder), added by
    /// `commit` if history says so, is waived.
    pub fn waives(&self, file: &str, rule: &str, line: u32, commit: Option<&str>) -> bool {
        self.entries.iter().any(|entry| {
            entry.file == file
                && entry.rule == rule
                && entry.line == line
                && entry.commit.as_deref().is_none_or(|wanted| {
                    commit.is_some_and(|c| c.starts_with(wanted) || wanted.starts_with(c))
                })
        })
    }
}

fn parse_fingerprint(line: &str) -> anyhow::Result<IgnoreEntry> {
    let mut parts = line.rsplitn(3, ':');
    let number = parts.next().context("no line number")?;
    let rule = parts.next().context("no rule")?;
    let rest = parts.next().context("no file")?;
    let line: u32 = number.parse().context("the line is not a number")?;
    let (commit, file) = match rest.split_once(':') {
        Some((commit, file)) if commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()) => {
            (Some(commit.to_ascii_lowercase()), file)
        }
        _ => (None, rest),
    };
    if file.is_empty() || rule.is_empty() {
        bail!("empty file or rule");
    }
    Ok(IgnoreEntry {
        commit,
        file: file.trim_start_matches("./").to_string(),
        rule: rule.to_string(),
        line,
    })
}

#[cfg(test)]
mod ignore_tests {
    use super::*;

    #[test]
    fn fingerprints_with_and_without_a_commit() {
        let text = "# waived\nsrc/app.py:acme-api-key:12\n\
                    0123456789abcdef0123456789abcdef01234567:config/a.env:generic:3\n";
        let list = IgnoreList::parse(text, Path::new(".gitleaksignore")).unwrap();
        assert!(list.waives("src/app.py", "acme-api-key", 12, None));
        assert!(!list.waives("src/app.py", "acme-api-key", 13, None));
        assert!(list.waives(
            "config/a.env",
            "generic",
            3,
            Some("0123456789abcdef0123456789abcdef01234567")
        ));
        assert!(
            !list.waives("config/a.env", "generic", 3, None),
            "a commit's waiver is for that commit"
        );
        let err = IgnoreList::parse("just words\n", Path::new(".gitleaksignore")).unwrap_err();
        assert!(format!("{err:#}").contains("line 1"), "{err:#}");
    }
}
