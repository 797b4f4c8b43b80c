//! Never a false pass, round seven (issue 18): a secret spelled in the encodings round six left
//! out. Three-digit octal escapes (C, Python, shells, YAML's double quotes) and base64 of a gzip
//! member or a zlib stream (how Helm stores releases and many tools store blobs); a token right
//! after an escaped line break (`"line\nghp_…"`), whose `n` hid it from the rules' `\b`; a
//! secret named by XML attributes (`<add key="AWS_SECRET_ACCESS_KEY" value="…" />`); a token
//! assembled at run time from a joined list of literals or from character codes; a private key
//! whose header alone hides behind an invisible character or an escape; UTF-16 or UTF-32 text
//! behind a `%PDF` or PNG signature.
//! Each case runs in every mode (tree, `--patchset`, `--staged`, `--diff`, `--history`); each failed before.

use std::io::Write as _;

use base64::Engine as _;

use crate::support::every_mode::{fails_everywhere, in_every_mode};
use crate::support::seeded::pem_body;

const TOKEN: &str = "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"; // fake-secret-for-tests
const AWS_SECRET: &str = "mihA/2O76UMFxFkM/R5Kjp1vRt+1fjORS/6ilI8i"; // fake-secret-for-tests

fn octal(text: &str) -> String {
    text.bytes().map(|b| format!("\\{b:03o}")).collect()
}

fn gzip_base64(text: &str) -> String {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap())
}

fn zlib_base64(text: &str) -> String {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap())
}

