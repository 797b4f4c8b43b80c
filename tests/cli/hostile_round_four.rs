//! Never a false pass, round four (issue 18, attacked again): new variants of the classes the
//! last round fixed. Each case runs in every mode a user has (a tree scan, `--staged`,
//! `--diff BASE`, `--history`), and each test failed on the code before its fix.

use crate::support::every_mode::{fails_everywhere, in_every_mode};

const TOKEN: &str = "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"; // fake-secret-for-tests

/// A PEM private key's lines: header, a body of random-looking base64, footer.
fn private_key_lines() -> Vec<String> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut lines = vec![format!("-----BEGIN RSA PRIVATE {}-----", "KEY")];
    for n in 0..12u32 {
        let line: String = (0..64u32)
            .map(|i| alphabet[((n * 7919 + i * 104_729 + i * i * 31) % 64) as usize] as char)
            .collect();
        lines.push(line);
    }
    lines.push(format!("-----END RSA PRIVATE {}-----", "KEY"));
    lines
}

// ---------------------------------------------------------------------------------------------
// Escaped strings (item 4): a key's line breaks have more spellings than `\n`.

#[test]
fn private_keys_stored_with_any_spelling_of_a_line_break_are_found() {
    let lines = private_key_lines();
    let body = &lines[1];
    let joined = |separator: &str| lines.join(separator);
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "a.json",
            format!("{{\"key\": \"{}\"}}\n", joined("\\u000a")).into_bytes(),
        ),
        (
            "b.json",
            format!("{{\"key\": \"{}\"}}\n", joined("\\u000D\\u000A")).into_bytes(),
        ),
        ("c.py", format!("KEY = \"{}\"\n", joined("\\x0a")).into_bytes()),
        (
            "d.c",
            format!("const char *key = \"{}\";\n", joined("\\012")).into_bytes(),
        ),
        (
            "e.xml",
            format!("<key value=\"{}\"/>\n", joined("&#10;")).into_bytes(),
        ),
        (
            "f.xml",
            format!("<key value=\"{}\"/>\n", joined("&#xA;")).into_bytes(),
        ),
        (
            "g.md",
            format!("| key |\n|---|\n| {} |\n", joined("<br>")).into_bytes(),
        ),
        // Commented out line by line, as a key kept "for later" is.
        (
            "h.sh",
            lines
                .iter()
                .map(|l| format!("# {l}\n"))
                .collect::<String>()
                .into_bytes(),
        ),
        (
            "i.rs",
            lines
                .iter()
                .map(|l| format!("// {l}\n"))
                .collect::<String>()
                .into_bytes(),
        ),
        (
            "j.sql",
            lines
                .iter()
                .map(|l| format!("-- {l}\n"))
                .collect::<String>()
                .into_bytes(),
        ),
    ];
    for file in files {
        fails_everywhere(&[file], "private-key-rsa", &body[..24]);
    }
}

// ---------------------------------------------------------------------------------------------
// A binary's bytes are searched (item 3): Windows programs keep their strings in UTF-16, which
// no run of single-byte text shows.

#[test]
fn a_secret_kept_as_a_wide_string_inside_a_binary_is_found() {
    let wide = |text: &str| -> Vec<u8> { text.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let mut program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00".to_vec();
    program.extend((0..600u32).map(|i| (i * 37 % 251) as u8));
    program.extend(wide(&format!("GITHUB_TOKEN={TOKEN}")));
    program.extend(b"\x00\x00\xff\xfe\x01\x02");
    program.extend((0..600u32).map(|i| (i * 53 % 241) as u8));
    fails_everywhere(&[("bin/tool.exe", program)], "github-token", TOKEN);
}

// ---------------------------------------------------------------------------------------------
// Precision must not open a door: an abridged key in a document is no key, but an elision
// slipped into a whole key, or a key body of any other shape, still is.

#[test]
fn an_elision_written_into_a_whole_key_does_not_hide_it() {
    // A whole SEC1 key: MHcC declares 121 bytes, and every one of them is in the body.
    let body = [
        "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oOo2ss/ZYhS4oAoGCCqGSM49",
        "AwEHoUQDQgAE1hXZXKoxj0Kb/CCF1Ws+7FcE3e1hpCKn4L8flCdV8jPdh2ZvbZSg",
        "0xm7kGnk8VJTXKXjPDz3lb6ANmhfL0ANzw==",
    ];
    let header = format!("-----BEGIN EC PRIVATE {}-----", "KEY");
    let footer = format!("-----END EC PRIVATE {}-----", "KEY");
    for elided in [
        format!("{header}\n{}\n...\n{}\n{}\n{footer}\n", body[0], body[1], body[2]),
        format!("{header}\n{}\n{}\n{} …\n{footer}\n", body[0], body[1], body[2]),
    ] {
        fails_everywhere(
            &[("deploy/tls.pem", elided.into_bytes())],
            "private-key-ec",
            body[1],
        );
    }
    // A body that is not DER (random base64 under a PKCS#1 header) is reported too.
    let random: Vec<String> = private_key_lines();
    let mut not_der = random.join("\n");
    not_der.push('\n');
    fails_everywhere(
        &[("deploy/old.key.txt", not_der.into_bytes())],
        "private-key-rsa",
        &random[3],
    );
}

#[test]
fn a_key_abridged_in_a_document_is_not_a_finding() {
    // One line of a 1,218-byte PKCS#8 key, then `...`: documentation, not a secret.
    let text = format!(
        "Load it like this:\n\n    -----BEGIN PRIVATE {}-----\n    MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDRS0LmTwUT0iwP\n    ...\n    -----END PRIVATE {}-----\n",
        "KEY", "KEY"
    );
    for (mode, run) in in_every_mode(&[("docs/keys.md", text.into_bytes())]) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
    }
}
