//! Never a false pass, round ten (issue 18, attacking again): archives of other families and
//! secrets in names joined to other words.
//! - The archives Unix packages are made of were searched as binaries only: a Debian package
//!   (`ar`, whose `data.tar.gz` holds the files), an RPM (a compressed cpio payload behind its
//!   headers) and a bare cpio archive passed with a key inside; so did a 7z archive, which was
//!   only named in a note as a format anteater does not open.
//! - A token joined to another word of a file's name by `_` (`backup_ghp_….txt`,
//!   `AKIA…_creds.csv`) passed: the rules' guards reject a word character beside a token, and
//!   `_` is one.
//!
//! - A private key sent as a form field (`application/x-www-form-urlencoded`: line breaks
//!   `%0A`, spaces `+`) passed: its markers read `-----BEGIN+RSA+PRIVATE+KEY-----`.
//! - A token in a log saved with its colours (`ESC[33mghp_…ESC[0m`) passed: the colour code's
//!   final `m` glues itself to the token.
//! - A GitHub or npm token glued to other text passed: a Go binary stores its strings end to
//!   end (`invalid argumentghp_…unexpected EOF`), Markdown writes `_ghp_…_`. Their checksum
//!   proves such a token, so those two rules need no word guards.
//! - A binary behind text passed: a self-extracting script (a shell script with a tarball
//!   behind it) was text by its first block, so the tarball was never opened and
//!   `--binaries` never saw a binary; and UTF-8's byte-order mark in front of an executable
//!   made it text unseen (`content_inspector` trusts any mark). Where such an archive cannot be
//!   opened (the file is over `--max-file-size`, or already nested as deep as archives are
//!   opened), the scan is incomplete, never clean.
//!
//! Each case runs in every mode (tree, `--patchset`, `--staged`, `--diff`, `--history`); each failed before.

use crate::support::compress;
use crate::support::every_mode::{fails_everywhere, in_every_mode, in_every_mode_with};
use crate::support::seeded::github_token;

const AWS_KEY_ID: &str = "AKIAZ7QW3RT5YU2IOP4L"; // fake-secret-for-tests
const AWS_SECRET: &str = "mihA/2O76UMFxFkM/R5Kjp1vRt+1fjORS/6ilI8i"; // fake-secret-for-tests

fn credentials() -> Vec<u8> {
    format!("[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n")
        .into_bytes()
}

#[test]
fn a_key_inside_a_debian_package_an_rpm_a_cpio_or_a_7z_archive_is_found() {
    let token = github_token(10);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let credentials = credentials();
    let files: &[(&str, &[u8])] = &[
        ("etc/app/settings.py", &config),
        ("root/.aws/credentials", &credentials),
    ];
    let cases = [
        (
            "app_1.0_amd64.deb",
            compress::deb(files),
            "app_1.0_amd64.deb!/data.tar.gz!/data.tar!/etc/app/settings.py",
        ),
        (
            "app-1.0.x86_64.rpm",
            compress::rpm(files),
            "app-1.0.x86_64.rpm!/payload.cpio.gz!/payload.cpio!/etc/app/settings.py",
        ),
        (
            "initrd.cpio",
            compress::cpio_odc(files),
            "initrd.cpio!/etc/app/settings.py",
        ),
        (
            "backup.7z",
            compress::seven_zip(files),
            "backup.7z!/etc/app/settings.py",
        ),
        (
            "libapp.a",
            compress::ar_bsd(&[
                ("settings.py.gz", &compress::gzip(&config)),
                ("credentials", &credentials),
            ]),
            "libapp.a!/settings.py.gz!/settings.py",
        ),
    ];
    for (name, bytes, inner) in cases {
        fails_everywhere(&[(name, bytes.clone())], "github-token", &token);
        fails_everywhere(&[(name, bytes.clone())], "aws-secret-access-key", AWS_SECRET);
        for (mode, run) in in_every_mode(&[(name, bytes)]) {
            assert!(
                run.stdout.contains(inner),
                "{name} {mode}: the finding is not named {inner}\n{}",
                run.all_output()
            );
        }
    }
}