#[test]
fn a_token_in_octal_escapes_is_found() {
    let cases = [
        ("token.c", format!("const char *t = \"{}\";\n", octal(TOKEN))),
        ("token.sh", format!("printf '{}' > ~/.token\n", octal(TOKEN))),
        ("token.yaml", format!("t: \"{}\"\n", octal(TOKEN))),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
}

#[test]
fn an_aws_secret_in_octal_escapes_is_found() {
    let text = format!("aws_secret_access_key=\"{}\"\n", octal(AWS_SECRET));
    fails_everywhere(
        &[("creds.sh", text.into_bytes())],
        "aws-secret-access-key",
        AWS_SECRET,
    );
}

#[test]
fn a_secret_gzipped_or_zlibbed_in_base64_is_found() {
    let release = format!("{{\n  \"config\": {{\n    \"githubToken\": \"{TOKEN}\"\n  }}\n}}\n");
    let cases = [
        (
            "helm-release.yaml",
            format!("data:\n  release: {}\n", gzip_base64(&release)),
        ),
        (
            "blob.json",
            format!("{{\"blob\": \"{}\"}}\n", zlib_base64(&release)),
        ),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
    let creds = format!("[default]\naws_secret_access_key = {AWS_SECRET}\n");
    let text = format!("CREDS_GZ={}\n", gzip_base64(&creds));
    fails_everywhere(
        &[("ci.env", text.into_bytes())],
        "aws-secret-access-key",
        AWS_SECRET,
    );
}

#[test]
fn a_token_right_after_an_escaped_line_break_is_found() {
    let cases = [
        (
            "notes.json",
            format!("{{\"notes\": \"deploy with\\n{TOKEN}\\nthen\"}}\n"),
        ),
        ("run.py", format!("print(\"token:\\t{TOKEN}\")\n")),
        ("log.txt", format!("2024-01-01 auth ok\\r{TOKEN}\n")),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
}

#[test]
fn a_secret_named_by_xml_attributes_is_found() {
    let cases = [
        (
            "web.config",
            format!(
                "<configuration>\n  <appSettings>\n    <add key=\"AWS_SECRET_ACCESS_KEY\" value=\"{AWS_SECRET}\" />\n  </appSettings>\n</configuration>\n"
            ),
        ),
        (
            "App.config",
            format!("<appSettings><add value=\"{AWS_SECRET}\" key=\"aws_secret_access_key\"/></appSettings>\n"),
        ),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "aws-secret-access-key", AWS_SECRET);
    }
}

/// `text` cut into pieces of `size` characters, each written by `piece`, joined by `", "`.
fn pieces(text: &str, size: usize, piece: impl Fn(&str) -> String) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size)
        .map(|chunk| piece(&chunk.iter().collect::<String>()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn codes(text: &str, code: impl Fn(u8) -> String) -> String {
    text.bytes().map(code).collect::<Vec<_>>().join(", ")
}

#[test]
fn a_token_assembled_from_a_joined_list_is_found() {
    let quoted = |p: &str| format!("\"{p}\"");
    let single = |p: &str| format!("'{p}'");
    let one_per_line = TOKEN
        .as_bytes()
        .chunks(8)
        .map(|c| format!("\t\"{}\",\n", std::str::from_utf8(c).unwrap()))
        .collect::<String>();
    let cases = [
        (
            "join.py",
            format!("token = \"\".join([{}])\n", pieces(TOKEN, 6, quoted)),
        ),
        (
            "join.js",
            format!("const t = [{}].join('');\n", pieces(TOKEN, 5, single)),
        ),
        (
            "join.java",
            format!("String t = String.join(\"\", {});\n", pieces(TOKEN, 7, quoted)),
        ),
        (
            "concat.sql",
            format!("SELECT CONCAT({}) AS t;\n", pieces(TOKEN, 9, single)),
        ),
        (
            "join.go",
            format!("t := strings.Join([]string{{\n{one_per_line}}}, \"\")\n"),
        ),
        (
            "chars.java",
            format!(
                "String t = new String(new char[] {{{}}});\n",
                pieces(TOKEN, 1, single)
            ),
        ),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
}

#[test]
fn a_token_spelled_in_character_codes_is_found() {
    let cases = [
        (
            "codes.js",
            format!(
                "const t = String.fromCharCode({});\n",
                codes(TOKEN, |b| b.to_string())
            ),
        ),
        (
            "codes.py",
            format!(
                "t = bytes([{}]).decode()\n",
                codes(TOKEN, |b| format!("{b:#04x}"))
            ),
        ),
        (
            "chr.py",
            format!(
                "t = {}\n",
                TOKEN
                    .bytes()
                    .map(|b| format!("chr({b})"))
                    .collect::<Vec<_>>()
                    .join(" + ")
            ),
        ),
        (
            "codes.ps1",
            format!(
                "$t = -join ({})\n",
                TOKEN
                    .bytes()
                    .map(|b| format!("[char]{b}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
    let text = format!(
        "aws_secret_access_key = String.fromCharCode({})\n",
        codes(AWS_SECRET, |b| b.to_string())
    );
    fails_everywhere(
        &[("creds.js", text.into_bytes())],
        "aws-secret-access-key",
        AWS_SECRET,
    );
}

#[test]
fn a_private_key_whose_header_alone_is_hidden_is_found() {
    let body = pem_body(7, 12).join("\n");
    let evidence = &pem_body(7, 12)[0][..24];
    let headers = [
        ("zero-width.pem", "-----BEGIN RSA PRIV\u{200b}ATE KEY-----"),
        ("soft-hyphen.txt", "-----BEGIN RSA PRIVATE\u{ad} KEY-----"),
        ("escaped.yaml", "-----BEGIN RSA PRIVATE\\u0020KEY-----"),
        ("entity.xml", "-----BEGIN RSA&#32;PRIVATE KEY-----"),
    ];
    for (path, header) in headers {
        let text = format!("key:\n{header}\n{body}\n-----END RSA PRIVATE KEY-----\nnext: 1\n");
        fails_everywhere(&[(path, text.into_bytes())], "private-key-rsa", evidence);
    }
}

fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|unit| {
            if little_endian {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            }
        })
        .collect()
}

fn utf32(text: &str, little_endian: bool) -> Vec<u8> {
    text.chars()
        .flat_map(|c| {
            let unit = u32::from(c);
            if little_endian {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            }
        })
        .collect()
}

#[test]
fn wide_text_behind_a_signature_is_found() {
    let key = format!(
        "-----BEGIN RSA PRIVATE {k}-----\n{}\n-----END RSA PRIVATE {k}-----\n",
        pem_body(5, 12).join("\n"),
        k = "KEY"
    );
    let evidence = &pem_body(5, 12)[0][..24];
    let pdf = b"%PDF-1.7\n".to_vec();
    let png = [&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], &[7; 13], b"\n"].concat();
    // An odd-length signature in front of UTF-16 set the reading a byte out of step: the key's
    // first dash was lost.
    for little_endian in [true, false] {
        let bytes = [&pdf[..], &utf16(&key, little_endian)].concat();
        fails_everywhere(&[("doc.txt", bytes)], "private-key-rsa", evidence);
    }
    // UTF-32 behind a signature is a binary whose bytes hold no string the byte view reads.
    let creds = format!("[default]\naws_secret_access_key = {AWS_SECRET}\n");
    for (prefix, little_endian) in [(&pdf, false), (&png, true)] {
        let bytes = [&prefix[..], &utf32(&creds, little_endian)].concat();
        fails_everywhere(&[("creds.bin", bytes)], "aws-secret-access-key", AWS_SECRET);
        let bytes = [&prefix[..], &utf32(&key, little_endian)].concat();
        fails_everywhere(&[("key.bin", bytes)], "private-key-rsa", evidence);
    }
}

#[test]
fn clean_escapes_attributes_lists_and_compressed_values_raise_nothing() {
    let release = "{\n  \"name\": \"web\",\n  \"replicas\": 3,\n  \"image\": \"nginx:1.27\"\n}\n";
    let files = [
        (
            "colors.sh",
            b"printf '\\033[1;31mred\\033[0m \\101\\102\\103\\n'\nre='(a)\\1'\necho \"done\\nNext step\\tok\"\n".to_vec(),
        ),
        (
            "paths.go",
            b"p := strings.Join([]string{\"testdata\", \"missingsecret.json\"}, \"/\")\nv := []byte{1, 2, 3, 200, 7}\n"
                .to_vec(),
        ),
        (
            "words.js",
            b"const s = ['alpha', 'beta', 'gamma'].join(', ');\nconst c = String.fromCharCode(72, 105);\nconst rgb = [112, 108, 97, 105, 110, 45, 119, 111];\n"
                .to_vec(),
        ),
        (
            "web.config",
            b"<add key=\"LogLevel\" value=\"Information\" />\n<add key=\"Timeout\" value=\"30\"/>\n"
                .to_vec(),
        ),
        (
            "release.yaml",
            format!("release: {}\n", gzip_base64(release)).into_bytes(),
        ),
    ];
    for (mode, run) in in_every_mode(&files) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}
