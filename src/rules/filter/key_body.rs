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
///
/// With `der` (PKCS#1, SEC1, PKCS#8 headers) an elision (`...`, `…`) marks an abridged key in a
/// document when the body is shorter than the length its DER SEQUENCE declares: a whole key
/// with an elision written into it is still a key, and so is a body whose length cannot be
/// read. A body that is not DER at all is not excused: anything a key's bytes could be
/// rewritten into is still worth a reviewer's look, and a gate errs towards reporting.
pub(super) fn has_key_body(after: &[u8], der: bool) -> bool {
    let window = &after[..after.len().min(KEY_BLOCK_MAX)];
    let mut body = Body::default();
    let mut encrypted = false;
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
                // Percent-encoding (a key in a URL or an .env value): `+`, `/` and `=` as the
                // body's own characters.
                b'%' if percent_decoded(&window[i..]).is_some() => {
                    token.extend(percent_decoded(&window[i..]));
                    i += 3;
                    continue;
                }
                // A line continued with a backslash (shell, C, Python strings).
                b'\\' if matches!(window.get(i + 1), Some(b'\n' | b'\r')) => (true, false, 1),
                // `\/`: a slash escaped the way PHP's json_encode writes every one.
                b'\\' if window.get(i + 1) == Some(&b'/') => {
                    token.push(b'/');
                    i += 2;
                    continue;
                }
                b' ' | b'\t' | b'"' | b'\'' | b',' | b'`' => (true, false, 1),
                _ => (false, false, 1),
            }
        };
        if separator {
            if !token.is_empty() {
                let is_body = token.iter().all(|b| is_base64(*b));
                if token.starts_with(b"-----") {
                    break;
                }
                if is_elision(&token) {
                    if body.chars == 0 {
                        return false;
                    }
                    body.elided = true;
                } else if body.chars >= MIN_BODY && !is_body {
                    // Past the body, at code that follows it.
                    break;
                } else if skipping_header_line
                    || token == b"+"
                    || token == b"\\"
                    || (at_line_start && is_comment_marker(&token))
                {
                    // Part of a `Key: value` line, string concatenation, or the comment
                    // marker a commented-out block starts each line with.
                } else if token.ends_with(b":") {
                    skipping_header_line = true;
                    encrypted = true;
                } else if (body.chars > 0 || token.len() >= 16) && is_body {
                    body.push(&token);
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
    body.chars >= MIN_BODY && !(body.elided && der && !encrypted && body.shorter_than_declared())
}

/// Base64 characters a body needs before it counts as one.
const MIN_BODY: usize = 24;

/// What has been read of a key's body.
#[derive(Default)]
struct Body {
    chars: usize,
    /// Its first base64 characters, enough to read the DER length.
    head: Vec<u8>,
    elided: bool,
}

impl Body {
    fn push(&mut self, token: &[u8]) {
        let data = token.iter().filter(|b| **b != b'=').count();
        self.chars += data;
        let room = 8usize.saturating_sub(self.head.len());
        self.head.extend(token.iter().take(room));
    }

    /// Whether the body holds fewer bytes than its outer DER SEQUENCE says the key has: an
    /// abridged key. Unknown when the length cannot be read, which counts as whole.
    fn shorter_than_declared(&self) -> bool {
        use base64::Engine as _;
        let head = &self.head[..self.head.len() / 4 * 4];
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(head) else {
            return false;
        };
        let declared = match bytes.as_slice() {
            [0x30, short, ..] if *short < 0x80 => 2 + usize::from(*short),
            [0x30, 0x81, len, ..] => 3 + usize::from(*len),
            [0x30, 0x82, high, low, ..] => 4 + (usize::from(*high) << 8 | usize::from(*low)),
            _ => return false,
        };
        self.chars * 3 / 4 + 2 < declared
    }
}

/// Where a private key's body starts: after the match, or inside it when the match took the
/// first characters of a key flattened onto the header's line (`-----BEGIN … KEY-----  MIIE…`).
pub(super) fn body_start(buffer: &[u8], matched: &std::ops::Range<usize>) -> usize {
    let in_body = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let mut start = matched.end;
    while start > matched.start && in_body(buffer[start - 1]) {
        start -= 1;
    }
    // (At least the 16 characters the rule's pattern takes: a word after the header, such as
    // a comment's last, is no body.)
    if matched.end - start >= 16 && matches!(buffer[start - 1], b' ' | b'\t') {
        start
    } else {
        matched.end
    }
}

/// `...` or `…` in a token: the writer left part of the text out.
fn is_elision(token: &[u8]) -> bool {
    memchr::memmem::find(token, b"...").is_some() || memchr::memmem::find(token, "…".as_bytes()).is_some()
}

/// The length of the line break `bytes` starts with, in any of the spellings a key is stored
/// with: the bytes themselves, a string escape (`\n`, `\r`, `\u000a`, `\x0a`, `\012`, and
/// `\\n` escaped twice, JSON in a JSON string), percent-encoding (`%0A`), a
/// character reference (`&#10;`, `&#xA;`) or an HTML `<br>`.
fn line_break(bytes: &[u8]) -> Option<usize> {
    const SPELLINGS: &[&[u8]] = &[
        b"\\n", b"\\r", b"\\\\n", b"\\\\r", b"\\u000a", b"\\u000d", b"\\x0a", b"\\x0d", b"\\012", b"\\015",
        b"&#10;", b"&#13;", b"&#xa;", b"&#xd;", b"&#x0a;", b"&#x0d;", b"<br>", b"<br/>", b"<br />", b"%0a",
        b"%0d",
    ];
    match bytes.first()? {
        b'\n' | b'\r' => Some(1),
        b'\\' | b'&' | b'<' | b'%' => SPELLINGS
            .iter()
            .find(|s| bytes.len() >= s.len() && bytes[..s.len()].eq_ignore_ascii_case(s))
            .map(|s| s.len()),
        _ => None,
    }
}

/// The base64 character a percent-escape at the start of `bytes` stands for, if it is one.
fn percent_decoded(bytes: &[u8]) -> Option<u8> {
    match bytes.get(..3)? {
        [b'%', b'2', b'b' | b'B'] => Some(b'+'),
        [b'%', b'2', b'f' | b'F'] => Some(b'/'),
        [b'%', b'3', b'd' | b'D'] => Some(b'='),
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
        for der in [false, true] {
            assert!(has_key_body(
                b"\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n",
                der
            ));
            assert!(has_key_body(
                b"\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\\n",
                der
            ));
            assert!(has_key_body(
                b"\\n\" +\n    \"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoI\"",
                der
            ));
            assert!(has_key_body(
                b"\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123\n\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n",
                der
            ));
            assert!(!has_key_body(b"\\n...\\n\"\n", der));
            assert!(!has_key_body(b"\\n\", \"\")\n", der));
            assert!(!has_key_body(b"\") {\n    return true;\n}\n", der));
            assert!(!has_key_body(b"\n-----END PRIVATE KEY-----\n", der));
            assert!(!has_key_body(b"", der));
        }
        // Code after a body is not part of it.
        assert!(has_key_body(
            b"\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgw\" \\\n  | openssl rsa\n",
            true
        ));
    }

    #[test]
    fn an_abridged_der_key_is_no_key() {
        // One line of a 1,218-byte PKCS#8 key, then an elision (caddy's admin_test.go).
        let abridged = b"\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDRS0LmTwUT0iwP\n...\n-----END PRIVATE KEY-----`)\n";
        assert!(!has_key_body(abridged, true));
        assert!(!has_key_body(
            "\\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgw\\n…\\n-----END".as_bytes(),
            true
        ));
        // A body that is not DER, abridged or not, is still reported: its length is unknown.
        let not_der = b"\nwihZ13e3i5UQEYuoRcH1RUd1wyYoBSKuQnsT2WwVZ1wlXSYaELAbQgaI9NtfBA0G\n...\n-----END RSA PRIVATE KEY-----\n";
        assert!(has_key_body(not_der, true));
        // Encrypted PEM: the body is ciphertext, not DER.
        let encrypted = b"\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,01\n\nwihZ13e3i5UQEYuoRcH1RUd1wyYoBSKuQnsT2Ww\n";
        assert!(has_key_body(encrypted, true));
    }

    #[test]
    fn an_elision_written_into_a_whole_key_does_not_hide_it() {
        // A whole SEC1 key (MHcC: a SEQUENCE of 0x77 bytes, 121 in all, 160 base64 characters)
        // with an elision line slipped in: every byte is there, so it is a key.
        let lines = [
            "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oOo2ss/ZYhS4oAoGCCqGSM49",
            "...",
            "AwEHoUQDQgAE1hXZXKoxj0Kb/CCF1Ws+7FcE3e1hpCKn4L8flCdV8jPdh2ZvbZSg",
            "0xm7kGnk8VJTXKXjPDz3lb6ANmhfL0ANzw==",
        ];
        let whole = format!("\n{}\n-----END EC PRIVATE KEY-----\n", lines.join("\n"));
        assert!(has_key_body(whole.as_bytes(), true));
        let abridged = format!("\n{}\n{}\n-----END EC PRIVATE KEY-----\n", lines[0], lines[1]);
        assert!(!has_key_body(abridged.as_bytes(), true));
    }

    #[test]
    fn every_spelling_of_a_line_break_leads_to_the_body() {
        for spelling in [
            "\\u000a", "\\u000A", "\\x0a", "\\012", "&#10;", "&#xA;", "&#x0a;", "<br>", "<BR/>", "\\r\\n",
        ] {
            let after = format!("{spelling}{BODY}{spelling}");
            assert!(has_key_body(after.as_bytes(), true), "{spelling}");
        }
        for marker in ["#", "//", ";", "--", " *", ">", "%"] {
            let after = format!("\n{marker} {BODY}\n{marker} {BODY}\n");
            assert!(has_key_body(after.as_bytes(), true), "{marker}");
        }
        // A comment marker is no body, and a marker inside a line is not skipped.
        assert!(!has_key_body(b"\n# -----END PRIVATE KEY-----\n", false));
        assert!(!has_key_body(b"\n# see docs // here\n", false));
        assert!(!has_key_body(b"&amp;\n", false));
    }
}
