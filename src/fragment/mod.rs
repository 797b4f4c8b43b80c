//! Fragments: what every source hands the one inspector (`crate::inspect`). A fragment is one
//! version of one file (its bytes or where to read them), its paths, and which of its lines are
//! new. Sources (`crate::source`, and the tree walk) make them; the inspector checks them. Both
//! depend on this module and neither on the other's internals, so a new source cannot grow a
//! second copy of inspection.

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
