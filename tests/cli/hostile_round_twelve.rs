//! Never a false pass, round twelve (issue 18, attacking again): what a binary's own bytes hide.
//! - A compressed stream or an archive inside a binary, past its start, passed every mode: a
//!   tarball behind a PNG's last chunk (`cat logo.png keys.tgz > logo.png`), an xz, zstd, bzip2
//!   or lz4 stream behind a JPEG or an executable, a zip or a 7z archive in the middle of one.
//!   Only an archive at the start, behind a prefix that text writes, or a zip whose end record
//!   ends the file was opened; the search of the binary's bytes cannot read compressed ones.
//!   Each is now carved out where its magic number stands and opened as a member named by what
//!   it is and where it starts (`logo.png!/gzip-at-10248!/etc/app.conf`), by the same inspector
//!   as an archive file, within the same bounds. So is one further on in the binary behind a
//!   script (a self-extracting installer).
//!
//! - A hex dump whose offsets hold no run of four zeros passed every mode: `xxd -s` or `xxd -o`
//!   with a large offset, or an excerpt of a dump past 64 KiB. Its first line was found by its
//!   offset's zeros; any line that reads as a dump line opens one now.
//! - A file written into C by `xxd -i` (or any list of `0x` codes over many lines) passed every
//!   mode: the list was read only when its codes were on the line that opens it, and the line
//!   that opens a C array was never continued (the declarator's `]` closed the `{`'s count).
//!   Lines of byte codes are read back into bytes like a dump's, and the array's lines joined.
//! - A git binary patch passed every mode: `git diff --binary` and `git format-patch` write a
//!   binary file's change deflated and in base85, so a `.patch` file committed with a binary in
//!   it (a file with one NUL is binary to git) held its token on no line. Each hunk is read back
//!   (a literal hunk's file, a delta's inserted bytes) and inspected as a member named by its
//!   line, `fix.patch!/line-5.binary-patch`.
//! - A uuencoded file passed every mode (`uuencode`, Python's `binascii.b2a_uu`): four
//!   characters for three bytes, so a token was on no line. The file between `begin 644 NAME`
//!   and `end` is read back and inspected as a member, `notes.txt!/line-3.uu`.
//!
//! Each case runs in every mode (tree, `--patchset`, `--staged`, `--diff`, `--history`); each failed before.

use crate::support::compress;
use crate::support::dumps::{git_binary_patch, git_delta_inserting, hex_dumps, uuencode, xxd_include};
use crate::support::every_mode::{fails_everywhere, fails_everywhere_inside, in_every_mode};
use crate::support::seeded::github_token;

/// Bytes like a picture's: a signature, then every byte value many times over, with no magic
/// number of a stream among them.
fn picture(signature: &[u8]) -> Vec<u8> {
    let mut bytes = signature.to_vec();
    bytes.extend((0..40).flat_map(|_| 0..=255u8));
    bytes
}

/// `signature`'s picture with `hidden` behind it and, when `more` says so, the picture's bytes
/// again after that; with the offset `hidden` starts at.
fn with_inside(signature: &[u8], hidden: &[u8], more: bool) -> (Vec<u8>, usize) {
    let mut bytes = picture(signature);
    let start = bytes.len();
    bytes.extend_from_slice(hidden);
    if more {
        bytes.extend(picture(b"IDAT"));
    }
    (bytes, start)
}

#[test]
fn a_stream_or_an_archive_inside_a_binarys_own_bytes_is_opened() {
    let token = github_token(31);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let files: &[(&str, &[u8])] = &[("etc/app.conf", &config)];
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00";
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    // Each case: the file, its bytes and where the hidden part starts, the member found in it.
    type Case = (&'static str, (Vec<u8>, usize), &'static str);
    let cases: Vec<Case> = vec![
        (
            "assets/logo.png",
            with_inside(PNG, &compress::gzip(&compress::tar(files)), false),
            "gzip-at-{}!/etc/app.conf",
        ),
        (
            "assets/photo.jpg",
            with_inside(JPEG, &compress::xz(&config), true),
            "xz-at-{}",
        ),
        (
            "bin/tool",
            with_inside(ELF, &compress::zstd(&compress::tar(files)), true),
            "zstd-at-{}!/etc/app.conf",
        ),
        (
            "assets/icon.png",
            with_inside(PNG, &compress::bzip2(&config), true),
            "bzip2-at-{}",
        ),
        (
            "assets/banner.png",
            with_inside(PNG, &compress::lz4(&config), false),
            "lz4-at-{}",
        ),
        (
            "assets/splash.png",
            with_inside(PNG, &compress::zip(files), true),
            "zip-at-{}!/etc/app.conf",
        ),
        (
            "bin/setup.exe",
            with_inside(b"MZ\x90\x00", &compress::seven_zip(files), true),
            "7z-at-{}!/etc/app.conf",
        ),
        (
            // A script with a binary behind it, and the archive further on in the binary.
            "scripts/install.sh",
            with_inside(
                &[&b"#!/bin/sh\necho installing\nexit 0\n"[..], &picture(ELF)].concat(),
                &compress::gzip(&compress::tar(files)),
                true,
            ),
            "gzip-at-{}!/etc/app.conf",
        ),
    ];
    for (name, (bytes, start), inner) in cases {
        let inner = format!("{name}!/{}", inner.replace("{}", &start.to_string()));
        fails_everywhere_inside(name, &bytes, "github-token", &token, &inner);
    }
}

