//! Builds the validated, plain configuration of one run from the command line, the platform
//! environment and the original-style configuration files. Everything that can be wrong with the
//! configuration (missing files, malformed YAML, invalid regexes, a patchset escaping the root) is
//! found here, before any file is scanned.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::cli::{Cli, ExceptionsFrom};
use crate::config_change::{self, ConfigKind, Loosening};
use crate::diff::{self, AddedLines, ChangeSet};
use crate::enrich::virustotal::lookup;
use crate::enrich::virustotal::redis_conn::TlsFiles;
pub use crate::enrich::VtPlan;
use crate::exceptions::{self, Exceptions};
use crate::legacy::conf::LegacyConf;
use crate::legacy::lists::{ExceptionFile, FlagList};
use crate::outcome::FailOn;
use crate::paths;
use crate::platform_env::PlatformEnv;
use crate::rules::RulesetName;
use crate::rules::{builtin, Precision, RuleKind, RuleMeta, RuleSet, Severity};
use crate::source::history::{self, HistoryPlan};

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
    /// SARIF URIs are relative to this (`%SRCROOT%`): the git work tree holding the root, else
    /// the root itself.
    pub sarif_root: PathBuf,
    pub project: String,
    pub rules: RuleSet,
    /// Paths whose findings rules that opt in report one level lower; `None` with
    /// --no-test-demotion.
    pub test_paths: Option<crate::test_paths::TestPaths>,
    pub exceptions: Exceptions,
    /// Never scanned: the lists directory, the list files and anteater's own output files.
    pub excluded: BTreeSet<PathBuf>,
    /// The part of `excluded` under the scan root that is anteater's own configuration (the
    /// `anteater_files` folder, the lists), for the summary.
    pub skipped_as_own: Vec<PathBuf>,
    pub check_binaries: bool,
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
    /// What the rules and exceptions came from, for the console summary.
    pub rule_sources: Vec<String>,
    /// VirusTotal lookups, when --ips, --urls or --bincheck asked for them.
    pub virustotal: Option<VtPlan>,
    /// --validate: secrets checked with their providers.
    pub validate: Option<crate::enrich::validate::Plan>,
    /// --baseline: accepted findings.
    pub baseline: Option<crate::baseline::Baseline>,
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
    pub gitleaks_ignore: Option<crate::gitleaks::IgnoreList>,
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
        if cli.vt_poll_interval.is_zero() || cli.vt_timeout.is_zero() || cli.vt_deadline.is_zero() {
            bail!("--vt-poll-interval, --vt-timeout and --vt-deadline must be more than zero");
        }
        if cli.vt_progress_every.is_zero() || cli.vt_claim_lease < Duration::from_millis(300) {
            bail!("--vt-progress-every must be more than zero and --vt-claim-lease at least 300ms");
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
            wanted: crate::indicators::Wanted {
                ips: cli.ips,
                urls: cli.urls,
                files: cli.bincheck,
            },
            fail_closed: cli.vt_fail_closed,
            settings: lookup::Settings {
                api_key,
                api_url,
                redis_url,
                redis_tls: TlsFiles {
                    ca: cli.redis_ca.clone(),
                    client_cert: cli.redis_client_cert.clone(),
                    client_key: cli.redis_client_key.clone(),
                },
                rate: cli.vt_rate,
                daily_quota: cli.vt_daily_quota,
                cache_ttl: cli.vt_cache_ttl,
                cache_file: cli.vt_cache_file.clone(),
                min_detections: cli.vt_min_detections,
                upload: !cli.no_upload,
                poll_interval: cli.vt_poll_interval,
                max_wait: cli.vt_max_wait,
                request_timeout: cli.vt_timeout,
                retry_delay: cli.vt_retry_delay,
                deadline: cli.vt_deadline,
                claim_lease: cli.vt_claim_lease,
                progress_every: cli.vt_progress_every,
            },
        }))
    }
}

