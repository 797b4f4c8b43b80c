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
//!
//! The library is the binary's, not an API: every module is private to the crate, and only what
//! `src/main.rs` calls is public (`parse`, `run`, `Outcome`), plus the hidden [`testing`]
//! re-exports the integration tests' mocks need. Tests of internals are unit tests beside the
//! code; `tests/` drives the binary.

mod app;
mod atomic_file;
mod cli;
mod config;
mod decide;
mod enrich;
mod finding;
mod fragment;
mod git;
mod inspect;
mod legacy;
mod paths;
mod plan;
mod platform_env;
mod redact;
mod report;
mod rules;
mod source;

// What the binary (`src/main.rs`) needs: parse the command line, run one scan, exit with its
// outcome.
pub use app::run;
pub use cli::parse;
pub use decide::outcome::Outcome;

/// Helpers the integration tests' mocks need to answer like the real services do, and nothing
/// else: the checksum of keys that carry one (`base62_crc32`), SHA-256 in hex, AWS SigV4 signing
/// (`aws::{Scope, signature}`), and the list of providers `--validate` asks. Not a stable API.
#[doc(hidden)]
pub mod testing {
    pub use crate::enrich::validate::aws::{signature, Scope};
    pub use crate::enrich::validate::PROVIDERS;
    pub use crate::finding::sha256_hex;
    pub use crate::rules::filter::base62_crc32;
}

/// Real services for unit tests: the harness the integration tests use (`tests/cli/support/`),
/// one copy compiled into both. Each crate uses a part of it, hence the allowance.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../tests/cli/support"]
mod test_support {
    pub mod compress;
    pub mod dumps;
    pub mod pki;
    pub mod redis_server;
}
