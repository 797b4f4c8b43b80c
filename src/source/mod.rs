//! Sources: where the versions of files to inspect come from. Every scan mode is a source that
//! hands [`Fragment`]s to the one inspector (`crate::inspect`): the working tree (`tree`), the
//! commits of a range (`history`), and the change a pull request or the index makes (both read
//! through `tree` today, with the lines git says they add). What differs between modes is only
//! which fragments there are and which of their lines are new; every check is the inspector's.

pub mod history;
pub mod lines;

use std::path::Path;

pub use lines::{AddedLines, ALL_LINES, NO_LINES};

/// One version of one file, to be inspected.
pub struct Fragment<'a> {
    /// '/'-separated, relative to the scan root: what path-limited rules and exceptions see.
    pub scan_path: &'a str,
    /// '/'-separated, relative to the report root: what reports show.
    pub report_path: String,
    pub content: Content<'a>,
    /// The lines that are new in this version: only content findings touching one of them, and
    /// indicators on them, are reported.
    pub added: &'a AddedLines,
    /// Whether this version brings its name (an added, renamed or copied file, or any file of a
    /// tree scan): only then are the file-name rules asked.
    pub name_is_new: bool,
}

/// Where a fragment's bytes are.
pub enum Content<'a> {
    /// A file on disk, read in windows (a file of the working tree, or a large blob spooled to a
    /// temporary file). `upload` says whether VirusTotal may be sent it (`--bincheck`): only
    /// files of the scanned tree.
    File { path: &'a Path, upload: bool },
    /// A version held in memory (a blob read from git).
    Bytes(&'a [u8]),
}
