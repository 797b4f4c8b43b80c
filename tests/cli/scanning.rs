//! What gets scanned and how: encodings, line endings, binaries, size cap, hidden files,
//! symlinks, anteater's own outputs, hostile file names, levels and exit codes.

use crate::common::{anteater, tree};

const FLAGS: &[u8] = b"file_audits:\n  file_names:\n    - \\.pem$\n  file_contents:\n    password:\n      regex: password\\s*=\n      desc: Hard-coded password\n    weak_hash:\n      regex: md5\n      desc: Weak hash\n      severity: medium\n      redact: false\n";

fn scan(files: &[(&str, &[u8])], extra: &[&str]) -> crate::common::Run {
    let mut all = vec![("flags.yaml", FLAGS)];
    all.extend_from_slice(files);
    let dir = tree(&all);
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    let mut args = vec!["--flag-list", "flags.yaml", "--path", "src"];
    args.extend_from_slice(extra);
    anteater(dir.path()).args(&args).run()
}

#[test]
fn clean_tree_passes_with_an_empty_report() {
    let run = scan(&[("src/main.rs", b"fn main() {}\n")], &[]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.results().is_empty());
    assert!(run
        .stdout
        .contains("0 findings (0 error, 0 warning, 0 note): passed"));
    // No category unless asked: upload-sarif's `category:` must apply.
    assert!(run.sarif.as_ref().unwrap()["runs"][0]
        .get("automationDetails")
        .is_none());
}

#[test]
fn non_utf8_files_are_scanned() {
    // Latin-1 text: the original skipped such files entirely.
    let run = scan(
        &[("src/latin1.conf", b"caf\xe9\npassword = \xe9t\xe9secret\n")],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("src/latin1.conf:2:1  password"),
        "{}",
        run.stdout
    );
}

#[test]
fn utf16_files_are_scanned_as_the_text_they_encode() {
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(
        "line one\r\npassword = x\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    let run = scan(&[("src/win.ini", &utf16)], &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(run.stdout.contains("src/win.ini:2:1  password"), "{}", run.stdout);
}

#[test]
fn small_file_with_a_nul_byte_is_binary_not_text() {
    // Classed binary, and its bytes still searched: a secret in a "binary" is still a secret
    // (issue 18, item 3; this asserted exit 0 before binaries' bytes were searched).
    let run = scan(&[("src/blob", b"password =\0 x 15")], &[]);
    assert!(run.stdout.contains("(0 text, 1 binary"), "{}", run.stdout);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("Found in the bytes of a binary file"),
        "{}",
        run.stdout
    );
}