#[test]
fn a_broken_package_is_reported_as_not_inspected_never_passed() {
    let mut deb = compress::deb(&[("etc/app.conf", b"x = 1\n")]);
    deb.truncate(deb.len() - 40);
    for (mode, run) in in_every_mode(&[("app.deb", deb)]) {
        assert_eq!(run.code, 2, "{mode}: {}", run.all_output());
        assert!(
            run.all_output().contains("app.deb"),
            "{mode}: {}",
            run.all_output()
        );
    }
}

#[test]
fn a_token_joined_to_other_words_of_a_file_name_is_found() {
    let token = github_token(11);
    let slack = "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1"; // fake-secret-for-tests
    let cases = [
        (format!("backup_{token}.txt"), "github-token", token.clone()),
        (format!("keys/{token}_old"), "github-token", token.clone()),
        (
            format!("{AWS_KEY_ID}_credentials.csv"),
            "aws-access-key-id",
            AWS_KEY_ID.to_string(),
        ),
        (
            format!("exports/prod_{AWS_KEY_ID}_2024.csv"),
            "aws-access-key-id",
            AWS_KEY_ID.to_string(),
        ),
        (
            format!("bots/team_{slack}_bot.json"),
            "slack-token",
            slack.to_string(),
        ),
    ];
    for (path, rule, secret) in cases {
        fails_everywhere(&[(&path, b"{}\n".to_vec())], rule, &secret);
    }
}

#[test]
fn words_joined_in_ordinary_file_names_are_no_secrets() {
    let files: Vec<(&str, Vec<u8>)> = [
        "src/aws_access_key_rotation_test.go",
        "docs/AKIA_prefix_explained.md",
        "scripts/ghp_token_check.sh",
        "assets/sprite_sheet_0123456789abcdef0123456789abcdef.png",
        "migrations/20240101_120000_add_secret_key_column.sql",
    ]
    .iter()
    .map(|path| (*path, b"nothing to see\n".to_vec()))
    .collect();
    for (mode, run) in in_every_mode(&files) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

#[test]
fn a_private_key_in_a_form_encoded_body_is_found() {
    let body = crate::support::seeded::pem_body(12, 20);
    let pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        body.join("\n")
    );
    let mut form = String::from("curl -X POST https://deploy.example.internal/keys -d 'name=prod&key=");
    for byte in pem.bytes() {
        match byte {
            b' ' => form.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => form.push(byte as char),
            _ => form.push_str(&format!("%{byte:02X}")),
        }
    }
    form.push_str("'\n");
    fails_everywhere(&[("deploy.sh", form.into_bytes())], "private-key-rsa", &body[3]);
}

#[test]
fn a_token_in_a_log_saved_with_its_colours_is_found() {
    let token = github_token(13);
    let log = format!(
        "\u{1b}[32m[ok]\u{1b}[0m fetched\n\u{1b}[1;33mwarning:\u{1b}[0m using token \u{1b}[33m{token}\u{1b}[0m\n\
         export AWS_ACCESS_KEY_ID=\u{1b}[36m{AWS_KEY_ID}\u{1b}[39m\n"
    );
    fails_everywhere(
        &[("ci/last-run.log", log.clone().into_bytes())],
        "github-token",
        &token,
    );
    fails_everywhere(
        &[("ci/last-run.log", log.into_bytes())],
        "aws-access-key-id",
        AWS_KEY_ID,
    );
    let clean = "\u{1b}[32mPASSED\u{1b}[0m tests/test_api.py::test_login\n\u{1b}[31mFAILED\u{1b}[0m 1 of 20\n\u{1b}[2K\u{1b}[1G100%\n";
    for (mode, run) in in_every_mode(&[("ci/clean.log", clean.as_bytes().to_vec())]) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

/// An ELF file whose string table holds `strings` end to end, as Go's linker writes them.
fn binary_with_strings(strings: &[&str]) -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01".to_vec();
    bytes.resize(64, 0);
    bytes.extend((0..3000u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8));
    bytes.push(0);
    bytes.extend(strings.concat().bytes());
    bytes.push(0);
    bytes.extend((0..3000u32).map(|n| (n.wrapping_mul(40_503) >> 8) as u8));
    bytes
}

