//! Reports on standard output: every report path accepts `-` (`--sarif - | jq`, the way other
//! tools take it). Standard output holds one document or it holds nothing anyone can parse: two
//! reports there are refused, and so is a report next to `--format json`; with the console
//! format, the console lines move to stderr so that the report stays whole.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::cli::Cli;
use crate::report::Format;

/// What a `-` report path is written to: the device `atomic_file` streams to.
const STDOUT_DEVICE: &str = "/dev/stdout";

/// Paths that name standard output.
const STDOUT_NAMES: &[&str] = &["-", STDOUT_DEVICE, "/dev/fd/1", "/proc/self/fd/1"];

/// Whether `path` names standard output.
pub fn is_stdout(path: &Path) -> bool {
    STDOUT_NAMES.iter().any(|name| path == Path::new(name))
}

/// Points every report given as `-` at standard output and checks that what ends up there is
/// one document. Returns whether a report takes standard output (the console lines then go to
/// stderr).
pub fn claim(cli: &mut Cli) -> anyhow::Result<bool> {
    let mut on_stdout: Vec<&'static str> = Vec::new();
    let mut take = |path: &mut PathBuf, flag: &'static str| {
        if is_stdout(path) {
            *path = PathBuf::from(STDOUT_DEVICE);
            on_stdout.push(flag);
        }
    };
    if !cli.no_sarif {
        take(&mut cli.sarif, "--sarif");
    }
    for (path, flag) in [
        (cli.junit.as_mut(), "--junit"),
        (cli.gitlab_codequality.as_mut(), "--gitlab-codequality"),
        (cli.html.as_mut(), "--html"),
    ] {
        if let Some(path) = path {
            take(path, flag);
        }
    }
    match on_stdout.as_slice() {
        [] => Ok(false),
        [flag] if cli.format == Format::Json => bail!(
            "{flag} - and --format json would both write to standard output: write one of them \
             to a file"
        ),
        [_] => Ok(true),
        [first, second, ..] => bail!(
            "{first} and {second} both ask for standard output, which can hold one report: write \
             the other to a file"
        ),
    }
}

/// Whether `err` is a write to a reader that went away (`anteater | head`): the findings still
/// decide the exit code, and there is nobody left to tell.
pub fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["anteater"];
        all.extend_from_slice(args);
        crate::cli::try_parse_from(all.into_iter().map(Into::into)).unwrap()
    }

    #[test]
    fn one_report_may_take_standard_output() {
        let mut one = cli(&["--sarif", "-"]);
        assert!(claim(&mut one).unwrap());
        assert_eq!(one.sarif, PathBuf::from(STDOUT_DEVICE));
        let mut none = cli(&["--junit", "j.xml"]);
        assert!(!claim(&mut none).unwrap());
        assert_eq!(none.junit, Some(PathBuf::from("j.xml")));
        let mut junit = cli(&["--no-sarif", "--junit", "-"]);
        assert!(claim(&mut junit).unwrap());
    }

    #[test]
    fn two_documents_on_standard_output_are_refused() {
        let err = claim(&mut cli(&["--sarif", "-", "--junit", "/dev/stdout"])).unwrap_err();
        assert!(err.to_string().contains("--sarif and --junit both"), "{err}");
        let err = claim(&mut cli(&["--junit", "-", "--format", "json"])).unwrap_err();
        assert!(err.to_string().contains("--junit - and --format json"), "{err}");
    }

    #[test]
    fn a_broken_pipe_is_found_under_context() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let err = anyhow::Error::from(io).context("writing the report");
        assert!(is_closed_pipe(&err));
        assert!(!is_closed_pipe(&anyhow::anyhow!("disk full")));
    }
}
