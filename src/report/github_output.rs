//! Step outputs for GitHub Actions (`$GITHUB_OUTPUT`): the SARIF path and the number of findings,
//! so a workflow can branch on them. The exit code is added by the container's entrypoint.

use std::io::Write;
use std::path::PathBuf;

use super::{Reporter, ScanReport};

pub struct GithubOutputReporter {
    path: PathBuf,
}

impl GithubOutputReporter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Reporter for GithubOutputReporter {
    fn report(&mut self, report: &ScanReport<'_>) -> anyhow::Result<()> {
        let mut file = crate::atomic_file::open_append(&self.path, "GITHUB_OUTPUT")?;
        let sarif = report
            .sarif_path
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        // One `name=value` per line: a value with a line break would forge further outputs.
        let sarif = sarif.replace(['\r', '\n'], "");
        writeln!(file, "sarif_file={sarif}")?;
        writeln!(file, "findings={}", report.findings.len())?;
        Ok(())
    }
}