#[test]
fn crlf_and_lone_cr_keep_line_numbers_right() {
    let run = scan(
        &[
            ("src/win.txt", b"one\r\ntwo\r\n  md5(x)\r\n"),
            ("src/mac.txt", b"a\rb\nmd5\n"),
        ],
        &[],
    );
    assert!(
        run.stdout.contains("src/mac.txt:2:1  weak_hash"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("src/win.txt:3:3  weak_hash"),
        "{}",
        run.stdout
    );
}

#[test]
fn levels_and_fail_on() {
    let files: &[(&str, &[u8])] = &[("src/a.py", b"h = md5(x)\n")];
    // `weak_hash` is medium severity: a SARIF warning.
    let run = scan(files, &[]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(run.results()[0]["level"], "warning");
    assert_eq!(scan(files, &["--fail-on", "warning"]).code, 1);
    assert_eq!(scan(files, &["--fail-on", "note"]).code, 1);
    let never = scan(&[("src/a.py", b"password = 1\n")], &["--fail-on", "never"]);
    assert_eq!(never.code, 0);
    assert_eq!(never.results().len(), 1);
}

#[test]
fn secrets_are_redacted_and_other_matches_shown() {
    let run = scan(
        &[("src/a.py", b"password = correcthorsebatterystaple\nmd5(x)\n")],
        &[],
    );
    let output = run.all_output();
    assert!(output.contains("matched \"md5\""), "{}", run.stdout);
    // `password\s*=` matched "password =": redacted to a short prefix.
    assert!(output.contains("pa… (redacted)"), "{output}");
    assert!(!output.contains("chars"), "no exact length: {output}");
    assert!(!output.contains("password ="), "{output}");
}

#[test]
fn files_over_the_size_cap_are_reported_as_skipped() {
    let run = scan(
        &[("src/big.txt", &[b'x'; 2048]), ("key.pem", b"")],
        &["--max-file-size", "1KiB", "--oversize", "warn"],
    );
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stderr
            .contains("src/big.txt: skipped, 2048 bytes is over --max-file-size (--oversize)"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("1 too large"));
}

#[test]
fn names_of_large_files_are_still_checked() {
    let run = scan(&[("src/server.pem", &[b'x'; 2048])], &["--max-file-size", "1KiB"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("src/server.pem:1:1  file-name:pem"),
        "{}",
        run.stdout
    );
}

#[test]
fn hidden_files_are_scanned_and_git_is_not() {
    let run = scan(
        &[
            ("src/.env", b"password = x\n"),
            ("src/vendored/.git/config", b"password = y\n"),
        ],
        &[],
    );
    let keys = run.result_keys();
    assert_eq!(keys, vec![(".env".to_string(), 1, "password".to_string())]);
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_by_default() {
    let dir = tree(&[
        ("flags.yaml", FLAGS),
        ("outside/secret.txt", b"password = x\n"),
        ("src/ok.txt", b"fine\n"),
    ]);
    std::os::unix::fs::symlink(dir.path().join("outside"), dir.path().join("src/linkdir")).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("outside/secret.txt"),
        dir.path().join("src/link.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("src/dangling")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("src"), dir.path().join("src/loop")).unwrap();
    let run = anteater(dir.path())
        .args(&["--flag-list", "flags.yaml", "--path", "src"])
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());

    let followed = anteater(dir.path())
        .args(&["--flag-list", "flags.yaml", "--path", "src", "--follow-symlinks"])
        .run();
    // Loops and dangling links are not errors; the linked files are scanned.
    assert_eq!(followed.code, 1, "{}", followed.all_output());
    let paths: Vec<String> = followed.result_keys().into_iter().map(|k| k.0).collect();
    assert_eq!(paths, vec!["link.txt", "linkdir/secret.txt"]);
}

#[test]
fn own_sarif_output_inside_the_tree_is_never_scanned() {
    let dir = tree(&[("flags.yaml", FLAGS), ("src/a.py", b"password = x\n")]);
    let first = anteater(dir.path())
        .args(&[
            "--flag-list",
            "flags.yaml",
            "--path",
            "src",
            "--sarif",
            "src/out.sarif",
        ])
        .run();
    let second = anteater(dir.path())
        .args(&[
            "--flag-list",
            "flags.yaml",
            "--path",
            "src",
            "--sarif",
            "src/out.sarif",
        ])
        .run();
    assert_eq!(first.result_keys(), second.result_keys());
    assert_eq!(second.results().len(), 1);
}

#[test]
fn hostile_file_names_are_escaped_in_console_output() {
    let run = scan(&[("src/evil\n\u{1b}[31mfake.pem", b"")], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("src/evil\\n\\u{1b}[31mfake.pem:1:1  file-name:pem"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{1b}'));
    let uri = run.results()[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(uri, "evil%0A%1B%5B31mfake.pem");
}

#[test]
fn ignored_directories_and_suffixes() {
    let dir = tree(&[
        ("flags.yaml", FLAGS),
        (
            "ignore.yaml",
            b"ignore_directories:\n  - vendor/\nfile_ignore:\n  - .txt\n",
        ),
        ("src/vendor/lib.py", b"password = 1\n"),
        ("src/notes.txt", b"password = 2\n"),
        ("src/app.py", b"password = 3\n"),
    ]);
    let run = anteater(dir.path())
        .args(&[
            "--flag-list",
            "flags.yaml",
            "--ignore-list",
            "ignore.yaml",
            "--path",
            "src",
        ])
        .run();
    let paths: Vec<String> = run.result_keys().into_iter().map(|k| k.0).collect();
    assert_eq!(paths, vec!["app.py"]);
    assert!(run.stdout.contains("1 contents ignored"), "{}", run.stdout);
}

#[test]
fn paths_are_relative_to_the_git_work_tree() {
    let dir = tree(&[
        ("flags.yaml", FLAGS),
        ("repo/.git/HEAD", b"ref: refs/heads/main\n"),
        ("repo/sub/a.py", b"password = 1\n"),
    ]);
    // Run from elsewhere, scanning a subfolder: the URI is still repository-relative.
    let run = anteater(dir.path())
        .args(&["--flag-list", "flags.yaml", "--path", "repo/sub"])
        .run();
    assert_eq!(run.result_keys()[0].0, "sub/a.py");
}
