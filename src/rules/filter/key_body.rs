//! Whether a PEM header is a private key: a base64 body follows it. Keys are stored in files,
//! in string literals of every language, in markup and in comments, so the line breaks between
//! header and body come in many spellings; each is read as the line break it stands for.

/// How far past a PEM header its body is looked for.
pub(super) const KEY_BODY_WINDOW: usize = 2048;
/// How far past a PEM header its `-----END` line is looked for (an RSA-8192 key is ~6.5 KB).
pub(super) const KEY_BLOCK_MAX: usize = 16 << 10;

/// Whether a base64 body follows a PEM header: in a file, on the next lines; in a string
/// literal, after escaped line breaks, quotes and `+` concatenation; in markup, after character
/// references or `<br>`; in a comment block, after each line's comment marker. `Key: value`
/// header lines (Proc-Type, DEK-Info, Version) are skipped. The first token must be base64 of
/// 16+ characters, so `"-----BEGIN PRIVATE KEY-----\n...\n"` or `.replace(HEADER + "\n", "")`
/// is no key.
pub(super) fn has_key_body(after: &[u8]) -> bool {
    let window = &after[..after.len().min(KEY_BODY_WINDOW)];
    let mut base64_chars = 0;
    let mut token: Vec<u8> = Vec::new();
    let mut skipping_header_line = false;
    let mut at_line_start = true;
    let mut i = 0;
    loop {
        let at_end = i >= window.len();
        let (separator, newline, width) = if at_end {
            (true, false, 1)
        } else if let Some(width) = line_break(&window[i..]) {
            (true, true, width)
        } else {
            match window[i] {
                b'\\' if window.get(i + 1) == Some(&b't') => (true, false, 2),
                b' ' | b'\t' | b'"' | b'\'' | b',' | b'`' => (true, false, 1),
                _ => (false, false, 1),
            }
        };
        if separator {
            if !token.is_empty() {
                if token.starts_with(b"-----") {
                    break;
                }
                if skipping_header_line || token == b"+" || (at_line_start && is_comment_marker(&token)) {
                    // Part of a `Key: value` line, string concatenation, or the comment
                    // marker a commented-out block starts each line with.
                } else if token.ends_with(b":") {
                    skipping_header_line = true;
                } else if (base64_chars > 0 || token.len() >= 16) && token.iter().all(|b| is_base64(*b)) {
                    base64_chars += token.len();
                    if base64_chars >= 24 {
                        return true;
                    }
                } else {
                    return false;
                }
                at_line_start = false;
                token.clear();
            }
            if newline {
                skipping_header_line = false;
                at_line_start = true;
            }
            if at_end {
                break;
            }
        } else {
            token.push(window[i]);
        }
        i += width;
    }
    false
}

/// The length of the line break `bytes` starts with, in any of the spellings a key is stored
/// with: the bytes themselves, a string escape (`\n`, `\r`, `\u000a`, `\x0a`, `\012`), a
/// character reference (`&#10;`, `&#xA;`) or an HTML `<br>`.
fn line_break(bytes: &[u8]) -> Option<usize> {
    const SPELLINGS: &[&[u8]] = &[
        b"\\n", b"\\r", b"\\u000a", b"\\u000d", b"\\x0a", b"\\x0d", b"\\012", b"\\015", b"&#10;", b"&#13;",
        b"&#xa;", b"&#xd;", b"&#x0a;", b"&#x0d;", b"<br>", b"<br/>", b"<br />",
    ];
    match bytes.first()? {
        b'\n' | b'\r' => Some(1),
        b'\\' | b'&' | b'<' => SPELLINGS
            .iter()
            .find(|s| bytes.len() >= s.len() && bytes[..s.len()].eq_ignore_ascii_case(s))
            .map(|s| s.len()),
        _ => None,
    }
}

/// A line comment's marker (`#`, `//`, `;`, `--`, `*` of a block comment, `>` of a quote, `%`,
/// `!`, `'`): what a key commented out line by line has before each body line.
fn is_comment_marker(token: &[u8]) -> bool {
    token.len() <= 3
        && token
            .iter()
            .all(|b| matches!(b, b'#' | b'/' | b';' | b'-' | b'*' | b'>' | b'%' | b'!'))
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ";

    #[test]
    fn key_bodies_are_told_from_headers_alone() {
        assert!(has_key_body(
            b"\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n"
        ));
        assert!(has_key_body(
            b"\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\\n"
        ));
        assert!(has_key_body(
            b"\\n\" +\n    \"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoI\""
        ));
        assert!(has_key_body(
            b"\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123\n\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n"
        ));
        assert!(!has_key_body(b"\\n...\\n\"\n"));
        assert!(!has_key_body(b"\\n\", \"\")\n"));
        assert!(!has_key_body(b"\") {\n    return true;\n}\n"));
        assert!(!has_key_body(b"\n-----END PRIVATE KEY-----\n"));
        assert!(!has_key_body(b""));
    }

    #[test]
    fn every_spelling_of_a_line_break_leads_to_the_body() {
        for spelling in [
            "\\u000a", "\\u000A", "\\x0a", "\\012", "&#10;", "&#xA;", "&#x0a;", "<br>", "<BR/>", "\\r\\n",
        ] {
            let after = format!("{spelling}{BODY}{spelling}");
            assert!(has_key_body(after.as_bytes()), "{spelling}");
        }
        for marker in ["#", "//", ";", "--", " *", ">", "%"] {
            let after = format!("\n{marker} {BODY}\n{marker} {BODY}\n");
            assert!(has_key_body(after.as_bytes()), "{marker}");
        }
        // A comment marker is no body, and a marker inside a line is not skipped.
        assert!(!has_key_body(b"\n# -----END PRIVATE KEY-----\n"));
        assert!(!has_key_body(b"\n# see docs // here\n"));
        assert!(!has_key_body(b"&amp;\n"));
    }
}