/// --validate's plan: its timings, the provider overrides from the environment, and the Redis
/// VirusTotal uses for its cache.
fn validate_plan(cli: &Cli, env: &PlatformEnv) -> anyhow::Result<Option<crate::enrich::validate::Plan>> {
    if !cli.validate {
        return Ok(None);
    }
    let explicit = cli.redis_url.clone().or_else(|| env.redis_url.clone());
    let vars = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)));
    crate::enrich::validate::Plan::new(
        vars,
        cli.validate_cache_ttl,
        cli.validate_timeout,
        cli.validate_deadline,
        explicit.clone().unwrap_or_else(|| DEFAULT_REDIS_URL.to_string()),
        explicit.is_some(),
        TlsFiles {
            ca: cli.redis_ca.clone(),
            client_cert: cli.redis_client_cert.clone(),
            client_key: cli.redis_client_key.clone(),
        },
    )
    .map(|mut plan| {
        // The file is authenticated with the VirusTotal key; without one it is not used here.
        plan.cache_file = cli.vt_cache_file.clone().zip(env.virustotal_key().cloned());
        Some(plan)
    })
}

const DEFAULT_VT_API_URL: &str = "https://www.virustotal.com/api/v3";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

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
        let scan_paths = crate::scan_paths::resolve(&cli, &cwd)?;
        let root = scan_paths.root.clone();
        let project = project_name(&cli, &root);
        let revisions = Revisions::from_cli(&cli, env, &root)?;
        let reader = ConfigReader::new(&cli, &revisions, &root, &cwd)?;
        let conf = reader.conf(&cli, &root)?;
        // Paths the repository's own files name stay inside it (`flag_list = /home/runner/...`).
        let boundary = paths::git_work_tree(&root).unwrap_or_else(|| root.clone());
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
            Some(crate::test_paths::TestPaths::new(&cli.test_paths)?)
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
        let loosened = match (&revisions.change, &revisions.history_range) {
            (Some(change), _) => {
                let head = if revisions.staged.is_some() {
                    config_change::Head::Index
                } else {
                    config_change::Head::WorkTree
                };
                config_change::detect(&change.base, head, &watched, &rules)?
            }
            (None, Some((from, to))) => {
                config_change::detect(from, config_change::Head::Commit(to), &watched, &rules)?
            }
            (None, None) => Vec::new(),
        };

        let layout = Layout::new(root, &cwd);
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
            project,
            rules,
            test_paths,
            exceptions,
            excluded,
            skipped_as_own,
            check_binaries: cli.binaries || cli.bincheck,
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
            rule_sources: own.sources,
            gitleaks_ignore,
        })
    }
}

