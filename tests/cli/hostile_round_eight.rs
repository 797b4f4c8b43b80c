//! Never a false pass, round eight (issue 18): a secret spelled in the alphabets round seven
//! left out. Base32 (TOTP seeds, Nix and Terraform store it so), full-width letters (`ｇｈｐ＿…`,
//! which NFKC folds back), and a string stored reversed or in rot13 that the code turns back at
//! run time: read so on a line naming the transform (`[::-1]`, `reverse`, `strrev`, `rot13`,
//! `tr`'s rot13 alphabet), and wherever a long run so read starts like a provider's token.
//! Then spellings found by attacking again: a value percent-encoded twice or base64-encoded
//! three times, base64 of UTF-16 (PowerShell's `-EncodedCommand` and `FromBase64String`), a
//! literal continued on the next line by implicit concatenation (C, and Python inside
//! parentheses, as Black writes long strings), and Go's `string([]rune{…})`.
//! And the two gaps the encoding property tests left: EBCDIC text behind a prefix (a mark, a
//! line of ASCII, a `%PDF` or PNG signature, a NUL), and a byte inserted inside wide text, which
//! set every code unit after it out of step.
//! Each case runs in every mode (tree, `--patchset`, `--staged`, `--diff`, `--history`); each failed before.

use base64::Engine as _;

use crate::support::every_mode::{fails_everywhere, in_every_mode, scan};
use crate::support::git_repo::GitRepo as Repo;
use crate::support::seeded::pem_body;

const TOKEN: &str = "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"; // fake-secret-for-tests
const AWS_KEY_ID: &str = "AKIAZ7QW3RT5YU2IOP4L"; // fake-secret-for-tests
const AWS_SECRET: &str = "mihA/2O76UMFxFkM/R5Kjp1vRt+1fjORS/6ilI8i"; // fake-secret-for-tests
const SLACK: &str = "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1"; // fake-secret-for-tests

/// RFC 4648 base32, with its `=` padding.
fn base32(text: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |all, &b| all << 8 | u64::from(b));
        let digits = (chunk.len() * 8).div_ceil(5);
        for index in 0..8 {
            if index < digits {
                out.push(ALPHABET[(bits >> (35 - 5 * index) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            other => other,
        })
        .collect()
}

fn reversed(text: &str) -> String {
    text.chars().rev().collect()
}

fn rot13(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' => ((c as u8 - b'a' + 13) % 26 + b'a') as char,
            'A'..='Z' => ((c as u8 - b'A' + 13) % 26 + b'A') as char,
            other => other,
        })
        .collect()
}

#[test]
fn a_secret_in_base32_is_found() {
    let cases = [
        ("totp.py", format!("SEED = \"{}\"\n", base32(TOKEN))),
        (
            "seed.txt",
            format!("{}\n", base32(&format!("token={TOKEN}")).trim_end_matches('=')),
        ),
        (
            "creds.env",
            format!(
                "CREDS_B32={}\n",
                base32(&format!("aws_secret_access_key = {AWS_SECRET}"))
            ),
        ),
    ];
    for (path, text) in cases {
        let rule = if path == "creds.env" {
            "aws-secret-access-key"
        } else {
            "github-token"
        };
        let secret = if path == "creds.env" { AWS_SECRET } else { TOKEN };
        fails_everywhere(&[(path, text.into_bytes())], rule, secret);
    }
}

#[test]
fn a_secret_in_full_width_letters_is_found() {
    let cases = [
        (
            "notes.md",
            format!("トークン：{}\n", full_width(TOKEN)),
            "github-token",
            TOKEN,
        ),
        (
            "settings.py",
            format!("aws_secret_access_key = \"{}\"\n", full_width(AWS_SECRET)),
            "aws-secret-access-key",
            AWS_SECRET,
        ),
        (
            "slack.json",
            format!("{{\"bot\": \"{}\"}}\n", full_width(SLACK)),
            "slack-token",
            SLACK,
        ),
    ];
    for (path, text, rule, secret) in cases {
        fails_everywhere(&[(path, text.into_bytes())], rule, secret);
    }
}

