//! Sources: where the versions of files to inspect come from. Every scan mode is a source that
//! hands [`crate::fragment::Fragment`]s to the one inspector (`crate::inspect`): the working tree
//! and a change's files in it (`crate::walk`, with the lines git says a change adds), the commits
//! of a range (`history`) and the index (`index`), both through the pipeline of versions git
//! lists as changed (`changes`). What differs between modes is only which fragments there are
//! and which of their lines are new; every check is the inspector's.

pub mod changes;
pub mod history;
pub mod index;
