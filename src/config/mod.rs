//! Builds the validated, plain configuration of one run from the command line, the platform
//! environment, the plan (`crate::plan`: which revisions, read at which one) and the
//! original-style configuration files. Everything that can be wrong with the configuration
//! (missing files, malformed YAML, invalid regexes, a patchset escaping the root) is found here,
//! before any file is scanned. Git is the plan's business: nothing here runs it but the check
//! that an output file is untracked (`own`).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::cli::{Cli, ExceptionsFrom};
use crate::decide::outcome::FailOn;
pub use crate::enrich::VtPlan;
use crate::git::diff::AddedLines;
use crate::inspect::exceptions::Exceptions;
use crate::paths;
use crate::plan::config_change::{ConfigKind, Loosening};
use crate::plan::reader::ConfigReader;
use crate::plan::{targets, Layout, Revisions};
use crate::platform_env::PlatformEnv;
use crate::rules::RuleSet;
use crate::source::history::HistoryPlan;
use enrich::validate_plan;
use own::{confined, OwnFiles};
use rules::{build_rules, load_exceptions};

mod enrich;
mod own;
mod rules;

pub use crate::plan::Targets;
pub use own::exclude_own_output;

#[derive(Debug)]
pub struct Config {
    /// The scan root, canonical.
    pub root: PathBuf,
    pub targets: Targets,
    /// Reported paths are relative to this: the git work tree holding the root, else the
    /// working directory.
    pub report_root: PathBuf,
    /// SARIF URIs are relative to this (`%SRCROOT%`): the git work tree holding the root, else
    /// the root itself.
    pub sarif_root: PathBuf,
    pub rules: RuleSet,
    /// Paths whose findings rules that opt in report one level lower; `None` with
    /// --no-test-demotion.
    pub test_paths: Option<crate::inspect::test_paths::TestPaths>,
    pub exceptions: Exceptions,
    /// Never scanned: the lists directory, the list files and anteater's own output files.
    pub excluded: BTreeSet<PathBuf>,
    /// The part of `excluded` under the scan root that is anteater's own configuration (the
    /// `anteater_files` folder, the lists), for the summary.
    pub skipped_as_own: Vec<PathBuf>,
    pub check_binaries: bool,
    /// --strict-waivers: a waiver on a line the change adds fails the gate, an exception of the
    /// lists' included.
    pub strict_waivers: bool,
    /// Where the SARIF log goes (`None` with --no-sarif).
    pub sarif_path: Option<PathBuf>,
    /// --sarif-category, as an `automationDetails.id` (`category/`).
    pub sarif_category: Option<String>,
    pub fail_on: FailOn,
    pub max_file_size: u64,
    /// --oversize: text files over `max_file_size` are scanned in windows or skipped.
    pub oversize: crate::inspect::Oversize,
    pub follow_symlinks: bool,
    pub threads: usize,
    /// VirusTotal lookups, when --ips, --urls or --bincheck asked for them.
    pub virustotal: Option<VtPlan>,
    /// --validate: secrets checked with their providers.
    pub validate: Option<crate::enrich::validate::Plan>,
    /// --baseline: accepted findings.
    pub baseline: Option<crate::decide::baseline::Baseline>,
    /// --write-baseline: where to record this run's findings.
    pub write_baseline: Option<PathBuf>,
    /// --diff: what the change loosened in anteater's own configuration.
    pub loosened: Vec<Loosening>,
    /// --diff, --history: the commits whose additions are scanned.
    pub history: Option<HistoryPlan>,
    /// --staged: the index is scanned against this revision (HEAD, or the empty tree before
    /// the first commit); the working tree is not.
    pub staged: Option<String>,
    /// --diff: the changed lines of each changed file, by report path. Content findings
    /// elsewhere are not reported.
    pub changed_lines: Option<HashMap<String, AddedLines>>,
    /// The scanned folder's .gitleaksignore, read at the base under review.
    pub gitleaks_ignore: Option<crate::legacy::gitleaks::IgnoreList>,
}