#[test]
fn a_secret_stored_reversed_is_found() {
    let cases = [
        (
            "keys.py",
            format!("key_id = \"{}\"[::-1]\n", reversed(AWS_KEY_ID)),
            "aws-access-key-id",
            AWS_KEY_ID,
        ),
        (
            "token.js",
            format!("const t = '{}'.split('').reverse().join('');\n", reversed(TOKEN)),
            "github-token",
            TOKEN,
        ),
        (
            "token.php",
            format!("<?php $t = strrev(\"{}\");\n", reversed(TOKEN)),
            "github-token",
            TOKEN,
        ),
        (
            "token.rb",
            format!("TOKEN = \"{}\".reverse\n", reversed(SLACK)),
            "slack-token",
            SLACK,
        ),
        (
            "aws.py",
            format!("aws_secret_access_key = \"{}\"[::-1]\n", reversed(AWS_SECRET)),
            "aws-secret-access-key",
            AWS_SECRET,
        ),
        // Turned back somewhere else: the run alone, read reversed, starts like a token.
        (
            "data.yaml",
            format!("blob: {}\n", reversed(TOKEN)),
            "github-token",
            TOKEN,
        ),
        (
            "ids.txt",
            format!("{}\n", reversed(AWS_KEY_ID)),
            "aws-access-key-id",
            AWS_KEY_ID,
        ),
    ];
    for (path, text, rule, secret) in cases {
        fails_everywhere(&[(path, text.into_bytes())], rule, secret);
    }
}

#[test]
fn a_secret_stored_in_rot13_is_found() {
    let cases = [
        (
            "run.py",
            format!(
                "import codecs\nt = codecs.decode(\"{}\", \"rot13\")\n",
                rot13(TOKEN)
            ),
            "github-token",
            TOKEN,
        ),
        (
            "aws.php",
            format!(
                "<?php $aws_secret_access_key = str_rot13('{}');\n",
                rot13(AWS_SECRET)
            ),
            "aws-secret-access-key",
            AWS_SECRET,
        ),
        (
            "deploy.sh",
            format!("TOKEN=$(echo '{}' | tr 'A-Za-z' 'N-ZA-Mn-za-m')\n", rot13(SLACK)),
            "slack-token",
            SLACK,
        ),
        // Turned back somewhere else.
        (
            "blob.txt",
            format!("x = {}\n", rot13(TOKEN)),
            "github-token",
            TOKEN,
        ),
        (
            "both.txt",
            format!("y = {}\n", rot13(&reversed(AWS_KEY_ID))),
            "aws-access-key-id",
            AWS_KEY_ID,
        ),
    ];
    for (path, text, rule, secret) in cases {
        fails_everywhere(&[(path, text.into_bytes())], rule, secret);
    }
}

