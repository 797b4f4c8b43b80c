//! Step outputs for GitHub Actions (`$GITHUB_OUTPUT`): the path of every report file this run
//! wrote and the number of findings, so a workflow can branch on them and upload the reports.
//! The exit code is added by the container's entrypoint.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Reporter, ScanReport};

pub struct GithubOutputReporter<'a> {
    path: PathBuf,
    junit: Option<&'a Path>,
    gitlab_codequality: Option<&'a Path>,
    baseline: Option<&'a Path>,
}

impl<'a> GithubOutputReporter<'a> {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            junit: None,
            gitlab_codequality: None,
            baseline: None,
        }
    }

    /// The other report files of this run (each `None` when not asked for).
    pub fn with_reports(
        mut self,
        junit: Option<&'a Path>,
        gitlab_codequality: Option<&'a Path>,
        baseline: Option<&'a Path>,
    ) -> Self {
        self.junit = junit;
        self.gitlab_codequality = gitlab_codequality;
        self.baseline = baseline;
        self
    }
}

/// One `name=value` per line: a value with a line break would forge further outputs.
fn output_value(path: Option<&Path>) -> String {
    path.map(|path| path.display().to_string())
        .unwrap_or_default()
        .replace(['\r', '\n'], "")
}

impl Reporter for GithubOutputReporter<'_> {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        let mut file = crate::atomic_file::open_append(&self.path, "GITHUB_OUTPUT")?;
        writeln!(file, "sarif_file={}", output_value(report.sarif_path))?;
        writeln!(file, "findings={}", report.findings.len())?;
        writeln!(file, "junit_file={}", output_value(self.junit))?;
        writeln!(
            file,
            "gitlab_codequality_file={}",
            output_value(self.gitlab_codequality)
        )?;
        writeln!(file, "baseline_file={}", output_value(self.baseline))?;
        Ok(())
    }
}
