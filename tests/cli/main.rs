//! Integration tests: they drive the built `anteater` binary over fixture trees the way users
//! do, and check exit code, console output and SARIF together.

mod common;
mod support;

mod action;
mod adoption;
mod config_errors;
mod default_rules;
mod diff;
mod environment;
mod false_pass;
mod gitleaks;
mod history;
mod hostile_decoded_properties;
mod hostile_encoding_properties;
mod hostile_git_packs;
mod hostile_properties;
mod hostile_round_eight;
mod hostile_round_five;
mod hostile_round_four;
mod hostile_round_seven;
mod hostile_round_six;
mod hostile_round_three;
mod html_report;
mod leaks_and_bounds;
mod living_with_findings;
mod mode_equivalence;
mod next_steps;
mod no_secret_in_output;
mod original;
mod packaging;
mod patchset;
mod readme;
mod recall;
mod redis_as_users_run_it;
mod reporters;
mod sarif_upload;
mod scanning;
mod staged;
mod validate;
mod validate_and_vt_share_redis;
mod virustotal;
mod vt_cache_file;
mod vt_fleet;
mod vt_mock_selftest;
mod what_bytes_are;
