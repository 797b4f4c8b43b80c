//! anteater: a CI security gate.
//!
//! Data flow, one folder per stage, the core never importing the edges (`app`, `cli`, `plan`,
//! `config`, `report`) and no import cycle (both checked by `tests/layering.rs`): `cli` (flags +
//! `ANTEATER_*`) and `platform_env` (`GITHUB_*`, `VT_*`, `REDIS_URL`) → `plan` (which revisions
//! and files a run looks at, configuration read at the revision under review) → `config`
//! (validated, plain data; loads `legacy` formats and `rules`) → `source` (the walk, history,
//! the index) makes `fragment`s, reading git through `git` → `inspect` (file names, contents,
//! binaries, archives → `finding`s) → `enrich` (`--validate` asks each secret's provider;
//! `virustotal` verdicts) → `decide` (baseline, exit code) → `report` (console, SARIF, …).
//! `app` runs them.

pub mod app;
pub mod atomic_file;
pub mod cli;
pub mod config;
pub mod decide;
pub mod enrich;
pub mod finding;
pub mod fragment;
pub mod git;
pub mod inspect;
pub mod legacy;
pub mod paths;
pub mod plan;
pub mod platform_env;
pub mod redact;
pub mod report;
pub mod rules;
pub mod source;

/// Real services for unit tests: the harness the integration tests use (`tests/cli/support/`),
/// one copy compiled into both. Each crate uses a part of it, hence the allowance.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../tests/cli/support"]
mod test_support {
    pub mod pki;
    pub mod redis_server;
}
