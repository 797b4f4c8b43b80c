//! Never a false pass, round nine (issue 18, attacking again): spellings of the classes the
//! decoded view already reads that it still missed. Invisible characters beyond the zero-width
//! ones (variation selectors, the combining grapheme joiner, direction embeddings and isolates,
//! fillers) and tag characters, which mirror ASCII invisibly ("ASCII smuggling"); letters from
//! other compatibility blocks than full-width (mathematical, circled, squared), which NFKC folds
//! back as it folds full-width ones; escapes of other languages (Python's `\N{…}`, CSS's `\67 `,
//! HTML's named `&lowbar;`); a shell word cut by its quotes (`"ghp_…"'…'`, `ghp_…''…`); and
//! character codes in other languages' spellings (a C array initialiser in hex or octal,
//! `chr(…).chr(…)`, `CHAR(…) + CHAR(…)`, `.pack("c*")`, `string.char`, `CONCATENATE`).
//! Each case runs in every mode (tree, `--patchset`, `--staged`, `--diff`, `--history`); each failed before.

use crate::support::compress;
use crate::support::every_mode::{fails_everywhere, in_every_mode, scan};
use crate::support::git_repo::GitRepo as Repo;

const TOKEN: &str = "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"; // fake-secret-for-tests
const AWS_KEY_ID: &str = "AKIAZ7QW3RT5YU2IOP4L"; // fake-secret-for-tests
const AWS_SECRET: &str = "mihA/2O76UMFxFkM/R5Kjp1vRt+1fjORS/6ilI8i"; // fake-secret-for-tests
const SLACK: &str = "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1"; // fake-secret-for-tests

/// `text` with `between` after each character.
fn interleaved(text: &str, between: char) -> String {
    text.chars().flat_map(|c| [c, between]).collect()
}

/// `text` in tag characters (U+E0000 + each ASCII character): nothing shows.
fn tags(text: &str) -> String {
    text.chars()
        .map(|c| char::from_u32(0xE0000 + c as u32).unwrap())
        .collect()
}

/// `text` with its letters (and, where the block has them, digits) from a block of
/// compatibility letters: `upper`, `lower` and `digit` are the block's `A`, `a` and `0`.
fn letters_from(text: &str, upper: u32, lower: Option<u32>, digit: Option<u32>) -> String {
    text.chars()
        .map(|c| {
            let mapped = match c {
                'A'..='Z' => Some(upper + (c as u32 - 'A' as u32)),
                'a'..='z' => lower.map(|a| a + (c as u32 - 'a' as u32)),
                '0'..='9' => digit.map(|zero| zero + (c as u32 - '0' as u32)),
                _ => None,
            };
            mapped.and_then(char::from_u32).unwrap_or(c)
        })
        .collect()
}

#[test]
fn a_token_behind_any_invisible_or_tag_character_is_found() {
    let hiding = [
        '\u{034F}',  // combining grapheme joiner
        '\u{FE0F}',  // variation selector 16
        '\u{E0101}', // variation selector 18
        '\u{202A}',  // left-to-right embedding
        '\u{2066}',  // left-to-right isolate
        '\u{3164}',  // Hangul filler
        '\u{180E}',  // Mongolian vowel separator
        '\u{061C}',  // Arabic letter mark
    ];
    for (index, between) in hiding.into_iter().enumerate() {
        let text = format!("token = \"{}\"\n", interleaved(TOKEN, between));
        fails_everywhere(
            &[(&format!("hidden{index}.py"), text.into_bytes())],
            "github-token",
            TOKEN,
        );
    }
    let smuggled = format!("# harmless comment{}\n", tags(&format!(" token = {TOKEN}")));
    fails_everywhere(&[("notes.md", smuggled.into_bytes())], "github-token", TOKEN);
    let pair = format!(
        "aws_access_key_id = {}\naws_secret_access_key = {}\n",
        tags(AWS_KEY_ID),
        tags(AWS_SECRET)
    );
    fails_everywhere(
        &[("credentials", pair.into_bytes())],
        "aws-secret-access-key",
        AWS_SECRET,
    );
}

