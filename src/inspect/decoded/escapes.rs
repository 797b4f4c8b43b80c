//! Escapes: `\u0041`/`\x41`/octal/`%41`/`&#65;`/`&lowbar;`, Python's `\N{…}`, CSS's `\67 `,
//! and quoted-printable (`=3D`, soft line breaks) in a window that reads as it.

use super::encodings::hits_where;

/// The escapes (`\u`, `\U`, `\x`, three-digit octal, `%XX`, `&#`/named entities) among a
/// chunk's `\`, `%` and `&` (`candidates`, bits of the chunk at `base`), as bits of that chunk;
/// and the backslashes that continue a word on the next line (`literals::word_continues`).
#[inline]
pub(super) fn escape_hits(text: &[u8], base: usize, candidates: u64) -> u64 {
    hits_where(candidates, |bit| {
        escape_at(text, base + bit).is_some() || super::literals::word_continues(text, base + bit)
    })
}

/// The escape at `at`: the bytes it stands for and its length.
fn escape_at(text: &[u8], at: usize) -> Option<(Escaped, usize)> {
    let rest = &text[at..];
    // CSS's six-digit form before C's octal: `\000067` is a `g`, not a NUL and `067`.
    if let Some(six) = rest
        .get(1..7)
        .filter(|six| rest[0] == b'\\' && six.iter().all(u8::is_ascii_hexdigit))
    {
        let code = hex_value(six)?;
        if let Some(escaped) = Escaped::char(code).filter(|_| code >= 0x20 && code != 0x7F) {
            return Some((
                escaped,
                7 + usize::from(matches!(rest.get(7), Some(b' ' | b'\t'))),
            ));
        }
    }
    match rest {
        [0x1b, b'[', ..] => Some((Escaped::byte(b' '), control_sequence_len(rest)?)),
        [b'\\', b'u', b'{', ..] => {
            let close = rest.iter().take(11).position(|&b| b == b'}')?;
            let code = hex_value(&rest[3..close])?;
            Some((Escaped::char(code)?, close + 1))
        }
        [b'\\', b'u', ..] => {
            let code = hex_value(rest.get(2..6)?)?;
            if (0xD800..0xDC00).contains(&code) {
                // A surrogate pair: `\uD83D\uDE00`.
                let low = match rest.get(6..12)? {
                    [b'\\', b'u', digits @ ..] => hex_value(digits)?,
                    _ => return None,
                };
                let combined = 0x10000 + ((code - 0xD800) << 10) + (low.checked_sub(0xDC00)? & 0x3FF);
                return Some((Escaped::char(combined)?, 12));
            }
            Some((Escaped::char(code)?, 6))
        }
        [b'\\', b'U', ..] => Some((Escaped::char(hex_value(rest.get(2..10)?)?)?, 10)),
        [b'\\', b'x', ..] => Some((Escaped::byte(hex_value(rest.get(2..4)?)? as u8), 4)),
        // A line break or tab written as an escape right before a word (`"line\nghp_…"` in
        // JSON): as written, the `n` glues itself to the token and hides it from the rules'
        // `\b`. Before anything else the escape changes nothing a rule sees, and is left alone.
        [b'\\', kind @ (b'n' | b'r' | b't'), next, ..] if next.is_ascii_alphanumeric() || *next == b'_' => {
            let byte = match kind {
                b'n' => b'\n',
                b'r' => b'\r',
                _ => b'\t',
            };
            Some((Escaped::byte(byte), 2))
        }
        // Three octal digits, as C, Python, shells and YAML's double quotes write any byte. One
        // or two digits are left alone: `\0` and `\1` are far more often a NUL or a regex's
        // back-reference than a spelled-out character.
        [b'\\', high @ b'0'..=b'3', mid @ b'0'..=b'7', low @ b'0'..=b'7', ..] => Some((
            Escaped::byte((high - b'0') << 6 | (mid - b'0') << 3 | (low - b'0')),
            4,
        )),
        // Python's `\N{LATIN SMALL LETTER G}` (and Perl's `\N{U+67}`).
        [b'\\', b'N', b'{', ..] => {
            let close = rest.iter().take(40).position(|&b| b == b'}')?;
            Some((named_character(&rest[3..close])?, close + 1))
        }
        // CSS: up to six hex digits, ended by one space (or by the sixth digit): `\67 \68 `,
        // `\000067`. Only printable characters: `\d ` and `\b ` are a regex's classes.
        [b'\\', first, ..] if first.is_ascii_hexdigit() => {
            let digits = rest[1..]
                .iter()
                .take(6)
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            let code = hex_value(&rest[1..1 + digits])?;
            let spaced = match rest.get(1 + digits..) {
                Some([b'\r', b'\n', ..]) => 2,
                Some([b' ' | b'\t' | b'\n', ..]) => 1,
                _ if digits == 6 => 0,
                _ => return None,
            };
            let escaped = Escaped::char(code).filter(|_| code >= 0x20 && code != 0x7F)?;
            Some((escaped, 1 + digits + spaced))
        }
        [b'%', ..] => Some((Escaped::byte(hex_value(rest.get(1..3)?)? as u8), 3)),
        [b'&', b'#', b'x' | b'X', ..] => {
            let close = rest.iter().take(12).position(|&b| b == b';')?;
            Some((Escaped::char(hex_value(&rest[3..close])?)?, close + 1))
        }
        [b'&', b'#', ..] => {
            let close = rest.iter().take(11).position(|&b| b == b';')?;
            let digits = std::str::from_utf8(&rest[2..close]).ok()?;
            Some((Escaped::char(digits.parse().ok()?)?, close + 1))
        }
        [b'&', ..] => {
            let name_len = rest[1..]
                .iter()
                .take(16)
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            if rest.get(1 + name_len) != Some(&b';') {
                return None;
            }
            let name = &rest[1..1 + name_len];
            let found = HTML_ASCII_ENTITIES.binary_search_by(|(entity, _)| entity.as_bytes().cmp(name));
            found
                .ok()
                .map(|index| (Escaped::byte(HTML_ASCII_ENTITIES[index].1), name_len + 2))
        }
        _ => None,
    }
}