impl Config {
    /// Whether `path` (under the scan root), or a folder above it up to the root, is one of
    /// anteater's own files or outputs that are never scanned.
    pub fn is_excluded(&self, path: &Path) -> bool {
        path.ancestors()
            .take_while(|dir| dir.starts_with(&self.root))
            .any(|dir| self.excluded.contains(dir))
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

/// Which revisions a run looks at: the change under review (--diff, --staged), the commits
/// whose additions are scanned (--diff, --history), and the revision the configuration and
/// exceptions are read at.
struct Revisions {
    /// --staged: the revision the index is compared with.
    staged: Option<String>,
    change: Option<ChangeSet>,
    history: Option<HistoryPlan>,
    /// --diff A..B: history alone, exceptions as of A, configuration changes from A to B.
    history_range: Option<(String, String)>,
}

impl Revisions {
    fn from_cli(cli: &Cli, env: &PlatformEnv, root: &Path) -> anyhow::Result<Self> {
        let mut revisions = Revisions {
            staged: None,
            change: None,
            history: None,
            history_range: None,
        };
        if cli.staged {
            // The index against HEAD, exceptions and configuration read at HEAD.
            crate::git::top_level(root).with_context(|| {
                format!(
                    "--staged needs a git repository, and {} is not in one",
                    root.display()
                )
            })?;
            let base = crate::source::index::base(root);
            revisions.change = Some(ChangeSet {
                base: base.to_string(),
                ..ChangeSet::default()
            });
            revisions.staged = Some(base.to_string());
        }
        if let Some(spec) = &cli.diff {
            let spec = if spec == "auto" {
                diff::auto_base(env)?
            } else {
                spec.clone()
            };
            match history::explicit_range(root, &spec)? {
                Some((from, to)) => {
                    revisions.history = Some(HistoryPlan {
                        revisions: vec![format!("{from}..{to}")],
                        with_net_change: false,
                    });
                    revisions.history_range = Some((from, to));
                }
                None => {
                    let base = diff::resolve_base(root, &spec)?;
                    revisions.history = Some(HistoryPlan {
                        revisions: vec![format!("{base}..HEAD")],
                        with_net_change: true,
                    });
                    revisions.change = Some(diff::changes(root, &base)?);
                }
            }
        }
        if cli.history {
            if crate::git::git(root, &["rev-parse", "--verify", "--quiet", "HEAD"]).is_err() {
                bail!(
                    "--history needs a git repository with commits, and {} is not in one",
                    root.display()
                );
            }
            revisions.history = Some(HistoryPlan {
                revisions: vec!["HEAD".to_string()],
                with_net_change: false,
            });
        }
        Ok(revisions)
    }

    /// Whether the run judges a change, and so what it does to anteater's own configuration.
    fn watches_configuration(&self) -> bool {
        self.change.is_some() || self.history_range.is_some()
    }

    /// Whether the repository matters: only then is configuration read at a revision.
    fn in_git(&self) -> bool {
        self.history.is_some() || self.staged.is_some()
    }
}

/// Reads anteater's configuration files as the revision under review had them before the change
/// (`--exceptions-from base`, the default), so that a change cannot waive its own findings or
/// point the folder anteater skips at the code it adds; files outside the repository (a shared
/// lists directory) are read as they are.
struct ConfigReader<'a> {
    cwd: &'a Path,
    /// The repository's top level, when a revision matters.
    repository: Option<PathBuf>,
    revision: Option<String>,
}

impl<'a> ConfigReader<'a> {
    fn new(cli: &Cli, revisions: &Revisions, root: &Path, cwd: &'a Path) -> anyhow::Result<Self> {
        let repository = if revisions.in_git() {
            Some(crate::git::top_level(root)?)
        } else {
            None
        };
        let revision = revisions
            .change
            .as_ref()
            .map(|change| change.base.clone())
            .or_else(|| revisions.history_range.as_ref().map(|(from, _)| from.clone()))
            .filter(|_| cli.exceptions_from == ExceptionsFrom::Base);
        Ok(ConfigReader {
            cwd,
            repository,
            revision,
        })
    }

    fn in_repository(&self, path: &Path) -> bool {
        self.repository
            .as_ref()
            .is_some_and(|top| paths::resolve(path, self.cwd).starts_with(top))
    }

    /// The revision `path` is read at, if any.
    fn revision_for(&self, path: &Path) -> Option<&str> {
        self.revision.as_deref().filter(|_| self.in_repository(path))
    }

