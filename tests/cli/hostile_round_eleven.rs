//! Never a false pass, round eleven (issue 18, attacking again): archives that a text holds
//! encoded.
//! - An archive or a compressed stream written in base64 inside a text passed every mode: a
//!   zip in a JSON string or a data URI, a tar.gz in a Kubernetes `binaryData` value, `base64`'s
//!   output wrapped at 76 characters. Only gzip and zlib holding plain text were read; what they
//!   inflate to when it is an archive (a tar), and every other format, was not. Such an archive
//!   is now opened as a member of the file, `file!/line-N.base64`, by the same inspector as an
//!   archive file, within the same bounds.
//! - An AWS access key id right after a `/`, a `-` or a `+` passed: in a Hadoop-style URL
//!   (`s3a://AKIA…:…@bucket`), a path (a symbolic link to `/home/AKIA…/`), a name joined by a
//!   dash. The rule's guard rejected those characters as well as word characters.
//! - A token cut by a line continuation passed: a shell or a Dockerfile drops a backslash before
//!   a line break inside a word (`ghp_…\` and the rest at the next line's start), PowerShell
//!   continues a line with a backtick and VB with `_` after a space (`"ghp_…" + \``).
//! - A file in LZMA's own container (`.lzma`, `.tlz`: older than xz, and without a signature)
//!   passed: it was searched as a binary only. Its header's fields tell it now.
//! - A compressed archive behind a prefix that text alone writes passed: byte-order marks, NULs
//!   or a line of text before a gzip stream made the file a binary that no format starts, so
//!   it was searched as bytes only. It is opened from where the archive starts (a magic number
//!   that opens as nothing stays the binary's own bytes).
//! - A bare tar written in base64 passed every mode: a tar has no magic at its start (its
//!   first bytes are a member's name), so only a compressed one was told. Neither were the
//!   archives of Unix packages (`ar`, cpio, RPM) or a git pack. A run long enough to hold a tar's
//!   header is decoded as far as its `ustar` magic; the first line of a wrapped one is told by
//!   a name followed by NULs.
//! - A token in a hex dump passed every mode: `xxd`, `hexdump -C`, `od -t x1z` and `hexdump`
//!   (16-bit words, byte-swapped) write sixteen bytes to a line, so the token is whole in
//!   neither the hex nor the text column. A dump's lines are read back into bytes, joined.
//! - A private key written line by line with its line breaks named between the literals
//!   passed every mode: SQL's `' || CHR(10) || '` and `+ CHAR(13) + CHAR(10) +`, VB's `&
//!   vbCrLf &`, PHP's `. PHP_EOL .`, .NET's `+ Environment.NewLine +`. The key's body was never
//!   on the lines after its header. The literal joiner reads the names as line breaks.
//! - A zip whose members are compressed with bzip2 (as 7-Zip can write) was exit 2: its
//!   members could not be read. They are now, and so are members compressed by LZMA, zstd,
//!   xz, PPMd or Deflate64 (7-Zip's, Info-ZIP's, Python's and Windows' other methods), which
//!   were exit 2 too.
//!
//! Each case runs in every mode (tree, `--patchset`, `--staged`, `--diff`, `--history`); each failed before.

use base64::Engine as _;

use crate::support::compress;
use crate::support::dumps::hex_dumps;
use crate::support::every_mode::{fails_everywhere, fails_everywhere_inside, in_every_mode};
use crate::support::seeded::{github_token, pem_body};

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn an_archive_encoded_in_base64_in_a_text_is_opened() {
    let token = github_token(21);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let files: &[(&str, &[u8])] = &[("etc/app.conf", &config)];
    let zip = base64(&compress::zip(files));
    let tar_gz = base64(&compress::gzip(&compress::tar(files)));
    let wrapped: String = base64(&compress::xz(&compress::tar(files)))
        .as_bytes()
        .chunks(76)
        .map(|line| format!("{}\n", String::from_utf8_lossy(line)))
        .collect();
    let cases = [
        (
            "bundle.json",
            format!("{{\"bundle\": \"{zip}\"}}\n"),
            "bundle.json!/line-1.base64!/etc/app.conf",
        ),
        (
            "page.html",
            format!("<a href=\"data:application/zip;base64,{zip}\">get it</a>\n"),
            "page.html!/line-1.base64!/etc/app.conf",
        ),
        (
            "configmap.yaml",
            format!("apiVersion: v1\nkind: ConfigMap\nbinaryData:\n  app.tgz: {tar_gz}\n"),
            "configmap.yaml!/line-4.base64!/line-4.base64!/etc/app.conf",
        ),
        (
            "payload.b64",
            wrapped,
            "payload.b64!/line-1.base64!/line-1.base64!/etc/app.conf",
        ),
    ];
    for (name, text, inner) in &cases {
        fails_everywhere_inside(name, text.as_bytes(), "github-token", &token, inner);
    }
}