#[test]
fn a_token_in_mathematical_circled_or_squared_letters_is_found() {
    let cases = [
        // Mathematical bold, with bold digits.
        (
            format!(
                "token = \"{}\"\n",
                letters_from(TOKEN, 0x1D400, Some(0x1D41A), Some(0x1D7CE))
            ),
            "github-token",
            TOKEN,
        ),
        // Mathematical monospace letters, ASCII digits.
        (
            format!(
                "token = \"{}\"\n",
                letters_from(TOKEN, 0x1D670, Some(0x1D68A), None)
            ),
            "github-token",
            TOKEN,
        ),
        // Circled letters and digits.
        (
            format!("bot = \"{}\"\n", letters_from(SLACK, 0x24B6, Some(0x24D0), None)),
            "slack-token",
            SLACK,
        ),
        // Squared capitals (the block has no small letters), ASCII digits.
        (
            format!(
                "aws_access_key_id = {}\n",
                letters_from(AWS_KEY_ID, 0x1F130, None, None)
            ),
            "aws-access-key-id",
            AWS_KEY_ID,
        ),
    ];
    for (index, (text, rule, secret)) in cases.into_iter().enumerate() {
        fails_everywhere(
            &[(&format!("letters{index}.txt"), text.into_bytes())],
            rule,
            secret,
        );
    }
}

/// Python's names of the characters these tokens are made of.
fn python_named(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'A'..='Z' => format!("\\N{{LATIN CAPITAL LETTER {c}}}"),
            'a'..='z' => format!("\\N{{latin small letter {c}}}"),
            '0'..='9' => {
                let names = [
                    "ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE",
                ];
                format!("\\N{{DIGIT {}}}", names[c as usize - '0' as usize])
            }
            '_' => "\\N{LOW LINE}".to_string(),
            other => format!("\\N{{U+{:04X}}}", other as u32),
        })
        .collect()
}

