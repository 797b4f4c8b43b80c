//! Never a false pass: hostile or broken inputs that used to turn a failing gate green. Each test
//! here failed (exit 0) on the code before its fix.

use crate::common::{anteater, tree};

/// A flag list with one content rule, so that a planted `password = ...` line must fail the run.
const FLAGS: &[u8] = b"file_audits:\n  file_names:\n    - \\.pem$\n  file_contents:\n    password:\n      regex: password\\s*=\n      desc: Hard-coded password\n";
const SECRET_LINE: &str = "password = \"hunter2-but-longer\"\n"; // fake-secret-for-tests

/// A tree holding the flag list and `files`.
fn project(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let mut all = vec![("flags.yaml", FLAGS)];
    all.extend_from_slice(files);
    tree(&all)
}

// ---------------------------------------------------------------------------------------------
// Item 4: boolean environment values.

#[test]
fn unrecognised_boolean_values_are_errors_naming_the_variable() {
    let dir = project(&[("src/app.py", SECRET_LINE.as_bytes())]);
    for (name, value) in [
        ("ANTEATER_EXIT_ZERO", "flase"),
        ("ANTEATER_EXIT_ZERO", "disabled"),
        ("ANTEATER_BINARIES", "enable"),
        ("ANTEATER_FOLLOW_SYMLINKS", "2"),
        ("ANTEATER_NO_UPLOAD", "nope"),
        ("ANTEATER_VT_FAIL_CLOSED", "y"),
    ] {
        let run = anteater(dir.path())
            .args(&["--flag-list", "flags.yaml", "--path", "."])
            .env(name, value)
            .run();
        assert_eq!(run.code, 2, "{name}={value}: {}", run.all_output());
        assert!(
            run.stderr.contains(name) && run.stderr.contains(value),
            "{name}={value}: {}",
            run.stderr
        );
    }
    // The recognised words, in any case and with blanks around them; blank means unset.
    for (value, code) in [("false ", 1), ("OFF", 1), ("No", 1), ("0", 1), ("", 1), (" ", 1)] {
        let run = anteater(dir.path())
            .args(&["--flag-list", "flags.yaml", "--path", "."])
            .env("ANTEATER_EXIT_ZERO", value)
            .run();
        assert_eq!(
            run.code,
            code,
            "ANTEATER_EXIT_ZERO={value:?}: {}",
            run.all_output()
        );
    }
    for value in ["true", " Yes", "ON", "1"] {
        let run = anteater(dir.path())
            .args(&["--flag-list", "flags.yaml", "--path", "."])
            .env("ANTEATER_EXIT_ZERO", value)
            .run();
        assert_eq!(run.code, 0, "ANTEATER_EXIT_ZERO={value:?}: {}", run.all_output());
    }
}

// ---------------------------------------------------------------------------------------------
// Item 3: flag lists that define no rules, and unknown keys.

#[test]
fn flag_lists_without_rules_or_with_unknown_keys_are_errors() {
    for (list, expected) in [
        ("", "defines no rules"),
        ("---\n", "defines no rules"),
        ("# all commented out\n", "defines no rules"),
        ("nullvalue\n", "defines no rules"),
        (
            "file_audits:\n  file_names: nullvalue\n  file_contents: nullvalue\n",
            "defines no rules",
        ),
        (
            "file_audit:\n  file_contents:\n    password:\n      regex: password\n",
            "did you mean `file_audits`?",
        ),
        (
            "file_audits:\n  file_content:\n    password:\n      regex: password\n",
            "did you mean `file_contents`?",
        ),
        (
            "file_audits:\n  file_contents:\n    password:\n      regx: password\n",
            "did you mean `regex`?",
        ),
    ] {
        let dir = tree(&[
            ("list.yaml", list.as_bytes()),
            ("src/app.py", SECRET_LINE.as_bytes()),
        ]);
        let run = anteater(dir.path())
            .args(&["--flag-list", "list.yaml", "--path", "."])
            .run();
        assert_eq!(run.code, 2, "{list:?}: {}", run.all_output());
        assert!(
            run.stderr.contains(expected) && run.stderr.contains("list.yaml"),
            "{list:?}: {}",
            run.stderr
        );
    }
}