    /// anteater.conf: it decides which folder is skipped as anteater's own and which lists
    /// apply.
    fn conf(&self, cli: &Cli, root: &Path) -> anyhow::Result<Option<LegacyConf>> {
        let conf_path = match &cli.config {
            Some(path) => path.clone(),
            None => self.discover_conf(root)?,
        };
        let Some(revision) = self.revision_for(&conf_path) else {
            return if cli.config.is_some() || conf_path.is_file() {
                LegacyConf::load(&conf_path).map(Some)
            } else {
                Ok(None)
            };
        };
        match diff::file_at(&conf_path, revision)? {
            Some(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    anyhow::anyhow!(
                        "config {} (at the base revision): not valid UTF-8",
                        conf_path.display()
                    )
                })?;
                LegacyConf::parse(&text, &conf_path).map(Some)
            }
            // Not there before the change: the change does not configure itself (its conf is
            // still watched, and reported as a change).
            None if conf_path.is_file() => Ok(Some(LegacyConf {
                path: conf_path.clone(),
                ..LegacyConf::default()
            })),
            // An explicit --config that exists nowhere is an error, as in every mode.
            None if cli.config.is_some() => LegacyConf::load(&conf_path).map(Some),
            None => Ok(None),
        }
    }

    /// The first anteater.conf of the scanned folder and the current one that exists: at the
    /// revision configuration is read at, for a conf in the repository under review (a change
    /// can neither drop the conf that judges it nor put a new one in its place), else in the
    /// file system. The last candidate when none does.
    fn discover_conf(&self, root: &Path) -> anyhow::Result<PathBuf> {
        let candidates = crate::scan_paths::conf_candidates(root, self.cwd);
        for candidate in &candidates {
            let exists = match self.revision_for(candidate) {
                Some(revision) => diff::file_at(candidate, revision)?.is_some(),
                None => candidate.is_file(),
            };
            if exists {
                return Ok(candidate.clone());
            }
        }
        Ok(candidates.last().cloned().unwrap_or_default())
    }

    /// The rules of --gitleaks-config, else of the scanned folder's .gitleaks.toml when it
    /// exists; read at the base like the flag list (one the base did not have only adds rules).
    fn gitleaks_rules(&self, cli: &Cli, root: &Path) -> anyhow::Result<Option<(Vec<RuleMeta>, PathBuf)>> {
        let path = match &cli.gitleaks_config {
            Some(path) => path.clone(),
            None => {
                let discovered = root.join(crate::gitleaks::DISCOVERED_NAME);
                if !discovered.is_file() {
                    return Ok(None);
                }
                discovered
            }
        };
        let at_base = match self.revision_for(&path) {
            Some(revision) => diff::file_at(&path, revision)?,
            None => None,
        };
        let bytes = match at_base {
            Some(bytes) => bytes,
            None => {
                std::fs::read(&path).with_context(|| format!("reading gitleaks config {}", path.display()))?
            }
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("gitleaks config {}: not valid UTF-8", path.display()))?;
        Ok(Some((crate::gitleaks::rules(&text, &path)?, path)))
    }

    /// The scanned folder's .gitleaksignore: a waiver like the exception files, so one the base
    /// did not have waives nothing.
    fn gitleaks_ignore(&self, root: &Path) -> anyhow::Result<Option<crate::gitleaks::IgnoreList>> {
        let path = root.join(crate::gitleaks::IGNORE_NAME);
        let bytes = match self.revision_for(&path) {
            Some(revision) => diff::file_at(&path, revision)?,
            None if path.is_file() => {
                Some(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?)
            }
            None => None,
        };
        bytes
            .map(|bytes| crate::gitleaks::IgnoreList::parse(&String::from_utf8_lossy(&bytes), &path))
            .transpose()
    }

    /// The --baseline file: a waiver like the exception files, so a change cannot accept its own
    /// findings by adding them to it; one the base did not have accepts nothing.
    fn baseline(&self, path: &Path) -> anyhow::Result<crate::baseline::Baseline> {
        match self.revision_for(path) {
            Some(revision) => match diff::file_at(path, revision)? {
                Some(bytes) => crate::baseline::parse(&bytes, path),
                None => Ok(crate::baseline::Baseline::default()),
            },
            None => crate::baseline::load(path),
        }
    }

    /// The flag list; one the base did not have is read as the change has it (it only adds
    /// rules: which list applies is anteater.conf's or the command line's to say).
    fn flag_list(&self, path: &Path) -> anyhow::Result<FlagList> {
        match self.revision_for(path) {
            Some(revision) => match diff::file_at(path, revision)? {
                Some(bytes) => FlagList::parse_bytes(&bytes, path),
                None => FlagList::load(path),
            },
            None => FlagList::load(path),
        }
    }

    /// An exception file (ignore list, project file); one the base did not have waives nothing.
    fn exceptions(&self, path: &Path, what: &str) -> anyhow::Result<ExceptionFile> {
        match self.revision_for(path) {
            Some(revision) => match diff::file_at(path, revision)? {
                Some(bytes) => {
                    ExceptionFile::parse_bytes(&bytes, path, &format!("{what} (at the base revision)"))
                }
                None => Ok(ExceptionFile::default()),
            },
            None => ExceptionFile::load(path, what),
        }
    }
}

/// anteater's own files: configuration never scanned (and named in the summary), the files
/// watched for loosening in --diff mode, and what the rules and exceptions came from.
#[derive(Default)]
struct OwnFiles {
    configuration: Vec<PathBuf>,
    watched: Vec<(ConfigKind, PathBuf)>,
    sources: Vec<String>,
}

