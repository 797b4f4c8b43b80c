//! Builds the validated, plain configuration of one run from the command line, the platform
//! environment and the original-style configuration files. Everything that can be wrong with the
//! configuration (missing files, malformed YAML, invalid regexes, a patchset escaping the root) is
//! found here, before any file is scanned.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::cli::{Cli, ExceptionsFrom, FailOn, RulesetName};
use crate::config_change::{self, ConfigKind, Loosening};
use crate::diff::{self, ChangeSet, ChangedLines};
use crate::exceptions::{self, Exceptions};
use crate::legacy::conf::LegacyConf;
use crate::legacy::lists::{ExceptionFile, FlagList};
use crate::paths;
use crate::platform_env::PlatformEnv;
use crate::rules::{builtin, Precision, RuleKind, RuleMeta, RuleSet, Severity};
use crate::virustotal::lookup;

/// What the run scans.
#[derive(Debug)]
pub enum Targets {
    /// Every file under the root.
    Tree,
    /// Only these files (absolute, inside the root), from a patchset.
    Listed {
        files: Vec<PathBuf>,
        /// Listed paths that do not exist (deleted by the change, usually), as written.
        missing: Vec<String>,
    },
}

#[derive(Debug)]
pub struct Config {
    /// The scan root, canonical.
    pub root: PathBuf,
    pub targets: Targets,
    /// Reported paths are relative to this: the git work tree holding the root, else the
    /// working directory.
    pub report_root: PathBuf,
    pub project: String,
    pub rules: RuleSet,
    /// Paths whose findings rules that opt in report one level lower; `None` with
    /// --no-test-demotion.
    pub test_paths: Option<crate::test_paths::TestPaths>,
    pub exceptions: Exceptions,
    /// Never scanned: the lists directory, the list files and anteater's own output files.
    pub excluded: BTreeSet<PathBuf>,
    pub check_binaries: bool,
    pub sarif_path: PathBuf,
    pub fail_on: FailOn,
    pub max_file_size: u64,
    pub follow_symlinks: bool,
    pub threads: usize,
    /// What the rules and exceptions came from, for the console summary.
    pub rule_sources: Vec<String>,
    /// VirusTotal lookups, when --ips, --urls or --bincheck asked for them.
    pub virustotal: Option<VtPlan>,
    /// --baseline: accepted findings.
    pub baseline: Option<BTreeSet<crate::baseline::Entry>>,
    /// --write-baseline: where to record this run's findings.
    pub write_baseline: Option<PathBuf>,
    /// --diff: what the change loosened in anteater's own configuration.
    pub loosened: Vec<Loosening>,
    /// --diff: the change under review.
    pub change: Option<ChangeSet>,
    /// --diff: the changed lines of each changed file, by report path. Content findings
    /// elsewhere are not reported.
    pub changed_lines: Option<HashMap<String, ChangedLines>>,
}

/// Which indicators to look up on VirusTotal, and how.
#[derive(Debug)]
pub struct VtPlan {
    pub ips: bool,
    pub urls: bool,
    pub files: bool,
    /// Unverified indicators fail the gate.
    pub fail_closed: bool,
    pub settings: lookup::Settings,
}