impl Config {
    /// Every setting of one run, checked, in stages: what is scanned and against which revision,
    /// the configuration as that revision has it, rules and exceptions, what is anteater's own,
    /// and the files to walk.
    pub fn build(cli: Cli, env: &PlatformEnv) -> anyhow::Result<Self> {
        // First: a bad count is refused before any git work.
        let threads = worker_threads(cli.threads)?;
        let virustotal = VtPlan::from_cli(&cli, env)?;
        let validate = validate_plan(&cli, env)?;
        let cwd = std::env::current_dir().context("reading the working directory")?;
        let scan_paths = crate::plan::scan_paths::resolve(&cli, &cwd)?;
        let root = scan_paths.root.clone();
        let project = project_name(&cli, &root);
        // The plan: revisions, where configuration is read, what reports are relative to.
        let revisions = Revisions::from_cli(&cli, env, &root)?;
        let reader = ConfigReader::new(&cli, &revisions, &root, &cwd)?;
        let layout = Layout::new(root.clone(), &cwd);
        let conf = reader.conf(&cli, &root)?;
        // Paths the repository's own files name stay inside it (`flag_list = /home/runner/...`).
        let boundary = layout.boundary().to_path_buf();
        if let Some(conf) = &conf {
            confined(&conf.path, "itself (a link)", &conf.path, &boundary, &cwd)?;
            for (key, named, used) in [
                ("flag_list", &conf.flag_list, cli.flag_list.is_none()),
                ("ignore_list", &conf.ignore_list, cli.ignore_list.is_none()),
                ("anteater_files", &conf.anteater_files, true),
            ] {
                if let Some(named) = named.as_deref().filter(|_| used) {
                    confined(&conf.path, key, named, &boundary, &cwd)?;
                }
            }
        }
        let flag_list_path = cli
            .flag_list
            .clone()
            .or_else(|| conf.as_ref().and_then(|c| c.flag_list.clone()));
        let ignore_list_path = cli
            .ignore_list
            .clone()
            .or_else(|| conf.as_ref().and_then(|c| c.ignore_list.clone()));

        let mut own = OwnFiles::default();
        if let Some(conf) = &conf {
            own.watch(ConfigKind::Conf, &conf.path);
        }
        if let Some(path) = &cli.baseline {
            own.watch(ConfigKind::Baseline, path);
        }
        // Read at the base like the exception files: a change that drops the rule its own
        // secret would break must not pass with only a config-changed warning.
        let flag_list = flag_list_path
            .as_deref()
            .map(|path| reader.flag_list(path).map(|list| (list, path)))
            .transpose()?;
        let gitleaks = reader.gitleaks_rules(&cli, &root)?;
        let gitleaks_ignore = reader.gitleaks_ignore(&root)?;
        let rules = build_rules(
            &cli,
            flag_list,
            gitleaks,
            virustotal.as_ref(),
            revisions.watches_configuration(),
            &mut own,
            &cwd,
        )?;
        let exceptions = load_exceptions(
            ignore_list_path.as_deref(),
            conf.as_ref(),
            &project,
            &reader,
            &mut own,
            (&cwd, &boundary),
        )?;
        let test_paths = if cli.no_test_demotion {
            None
        } else {
            Some(crate::inspect::test_paths::TestPaths::new(&cli.test_paths)?)
        };
        // A tree scan skips the whole folder the conf names as anteater's own, as the original
        // did. A run that judges a change exempts only the files it reads as configuration (at
        // the revision it reads them): a file a change adds under that folder is the change's.
        // `--exceptions-from head` is the user's word that the change's configuration applies.
        if let Some(dir) = conf.as_ref().and_then(|c| c.anteater_files.as_ref()) {
            if !revisions.in_git() || cli.exceptions_from == ExceptionsFrom::Head {
                own.configuration.push(paths::resolve(dir, &cwd));
            }
        }
        let baseline = cli
            .baseline
            .as_deref()
            .map(|path| reader.baseline(path))
            .transpose()?;
        let sarif_path = (!cli.no_sarif).then(|| cli.sarif.clone());
        let sarif_category = cli.sarif_category.as_deref().map(automation_id).transpose()?;
        let outputs = [
            cli.baseline.as_ref(),
            cli.write_baseline.as_ref(),
            sarif_path.as_ref(),
        ];
        let (excluded, skipped_as_own) = own.excluded(outputs.into_iter().flatten(), &root, &cwd);
        let watched = own.watched(&cwd, |path| reader.in_repository(path));
        let loosened = revisions.loosened(&watched, &rules)?;
        let (targets, changed_lines) = match scan_paths.listed {
            // Files or several paths given as arguments: walked as they are.
            Some(files) => (
                Targets::Listed {
                    files,
                    missing: Vec::new(),
                },
                None,
            ),
            None => targets(&cli, &revisions, &layout)?,
        };
        Ok(Self {
            root: layout.root,
            targets,
            report_root: layout.report_root,
            sarif_root: layout.sarif_root,
            rules,
            test_paths,
            exceptions,
            excluded,
            skipped_as_own,
            check_binaries: cli.binaries || cli.bincheck,
            strict_waivers: cli.strict_waivers,
            changed_lines,
            history: revisions.history,
            staged: revisions.staged,
            loosened,
            virustotal,
            validate,
            sarif_path,
            sarif_category,
            // --exit-zero: report everything, fail on nothing but a failed scan.
            fail_on: if cli.exit_zero { FailOn::Never } else { cli.fail_on },
            baseline,
            write_baseline: cli.write_baseline.clone(),
            max_file_size: cli.max_file_size,
            oversize: cli.oversize,
            follow_symlinks: cli.follow_symlinks,
            threads,
            gitleaks_ignore,
        })
    }
}

