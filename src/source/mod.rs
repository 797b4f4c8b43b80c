//! Sources: where the versions of files to inspect come from. Every scan mode is a source that
//! hands [`crate::fragment::Fragment`]s to the one inspector (`crate::inspect`): the working tree
//! and a change's files in it (`crate::source::walk`, with the lines git says a change adds), the commits
//! of a range (`history`) and the index (`index`), both through the pipeline of versions git
//! lists as changed (`changes`). What differs between modes is only which fragments there are
//! and which of their lines are new; every check is the inspector's.

pub mod changes;
pub mod git_ignored;
pub mod history;
pub mod index;
pub mod messages;
pub mod progress;
pub mod walk;

/// What a walk of the working tree looks at.
#[derive(Debug)]
pub enum Targets {
    /// Every file under the root.
    Tree,
    /// Only these files (absolute, inside the root), from a patchset, a change or the paths
    /// named on the command line.
    Listed {
        files: Vec<std::path::PathBuf>,
        /// Listed paths that do not exist (deleted by the change, usually), as written.
        missing: Vec<String>,
    },
}