/// The HTML named character references (HTML5's list) that stand for a printable ASCII
/// character, sorted by name (16 bytes at most): `&lowbar;`, `&period;`. Letters and digits have none.
const HTML_ASCII_ENTITIES: [(&str, u8); 43] = [
    ("AMP", b'&'),
    ("DiacriticalGrave", b'`'),
    ("GT", b'>'),
    ("Hat", b'^'),
    ("LT", b'<'),
    ("QUOT", b'"'),
    ("UnderBar", b'_'),
    ("VerticalLine", b'|'),
    ("amp", b'&'),
    ("apos", b'\''),
    ("ast", b'*'),
    ("bsol", b'\\'),
    ("colon", b':'),
    ("comma", b','),
    ("commat", b'@'),
    ("dollar", b'$'),
    ("equals", b'='),
    ("excl", b'!'),
    ("grave", b'`'),
    ("gt", b'>'),
    ("lbrace", b'{'),
    ("lbrack", b'['),
    ("lcub", b'{'),
    ("lowbar", b'_'),
    ("lpar", b'('),
    ("lsqb", b'['),
    ("lt", b'<'),
    ("midast", b'*'),
    ("num", b'#'),
    ("percnt", b'%'),
    ("period", b'.'),
    ("plus", b'+'),
    ("quest", b'?'),
    ("quot", b'"'),
    ("rbrace", b'}'),
    ("rbrack", b']'),
    ("rcub", b'}'),
    ("rpar", b')'),
    ("rsqb", b']'),
    ("semi", b';'),
    ("sol", b'/'),
    ("verbar", b'|'),
    ("vert", b'|'),
];