#[test]
fn clean_base32_full_width_reversed_and_rot13_text_raises_nothing() {
    let files = [
        (
            "constants.go",
            b"const MAXIMUMRETRYATTEMPTSALLOWED = 3\nconst ID = \"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\"\n".to_vec(),
        ),
        (
            "readme.ja.md",
            "設定（必須）：ＡＰＩの説明です。バージョン２０２４を使います。\nパスワードは環境変数から読みます。\n"
                .as_bytes()
                .to_vec(),
        ),
        (
            "strings.py",
            b"name = \"hello world example\"[::-1]\nwords = list(reversed(sentence.split()))\nprevious_revision = \"release-candidate-2024\"\n"
                .to_vec(),
        ),
        (
            "rot.py",
            b"import codecs\nprint(codecs.decode(\"Uryyb, jbeyq! Guvf vf n grfg\", \"rot13\"))\n".to_vec(),
        ),
        (
            "api.go",
            b"func (c *Client) ListObjectsV2WithContextPages(ctx aws.Context) error { return reverseProxySettings() }\n"
                .to_vec(),
        ),
    ];
    for (mode, run) in in_every_mode(&files) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

/// `text` in EBCDIC (code page 037) for what these cases write: letters, digits, the
/// punctuation of assignments and keys, line breaks as 0x25.
fn ebcdic(text: &str) -> Vec<u8> {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'i' => 0x81 + (b - b'a'),
            b'j'..=b'r' => 0x91 + (b - b'j'),
            b's'..=b'z' => 0xA2 + (b - b's'),
            b'A'..=b'I' => 0xC1 + (b - b'A'),
            b'J'..=b'R' => 0xD1 + (b - b'J'),
            b'S'..=b'Z' => 0xE2 + (b - b'S'),
            b'0'..=b'9' => 0xF0 + (b - b'0'),
            b' ' => 0x40,
            b'\n' => 0x25,
            b'=' => 0x7E,
            b'_' => 0x6D,
            b'-' => 0x60,
            b'+' => 0x4E,
            b'/' => 0x61,
            b'.' => 0x4B,
            other => panic!("no EBCDIC for {other:?} here"),
        })
        .collect()
}

fn private_key(n: u64) -> (String, String) {
    let header = format!("-----BEGIN RSA PRIVATE {}-----", "KEY");
    let body = pem_body(n, 12);
    let key = format!("{header}\n{}\n-----END RSA PRIVATE KEY-----\n", body.join("\n"));
    (key, body[0].clone())
}

#[test]
fn ebcdic_text_behind_any_prefix_is_found() {
    let filler = "JOB ACCOUNTING STEP 1\nRUN DEPLOY NOW\n".repeat(3);
    let (key, evidence) = private_key(8);
    let prefixes: [(&str, &[u8]); 5] = [
        ("utf8-mark", b"\xef\xbb\xbf"),
        ("shebang", b"#!/bin/sh\n"),
        ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
        (
            "png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\n",
        ),
        ("nul", b"\0"),
    ];
    for (name, prefix) in prefixes {
        let token = [prefix, &ebcdic(&format!("{filler}TOKEN = {TOKEN}\n"))].concat();
        fails_everywhere(&[(&format!("{name}-token.jcl"), token)], "github-token", TOKEN);
        let pem = [prefix, &ebcdic(&format!("{filler}{key}"))].concat();
        fails_everywhere(&[(&format!("{name}-key.txt"), pem)], "private-key-rsa", &evidence);
    }
    // A NUL inside the text, not in front of it.
    let mut inside = ebcdic(&format!("{filler}TOKEN = {TOKEN}\n"));
    inside.insert(9, 0);
    fails_everywhere(&[("inside.jcl", inside)], "github-token", TOKEN);
}

fn utf16(text: &str, little_endian: bool, mark: bool) -> Vec<u8> {
    let mut out = match (mark, little_endian) {
        (false, _) => Vec::new(),
        (true, true) => vec![0xff, 0xfe],
        (true, false) => vec![0xfe, 0xff],
    };
    for unit in text.encode_utf16() {
        out.extend(if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        });
    }
    out
}

fn utf32(text: &str, little_endian: bool, mark: bool) -> Vec<u8> {
    let mut out = match (mark, little_endian) {
        (false, _) => Vec::new(),
        (true, true) => vec![0xff, 0xfe, 0, 0],
        (true, false) => vec![0, 0, 0xfe, 0xff],
    };
    for c in text.chars() {
        let unit = c as u32;
        out.extend(if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        });
    }
    out
}

