//! The exit code, computed once at the end of a run from what the run counted.

use std::process::ExitCode;

use crate::finding::Level;

/// The lowest level that fails the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
    /// Report, but always exit 0 unless the scan itself failed.
    Never,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing at or above `--fail-on`: exit 0.
    Passed,
    /// Findings at or above `--fail-on`: exit 1.
    Failed,
    /// The scan could not be done, or not completely: exit 2. Never reported as clean.
    ScanFailed,
}

impl Outcome {
    /// Findings decide first (a run that found a secret must say so even if another file was
    /// unreadable); an incomplete scan without failing findings is an error, not a pass.
    pub fn decide(levels: impl IntoIterator<Item = Level>, fail_on: FailOn, incomplete: bool) -> Self {
        let threshold = match fail_on {
            FailOn::Error => Some(Level::Error),
            FailOn::Warning => Some(Level::Warning),
            FailOn::Note => Some(Level::Note),
            FailOn::Never => None,
        };
        let failing = threshold.is_some_and(|threshold| levels.into_iter().any(|level| level >= threshold));
        if failing {
            Outcome::Failed
        } else if incomplete {
            Outcome::ScanFailed
        } else {
            Outcome::Passed
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Outcome::Passed => 0,
            Outcome::Failed => 1,
            Outcome::ScanFailed => 2,
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_at_or_above_the_threshold_fail() {
        assert_eq!(
            Outcome::decide([Level::Error], FailOn::Error, false),
            Outcome::Failed
        );
        assert_eq!(
            Outcome::decide([Level::Warning], FailOn::Error, false),
            Outcome::Passed
        );
        assert_eq!(
            Outcome::decide([Level::Warning], FailOn::Warning, false),
            Outcome::Failed
        );
        assert_eq!(
            Outcome::decide([Level::Note], FailOn::Note, false),
            Outcome::Failed
        );
        assert_eq!(
            Outcome::decide([Level::Error], FailOn::Never, false),
            Outcome::Passed
        );
        assert_eq!(Outcome::decide([], FailOn::Note, false), Outcome::Passed);
    }

    #[test]
    fn incomplete_scans_never_pass() {
        assert_eq!(Outcome::decide([], FailOn::Error, true), Outcome::ScanFailed);
        assert_eq!(Outcome::decide([], FailOn::Never, true), Outcome::ScanFailed);
        assert_eq!(
            Outcome::decide([Level::Error], FailOn::Error, true),
            Outcome::Failed
        );
    }

    #[test]
    fn codes() {
        assert_eq!(Outcome::Passed.code(), 0);
        assert_eq!(Outcome::Failed.code(), 1);
        assert_eq!(Outcome::ScanFailed.code(), 2);
    }
}
