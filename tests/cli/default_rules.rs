//! The built-in default ruleset, end to end.