impl OwnFiles {
    fn watch(&mut self, kind: ConfigKind, path: &Path) {
        self.watched.push((kind, path.to_path_buf()));
    }

    /// What the walk skips (the configuration, and this run's untracked outputs) and the part of
    /// it under the scan root that the summary names.
    fn excluded<'p>(
        &mut self,
        outputs: impl Iterator<Item = &'p PathBuf>,
        root: &Path,
        cwd: &Path,
    ) -> (BTreeSet<PathBuf>, Vec<PathBuf>) {
        let mut excluded = BTreeSet::new();
        for path in outputs {
            exclude_own_output(&mut excluded, path, cwd);
        }
        excluded.extend(self.configuration.iter().cloned());
        let own = &mut self.configuration;
        own.sort();
        own.dedup();
        // A list inside the lists folder goes without saying.
        let skipped_as_own = own
            .iter()
            .filter(|path| path.starts_with(root))
            .filter(|path| !own.iter().any(|other| other != *path && path.starts_with(other)))
            .cloned()
            .collect();
        (excluded, skipped_as_own)
    }

    /// The watched files of the repository under review, absolute.
    fn watched(&self, cwd: &Path, in_repository: impl Fn(&Path) -> bool) -> Vec<(ConfigKind, PathBuf)> {
        self.watched
            .iter()
            .map(|(kind, path)| (*kind, paths::resolve(path, cwd)))
            .filter(|(_, path)| in_repository(path))
            .collect()
    }
}

