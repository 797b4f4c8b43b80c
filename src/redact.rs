//! Making matched text safe to print: secrets are cut to a short prefix, and control characters
//! (which an attacker can put in file names and content to forge output) are escaped.

/// Longest evidence shown for rules that do not detect secrets.
const MAX_EVIDENCE_CHARS: usize = 80;

/// How matched bytes are shown. For secrets, at most a quarter of the value and never more than
/// four characters, and never the exact length (it narrows a guess).
pub fn evidence(matched: &[u8], redact: bool) -> String {
    let text = String::from_utf8_lossy(matched);
    let chars = text.chars().count();
    if redact {
        let shown = (chars / 4).min(4);
        let prefix: String = text.chars().take(shown).collect();
        format!("{}… (redacted)", escape(&prefix))
    } else if chars > MAX_EVIDENCE_CHARS {
        let head: String = text.chars().take(MAX_EVIDENCE_CHARS).collect();
        format!("{}…", escape(&head))
    } else {
        escape(&text)
    }
}

/// Escapes control characters (C0, DEL, C1) and the Unicode line/paragraph separators and bidi
/// controls as `\u{..}`, keeping everything else.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_dangerous(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_show_a_short_prefix_only() {
        let shown = evidence(b"AKIAABCDEFGHIJKLMNOP", true); // fake-secret-for-tests
        assert_eq!(shown, "AKIA… (redacted)");
        assert!(!shown.contains("MNOP"));
        assert_eq!(evidence(b"hunter2", true), "h… (redacted)");
        assert_eq!(evidence(b"abc", true), "… (redacted)");
    }

    #[test]
    fn plain_evidence_is_escaped_and_bounded() {
        assert_eq!(evidence(b"md5(\x1b[31m)", false), "md5(\\u{1b}[31m)");
        assert_eq!(
            evidence(&[b'a'; 200], false).chars().count(),
            MAX_EVIDENCE_CHARS + 1
        );
        assert_eq!(evidence(b"\xff\xfeok", false), "\u{fffd}\u{fffd}ok");
    }

    #[test]
    fn escape_neutralises_line_breaks_and_bidi() {
        assert_eq!(escape("a\nb\u{202e}c"), "a\\nb\\u{202e}c");
    }
}
