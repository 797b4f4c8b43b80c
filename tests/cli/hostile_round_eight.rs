//! Never a false pass, round eight (issue 18): a secret spelled in the alphabets round seven
//! left out. Base32 (TOTP seeds, Nix and Terraform store it so), full-width letters (`ｇｈｐ＿…`,
//! which NFKC folds back), and a string stored reversed or in rot13 that the code turns back at
//! run time: read so on a line naming the transform (`[::-1]`, `reverse`, `strrev`, `rot13`,
//! `tr`'s rot13 alphabet), and wherever a long run so read starts like a provider's token.
//! Each case runs in every mode (tree, `--staged`, `--diff`, `--history`); each failed before.

use crate::support::every_mode::{fails_everywhere, in_every_mode};

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