#[test]
fn a_bare_tar_or_a_unix_package_archive_encoded_in_base64_is_opened() {
    let token = github_token(28);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let files: &[(&str, &[u8])] = &[("etc/my app.conf", &config)];
    let wrap = |encoded: String| -> String {
        encoded
            .as_bytes()
            .chunks(76)
            .map(|line| format!("{}\n", String::from_utf8_lossy(line)))
            .collect()
    };
    let tar = base64(&compress::tar(files));
    let cases = [
        (
            "bundle.json",
            format!("{{\"bundle\": \"{tar}\"}}\n"),
            "bundle.json!/line-1.base64!/etc/my app.conf",
        ),
        (
            "backup.b64",
            wrap(tar.clone()),
            "backup.b64!/line-1.base64!/etc/my app.conf",
        ),
        (
            "lib.json",
            format!("{{\"lib\": \"{}\"}}\n", base64(&compress::ar_gnu(files))),
            "lib.json!/line-1.base64!/etc/my app.conf",
        ),
        (
            "initrd.b64",
            wrap(base64(&compress::cpio_newc(files))),
            "initrd.b64!/line-1.base64!/etc/my app.conf",
        ),
    ];
    for (name, text, inner) in &cases {
        fails_everywhere_inside(name, text.as_bytes(), "github-token", &token, inner);
    }
}

#[test]
fn a_token_in_a_hex_dump_is_read_back() {
    let token = github_token(29);
    let config = format!("[deploy]\ntoken = \"{token}\"\nregion = eu-west-1\n");
    for (name, dump) in hex_dumps(config.as_bytes(), 0) {
        // In a Markdown code block too, as a dump is pasted into an issue.
        let pasted = format!("The file:\n\n```\n{dump}```\n");
        fails_everywhere(&[(name, dump.into_bytes())], "github-token", &token);
        fails_everywhere(&[("NOTES.md", pasted.into_bytes())], "github-token", &token);
    }
    // Long dumps: a token cut by the end of the decoded view's first read of a dump (1,025
    // lines of 16 bytes), and one past 64 KiB, where offsets hold no run of zeros.
    let filler = |text: &mut String, up_to: usize| {
        while text.len() < up_to {
            text.push_str("replicas = 3\n");
        }
    };
    let mut cut = String::new();
    filler(&mut cut, 16_400 - 30);
    cut.push_str(&format!("token = \"{token}\"\n"));
    filler(&mut cut, 20_000);
    let mut far = String::new();
    filler(&mut far, 90_000);
    far.push_str(&format!("token = \"{token}\"\n"));
    for long in [cut, far] {
        let (_, xxd) = hex_dumps(long.as_bytes(), 0).remove(0);
        fails_everywhere(&[("long.xxd", xxd.into_bytes())], "github-token", &token);
    }
    // A dump of a clean file, and lines of numbers, stay clean.
    for (name, dump) in hex_dumps(b"[deploy]\nregion = eu-west-1\nreplicas = 3\n", 0) {
        let table = "0000 0001 0002 0003\n0000 12 34 56 78 9a\n";
        for (mode, run) in in_every_mode(&[(name, dump.into_bytes()), ("table.txt", table.into())]) {
            assert_eq!(run.code, 0, "{name} {mode}: {}", run.all_output());
        }
    }
}