/// The Unicode names of the printable ASCII characters, sorted: what Python's `\N{…}` spells a
/// token's characters with (other names are no token's; they are left as they are).
const ASCII_NAMES: [(&str, u8); 95] = [
    ("AMPERSAND", 0x26),
    ("APOSTROPHE", 0x27),
    ("ASTERISK", 0x2A),
    ("CIRCUMFLEX ACCENT", 0x5E),
    ("COLON", 0x3A),
    ("COMMA", 0x2C),
    ("COMMERCIAL AT", 0x40),
    ("DIGIT EIGHT", 0x38),
    ("DIGIT FIVE", 0x35),
    ("DIGIT FOUR", 0x34),
    ("DIGIT NINE", 0x39),
    ("DIGIT ONE", 0x31),
    ("DIGIT SEVEN", 0x37),
    ("DIGIT SIX", 0x36),
    ("DIGIT THREE", 0x33),
    ("DIGIT TWO", 0x32),
    ("DIGIT ZERO", 0x30),
    ("DOLLAR SIGN", 0x24),
    ("EQUALS SIGN", 0x3D),
    ("EXCLAMATION MARK", 0x21),
    ("FULL STOP", 0x2E),
    ("GRAVE ACCENT", 0x60),
    ("GREATER-THAN SIGN", 0x3E),
    ("HYPHEN-MINUS", 0x2D),
    ("LATIN CAPITAL LETTER A", 0x41),
    ("LATIN CAPITAL LETTER B", 0x42),
    ("LATIN CAPITAL LETTER C", 0x43),
    ("LATIN CAPITAL LETTER D", 0x44),
    ("LATIN CAPITAL LETTER E", 0x45),
    ("LATIN CAPITAL LETTER F", 0x46),
    ("LATIN CAPITAL LETTER G", 0x47),
    ("LATIN CAPITAL LETTER H", 0x48),
    ("LATIN CAPITAL LETTER I", 0x49),
    ("LATIN CAPITAL LETTER J", 0x4A),
    ("LATIN CAPITAL LETTER K", 0x4B),
    ("LATIN CAPITAL LETTER L", 0x4C),
    ("LATIN CAPITAL LETTER M", 0x4D),
    ("LATIN CAPITAL LETTER N", 0x4E),
    ("LATIN CAPITAL LETTER O", 0x4F),
    ("LATIN CAPITAL LETTER P", 0x50),
    ("LATIN CAPITAL LETTER Q", 0x51),
    ("LATIN CAPITAL LETTER R", 0x52),
    ("LATIN CAPITAL LETTER S", 0x53),
    ("LATIN CAPITAL LETTER T", 0x54),
    ("LATIN CAPITAL LETTER U", 0x55),
    ("LATIN CAPITAL LETTER V", 0x56),
    ("LATIN CAPITAL LETTER W", 0x57),
    ("LATIN CAPITAL LETTER X", 0x58),
    ("LATIN CAPITAL LETTER Y", 0x59),
    ("LATIN CAPITAL LETTER Z", 0x5A),
    ("LATIN SMALL LETTER A", 0x61),
    ("LATIN SMALL LETTER B", 0x62),
    ("LATIN SMALL LETTER C", 0x63),
    ("LATIN SMALL LETTER D", 0x64),
    ("LATIN SMALL LETTER E", 0x65),
    ("LATIN SMALL LETTER F", 0x66),
    ("LATIN SMALL LETTER G", 0x67),
    ("LATIN SMALL LETTER H", 0x68),
    ("LATIN SMALL LETTER I", 0x69),
    ("LATIN SMALL LETTER J", 0x6A),
    ("LATIN SMALL LETTER K", 0x6B),
    ("LATIN SMALL LETTER L", 0x6C),
    ("LATIN SMALL LETTER M", 0x6D),
    ("LATIN SMALL LETTER N", 0x6E),
    ("LATIN SMALL LETTER O", 0x6F),
    ("LATIN SMALL LETTER P", 0x70),
    ("LATIN SMALL LETTER Q", 0x71),
    ("LATIN SMALL LETTER R", 0x72),
    ("LATIN SMALL LETTER S", 0x73),
    ("LATIN SMALL LETTER T", 0x74),
    ("LATIN SMALL LETTER U", 0x75),
    ("LATIN SMALL LETTER V", 0x76),
    ("LATIN SMALL LETTER W", 0x77),
    ("LATIN SMALL LETTER X", 0x78),
    ("LATIN SMALL LETTER Y", 0x79),
    ("LATIN SMALL LETTER Z", 0x7A),
    ("LEFT CURLY BRACKET", 0x7B),
    ("LEFT PARENTHESIS", 0x28),
    ("LEFT SQUARE BRACKET", 0x5B),
    ("LESS-THAN SIGN", 0x3C),
    ("LOW LINE", 0x5F),
    ("NUMBER SIGN", 0x23),
    ("PERCENT SIGN", 0x25),
    ("PLUS SIGN", 0x2B),
    ("QUESTION MARK", 0x3F),
    ("QUOTATION MARK", 0x22),
    ("REVERSE SOLIDUS", 0x5C),
    ("RIGHT CURLY BRACKET", 0x7D),
    ("RIGHT PARENTHESIS", 0x29),
    ("RIGHT SQUARE BRACKET", 0x5D),
    ("SEMICOLON", 0x3B),
    ("SOLIDUS", 0x2F),
    ("SPACE", 0x20),
    ("TILDE", 0x7E),
    ("VERTICAL LINE", 0x7C),
];

