//! Never a false pass, round seven (issue 18): a secret spelled in the encodings round six left
//! out. Three-digit octal escapes (C, Python, shells, YAML's double quotes) and base64 of a gzip
//! member or a zlib stream (how Helm stores releases and many tools store blobs); a token right
//! after an escaped line break (`"line\nghp_…"`), whose `n` hid it from the rules' `\b`; a
//! secret named by XML attributes (`<add key="AWS_SECRET_ACCESS_KEY" value="…" />`).
//! Each case runs in every mode (tree, `--staged`, `--diff`, `--history`); each failed before.

use std::io::Write as _;

use base64::Engine as _;

use crate::support::every_mode::{fails_everywhere, in_every_mode};

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

#[test]
fn clean_escapes_attributes_and_compressed_values_raise_nothing() {
    let release = "{\n  \"name\": \"web\",\n  \"replicas\": 3,\n  \"image\": \"nginx:1.27\"\n}\n";
    let files = [
        (
            "colors.sh",
            b"printf '\\033[1;31mred\\033[0m \\101\\102\\103\\n'\nre='(a)\\1'\necho \"done\\nNext step\\tok\"\n".to_vec(),
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
