//! The original anteater's configuration files, read unchanged: `anteater.conf` (INI with
//! ConfigParser interpolation) and the YAML flag list, ignore list and project exception files.

pub mod conf;
pub mod gitleaks;
pub mod lists;
