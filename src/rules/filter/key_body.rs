//! Whether a PEM header is followed by a key's body: a header alone is code (a parser, a
//! test of one), not a key.

/// How far past a PEM header its body is looked for.
pub(super) const KEY_BODY_WINDOW: usize = 2048;
/// How far past a PEM header its `-----END` line is looked for (an RSA-8192 key is ~6.5 KB).
pub(super) const KEY_BLOCK_MAX: usize = 16 << 10;

/// Whether a base64 body follows a PEM header: in a file, on the next lines; in a string
/// literal, after `\n` escapes, quotes and `+` concatenation. `Key: value` header lines
/// (Proc-Type, DEK-Info, Version) are skipped. The first token must be base64 of 16+ characters,
/// so `"-----BEGIN PRIVATE KEY-----\n...\n"` or `.replace(HEADER + "\n", "")` is no key.
pub(super) fn has_key_body(after: &[u8]) -> bool {
    let window = &after[..after.len().min(KEY_BODY_WINDOW)];
    let mut base64_chars = 0;
    let mut token: Vec<u8> = Vec::new();
    let mut skipping_header_line = false;
    let mut i = 0;
    loop {
        let at_end = i >= window.len();
        let byte = if at_end { b' ' } else { window[i] };
        // A `\n`, `\r` or `\t` escape separates like the character it stands for.
        let (separator, newline, width) = match byte {
            b'\\' if matches!(window.get(i + 1), Some(b'n' | b'r')) => (true, true, 2),
            b'\\' if window.get(i + 1) == Some(&b't') => (true, false, 2),
            b'\n' | b'\r' => (true, true, 1),
            b' ' | b'\t' | b'"' | b'\'' | b',' | b'`' => (true, false, 1),
            _ => (false, false, 1),
        };
        if separator {
            if !token.is_empty() {
                if token.starts_with(b"-----") {
                    break;
                }
                if skipping_header_line || token == b"+" {
                    // Part of a `Key: value` line, or string concatenation.
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
                token.clear();
            }
            if newline {
                skipping_header_line = false;
            }
            if at_end {
                break;
            }
        } else {
            token.push(byte);
        }
        i += width;
    }
    false
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