#[test]
fn a_key_written_line_by_line_with_named_line_breaks_is_found() {
    let mut lines = vec![format!("-----BEGIN RSA PRIVATE {}-----", "KEY")];
    lines.extend(pem_body(30, 12));
    lines.push(format!("-----END RSA PRIVATE {}-----", "KEY"));
    let quoted =
        |quote: &str| -> Vec<String> { lines.iter().map(|l| format!("{quote}{l}{quote}")).collect() };
    let cases = [
        (
            "oracle.sql",
            format!(
                "INSERT INTO keys VALUES (1, {});\n",
                quoted("'").join(" || CHR(10) || ")
            ),
        ),
        (
            "mssql.sql",
            format!(
                "INSERT INTO keys VALUES (1, {});\n",
                quoted("'").join(" + CHAR(13) + CHAR(10) + ")
            ),
        ),
        (
            "postgres.sql",
            format!(
                "INSERT INTO keys VALUES (1,\n  {});\n",
                quoted("'").join(" || chr(10) ||\n  ")
            ),
        ),
        (
            "key.vb",
            format!("Dim key = {}\n", quoted("\"").join(" & vbCrLf & _\n    ")),
        ),
        (
            "key.php",
            format!("<?php $key = {};\n", quoted("'").join(" . PHP_EOL .\n  ")),
        ),
        (
            "Key.cs",
            format!("var key = {};\n", quoted("\"").join(" + Environment.NewLine + ")),
        ),
    ];
    for (name, text) in cases {
        for (mode, run) in in_every_mode(&[(name, text.clone().into_bytes())]) {
            assert_eq!(run.code, 1, "{name} {mode}: {}", run.all_output());
            assert!(
                run.stdout.contains("private-key"),
                "{name} {mode}: {}",
                run.all_output()
            );
            assert!(
                !run.all_output().contains(&lines[3]),
                "{name} {mode}: the key was printed"
            );
        }
    }
}

#[test]
fn an_encoded_archive_that_cannot_be_opened_is_never_passed_and_a_clean_one_passes() {
    let clean = compress::zip(&[("README", b"nothing to see\n")]);
    let text = format!("{{\"bundle\": \"{}\"}}\n", base64(&clean));
    for (mode, run) in in_every_mode(&[("bundle.json", text.into_bytes())]) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
    let mut broken = compress::zip(&[("etc/app.conf", &[b'x'; 4000][..])]);
    broken.truncate(broken.len() / 2);
    let text = format!("{{\"bundle\": \"{}\"}}\n", base64(&broken));
    for (mode, run) in in_every_mode(&[("bundle.json", text.into_bytes())]) {
        assert_eq!(run.code, 2, "{mode}: {}", run.all_output());
        assert!(
            run.all_output().contains("bundle.json!/line-1.base64"),
            "{mode}: {}",
            run.all_output()
        );
    }
}

