//! anteater: a CI security gate.
//!
//! Data flow, one stage per module, each importing only the ones before it (checked by
//! `tests/layering.rs`): `cli` (flags + `ANTEATER_*`) and `platform_env` (`GITHUB_*`, `VT_*`,
//! `REDIS_URL`) → `plan` (which revisions and files a run looks at, and configuration read at
//! the revision under review; `diff`, `patchset` say what a change is) → `config` (validated,
//! plain data; loads `legacy` anteater.conf / YAML lists and `rules`) → sources (`walk`;
//! `source::history` and `source::index` through `source::changes`) make `fragment`s → `inspect`
//! (file names, contents, binaries, archives → `finding`s) → `enrich` (`--validate` asks each
//! secret's provider; `virustotal` verdicts) → `baseline` and `outcome` (exit code) → `report`
//! (console, SARIF, …). `app` runs them.

pub mod app;
pub mod atomic_file;
pub mod baseline;
pub mod blobs;
pub mod cli;
pub mod config;
pub mod config_change;
pub mod diff;
pub mod enrich;
pub mod exceptions;
pub mod finding;
pub mod fragment;
pub mod git;
pub mod git_ignored;
pub mod gitleaks;
pub mod indicators;
pub mod inspect;
pub mod legacy;
pub mod line_hash;
pub mod outcome;
pub mod patchset;
pub mod paths;
pub mod plan;
pub mod platform_env;
pub mod progress;
pub mod redact;
pub mod report;
pub mod rules;
pub mod scan_paths;
pub mod source;
pub mod stats;
pub mod test_paths;
pub mod walk;
