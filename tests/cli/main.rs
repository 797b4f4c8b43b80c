//! Integration tests: they drive the built `anteater` binary over fixture trees the way users
//! do, and check exit code, console output and SARIF together.

mod common;
mod support;

mod action;
mod config_errors;
mod default_rules;
mod diff;
mod environment;
mod living_with_findings;
mod original;
mod patchset;
mod recall;
mod reporters;
mod scanning;
mod virustotal;
mod vt_limiter;
mod vt_mock_selftest;