/// The character a `\N{…}` escape names: `U+hex`, or a printable ASCII character's Unicode
/// name in any case (Python matches names ignoring case).
fn named_character(name: &[u8]) -> Option<Escaped> {
    if let [b'U' | b'u', b'+', digits @ ..] = name {
        return hex_value(digits)
            .filter(|&code| code >= 0x20)
            .and_then(Escaped::char);
    }
    let upper = name.to_ascii_uppercase();
    let index = ASCII_NAMES
        .binary_search_by(|(known, _)| known.as_bytes().cmp(&upper))
        .ok()?;
    Some(Escaped::byte(ASCII_NAMES[index].1))
}

/// What one escape stands for: a character's UTF-8 bytes, or one byte. Kept inline: the
/// classifying pass asks for it at every `\`, `%` and `&` of a window.
#[derive(Debug, Clone, Copy)]
struct Escaped {
    bytes: [u8; 4],
    len: usize,
}

impl Escaped {
    fn byte(byte: u8) -> Self {
        Self {
            bytes: [byte, 0, 0, 0],
            len: 1,
        }
    }

    fn char(code: u32) -> Option<Self> {
        let mut bytes = [0; 4];
        let len = char::from_u32(code)?.encode_utf8(&mut bytes).len();
        Some(Self { bytes, len })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

pub(super) fn hex_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    digits.iter().try_fold(0u32, |value, &digit| {
        Some(value << 4 | char::from(digit).to_digit(16)?)
    })
}

/// `line` with its escapes decoded, or None when it has none. Line breaks they spell are
/// written `\n` and `\r` (the copy keeps its lines); escapes of a quote or a backslash (`\"`,
/// `\\`) are left as they are, for the rules that expect them.
pub(super) fn unescape(line: &[u8]) -> Option<Vec<u8>> {
    // Copied a stretch at a time between the bytes that may start an escape: a minified
    // script's line can be long, and most of it holds none.
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = memchr::memchr3(b'\\', b'%', b'&', &line[at..]) {
        let start = at + found;
        if let Some((escaped, len)) = escape_at(line, start) {
            let out = out.get_or_insert_with(|| Vec::with_capacity(line.len()));
            out.extend_from_slice(&line[copied..start]);
            push_visible(out, escaped.as_bytes());
            at = start + len;
            copied = at;
            continue;
        }
        // `\\u0041` is a backslash and text, not an escape.
        at = if line[start] == b'\\' && start + 1 < line.len() {
            start + 2
        } else {
            start + 1
        };
    }
    let mut out = out?;
    out.extend_from_slice(&line[copied..]);
    Some(out)
}

/// The length of the terminal control sequence (`ESC [ 31 m`, ECMA-48's CSI: parameter bytes,
/// intermediate bytes, one final byte) `rest` starts with, if it is one. A log saved with its
/// colours holds a token as `ESC[31mghp_…ESC[0m`: the `m` glues itself to the token.
fn control_sequence_len(rest: &[u8]) -> Option<usize> {
    let body = rest.get(2..)?.iter().take(CONTROL_SEQUENCE_LONGEST);
    let mut len = 2;
    for &byte in body {
        len += 1;
        match byte {
            0x20..=0x3F => {}
            0x40..=0x7E => return Some(len),
            _ => return None,
        }
    }
    None
}

/// The longest control sequence read as one: colours and cursor moves take a few bytes.
const CONTROL_SEQUENCE_LONGEST: usize = 32;

/// The line with each terminal control sequence read as a space, if it held any.
pub(super) fn without_control_sequences(line: &[u8]) -> Option<Vec<u8>> {
    let mut at = memchr::memchr(0x1b, line)?;
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    loop {
        if let Some(len) = line
            .get(at + 1)
            .filter(|&&b| b == b'[')
            .and_then(|_| control_sequence_len(&line[at..]))
        {
            let out = out.get_or_insert_with(|| Vec::with_capacity(line.len()));
            out.extend_from_slice(&line[copied..at]);
            out.push(b' ');
            copied = at + len;
        }
        let next = at + 1;
        match memchr::memchr(0x1b, &line[next..]) {
            Some(found) => at = next + found,
            None => break,
        }
    }
    let mut out = out?;
    out.extend_from_slice(&line[copied.min(line.len())..]);
    Some(out)
}

/// A private key's markers as a form encoder writes them: `-----BEGIN+RSA+PRIVATE+KEY-----`
/// (`application/x-www-form-urlencoded` writes a space as `+`, and its `+` as `%2B`, so the
/// body's own `+` are escapes, undone already). Only the markers are mended: a `+` elsewhere
/// may be a base64 body's own. Whether any was.
pub(super) fn form_spaces_in_key_markers(line: &mut [u8]) -> bool {
    let mut mended = false;
    for marker in [&b"-----BEGIN+"[..], b"-----END+"] {
        let mut from = 0;
        while let Some(found) = memchr::memmem::find(&line[from..], marker) {
            let start = from + found + 5;
            // Up to the marker's closing dashes, within a marker's length.
            let end = (start + 60).min(line.len());
            let Some(close) = memchr::memmem::find(&line[start..end], b"-----") else {
                from = start;
                continue;
            };
            let words = &mut line[start..start + close];
            if words.contains(&b'+')
                && words
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'+' || *b == b' ')
            {
                words.iter_mut().filter(|b| **b == b'+').for_each(|b| *b = b' ');
                mended = true;
            }
            from = start + close;
        }
    }
    mended
}

