//! Command-line options. Every option can also be set as `ANTEATER_<OPTION>` so that a container
//! can be driven by environment variables alone. This module only parses; `config` validates.

use std::ffi::OsString;
use std::path::PathBuf;

use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::decide::outcome::FailOn;
use crate::enrich::virustotal::limiter::Rate;
use crate::inspect::Oversize;
use crate::rules::RulesetName;

const AFTER_HELP: &str = "\
Every option can also be set through the environment as ANTEATER_<OPTION> in upper snake case
(ANTEATER_PATH, ANTEATER_FAIL_ON, ANTEATER_BINARIES=true, ...); a flag given on the command line
wins. An empty ANTEATER_* variable counts as unset, so CI inputs left blank change nothing. Switches
(ANTEATER_BINARIES, ANTEATER_EXIT_ZERO, ...) take true/false, 1/0, yes/no or on/off (any case);
any other value is an error (exit 2), never silently on.

Other environment variables read:
  VT_API_KEY (or VT_KEY)  VirusTotal API key, for --ips, --urls and --bincheck; never printed
  VT_API_URL              VirusTotal API root [default: https://www.virustotal.com/api/v3]
  REDIS_URL               Redis shared by all jobs for the VirusTotal rate limit and cache
                          (--redis-url wins) [default: redis://127.0.0.1:6379]
  ANTEATER_VALIDATE_URL_<PROVIDER>
                          with --validate, replaces the scheme and host of that provider's API
                          (ANTEATER_VALIDATE_URL_GITHUB=https://proxy.corp:8443; see the README)
  GITHUB_ACTIONS          `true` adds annotations, GITHUB_STEP_SUMMARY a job summary,
                          GITHUB_OUTPUT the step outputs sarif_file and findings
  GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_BASE_REF, CI_MERGE_REQUEST_DIFF_BASE_SHA
                          where --diff auto finds the base revision

Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  the scan could not be done, or not completely (bad configuration, bad regex, missing path,
     unreadable files, text over --max-file-size left unscanned)";

/// Scan a repository, or the files a change touches, for what must never be merged: secrets,
/// credential files, dangerous code and unapproved binaries. Findings are printed and written as
/// SARIF 2.1.0; the exit code fails the build.
#[derive(Debug, Parser)]
#[command(name = "anteater", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// Folders and single files to scan [default: --path]. One folder is the scan root, as
    /// with --path; files or several paths are scanned as they are, relative to the current
    /// folder when they are all inside it (else to their deepest common folder), and do not
    /// combine with --path, --patchset, --diff, --history or --staged.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Scan every file under DIR (or the single FILE) [default: .].
    #[arg(long, env = "ANTEATER_PATH", value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// Scan only the files listed in FILE, one per line (`git diff --name-only` output, with git's
    /// quoted names undone), relative to --path or absolute inside it. Listed files that no longer
    /// exist are reported, not fatal; an entry that cannot be parsed is an error.
    #[arg(long, env = "ANTEATER_PATCHSET", value_name = "FILE")]
    pub patchset: Option<PathBuf>,

    /// The --patchset list is NUL-separated (`git diff -z --name-only`), names taken as they are.
    /// A list holding a NUL byte is read this way even without the flag.
    #[arg(long, env = "ANTEATER_PATCHSET0", value_parser = StrictBool, requires = "patchset")]
    pub patchset0: bool,

    /// Scan only what changed between BASE and HEAD in the git repository at --path: changed files,
    /// content findings only on added or changed lines, and what every commit of BASE..HEAD added
    /// even if a later commit removed it (reported at that commit). `auto` takes the base from
    /// the CI event (GitHub pull request or push, GitLab merge request). An explicit range A..B
    /// scans the history of that range alone, and what it did to anteater's configuration.
    #[arg(long, env = "ANTEATER_DIFF", value_name = "BASE", conflicts_with = "patchset")]
    pub diff: Option<String>,

    /// Scan the whole history of HEAD: what every commit added (file names, binaries and added
    /// lines), each secret reported once, at the commit that first added it. For auditing a
    /// repository once; the working tree itself is not scanned.
    #[arg(long, env = "ANTEATER_HISTORY", value_parser = StrictBool, conflicts_with_all = ["patchset", "diff"])]
    pub history: bool,

    /// Scan what the next commit would record: the staged content (the index, not the working
    /// tree) of the files it adds or changes, content findings on the lines it adds. For
    /// pre-commit hooks (see .pre-commit-hooks.yaml).
    #[arg(long, env = "ANTEATER_STAGED", value_parser = StrictBool, conflicts_with_all = ["patchset", "diff", "history"])]
    pub staged: bool,

    /// In --diff mode, read the exception files as they are at the base revision (`base`, so a
    /// change cannot waive its own findings) or as the change leaves them (`head`).
    #[arg(long, env = "ANTEATER_EXCEPTIONS_FROM", value_enum, value_name = "REVISION", default_value_t = ExceptionsFrom::Base)]
    pub exceptions_from: ExceptionsFrom,

    /// Report only findings that are not in this baseline file (see --write-baseline).
    #[arg(long, env = "ANTEATER_BASELINE", value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record the current findings in FILE, to be accepted with --baseline later. Entries are
    /// keyed by rule, path and a hash of the matched text: never the secret, never the line.
    #[arg(long, env = "ANTEATER_WRITE_BASELINE", value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Report findings but never fail because of them (for rolling the gate out); a scan that
    /// could not be done still exits 2.
    #[arg(long, env = "ANTEATER_EXIT_ZERO", value_parser = StrictBool)]
    pub exit_zero: bool,

    /// In --diff, --staged and --history, an `anteater:ignore` marker that the change itself
    /// writes on a finding's line fails the gate (a `waiver-added` error), and so does an
    /// exception of the lists that waives a finding on a line the change adds. Without it the
    /// marker is honoured and reported as a `waiver-added` warning, shown to the reviewer, and
    /// exceptions waive silently
    #[arg(long, env = "ANTEATER_STRICT_WAIVERS", value_parser = StrictBool)]
    pub strict_waivers: bool,

    /// Project name: selects its exception file from the ignore list's `project_exceptions`
    /// [default: the scanned folder's name].
    #[arg(long, env = "ANTEATER_PROJECT", value_name = "NAME")]
    pub project: Option<String>,

    /// An original-style anteater.conf [default: anteater.conf in the scanned folder, else in
    /// the current folder, the first that exists].
    #[arg(long, env = "ANTEATER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Flag list (rules) in the original YAML format; overrides the one named in anteater.conf.
    /// A flag list (from here or the conf) replaces the built-in rules: add --ruleset default
    /// (or classic) to keep them as well.
    #[arg(long, env = "ANTEATER_FLAG_LIST", value_name = "FILE")]
    pub flag_list: Option<PathBuf>,

    /// Ignore list (exceptions) in the original YAML format; overrides the one in anteater.conf.
    #[arg(long, env = "ANTEATER_IGNORE_LIST", value_name = "FILE")]
    pub ignore_list: Option<PathBuf>,

    /// A gitleaks configuration whose rules and allowlists are added to the run's rules
    /// [default: .gitleaks.toml in the scanned folder, when it exists]. What cannot be mapped
    /// (allowlisted paths or commits, regexTarget = "match", [extend] path) is an error.
    #[arg(long, env = "ANTEATER_GITLEAKS_CONFIG", value_name = "FILE")]
    pub gitleaks_config: Option<PathBuf>,

    /// Built-in ruleset [default: default, when no flag list is configured]. A flag list turns the
    /// built-in rules off unless this is given explicitly: then both apply.
    #[arg(long, env = "ANTEATER_RULESET", value_enum, value_name = "NAME")]
    pub ruleset: Option<RulesetName>,

    /// Also treat paths matching REGEX (case-insensitive, on the path relative to --path) as test
    /// paths, where the default ruleset's broad rules (passwords, generic values, file names) report
    /// findings one level lower; provider tokens and private keys stay at their level. Built in: test, testdata,
    /// spec, fixture(s), example(s), sample(s), doc(s) directories, *_test.go-style test files and
    /// Markdown/reStructuredText/AsciiDoc documents. Repeatable.
    #[arg(long = "test-paths", env = "ANTEATER_TEST_PATHS", value_name = "REGEX")]
    pub test_paths: Vec<String>,

    /// Report findings in test paths at their full level (by default the default ruleset's broad
    /// rules report them one level lower: an error becomes a warning).
    #[arg(long, env = "ANTEATER_NO_TEST_DEMOTION", value_parser = StrictBool)]
    pub no_test_demotion: bool,

    /// Fail on every binary file whose sha256 is not allowlisted for its path in the ignore list.
    #[arg(long, env = "ANTEATER_BINARIES", value_parser = StrictBool)]
    pub binaries: bool,

    /// Where to write the SARIF 2.1.0 report. Like every report path: a symbolic link is written
    /// through, a FIFO or /dev/stdout (or `-`) as a stream; devices, sockets and directories are
    /// refused.
    #[arg(
        long,
        env = "ANTEATER_SARIF",
        value_name = "FILE",
        default_value = "anteater.sarif"
    )]
    pub sarif: PathBuf,

    /// Write no SARIF log (local runs and pre-commit hooks, where nothing uploads it).
    #[arg(long, env = "ANTEATER_NO_SARIF", value_parser = StrictBool, conflicts_with = "sarif")]
    pub no_sarif: bool,

    /// SARIF category: sets the run's `automationDetails.id`, so that several anteater jobs of
    /// one commit (a matrix, a monorepo) keep their own alerts. Unset: no automation details, and
    /// upload-sarif's `category:` applies.
    #[arg(long, env = "ANTEATER_SARIF_CATEGORY", value_name = "NAME")]
    pub sarif_category: Option<String>,

    /// The lowest finding level that makes the exit code 1.
    #[arg(long, env = "ANTEATER_FAIL_ON", value_enum, value_name = "LEVEL", default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Text files larger than this are scanned in windows of this size, line by line (or skipped,
    /// see --oversize); it bounds the memory each thread holds. Binaries are hashed whatever their
    /// size, and their bytes searched as --oversize says. Bytes, or with a KiB/MiB/GiB suffix.
    #[arg(long, env = "ANTEATER_MAX_FILE_SIZE", value_name = "SIZE", default_value = "50MiB", value_parser = parse_size)]
    pub max_file_size: u64,

    /// What to do with text files (and binaries' bytes) over --max-file-size: `scan` them in windows (a file with a
    /// line longer than the window cannot be, and makes the scan incomplete, exit 2), `fail`
    /// (skip them; the scan is incomplete, exit 2) or `warn` (skip them with a warning naming each;
    /// the exit code does not change).
    #[arg(long, env = "ANTEATER_OVERSIZE", value_enum, value_name = "POLICY", default_value_t = Oversize::Scan)]
    pub oversize: Oversize,

    /// In a git work tree, scan the untracked files git ignores too (by default they are skipped
    /// and counted: they cannot be committed without `git add -f`; tracked files are always
    /// scanned, whatever .gitignore says).
    #[arg(long, env = "ANTEATER_NO_IGNORE", value_parser = StrictBool)]
    pub no_ignore: bool,

    /// Follow symbolic links while walking (off by default: a link may point outside the tree).
    #[arg(long, env = "ANTEATER_FOLLOW_SYMLINKS", value_parser = StrictBool)]
    pub follow_symlinks: bool,

    /// Worker threads [default: the number of CPUs]; more than 4 per CPU (at least 16, at most
    /// 256) is clamped with a warning.
    #[arg(long, env = "ANTEATER_THREADS", value_name = "N")]
    pub threads: Option<usize>,

    /// Look up every globally routable IP address found in text files on VirusTotal (needs
    /// VT_API_KEY).
    #[arg(long, env = "ANTEATER_IPS", value_parser = StrictBool, help_heading = "VirusTotal")]
    pub ips: bool,

    /// Look up every http(s) URL found in text files on VirusTotal (needs VT_API_KEY). URLs with
    /// credentials, token-like query parameters or path segments (webhooks, bot tokens), or that a
    /// content rule matches, are never sent.
    #[arg(long, env = "ANTEATER_URLS", value_parser = StrictBool, help_heading = "VirusTotal")]
    pub urls: bool,

    /// Block binaries that are not allowlisted (like --binaries) and look them up on VirusTotal by
    /// sha256, uploading files VirusTotal does not know (needs VT_API_KEY).
    #[arg(long, env = "ANTEATER_BINCHECK", value_parser = StrictBool, help_heading = "VirusTotal")]
    pub bincheck: bool,

    /// Never upload files or submit URLs to VirusTotal (they become visible to its community);
    /// unknown items are then reported as unverified.
    #[arg(long, env = "ANTEATER_NO_UPLOAD", value_parser = StrictBool, help_heading = "VirusTotal")]
    pub no_upload: bool,

    /// VirusTotal request budget shared by every job using the key, as N/DURATION (3/1m, 4/60s,
    /// 1000/1m).
    #[arg(
        long,
        env = "ANTEATER_VT_RATE",
        value_name = "N/DURATION",
        default_value = "3/1m",
        help_heading = "VirusTotal"
    )]
    pub vt_rate: Rate,

    /// Requests allowed per UTC day for the key; when spent, remaining lookups are unverified.
    #[arg(
        long,
        env = "ANTEATER_VT_DAILY_QUOTA",
        value_name = "N",
        help_heading = "VirusTotal"
    )]
    pub vt_daily_quota: Option<u32>,

    /// How long verdicts stay in the shared cache (s, m, h, d).
    #[arg(long, env = "ANTEATER_VT_CACHE_TTL", value_name = "DURATION", default_value = "24h", value_parser = parse_duration, help_heading = "VirusTotal")]
    pub vt_cache_ttl: Duration,

    /// Keep verdicts in FILE between runs too (for runners without a shared Redis: restore and
    /// save it with the CI's cache). Holds hashes, not indicators; authenticated with the API key.
    #[arg(
        long,
        env = "ANTEATER_VT_CACHE_FILE",
        value_name = "FILE",
        help_heading = "VirusTotal"
    )]
    pub vt_cache_file: Option<PathBuf>,

    /// Engines that must call an indicator malicious for it to fail the gate.
    #[arg(long, env = "ANTEATER_VT_MIN_DETECTIONS", value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), help_heading = "VirusTotal")]
    pub vt_min_detections: u32,

    /// Fail the gate on indicators that could not be verified (VirusTotal or Redis down, quota
    /// spent, analysis unfinished) instead of reporting them as notes.
    #[arg(long, env = "ANTEATER_VT_FAIL_CLOSED", value_parser = StrictBool, help_heading = "VirusTotal")]
    pub vt_fail_closed: bool,

    /// How often to poll a VirusTotal analysis of an uploaded file or submitted URL.
    #[arg(long, env = "ANTEATER_VT_POLL_INTERVAL", value_name = "DURATION", default_value = "20s", value_parser = parse_duration, help_heading = "VirusTotal")]
    pub vt_poll_interval: Duration,

    /// How long to wait for one analysis before reporting the item as unverified.
    #[arg(long, env = "ANTEATER_VT_MAX_WAIT", value_name = "DURATION", default_value = "10m", value_parser = parse_duration, help_heading = "VirusTotal")]
    pub vt_max_wait: Duration,

    /// Timeout of one VirusTotal request.
    #[arg(long, env = "ANTEATER_VT_TIMEOUT", value_name = "DURATION", default_value = "30s", value_parser = parse_duration, help_heading = "VirusTotal")]
    pub vt_timeout: Duration,

    /// Bound on the whole VirusTotal phase; what is not settled by then is reported unverified
    /// (so is everything after 5 transport failures or timeouts in a row from VirusTotal or Redis).
    #[arg(long, env = "ANTEATER_VT_DEADLINE", value_name = "DURATION", default_value = "15m", value_parser = parse_duration, help_heading = "VirusTotal")]
    pub vt_deadline: Duration,

    /// No progress on stderr. By default a scan still going after a few seconds shows a bar on a
    /// terminal, or a line every 10 seconds in a CI log (files and bytes done, time left).
    #[arg(long, env = "ANTEATER_NO_PROGRESS", value_parser = StrictBool)]
    pub no_progress: bool,

    /// How long a scan runs before its progress is shown.
    #[arg(long, env = "ANTEATER_PROGRESS_AFTER", value_name = "DURATION", default_value = "3s", value_parser = parse_duration, hide = true)]
    pub progress_after: Duration,

    /// Least time between two progress lines when stderr is not a terminal.
    #[arg(long, env = "ANTEATER_PROGRESS_EVERY", value_name = "DURATION", default_value = "10s", value_parser = parse_duration, hide = true)]
    pub progress_every: Duration,

    /// Least time between two VirusTotal progress lines on stderr.
    #[arg(long, env = "ANTEATER_VT_PROGRESS_EVERY", value_name = "DURATION", default_value = "5s", value_parser = parse_duration, hide = true)]
    pub vt_progress_every: Duration,

    /// How long another job waits before taking over a claim its holder stopped renewing.
    #[arg(long, env = "ANTEATER_VT_CLAIM_LEASE", value_name = "DURATION", default_value = "30s", value_parser = parse_duration, hide = true)]
    pub vt_claim_lease: Duration,

    /// First wait before retrying a failed VirusTotal request; doubles on each of 3 retries.
    #[arg(long, env = "ANTEATER_VT_RETRY_DELAY", value_name = "DURATION", default_value = "2s", value_parser = parse_duration, help_heading = "VirusTotal")]
    pub vt_retry_delay: Duration,

    /// Redis holding the shared rate limit and verdict cache [default: $REDIS_URL, else
    /// redis://127.0.0.1:6379]. rediss:// for TLS (system trust store); redis://user:pass@host
    /// for ACL users, redis://:pass@host for a password; a Redis Cluster node is used as a cluster.
    #[arg(
        long,
        env = "ANTEATER_REDIS_URL",
        value_name = "URL",
        help_heading = "VirusTotal"
    )]
    pub redis_url: Option<String>,

    /// CA certificate (PEM) that signed the rediss:// server's certificate, instead of the
    /// system trust store.
    #[arg(
        long,
        env = "ANTEATER_REDIS_CA",
        value_name = "FILE",
        help_heading = "VirusTotal"
    )]
    pub redis_ca: Option<PathBuf>,

    /// Client certificate (PEM) for a rediss:// server that asks for one (with --redis-client-key).
    #[arg(
        long,
        env = "ANTEATER_REDIS_CLIENT_CERT",
        value_name = "FILE",
        help_heading = "VirusTotal"
    )]
    pub redis_client_cert: Option<PathBuf>,

    /// The client certificate's private key (PEM).
    #[arg(
        long,
        env = "ANTEATER_REDIS_CLIENT_KEY",
        value_name = "FILE",
        help_heading = "VirusTotal"
    )]
    pub redis_client_key: Option<PathBuf>,

    /// Ask each secret's own provider, read-only, whether it is still live (see the README's
    /// validation section for what is called): `live`, `revoked` (reported as a note) or
    /// `unknown`. Without it nothing is sent anywhere. ANTEATER_VALIDATE_URL_<PROVIDER> replaces a
    /// provider's scheme and host (a proxy, a test double).
    #[arg(long, env = "ANTEATER_VALIDATE", value_parser = StrictBool, help_heading = "Validation")]
    pub validate: bool,

    /// How long a `live` or `revoked` answer stays in the shared cache (VirusTotal's Redis, and
    /// --vt-cache-file's file with VT_API_KEY), keyed by an HMAC of the secret.
    #[arg(long, env = "ANTEATER_VALIDATE_CACHE_TTL", value_name = "DURATION", default_value = "1h", value_parser = parse_duration, help_heading = "Validation")]
    pub validate_cache_ttl: Duration,

    /// Timeout of one provider request; no answer in time is `unknown`.
    #[arg(long, env = "ANTEATER_VALIDATE_TIMEOUT", value_name = "DURATION", default_value = "10s", value_parser = parse_duration, help_heading = "Validation")]
    pub validate_timeout: Duration,

    /// Bound on the whole validation phase; what is not answered by then is `unknown`.
    #[arg(long, env = "ANTEATER_VALIDATE_DEADLINE", value_name = "DURATION", default_value = "2m", value_parser = parse_duration, help_heading = "Validation")]
    pub validate_deadline: Duration,

    /// What to print on stdout: findings and a summary as lines (console), or one JSON document
    /// (json; warnings still go to stderr). The SARIF log is written either way. Every report
    /// path accepts `-` for standard output: one report at most, not with json, and the console
    /// lines then go to stderr.
    #[arg(
        long,
        env = "ANTEATER_FORMAT",
        value_enum,
        value_name = "FORMAT",
        default_value_t = Format::Console,
        help_heading = "Output"
    )]
    pub format: Format,

    /// Also write a GitLab Code Quality report (for `artifacts:reports:codequality`) to FILE
    /// (`-`: standard output).
    #[arg(
        long,
        env = "ANTEATER_GITLAB_CODEQUALITY",
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub gitlab_codequality: Option<PathBuf>,

    /// Also write a JUnit XML report (Jenkins `junit`, GitLab `artifacts:reports:junit`) to FILE:
    /// one test case per rule, failed by its findings at or above --fail-on (`-`: standard
    /// output).
    #[arg(long, env = "ANTEATER_JUNIT", value_name = "FILE", help_heading = "Output")]
    pub junit: Option<PathBuf>,

    /// Also write one self-contained HTML page to FILE (`-`: standard output): findings by
    /// severity, rule and file, redacted evidence, fix advice and filters; nothing fetched.
    #[arg(long, env = "ANTEATER_HTML", value_name = "FILE", help_heading = "Output")]
    pub html: Option<PathBuf>,
}