#[test]
fn a_checksummed_token_glued_to_other_text_is_found() {
    let token = github_token(14);
    let tool = binary_with_strings(&["invalid argument", &token, "unexpected EOF"]);
    fails_everywhere(&[("bin/deploy-tool", tool)], "github-token", &token);
    let notes = format!("Use the bot token _{token}_ for now.\n");
    fails_everywhere(&[("NOTES.md", notes.into_bytes())], "github-token", &token);
    // The same shape with a checksum that does not hold is no token.
    let mut forged = token.clone();
    forged.replace_range(10..11, if &token[10..11] == "a" { "b" } else { "a" });
    let tool = binary_with_strings(&["invalid argument", &forged, "unexpected EOF"]);
    for (mode, run) in in_every_mode(&[("bin/other-tool", tool)]) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

/// A shell script long enough that its first block is all text, with `payload` behind it.
fn self_extracting(payload: &[u8]) -> Vec<u8> {
    let mut script = b"#!/bin/sh\n# installer: unpacks what follows the last line\n".to_vec();
    for n in 0..400 {
        script.extend_from_slice(format!("echo 'step {n} of 400'\n").as_bytes());
    }
    script.extend_from_slice(b"tail -n +404 \"$0\" | tar xz -C /opt/app\nexit 0\n");
    script.extend_from_slice(payload);
    script
}

#[test]
fn an_archive_behind_a_script_is_opened_and_the_file_is_a_binary() {
    let token = github_token(15);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let installer = self_extracting(&compress::gzip(&compress::tar(&[("etc/app.conf", &config)])));
    fails_everywhere(&[("install.run", installer.clone())], "github-token", &token);
    for (mode, run) in in_every_mode(&[("install.run", installer)]) {
        assert!(
            run.stdout.contains("install.run!/install.run!/etc/app.conf"),
            "{mode}: {}",
            run.all_output()
        );
    }
    // An executable behind a script, or behind UTF-8's byte-order mark, is an unapproved binary.
    let executable = binary_with_strings(&["usage: tool"]);
    let mut marked = b"\xef\xbb\xbf".to_vec();
    marked.extend_from_slice(&executable);
    for (path, bytes) in [("install.run", self_extracting(&executable)), ("tool", marked)] {
        let clean = in_every_mode(&[(path, bytes.clone())]);
        for (mode, run) in clean {
            assert_eq!(run.code, 0, "{path} {mode}: {}", run.all_output());
        }
        let repo = crate::support::git_repo::GitRepo::new();
        repo.write(path, &bytes);
        let run = crate::support::every_mode::scan(&repo, &["--binaries"]);
        assert_eq!(run.code, 1, "{path}: {}", run.all_output());
        assert!(run.stdout.contains(path), "{path}: {}", run.all_output());
    }
}

#[test]
fn an_archive_behind_a_script_that_cannot_be_opened_is_never_passed() {
    let token = github_token(16);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let installer = self_extracting(&compress::gzip(&compress::tar(&[("etc/app.conf", &config)])));
    // Over --max-file-size, scanned in windows as text: the archive is not held, so not opened.
    let limit = (installer.len() / 2).to_string();
    let over = ["--max-file-size", limit.as_str(), "--oversize", "scan"];
    for (mode, run) in in_every_mode_with(&[("install.run", installer.clone())], &over) {
        assert_eq!(run.code, 2, "{mode}: {}", run.all_output());
        assert!(
            run.all_output().contains("over --max-file-size"),
            "{mode}: {}",
            run.all_output()
        );
        assert!(!run.all_output().contains(&token), "{mode}: {}", run.all_output());
    }
    // The same script as deep as archives are opened (three tars down in a zip).
    let mut nested = installer;
    for depth in 0..4 {
        nested = if depth == 3 {
            compress::zip(&[("layer", &nested)])
        } else {
            compress::tar(&[("layer", &nested)])
        };
    }
    for (mode, run) in in_every_mode(&[("bundle.zip", nested)]) {
        assert_eq!(run.code, 2, "{mode}: {}", run.all_output());
        assert!(
            run.all_output().contains("nested more than 4 deep"),
            "{mode}: {}",
            run.all_output()
        );
    }
}
