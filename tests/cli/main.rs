//! Integration tests: they drive the built `anteater` binary over fixture trees the way users
//! do, and check exit code, console output and SARIF together.

mod common;
mod support;

mod action;
mod config_errors;
mod config_fuzz;
mod default_rules;
mod diff;
mod environment;
mod false_pass;
mod history;
mod hostile_round_three;
mod leaks_and_bounds;
mod living_with_findings;
mod no_secret_in_output;
mod original;
mod patchset;
mod readme;
mod recall;
mod redis_as_users_run_it;
mod reporters;
mod sarif_upload;
mod scanning;
mod staged;
mod virustotal;
mod vt_cache_file;
mod vt_fleet;
mod vt_limiter;
mod vt_mock_selftest;