/// Where --diff reads exception files from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExceptionsFrom {
    Base,
    Head,
}

/// What goes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// One line per finding, then a summary.
    #[default]
    Console,
    /// One JSON document (warnings about the scan still go to stderr).
    Json,
}

/// Parses the process's arguments and `ANTEATER_*` environment; exits with a usage error (code 2)
/// when they are wrong.
pub fn parse() -> Cli {
    match try_parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    }
}

/// Parses `args` together with the process's `ANTEATER_*` environment.
pub fn try_parse_from(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    // CI systems pass blank inputs as empty strings; an empty ANTEATER_* variable must mean
    // "unset", not "the empty path" or "an invalid level", so such arguments lose their env name.
    let command = Cli::command().mut_args(|arg| {
        let empty = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|value| value.is_empty());
        if empty {
            arg.env(None::<&str>)
        } else {
            arg
        }
    });
    let matches = command.try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// The value parser of every switch's `ANTEATER_*` variable: exactly true/false, 1/0, yes/no or
/// on/off, case-insensitive and trimmed; blank is off (unset). Anything else is an error naming
/// the variable: clap's own parsers read any unknown word (`flase`, `disabled`) as true.
#[derive(Debug, Clone, Copy)]
pub struct StrictBool;

/// `Some(value)` for a recognised boolean word, `None` for anything else.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" | "off" => Some(false),
        "true" | "1" | "yes" | "on" => Some(true),
        _ => None,
    }
}

