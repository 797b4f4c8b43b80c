//! Command-line options. Every option can also be set as `ANTEATER_<OPTION>` so that a container
//! can be driven by environment variables alone. This module only parses; `config` validates.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::FalseyValueParser;
use clap::{Parser, ValueEnum};

const AFTER_HELP: &str = "\
Every option can also be set through the environment as ANTEATER_<OPTION> in upper snake case
(ANTEATER_PATH, ANTEATER_FAIL_ON, ANTEATER_BINARIES=true, ...); a flag given on the command line
wins. An empty ANTEATER_* variable counts as unset, so CI inputs left blank change nothing.

Other environment variables read:
  VT_API_KEY (or VT_KEY)  VirusTotal API key, for --ips, --urls and --bincheck
  REDIS_URL               Redis shared by all jobs for the VirusTotal rate limit and cache
  GITHUB_*                set by GitHub Actions

Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  the scan could not be done (bad configuration, bad regex, missing path, unreadable files)";

/// Scan a repository, or the files a change touches, for what must never be merged: secrets,
/// credential files, dangerous code and unapproved binaries. Findings are printed and written as
/// SARIF 2.1.0; the exit code fails the build.
#[derive(Debug, Parser)]
#[command(name = "anteater", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// Scan every file under DIR.
    #[arg(long, env = "ANTEATER_PATH", value_name = "DIR", default_value = ".")]
    pub path: PathBuf,

    /// Scan only the files listed in FILE, one per line (`git diff --name-only` output), relative
    /// to --path or absolute inside it. Listed files that no longer exist are reported, not fatal.
    #[arg(long, env = "ANTEATER_PATCHSET", value_name = "FILE")]
    pub patchset: Option<PathBuf>,

    /// Project name: selects its exception file from the ignore list's `project_exceptions`
    /// [default: the scanned folder's name].
    #[arg(long, env = "ANTEATER_PROJECT", value_name = "NAME")]
    pub project: Option<String>,

    /// An original-style anteater.conf [default: ./anteater.conf when it exists].
    #[arg(long, env = "ANTEATER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Flag list (rules) in the original YAML format; overrides the one named in anteater.conf.
    #[arg(long, env = "ANTEATER_FLAG_LIST", value_name = "FILE")]
    pub flag_list: Option<PathBuf>,

    /// Ignore list (exceptions) in the original YAML format; overrides the one in anteater.conf.
    #[arg(long, env = "ANTEATER_IGNORE_LIST", value_name = "FILE")]
    pub ignore_list: Option<PathBuf>,

    /// Built-in ruleset. Used alone when no flag list is configured; given together with a flag
    /// list, both apply [default: default].
    #[arg(long, env = "ANTEATER_RULESET", value_enum, value_name = "NAME")]
    pub ruleset: Option<RulesetName>,

    /// Fail on every binary file whose sha256 is not allowlisted for its path in the ignore list.
    #[arg(long, env = "ANTEATER_BINARIES", value_parser = FalseyValueParser::new())]
    pub binaries: bool,

    /// Where to write the SARIF 2.1.0 report.
    #[arg(
        long,
        env = "ANTEATER_SARIF",
        value_name = "FILE",
        default_value = "anteater.sarif"
    )]
    pub sarif: PathBuf,

    /// The lowest finding level that makes the exit code 1.
    #[arg(long, env = "ANTEATER_FAIL_ON", value_enum, value_name = "LEVEL", default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Files larger than this are reported as skipped, not scanned (bytes, or with a KiB/MiB/GiB
    /// suffix).
    #[arg(long, env = "ANTEATER_MAX_FILE_SIZE", value_name = "SIZE", default_value = "50MiB", value_parser = parse_size)]
    pub max_file_size: u64,

    /// Follow symbolic links while walking (off by default: a link may point outside the tree).
    #[arg(long, env = "ANTEATER_FOLLOW_SYMLINKS", value_parser = FalseyValueParser::new())]
    pub follow_symlinks: bool,

    /// Worker threads [default: the number of CPUs].
    #[arg(long, env = "ANTEATER_THREADS", value_name = "N")]
    pub threads: Option<usize>,

    /// Look up public IP addresses found in files on VirusTotal (needs VT_API_KEY).
    #[arg(long, env = "ANTEATER_IPS", value_parser = FalseyValueParser::new())]
    pub ips: bool,

    /// Look up URLs found in files on VirusTotal (needs VT_API_KEY).
    #[arg(long, env = "ANTEATER_URLS", value_parser = FalseyValueParser::new())]
    pub urls: bool,

    /// Look up binaries that are not allowlisted on VirusTotal by hash (needs VT_API_KEY).
    #[arg(long, env = "ANTEATER_BINCHECK", value_parser = FalseyValueParser::new())]
    pub bincheck: bool,
}

/// The built-in rulesets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesetName {
    /// High-precision rules: private keys, service tokens, credentials in URLs, hard-coded
    /// passwords, credential file names.
    Default,
    /// The original anteater's whole default flag list.
    Classic,
}

/// The lowest level that fails the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
    /// Report, but always exit 0 unless the scan itself failed.
    Never,
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
    fn command_line_is_self_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