/// The rules: the flag list when one is configured, a built-in ruleset otherwise (or both when
/// --ruleset is given explicitly), plus the VirusTotal and config-changed rules when they can
/// fire. A configuration that checks nothing is an error, never an empty pass.
fn build_rules(
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
    if !has_flag_list || cli.ruleset.is_some() {
        let name = cli.ruleset.unwrap_or(RulesetName::Default);
        rules.extend(builtin::rules(name)?);
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
    RuleSet::compile(rules)
}

/// Exceptions: the global ignore list, then the project's own file, each read at the revision
/// under review.
fn load_exceptions(
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

/// Where the walk runs and what reports are relative to.
struct Layout {
    /// The folder scanned: `--path`.
    root: PathBuf,
    /// Report paths are relative to this: the git work tree holding the root, else the
    /// working directory.
    report_root: PathBuf,
    /// SARIF URIs are relative to this: code scanning resolves them against the repository
    /// root; outside git the scanned folder is the root, so no URI climbs out with `..`.
    sarif_root: PathBuf,
}

impl Layout {
    fn new(root: PathBuf, cwd: &Path) -> Self {
        let git_root = paths::git_work_tree(&root);
        Layout {
            sarif_root: git_root.clone().unwrap_or_else(|| root.clone()),
            report_root: git_root.unwrap_or_else(|| paths::resolve(cwd, cwd)),
            root,
        }
    }
}

/// The files to walk: a patchset's, the change's (with the lines it changed, for content
/// findings), none for history alone or the index, or the whole tree.
fn targets(
    cli: &Cli,
    revisions: &Revisions,
    layout: &Layout,
) -> anyhow::Result<(Targets, Option<HashMap<String, AddedLines>>)> {
    if let Some(path) = &cli.patchset {
        return Ok((read_patchset(path, &layout.root, cli.patchset0)?, None));
    }
    let change = revisions.change.as_ref().filter(|_| revisions.staged.is_none());
    let Some(change) = change else {
        let targets = if revisions.history.is_some() || revisions.staged.is_some() {
            // History alone, or the index: no file of the working tree is scanned.
            Targets::Listed {
                files: Vec::new(),
                missing: Vec::new(),
            }
        } else {
            Targets::Tree
        };
        return Ok((targets, None));
    };
    let mut files = Vec::new();
    let mut missing = Vec::new();
    let mut lines = HashMap::new();
    for (relative, changed) in &change.files {
        let path = layout.root.join(relative);
        if path.is_file() {
            lines.insert(paths::relative_to(&path, &layout.report_root), changed.clone());
            files.push(path);
        } else {
            missing.push(relative.to_string_lossy().into_owned());
        }
    }
    files.sort();
    missing.sort();
    Ok((Targets::Listed { files, missing }, Some(lines)))
}

/// Keeps a file this run writes (a report, a baseline) out of the scan, unless git tracks it: a
/// committed file is part of the change like any other, whatever its name, and a secret
/// committed as `anteater.sarif` must not pass because the report happens to be written there.
pub fn exclude_own_output(excluded: &mut BTreeSet<PathBuf>, path: &Path, cwd: &Path) {
    let resolved = paths::resolve(path, cwd);
    if !crate::git::is_tracked(&resolved) {
        excluded.insert(resolved);
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

/// A path that a file inside the scanned repository (`by`, its `key`) names must resolve
/// (symbolic links followed) inside the repository's work tree (`boundary`; the scan root outside
/// git): the repository is the change under review, and must not make anteater read a runner's
/// credential file as a list, nor echo it in an error. Lists outside the repository are given on
/// the command line, which is the user's.
fn confined(by: &Path, key: &str, named: &Path, boundary: &Path, cwd: &Path) -> anyhow::Result<()> {
    // `by` is the repository's when its path is inside it, even as a link (then `named` is `by`).
    if !paths::absolute(by, cwd).starts_with(boundary) || paths::resolve(named, cwd).starts_with(boundary) {
        return Ok(());
    }
    bail!(
        "{}: `{key}` names {}, which resolves outside the repository {}; paths named by the \
         repository's own configuration must stay inside it (give a list kept elsewhere on the \
         command line: --flag-list, --ignore-list, --config)",
        by.display(),
        named.display(),
        boundary.display()
    )
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

/// Reads a patchset: one path per line (git's quoting undone) or NUL-separated, relative to the
/// root or absolute inside it. A path that resolves outside the root (through `..`, an absolute
/// path or a symlink) is refused: a patchset comes from the change under review and must not make
/// anteater read other files. An entry that cannot be parsed is an error, not a missing file.
fn read_patchset(path: &Path, root: &Path, nul_separated: bool) -> anyhow::Result<Targets> {
    let bytes = std::fs::read(path).with_context(|| format!("reading --patchset {}", path.display()))?;
    let separator = crate::patchset::Separator::detect(&bytes, nul_separated);
    let entries = crate::patchset::parse(&bytes, separator).map_err(|err| {
        anyhow::anyhow!(
            "--patchset {} {} {}: {} (git diff --name-only quotes unusual names; \
             `git diff -z --name-only` with --patchset0 avoids quoting altogether)",
            path.display(),
            match separator {
                crate::patchset::Separator::Lines => "line",
                crate::patchset::Separator::Nul => "entry",
            },
            err.number,
            err.reason
        )
    })?;
    let mut files = Vec::new();
    let mut missing = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in entries {
        let written = String::from_utf8_lossy(&entry.name).into_owned();
        let shown = crate::redact::escape(&written);
        let name = paths::os_path(entry.name).with_context(|| {
            format!(
                "--patchset {} entry {}: `{shown}` is not a valid path here",
                path.display(),
                entry.number
            )
        })?;
        let candidate = if name.is_absolute() { name } else { root.join(name) };
        let resolved = paths::resolve(&candidate, root);
        if !resolved.starts_with(root) {
            bail!(
                "--patchset {} line {}: `{shown}` resolves outside the scanned root {}; refusing to read it",
                path.display(),
                entry.number,
                root.display()
            );
        }
        if !resolved.exists() {
            missing.push(written);
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
        match read_patchset(&list, &root, false).unwrap() {
            Targets::Listed { files, missing } => {
                assert_eq!(files, vec![root.join("src/a.rs")]);
                assert_eq!(missing, vec!["src/gone.rs"]);
            }
            Targets::Tree => unreachable!(),
        }

        for escape in ["../outside.txt", "src/../../outside.txt", "/etc/passwd"] {
            std::fs::write(&list, format!("{escape}\n")).unwrap();
            let err = read_patchset(&list, &root, false).unwrap_err();
            assert!(
                format!("{err:#}").contains("outside the scanned root"),
                "{escape}: {err:#}"
            );
        }

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
            std::fs::write(&list, "link/passwd\n").unwrap();
            assert!(read_patchset(&list, &root, false).is_err());
        }
    }
}