impl clap::builder::TypedValueParser for StrictBool {
    type Value = bool;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<bool, clap::Error> {
        if let Some(parsed) = value.to_str().and_then(parse_bool) {
            return Ok(parsed);
        }
        let name = arg
            .and_then(|arg| arg.get_env())
            .map(|env| env.to_string_lossy().into_owned())
            .or_else(|| arg.map(|arg| format!("--{}", arg.get_id())))
            .unwrap_or_else(|| "a switch".to_string());
        let shown = crate::redact::escape(&value.to_string_lossy());
        Err(clap::Error::raw(
            clap::error::ErrorKind::InvalidValue,
            format!("{name}=`{shown}` is not a boolean: use true/false, 1/0, yes/no or on/off\n"),
        )
        .with_cmd(cmd))
    }
}

/// Parses `500ms`, `30s`, `10m`, `24h`, `1d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 500ms, 30s, 10m or 24h"))?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" | "sec" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        "d" => number * 86400.0,
        other => return Err(format!("unknown duration unit `{other}` (use ms, s, m, h or d)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is out of range"))
}

/// Parses `123`, `64KiB`, `50MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB` as binary units).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 1048576, 64KiB or 50MiB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB or GiB)")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64KiB"), Ok(64 * 1024));
        assert_eq!(parse_size("50MiB"), Ok(50 * 1024 * 1024));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 fortnights").is_err());
    }

    #[test]
    fn booleans_are_strict() {
        for word in ["true", "TRUE", " on ", "Yes", "1"] {
            assert_eq!(parse_bool(word), Some(true), "{word:?}");
        }
        for word in ["false", "false ", "Off", "NO", "0", "", "  "] {
            assert_eq!(parse_bool(word), Some(false), "{word:?}");
        }
        for word in ["flase", "disabled", "2", "y", "enable"] {
            assert_eq!(parse_bool(word), None, "{word:?}");
        }
    }

    #[test]
    fn command_line_is_self_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