/// Appends decoded bytes, line breaks as `\n`/`\r` and other control bytes as spaces. A line
/// break is followed by a space: the next line's first word starts a word, as in the text
/// (`\nghp_…` would hide a token from the rules' `\b`, `\nsecret_key=` a name).
pub(super) fn push_visible(out: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            b'\n' => out.extend_from_slice(b"\\n "),
            b'\r' => out.extend_from_slice(b"\\r "),
            b'\t' => out.push(b'\t'),
            0..=0x1F | 0x7F => out.push(b' '),
            _ => out.push(byte),
        }
    }
}

/// Whether a window reads as quoted-printable (mail, MIME parts) is told by the header that says
/// so or by `=3D` (an encoded `=`), `=20` or `=0A` in it. Only then are `=XX` and soft line
/// breaks decoded: `x=41` in code is an assignment. This is the header.
pub(super) fn says_quoted_printable(text: &[u8]) -> bool {
    memchr::memmem::find(text, b"quoted-printable").is_some()
}

/// Whether the `=` at `at` starts `=3D`, `=20` or `=0A`: in a window holding one, `=XX` is read
/// as quoted-printable (with `says_quoted_printable`, what tells a window that reads as QP).
pub(super) fn is_quoted_printable_marker(text: &[u8], at: usize) -> bool {
    matches!(text.get(at + 1..at + 3), Some(b"3D" | b"20" | b"0A"))
}