impl Config {
    /// What the walk of the working tree needs of this configuration.
    pub fn walk_plan(&self) -> crate::source::walk::WalkPlan<'_> {
        crate::source::walk::WalkPlan {
            targets: &self.targets,
            root: &self.root,
            report_root: &self.report_root,
            excluded: &self.excluded,
            exceptions: &self.exceptions,
            changed_lines: self.changed_lines.as_ref(),
            follow_symlinks: self.follow_symlinks,
            threads: self.threads,
            inspect: self.inspect_settings(),
        }
    }

    /// What the inspector needs of this configuration.
    pub fn inspect_settings(&self) -> crate::inspect::Settings<'_> {
        crate::inspect::Settings {
            rules: &self.rules,
            exceptions: &self.exceptions,
            test_paths: self.test_paths.as_ref(),
            max_file_size: self.max_file_size,
            oversize: self.oversize,
            check_binaries: self.check_binaries,
            strict_waivers: self.strict_waivers,
            indicators: self
                .virustotal
                .as_ref()
                .map(|plan| plan.wanted)
                .unwrap_or_default(),
        }
    }
}

/// --project, else the scanned folder's name (the original's convention).
fn project_name(cli: &Cli, root: &Path) -> String {
    match &cli.project {
        Some(name) => name.clone(),
        None => root
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// How many workers scan: `--threads`, or one per CPU. More than help are clamped with a
/// warning: the walk is bounded by the disks and CPUs, and 5,000 threads over two files took
/// half a minute to start.
fn worker_threads(requested: Option<usize>) -> anyhow::Result<usize> {
    use std::io::Write as _;
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let limit = (4 * cpus).clamp(16, 256);
    match requested {
        Some(0) => bail!("--threads must be at least 1"),
        Some(requested) if requested > limit => {
            // Not eprintln!: a closed stderr must not stop the scan.
            let _ = writeln!(
                std::io::stderr(),
                "anteater: warning: --threads {requested} clamped to {limit} (4 per CPU, at least 16, at most \
                 256): more threads only cost start-up time and memory"
            );
            Ok(limit)
        }
        Some(requested) => Ok(requested),
        None => Ok(cpus),
    }
}

/// The `automationDetails.id` for a SARIF category. Code scanning reads the id as
/// `category/run-id`, so a category gets the trailing `/` that upload-sarif's `category:` input
/// gets too.
fn automation_id(category: &str) -> anyhow::Result<String> {
    let trimmed = category.trim();
    if trimmed.is_empty() || trimmed.chars().any(char::is_control) {
        bail!(
            "--sarif-category `{}`: give a name such as `anteater-backend` (no control characters)",
            crate::redact::escape(category)
        );
    }
    Ok(if trimmed.ends_with('/') {
        trimmed.to_string()
    } else {
        format!("{trimmed}/")
    })
}

#[cfg(test)]
mod fuzz;