#[test]
fn magic_numbers_that_begin_nothing_in_a_binary_raise_nothing() {
    // A gzip magic with noise behind it, one with reserved flags, a zip header and an end
    // record with no directory, a 7z magic whose header does not check: a binary's data, where
    // they come by chance (and every compression library's code holds them).
    let mut bytes = picture(b"\x7fELF\x02\x01\x01\x00");
    for decoy in [
        &b"\x1f\x8b\x08\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff"[..],
        b"\x1f\x8b\x08\xe0junk",
        b"PK\x03\x04 not a zip PK\x05\x06",
        b"7z\xbc\xaf\x27\x1c\x00\x04\x00\x00\x00\x00",
        b"\xfd7zXZ\x00\x00\x00",
        b"BZh91AY&SY\x00\x00",
        b"\x28\xb5\x2f\xfd\x00",
    ] {
        bytes.extend_from_slice(decoy);
        bytes.extend(picture(b""));
    }
    for (mode, run) in in_every_mode(&[("bin/engine", bytes.clone())]) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

#[test]
fn a_dump_at_any_offset_or_a_list_of_byte_codes_is_read_back() {
    let token = github_token(37);
    let config = format!("[deploy]\nregion = eu-west-1\ntoken = \"{token}\"\nreplicas = 3\n");
    // Offsets with no run of four zeros: `xxd -o 0x11111110`, and an excerpt past 64 KiB.
    for base in [0x1111_1110, 0x12340] {
        for (name, dump) in hex_dumps(config.as_bytes(), base) {
            fails_everywhere(&[(name, dump.into_bytes())], "github-token", &token);
        }
    }
    // `xxd -i`, a short file and a long one (the token far into a list of thousands of lines),
    // and a C array of decimal codes continued on the lines after its brace.
    let mut long = "replicas = 3\n".repeat(4_000);
    long.push_str(&config);
    let codes: Vec<String> = format!("{token}\n").bytes().map(|b| b.to_string()).collect();
    let decimal = format!("static const char token[] = {{\n    {}\n}};\n", codes.join(", "));
    for (name, text) in [
        ("config.h", xxd_include(config.as_bytes(), "config")),
        ("bundle.h", xxd_include(long.as_bytes(), "bundle")),
        ("token.c", decimal),
    ] {
        fails_everywhere(&[(name, text.into_bytes())], "github-token", &token);
    }
    // A clean file so written, and tables of hex constants, stay clean.
    let table = "static const uint8_t sbox[] = {\n  0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b,\n  0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b,\n};\n";
    let clean = xxd_include(b"[deploy]\nregion = eu-west-1\nreplicas = 3\n", "config");
    for (mode, run) in in_every_mode(&[("config.h", clean.into_bytes()), ("sbox.c", table.into())]) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

#[test]
fn a_file_in_a_git_binary_patch_is_read_back() {
    let token = github_token(41);
    let line = format!("token = \"{token}\"\n");
    // A NUL makes the file binary to git, so `--binary` writes it as a binary patch.
    let file = [&b"\x00\x01settings\n"[..], line.as_bytes()].concat();
    let base: Vec<u8> = (0..=255u8).cycle().take(600).collect();
    let header = "diff --git a/conf.bin b/conf.bin\nindex 0000000..1111111 100644\n";
    let literal = format!(
        "{header}{}",
        git_binary_patch(&[("literal", &file[..]), ("literal", &[][..])])
    );
    let delta = git_delta_inserting(&base, line.as_bytes());
    let format_patch = format!(
        "From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] tune\n\n---\n{header}{}--\n2.47.3\n",
        git_binary_patch(&[("delta", &delta[..]), ("delta", &git_delta_inserting(&base, b"")[..])])
    );
    let cases = [
        ("fix.patch", literal, "fix.patch!/line-4.binary-patch"),
        (
            "patches/0001-tune.patch",
            format_patch,
            "0001-tune.patch!/line-8.binary-patch",
        ),
    ];
    for (name, text, inner) in cases {
        fails_everywhere_inside(name, text.as_bytes(), "github-token", &token, inner);
    }
    // A clean binary so written stays clean.
    let clean = git_binary_patch(&[("literal", &base[..])]);
    for (mode, run) in in_every_mode(&[("clean.patch", clean.into_bytes())]) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

#[test]
fn a_uuencoded_file_is_read_back() {
    let token = github_token(43);
    let config = format!("[deploy]\nregion = eu-west-1\ntoken = \"{token}\"\n");
    let archive = compress::gzip(&compress::tar(&[("etc/app.conf", config.as_bytes())]));
    let cases = [
        (
            "notes.txt",
            format!(
                "The settings, as mailed:\n\n{}",
                uuencode(config.as_bytes(), "app.conf")
            ),
            "notes.txt!/line-3.uu",
        ),
        (
            "bundle.uu",
            uuencode(&archive, "bundle.tgz"),
            "bundle.uu!/line-1.uu!/line-1.uu!/etc/app.conf",
        ),
    ];
    for (name, text, inner) in cases {
        fails_everywhere_inside(name, text.as_bytes(), "github-token", &token, inner);
    }
    // A clean file so written, and prose that begins a line with `begin`, stay clean.
    let clean = uuencode(b"[deploy]\nregion = eu-west-1\n", "app.conf");
    let prose = "begin 644 is the mode\nbegin the work\n";
    for (mode, run) in in_every_mode(&[("clean.uu", clean.into_bytes()), ("plan.txt", prose.into())]) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}