#[test]
fn a_byte_inserted_inside_wide_text_is_found() {
    let filler = "line one of the settings\nline two of the settings\n".repeat(4);
    let (key, evidence) = private_key(9);
    for little_endian in [true, false] {
        for mark in [true, false] {
            for (stray, at) in [(0u8, 41), (b'X', 70), (0, 6)] {
                let name = format!(
                    "{}-{}-{at}",
                    if little_endian { "le" } else { "be" },
                    u8::from(mark)
                );
                let mut bytes = utf16(&format!("{filler}token = {TOKEN}\n"), little_endian, mark);
                bytes.insert(at, stray);
                fails_everywhere(&[(&format!("u16-{name}.txt"), bytes)], "github-token", TOKEN);
                let mut bytes = utf32(&format!("{filler}{key}"), little_endian, mark);
                bytes.insert(2 * at + 1, stray);
                fails_everywhere(
                    &[(&format!("u32-{name}.txt"), bytes)],
                    "private-key-rsa",
                    &evidence,
                );
            }
        }
    }
}

#[test]
fn a_binary_with_wide_text_behind_its_header_is_still_a_binary() {
    // An ELF header, then UTF-32 text: nothing of the header is forgiven as a stray byte, so
    // the file stays a binary that `--binaries` blocks.
    let mut elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00".to_vec();
    elf.extend(utf32(&"plain text line\n".repeat(100), true, false));
    let repo = Repo::new();
    repo.write("tools/helper", &elf);
    repo.commit("a helper");
    let run = scan(&repo, &["--binaries"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("binary-not-allowlisted"),
        "{}",
        run.all_output()
    );
}

fn percent(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn a_secret_encoded_twice_or_three_times_is_found() {
    let thrice = base64(base64(base64(TOKEN.as_bytes()).as_bytes()).as_bytes());
    let cases = [
        (
            "redirect.txt",
            format!("next=https://ci.example.test/cb?t={}\n", percent(&percent(TOKEN))),
        ),
        ("blob.json", format!("{{\"blob\": \"{thrice}\"}}\n")),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
}

#[test]
fn a_secret_in_base64_of_utf16_is_found() {
    let utf16le = |text: &str| -> Vec<u8> { text.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let command = format!("$env:GITHUB_TOKEN = '{TOKEN}'; git push");
    let cases = [
        (
            "deploy.ps1",
            format!(
                "$t = [Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('{}'))\n",
                base64(&utf16le(TOKEN))
            ),
        ),
        (
            "run.cmd",
            format!(
                "powershell.exe -NoProfile -EncodedCommand {}\n",
                base64(&utf16le(&command))
            ),
        ),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
}

#[test]
fn a_token_continued_by_implicit_concatenation_or_spelled_in_runes_is_found() {
    let (head, tail) = TOKEN.split_at(14);
    let runes: Vec<String> = TOKEN.bytes().map(|b| b.to_string()).collect();
    let cases = [
        (
            "settings.py",
            format!("GITHUB_TOKEN = (\n    \"{head}\"\n    \"{tail}\"\n)\n"),
        ),
        (
            "token.c",
            format!("static const char *token = \"{head}\"\n                          \"{tail}\";\n"),
        ),
        (
            "token.go",
            format!("var token = string([]rune{{{}}})\n", runes.join(", ")),
        ),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
}

#[test]
fn clean_lists_double_escapes_and_wide_base64_raise_nothing() {
    let utf16le = |text: &str| -> Vec<u8> { text.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let files = [
        (
            "lists.py",
            b"NAMES = [\n    \"alpha-service\",\n    \"beta-service\",\n]\nMESSAGE = (\n    \"Deploy finished; \"\n    \"see the dashboard.\"\n)\n"
                .to_vec(),
        ),
        (
            "links.md",
            b"[docs](https://example.test/search?q=%2522hello%2520world%2522)\n".to_vec(),
        ),
        (
            "build.cmd",
            format!(
                "powershell.exe -EncodedCommand {}\n",
                base64(&utf16le("Get-ChildItem -Recurse | Measure-Object"))
            )
            .into_bytes(),
        ),
        (
            "runes.go",
            b"var greeting = string([]rune{72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100})\n".to_vec(),
        ),
    ];
    for (mode, run) in in_every_mode(&files) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}