#[test]
fn a_token_in_python_named_css_or_html_named_escapes_is_found() {
    let css_spaced: String = TOKEN.chars().map(|c| format!("\\{:x} ", c as u32)).collect();
    let css_six: String = TOKEN.chars().map(|c| format!("\\{:06x}", c as u32)).collect();
    let html: String = TOKEN
        .chars()
        .map(|c| match c {
            '_' => "&lowbar;".to_string(),
            c => format!("&#{};", c as u32),
        })
        .collect();
    let cases = [
        ("token.py", format!("token = \"{}\"\n", python_named(TOKEN))),
        (
            "icons.css",
            format!(".t::after {{ content: \"{css_spaced}\"; }}\n"),
        ),
        ("min.css", format!(".t::after{{content:\"{css_six}\"}}\n")),
        ("page.html", format!("<code>{html}</code>\n")),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
    let key_id: String = python_named(AWS_KEY_ID);
    fails_everywhere(
        &[("keys.py", format!("key = \"{key_id}\"\n").into_bytes())],
        "aws-access-key-id",
        AWS_KEY_ID,
    );
}

#[test]
fn a_token_cut_into_a_shell_word_is_found() {
    let (head, tail) = TOKEN.split_at(17);
    let cases = [
        format!("export GH_TOKEN=\"{head}\"'{tail}'\n"),
        format!("export GH_TOKEN='{head}'\"{tail}\"\n"),
        format!("export GH_TOKEN={head}''{tail}\n"),
        format!("curl -H \"Authorization: token {head}\"\"{tail}\" https://api.invalid\n"),
    ];
    for (index, text) in cases.into_iter().enumerate() {
        fails_everywhere(
            &[(&format!("deploy{index}.sh"), text.into_bytes())],
            "github-token",
            TOKEN,
        );
    }
}

#[test]
fn a_token_spelled_in_character_codes_of_other_languages_is_found() {
    let codes = |format_one: &dyn Fn(u32) -> String, separator: &str| -> String {
        TOKEN
            .chars()
            .map(|c| format_one(c as u32))
            .collect::<Vec<_>>()
            .join(separator)
    };
    let cases = [
        (
            "key.c",
            format!(
                "static const char key[] = {{{}, 0}};\n",
                codes(&|c| format!("0x{c:02x}"), ", ")
            ),
        ),
        (
            "key_octal.c",
            format!("char key[41]={{{}}};\n", codes(&|c| format!("0{c:o}"), ",")),
        ),
        (
            "key.php",
            format!("<?php $token = {};\n", codes(&|c| format!("chr({c})"), ".")),
        ),
        (
            "key.sql",
            format!("SELECT {};\n", codes(&|c| format!("CHAR({c})"), " + ")),
        ),
        (
            "key.lua",
            format!("local token = string.char({})\n", codes(&|c| c.to_string(), ", ")),
        ),
        (
            "key.rb",
            format!("token = [{}].pack(\"c*\")\n", codes(&|c| c.to_string(), ", ")),
        ),
        (
            "key.rs",
            format!(
                "let token = String::from_utf8(vec![{}]).unwrap();\n",
                codes(&|c| c.to_string(), ", ")
            ),
        ),
        (
            "sheet.csv",
            format!("token,=CONCATENATE(\"{}\",\"{}\")\n", &TOKEN[..20], &TOKEN[20..]),
        ),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
}

#[test]
fn clean_emoji_math_escapes_shell_words_and_code_lists_raise_nothing() {
    let files = [
        (
            "README.md",
            "Made with ❤️ and ☕️ by 👩‍💻 — see 𝐍𝐨𝐭𝐞 ① and ⓘ.\nThe sum 𝑥 + 𝑦 = 𝑧 holds.\n"
                .as_bytes()
                .to_vec(),
        ),
        (
            "icons.css",
            b".quote::before { content: \"\\201C\"; }\n.icon-home:before { content: \"\\f101 \"; }\n.re { pattern: \"\\d \\b \\1 \"; }\n"
                .to_vec(),
        ),
        (
            "page.html",
            b"<p>Tom &amp; Jerry &lt;3 &quot;cheese&quot; &excl; &lowbar;&lowbar;init&lowbar;&lowbar;</p>\n".to_vec(),
        ),
        (
            "bullets.py",
            b"BULLET = \"\\N{BULLET}\"\nprint(f\"\\N{LATIN SMALL LETTER E WITH ACUTE}t\\N{LATIN SMALL LETTER E WITH ACUTE}\")\n"
                .to_vec(),
        ),
        (
            "run.sh",
            b"echo \"it's\"' fine'\nprintf '%s\\n' \"don't\"''\nname=abc''def\n".to_vec(),
        ),
        (
            "tables.c",
            b"int primes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29};\nchar greeting[] = {72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100, 0};\nint modes[]={0755, 0644, 0600, 0700, 0750, 0640, 0444, 0555};\n"
                .to_vec(),
        ),
        (
            "report.sql",
            b"SELECT CHAR(65) + CHAR(66), CONCATENATE(\"total\", \"sum\");\n".to_vec(),
        ),
    ];
    for (mode, run) in in_every_mode(&files) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

/// `bytes` in base64, wrapped at `width` characters a line as `base64` (76) and OpenSSL (64)
/// write it.
fn wrapped_base64(bytes: &[u8], width: usize, indent: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    encoded
        .as_bytes()
        .chunks(width)
        .map(|line| format!("{indent}{}\n", std::str::from_utf8(line).unwrap()))
        .collect()
}

#[test]
fn a_secret_cut_by_the_line_breaks_of_wrapped_base64_is_found() {
    // Each wrapped line decodes alone (76 and 64 are multiples of four); the prefix puts the
    // secret across the first line break (57 and 48 bytes in).
    let env = format!(
        "# staging settings, do not edit by hand\nREGION=eu-west-1\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"
    );
    fails_everywhere(
        &[(
            "settings.env.b64",
            wrapped_base64(env.as_bytes(), 76, "").into_bytes(),
        )],
        "aws-secret-access-key",
        AWS_SECRET,
    );
    let token = format!("# ci token for the release job, rotate yearly\nGITHUB_TOKEN={TOKEN}\n");
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  bootstrap: |\n{}",
        wrapped_base64(token.as_bytes(), 64, "    ")
    );
    fails_everywhere(
        &[("bootstrap.yaml", manifest.into_bytes())],
        "github-token",
        TOKEN,
    );
}

#[test]
fn clean_wrapped_base64_raises_nothing() {
    let prose = "The quick brown fox jumps over the lazy dog. ".repeat(20);
    let files = [
        ("notes.b64", wrapped_base64(prose.as_bytes(), 76, "").into_bytes()),
        (
            "blob.yaml",
            format!("blob: |\n{}", wrapped_base64(&[7u8; 300], 64, "  ")).into_bytes(),
        ),
    ];
    for (mode, run) in in_every_mode(&files) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

/// A PNG of one pixel, whole: signature, header, data and end chunks.
fn png() -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut checked = kind.to_vec();
        checked.extend_from_slice(data);
        out.extend_from_slice(&crc32fast::hash(&checked).to_be_bytes());
        out
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
    png.extend(chunk(b"IDAT", &compress::zlib(&[0, 0])));
    png.extend(chunk(b"IEND", b""));
    png
}

#[test]
fn a_zip_appended_to_an_image_or_a_script_is_opened() {
    let env = format!("GITHUB_TOKEN={TOKEN}\n");
    let zip = compress::zip(&[("config/.env", env.as_bytes())]);
    let mut image = png();
    image.extend_from_slice(&zip);
    fails_everywhere(&[("assets/logo.png", image)], "github-token", TOKEN);
    // A self-extracting installer: a script long enough that its first block is all text.
    let mut installer = b"#!/bin/sh\n# installer: unpacks what follows\n".to_vec();
    installer.extend(b"echo unpacking\n".repeat(1000));
    installer.extend(b"exit 0\n");
    installer.extend_from_slice(&zip);
    fails_everywhere(&[("install.sh", installer)], "github-token", TOKEN);
    let repo = Repo::new();
    let mut image = png();
    image.extend_from_slice(&zip);
    repo.write("logo.png", &image);
    repo.commit("logo");
    let run = scan(&repo, &[]);
    assert!(run.stdout.contains("logo.png!/config/.env"), "{}", run.stdout);
}

#[test]
fn an_image_whose_bytes_merely_hold_a_zip_signature_is_still_clean() {
    // The end record's signature inside an image, not ending it: no zip, nothing unread.
    let mut image = png();
    let mut tail = b"PK\x05\x06".to_vec();
    tail.extend_from_slice(&[0; 16]);
    tail.extend_from_slice(&[40, 0]); // a comment longer than what follows
    tail.extend_from_slice(&[7; 10]);
    image.extend_from_slice(&tail);
    let files = [
        ("logo.png", image),
        ("install.sh", b"#!/bin/sh\necho PK\nexit 0\n".to_vec()),
    ];
    for (mode, run) in in_every_mode(&files) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}

#[test]
fn a_token_placed_by_a_format_call_is_found() {
    let (head, tail) = TOKEN.split_at(20);
    let cases = [
        (
            "key.go",
            format!("var token = fmt.Sprintf(\"%s%s\", \"{head}\", \"{tail}\")\n"),
        ),
        (
            "Key.java",
            format!("String token = String.format(\"%s%s\", \"{head}\", \"{tail}\");\n"),
        ),
        (
            "key.py",
            format!("token = \"{{}}{{}}\".format(\"{head}\", \"{tail}\")\n"),
        ),
        (
            "key2.py",
            format!("token = '{{0}}{{1}}'.format('{head}', '{tail}')\n"),
        ),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
    let clean = [(
        "log.go",
        b"msg := fmt.Sprintf(\"%s%s\", prefix, suffix)\ngreeting := fmt.Sprintf(\"Hello %s, you have %d new messages\", name, count)\nline = \"{}: {}\".format(\"status\", \"ok-and-running-fine\")\n"
            .to_vec(),
    )];
    for (mode, run) in in_every_mode(&clean) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}