impl VtPlan {
    fn from_cli(cli: &Cli, env: &PlatformEnv) -> anyhow::Result<Option<Self>> {
        if !(cli.ips || cli.urls || cli.bincheck) {
            return Ok(None);
        }
        let Some(api_key) = env.virustotal_key().cloned() else {
            bail!(
                "--ips, --urls and --bincheck need a VirusTotal API key in VT_API_KEY (or VT_KEY); \
                 in CI, pass it from the platform's secret store"
            );
        };
        if api_key.expose().trim().is_empty() || api_key.expose().chars().any(char::is_control) {
            bail!("VT_API_KEY is set but is not a usable key (empty or containing control characters)");
        }
        if cli.vt_cache_ttl < Duration::from_secs(1) {
            bail!("--vt-cache-ttl must be at least 1s");
        }
        if cli.vt_poll_interval.is_zero() || cli.vt_timeout.is_zero() {
            bail!("--vt-poll-interval and --vt-timeout must be more than zero");
        }
        let api_url = env
            .vt_api_url
            .clone()
            .unwrap_or_else(|| DEFAULT_VT_API_URL.to_string());
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            bail!("VT_API_URL `{api_url}` is not an http(s) URL");
        }
        let redis_url = cli
            .redis_url
            .clone()
            .or_else(|| env.redis_url.clone())
            .unwrap_or_else(|| DEFAULT_REDIS_URL.to_string());
        Ok(Some(Self {
            ips: cli.ips,
            urls: cli.urls,
            files: cli.bincheck,
            fail_closed: cli.vt_fail_closed,
            settings: lookup::Settings {
                api_key,
                api_url,
                redis_url,
                rate: cli.vt_rate,
                daily_quota: cli.vt_daily_quota,
                cache_ttl: cli.vt_cache_ttl,
                min_detections: cli.vt_min_detections,
                upload: !cli.no_upload,
                poll_interval: cli.vt_poll_interval,
                max_wait: cli.vt_max_wait,
                request_timeout: cli.vt_timeout,
                retry_delay: cli.vt_retry_delay,
            },
        }))
    }
}

const DEFAULT_VT_API_URL: &str = "https://www.virustotal.com/api/v3";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