#[test]
fn an_encoded_archive_on_an_unchanged_line_is_not_the_change() {
    let token = github_token(22);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let zip = base64(&compress::zip(&[("etc/app.conf", &config)]));
    let repo = crate::support::git_repo::GitRepo::new();
    repo.write(
        "bundle.json",
        format!("{{\n\"bundle\": \"{zip}\",\n\"version\": 1\n}}\n").as_bytes(),
    );
    let base = repo.commit("base");
    repo.write(
        "bundle.json",
        format!("{{\n\"bundle\": \"{zip}\",\n\"version\": 2\n}}\n").as_bytes(),
    );
    repo.commit("the change");
    let run = crate::support::every_mode::scan(&repo, &["--diff", base.as_str()]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let run = crate::support::every_mode::scan(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
}

#[test]
fn an_aws_key_id_after_a_slash_a_dash_or_a_plus_is_found() {
    let key_id = crate::support::seeded::aws_key_id(23);
    for text in [
        format!("fs.s3a.endpoint = s3a://{key_id}:unused@bucket/warehouse\n"),
        format!("see /home/ops/{key_id}/credentials\n"),
        format!("deploy-{key_id}\n"),
        format!("x+{key_id}\n"),
    ] {
        fails_everywhere(&[("notes.txt", text.into_bytes())], "aws-access-key-id", &key_id);
    }
    // A key id written by a symbolic link: its target is the link's content in git.
    let repo = crate::support::git_repo::GitRepo::new();
    std::os::unix::fs::symlink(format!("/home/{key_id}/creds"), repo.path().join("creds")).unwrap();
    let run = crate::support::every_mode::scan(&repo, &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
}

#[test]
fn a_token_cut_by_a_line_continuation_is_found() {
    let token = github_token(24);
    let (head, rest) = token.split_at(14);
    for (name, text) in [
        (
            "deploy.sh",
            format!("#!/bin/sh\nexport GITHUB_TOKEN={head}\\\n{rest}\n"),
        ),
        (
            "Dockerfile",
            format!("FROM alpine\nENV GITHUB_TOKEN={head}\\\n{rest}\n"),
        ),
        ("C/token.h", format!("#define TOKEN \"{head}\\\n{rest}\"\n")),
        ("deploy.ps1", format!("$token = \"{head}\" + `\n    \"{rest}\"\n")),
        (
            "Module.vb",
            format!("Dim token = \"{head}\" & _\n    \"{rest}\"\n"),
        ),
    ] {
        fails_everywhere(&[(name, text.into_bytes())], "github-token", &token);
    }
    // Continued command lines join no words.
    let script = "docker run \\\n  --rm \\\n  -e MODE=fast image:latest\n";
    for (mode, run) in in_every_mode(&[("run.sh", script.as_bytes().to_vec())]) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

#[test]
fn a_zip_with_bzip2_members_is_opened() {
    let token = github_token(25);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let zip = compress::zip_with(zip::CompressionMethod::Bzip2, &[("etc/app.conf", &config)]);
    fails_everywhere(&[("bundle.zip", zip.clone())], "github-token", &token);
    for (mode, run) in in_every_mode(&[("bundle.zip", zip)]) {
        assert!(
            run.stdout.contains("bundle.zip!/etc/app.conf"),
            "{mode}: {}",
            run.all_output()
        );
    }
}

#[test]
fn zip_members_compressed_by_lzma_zstd_xz_ppmd_or_deflate64_are_opened() {
    let token = github_token(27);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let members: [(&str, u16, Vec<u8>); 4] = [
        ("lzma", 14, compress::zip_lzma_member(&config)),
        ("zstd", 93, compress::zstd(&config)),
        ("xz", 95, compress::xz(&config)),
        ("deflate64", 9, compress::deflate_stored(&config)),
    ];
    let mut archives: Vec<(String, Vec<u8>)> = members
        .iter()
        .map(|(method, number, stored)| {
            let zip = compress::zip_raw(&[("etc/app.conf", *number, stored, &config)]);
            (format!("{method}.zip"), zip)
        })
        .collect();
    archives.push((
        "ppmd.zip".into(),
        compress::zip_with(zip::CompressionMethod::Ppmd, &[("etc/app.conf", &config)]),
    ));
    for (name, zip) in archives {
        fails_everywhere(&[(name.as_str(), zip.clone())], "github-token", &token);
        for (mode, run) in in_every_mode(&[(name.as_str(), zip)]) {
            assert!(
                run.stdout.contains(&format!("{name}!/etc/app.conf")),
                "{mode}: {}",
                run.all_output()
            );
        }
    }
    // A method no decoder here reads (WavPack's) leaves the member unread: incomplete, named.
    let wavpack = compress::zip_raw(&[("etc/app.conf", 97, &config, &config)]);
    for (mode, run) in in_every_mode(&[("wavpack.zip", wavpack)]) {
        assert_eq!(run.code, 2, "{mode}: {}", run.all_output());
        assert!(run.stderr.contains("wavpack.zip"), "{mode}: {}", run.all_output());
    }
}

#[test]
fn an_lzma_file_is_opened() {
    let token = github_token(26);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let tlz = compress::lzma(&compress::tar(&[("etc/app.conf", &config)]));
    fails_everywhere(&[("backup.tlz", tlz.clone())], "github-token", &token);
    for (mode, run) in in_every_mode(&[("backup.tlz", tlz)]) {
        assert!(
            run.stdout.contains("backup.tlz!/backup.tar!/etc/app.conf"),
            "{mode}: {}",
            run.all_output()
        );
    }
}

#[test]
fn an_archive_behind_byte_order_marks_nuls_or_a_text_line_is_opened() {
    let token = github_token(27);
    let config = format!("token = \"{token}\"\n").into_bytes();
    let tar_gz = compress::gzip(&compress::tar(&[("etc/app.conf", &config)]));
    for prefix in [
        &b"\xef\xbb\xbf"[..],
        b"\xff\xfe",
        b"\xfe\xff\xef\xbb\xbf",
        b"\x00",
        b"\x00\x00\x00\x00",
        b"payload follows\n",
    ] {
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(&tar_gz);
        fails_everywhere(&[("payload.bin", bytes.clone())], "github-token", &token);
        for (mode, run) in in_every_mode(&[("payload.bin", bytes)]) {
            assert!(
                run.stdout.contains("payload.bin!/payload.bin!/etc/app.conf"),
                "{prefix:?} {mode}: {}",
                run.all_output()
            );
        }
    }
}
