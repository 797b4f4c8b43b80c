//! GitHub Actions, beyond SARIF: workflow-command annotations on the changed files, and a
//! Markdown job summary (`$GITHUB_STEP_SUMMARY`).
//!
//! The runner reads every line a step prints as a possible workflow command, and file names and
//! matched text are chosen by whoever wrote the change under review. So annotation values are
//! escaped as the runner unescapes them (nothing can end a value, a property or the line early),
//! and what the other reporters print from the tree can be wrapped in a `stop-commands` pause.
//!
//! [`annotations`] writes the workflow commands, [`step_summary`] the Markdown summary (with
//! [`markdown`]'s escaping), and [`pause`] keeps the runner from reading other reporters' output
//! as commands.

mod annotations;
mod markdown;
mod pause;
mod step_summary;

pub use annotations::AnnotationReporter;
pub use pause::CommandPause;
pub use step_summary::StepSummaryReporter;