impl Config {
    pub fn build(cli: Cli, env: &PlatformEnv) -> anyhow::Result<Self> {
        let virustotal = VtPlan::from_cli(&cli, env)?;

        let cwd = std::env::current_dir().context("reading the working directory")?;
        let root = cli
            .path
            .canonicalize()
            .with_context(|| format!("--path {}: cannot open", cli.path.display()))?;
        if !root.is_dir() {
            bail!("--path {}: not a directory", cli.path.display());
        }

        let conf = match &cli.config {
            Some(path) => Some(LegacyConf::load(path)?),
            None => {
                let default = PathBuf::from("anteater.conf");
                default
                    .is_file()
                    .then(|| LegacyConf::load(&default))
                    .transpose()?
            }
        };
        let flag_list_path = cli
            .flag_list
            .clone()
            .or_else(|| conf.as_ref().and_then(|c| c.flag_list.clone()));
        let ignore_list_path = cli
            .ignore_list
            .clone()
            .or_else(|| conf.as_ref().and_then(|c| c.ignore_list.clone()));

        let project = match &cli.project {
            Some(name) => name.clone(),
            None => root
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };

        // --diff: the change under review, and the revision exceptions are read from.
        let change = match &cli.diff {
            Some(spec) => {
                let spec = if spec == "auto" {
                    diff::auto_base(env)?
                } else {
                    spec.clone()
                };
                let base = diff::resolve_base(&root, &spec)?;
                Some(diff::changes(&root, &base)?)
            }
            None => None,
        };
        // Only files of the repository under review have a base revision; configuration kept
        // elsewhere (a shared lists directory, the working directory of the job) is not part of
        // the change.
        let repository = match &change {
            Some(_) => Some(diff::top_level(&root)?),
            None => None,
        };
        let in_repository = |path: &Path| {
            repository
                .as_ref()
                .is_some_and(|top| paths::resolve(path, &cwd).starts_with(top))
        };
        let exceptions_revision = change
            .as_ref()
            .filter(|_| cli.exceptions_from == ExceptionsFrom::Base)
            .map(|change| change.base.clone());
        let load_exceptions = |path: &Path, what: &str| -> anyhow::Result<ExceptionFile> {
            match &exceptions_revision {
                // A change must not be able to waive its own findings: its edits to the
                // exception files take effect once they are merged.
                Some(revision) if in_repository(path) => match diff::file_at(path, revision)? {
                    Some(bytes) => {
                        ExceptionFile::parse_bytes(&bytes, path, &format!("{what} (at the base revision)"))
                    }
                    None => Ok(ExceptionFile::default()),
                },
                _ => ExceptionFile::load(path, what),
            }
        };

        let mut excluded = BTreeSet::new();
        // anteater's own configuration files, watched for loosening in --diff mode.
        let mut watched: Vec<(ConfigKind, PathBuf)> = Vec::new();
        if let Some(conf) = &conf {
            watched.push((ConfigKind::Conf, conf.path.clone()));
        }
        if let Some(path) = &flag_list_path {
            watched.push((ConfigKind::FlagList, path.clone()));
        }
        if let Some(path) = &ignore_list_path {
            watched.push((ConfigKind::Exceptions, path.clone()));
        }
        if let Some(path) = &cli.baseline {
            watched.push((ConfigKind::Baseline, path.clone()));
        }
        let mut rule_sources = Vec::new();

        // Rules: the flag list when one is configured, a built-in ruleset otherwise (or both when
        // --ruleset is given explicitly).
        let mut rules = Vec::new();
        if let Some(path) = &flag_list_path {
            rules.extend(flag_list_rules(path)?);
            excluded.insert(paths::resolve(path, &cwd));
            rule_sources.push(format!("flag list {}", path.display()));
        }
        if flag_list_path.is_none() || cli.ruleset.is_some() {
            let name = cli.ruleset.unwrap_or(RulesetName::Default);
            let origin = builtin::origin(name);
            rules.extend(builtin::rules(name)?);
            rule_sources.push(origin);
        }
        if let Some(plan) = &virustotal {
            rules.extend(crate::rules::virustotal_rules(plan.fail_closed));
        }
        if change.is_some() {
            rules.push(crate::rules::config_changed_rule());
        }
        let rules = RuleSet::compile(rules)?;
        let test_paths = if cli.no_test_demotion {
            None
        } else {
            Some(crate::test_paths::TestPaths::new(&cli.test_paths)?)
        };

        // Exceptions: the global ignore list, then the project's own file.
        let mut exception_files = Vec::new();
        if let Some(path) = &ignore_list_path {
            let global = load_exceptions(path, "ignore list")?;
            excluded.insert(paths::resolve(path, &cwd));
            rule_sources.push(format!("ignore list {}", path.display()));
            let project_file = match global.project_exceptions.file_for(&project) {
                Some(file) => {
                    let base = conf
                        .as_ref()
                        .and_then(|c| c.path.parent().map(Path::to_path_buf))
                        .unwrap_or_else(|| cwd.clone());
                    let list_dir = path.parent().unwrap_or(Path::new("."));
                    let path = find_project_file(file, &[&base, list_dir], &project)?;
                    let loaded = load_exceptions(&path, "project exception file")?;
                    watched.push((ConfigKind::Exceptions, path.clone()));
                    excluded.insert(paths::resolve(&path, &cwd));
                    rule_sources.push(format!("project `{project}` exceptions {}", path.display()));
                    Some((path, loaded))
                }
                None => None,
            };
            exception_files.push((path.clone(), global));
            exception_files.extend(project_file);
        }
        let sources: Vec<_> = exception_files
            .iter()
            .map(|(path, file)| exceptions::Source {
                file,
                origin: path.display().to_string(),
            })
            .collect();
        let exceptions = Exceptions::compile(&sources)?;

        if let Some(dir) = conf.as_ref().and_then(|c| c.anteater_files.as_ref()) {
            excluded.insert(paths::resolve(dir, &cwd));
        }
        let baseline = match &cli.baseline {
            Some(path) => {
                excluded.insert(paths::resolve(path, &cwd));
                Some(crate::baseline::load(path)?)
            }
            None => None,
        };
        if let Some(path) = &cli.write_baseline {
            excluded.insert(paths::resolve(path, &cwd));
        }
        let sarif_path = cli.sarif.clone();
        excluded.insert(paths::resolve(&sarif_path, &cwd));

        // Absolute from here on: reports make them relative to the report root.
        for (_, path) in &mut watched {
            *path = paths::resolve(path, &cwd);
        }
        watched.retain(|(_, path)| in_repository(path));
        let loosened = match &change {
            Some(change) => config_change::detect(&change.base, &watched, &rules)?,
            None => Vec::new(),
        };
        let report_root = paths::git_work_tree(&root).unwrap_or_else(|| paths::resolve(&cwd, &cwd));
        let mut changed_lines = None;
        let targets = match (&cli.patchset, &change) {
            (Some(path), _) => read_patchset(path, &root)?,
            (None, Some(change)) => {
                let mut files = Vec::new();
                let mut missing = Vec::new();
                let mut lines = HashMap::new();
                for (relative, changed) in &change.files {
                    let path = root.join(relative);
                    if path.is_file() {
                        lines.insert(paths::relative_to(&path, &report_root), changed.clone());
                        files.push(path);
                    } else {
                        missing.push(relative.clone());
                    }
                }
                files.sort();
                missing.sort();
                changed_lines = Some(lines);
                Targets::Listed { files, missing }
            }
            (None, None) => Targets::Tree,
        };
        let threads = match cli.threads {
            Some(0) => bail!("--threads must be at least 1"),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(2, |n| n.get()),
        };

        Ok(Self {
            root,
            targets,
            report_root,
            project,
            rules,
            test_paths,
            exceptions,
            excluded,
            check_binaries: cli.binaries || cli.bincheck,
            change,
            changed_lines,
            loosened,
            virustotal,
            sarif_path,
            // --exit-zero: report everything, fail on nothing but a failed scan.
            fail_on: if cli.exit_zero { FailOn::Never } else { cli.fail_on },
            baseline,
            write_baseline: cli.write_baseline.clone(),
            max_file_size: cli.max_file_size,
            follow_symlinks: cli.follow_symlinks,
            threads,
            rule_sources,
        })
    }
}