/// Offsets of quoted-printable escapes and soft line breaks (in a window that reads as QP).
pub(super) fn quoted_printable_starts(text: &[u8], at: &mut Vec<usize>) {
    for found in memchr::memchr_iter(b'=', text) {
        let rest = &text[found + 1..];
        let soft_break = rest.starts_with(b"\n") || rest.starts_with(b"\r\n");
        if soft_break || quoted_printable_byte(rest).is_some() {
            at.push(found);
        }
    }
}

/// The byte `=XX` stands for (`XX` two upper-case hex digits, as QP writes them).
fn quoted_printable_byte(after_equals: &[u8]) -> Option<u8> {
    match after_equals {
        [b'0'..=b'9' | b'A'..=b'F', b'0'..=b'9' | b'A'..=b'F', ..] => {
            hex_value(&after_equals[..2]).map(|value| value as u8)
        }
        _ => None,
    }
}

/// `line` with its `=XX` escapes decoded, or None when it has none.
pub(super) fn unquote_printable(line: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(line.len());
    let mut decoded = false;
    let mut at = 0;
    while at < line.len() {
        if line[at] == b'=' {
            if let Some(byte) = quoted_printable_byte(&line[at + 1..]) {
                push_visible(&mut out, &[byte]);
                decoded = true;
                at += 3;
                continue;
            }
        }
        out.push(line[at]);
        at += 1;
    }
    decoded.then_some(out)
}

/// The line at `start` joined with the lines its soft line breaks (a final `=`) continue, at
/// most `max` more; where it ends and how many lines were joined. None when it has no soft break.
pub(super) fn soft_broken_line(text: &[u8], start: usize, max: usize) -> Option<(Vec<u8>, usize, usize)> {
    super::joined_lines(text, start, max, |line, _| line.ends_with(b"="))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unescaped(text: &str) -> String {
        String::from_utf8(unescape(text.as_bytes()).unwrap_or_else(|| text.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn the_name_tables_are_sorted_for_their_binary_search() {
        assert!(HTML_ASCII_ENTITIES
            .windows(2)
            .all(|pair| pair[0].0.as_bytes() < pair[1].0.as_bytes()));
        assert!(ASCII_NAMES.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(
            ASCII_NAMES.len(),
            0x7F - 0x20,
            "every printable ASCII character, once"
        );
        for (name, byte) in ASCII_NAMES {
            let lower = format!("\\N{{{}}}", name.to_ascii_lowercase());
            assert_eq!(unescaped(&lower).as_bytes(), [byte], "{name}");
        }
        for (name, byte) in HTML_ASCII_ENTITIES {
            assert_eq!(unescaped(&format!("&{name};")).as_bytes(), [byte], "{name}");
        }
    }

    #[test]
    fn python_css_and_html_named_escapes_are_decoded() {
        assert_eq!(unescaped("\\N{LATIN SMALL LETTER G}\\N{U+68}p"), "ghp");
        assert_eq!(
            unescaped("\\N{BULLET} \\N{NOT A NAME}"),
            "\\N{BULLET} \\N{NOT A NAME}"
        );
        assert_eq!(unescaped("\\67 \\68 \\70 \\5f x"), "ghp_x");
        assert_eq!(unescaped("\\000067\\000068 p"), "ghp");
        assert_eq!(unescaped("a&lowbar;b&period;c&unknown;"), "a_b.c&unknown;");
        // Control characters are no CSS escape: a regex's `\d `, `\b `, `\1 ` stay.
        assert_eq!(unescaped("\\d \\b \\1 "), "\\d \\b \\1 ");
        // Three octal digits stay octal.
        assert_eq!(unescaped("\\147\\150"), "gh");
    }
}
