//! Sources: where the versions of files to inspect come from. Every scan mode is a source that
//! hands [`crate::fragment::Fragment`]s to the one inspector (`crate::inspect`): the working tree
//! (`crate::walk`), the commits of a range (`history`), and the change a pull request or the
//! index makes (read through the walk today, with the lines git says they add). What differs
//! between modes is only which fragments there are and which of their lines are new; every check
//! is the inspector's.

pub mod history;