/// Turns an original-style flag list into rules. Content rules keep their names as ids and are
/// redacted unless they opt out; file-name patterns get ids derived from the pattern.
fn flag_list_rules(path: &Path) -> anyhow::Result<Vec<RuleMeta>> {
    let list = FlagList::load(path)?;
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
    for pattern in list.file_audits.file_names.0 {
        if !seen.insert(pattern.clone()) {
            continue; // The original's list repeats a few patterns.
        }
        let mut id = format!("file-name:{}", slug(&pattern));
        let mut n = 2;
        while rules.iter().any(|rule| rule.id == id) {
            id = format!("file-name:{}-{n}", slug(&pattern));
            n += 1;
        }
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

/// Reads a patchset: one path per line, relative to the root or absolute inside it. A path that
/// resolves outside the root (through `..`, an absolute path or a symlink) is refused: a patchset
/// comes from the change under review and must not make anteater read other files.
fn read_patchset(path: &Path, root: &Path) -> anyhow::Result<Targets> {
    let bytes = std::fs::read(path).with_context(|| format!("reading --patchset {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut files = Vec::new();
    let mut missing = Vec::new();
    let mut seen = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let entry = line.trim_end_matches('\r');
        if entry.trim().is_empty() {
            continue;
        }
        let candidate = if Path::new(entry).is_absolute() {
            PathBuf::from(entry)
        } else {
            root.join(entry)
        };
        let resolved = paths::resolve(&candidate, root);
        if !resolved.starts_with(root) {
            bail!(
                "--patchset {} line {}: `{}` resolves outside the scanned root {}; refusing to read it",
                path.display(),
                number + 1,
                crate::redact::escape(entry),
                root.display()
            );
        }
        if !resolved.exists() {
            missing.push(entry.to_string());
        } else if seen.insert(resolved.clone()) {
            files.push(resolved);
        }
    }
    Ok(Targets::Listed { files, missing })
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

    #[test]
    fn patchset_paths_must_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/a.rs"), "x").unwrap();
        let root = root.canonicalize().unwrap();
        let list = dir.path().join("patch");

        std::fs::write(
            &list,
            format!("src/a.rs\n{}/src/a.rs\nsrc/gone.rs\n\n", root.display()),
        )
        .unwrap();
        match read_patchset(&list, &root).unwrap() {
            Targets::Listed { files, missing } => {
                assert_eq!(files, vec![root.join("src/a.rs")]);
                assert_eq!(missing, vec!["src/gone.rs"]);
            }
            Targets::Tree => unreachable!(),
        }

        for escape in ["../outside.txt", "src/../../outside.txt", "/etc/passwd"] {
            std::fs::write(&list, format!("{escape}\n")).unwrap();
            let err = read_patchset(&list, &root).unwrap_err();
            assert!(
                format!("{err:#}").contains("outside the scanned root"),
                "{escape}: {err:#}"
            );
        }

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
            std::fs::write(&list, "link/passwd\n").unwrap();
            assert!(read_patchset(&list, &root).is_err());
        }
    }
}
