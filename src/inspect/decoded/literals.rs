//! A token cut into string literals and glued back by the language: `"AKIA" + "…"`, PHP's
//! `.`, Lua's `..`, SQL's `||`, VB's `&`, D's `~`, with line breaks named between them (`||
//! CHR(10) ||`, `& vbCrLf &`), adjacent literals (`"ghp_" "…"` in C, Python
//! and Go), and the same continued over lines (a trailing operator or `\`, or a literal ending
//! one line and another starting the next: C's and Python's implicit concatenation, as Black
//! writes a long string inside parentheses).

use super::classes::Masks;

pub(super) const QUOTES: [u8; 3] = [b'"', b'\'', b'`'];

/// The operator between two literals at the start of `bytes`, and its length.
fn operator(bytes: &[u8]) -> usize {
    match bytes {
        [b'.', b'.', ..] | [b'|', b'|', ..] => 2,
        [b'+' | b'.' | b'&' | b'~', ..] => 1,
        _ => 0,
    }
}

/// Line breaks a language writes by name between two literals, lowercase: SQL's `CHR(10)` and
/// `CHAR(13)`, VB's `vbCrLf`, .NET's `Environment.NewLine`, PHP's `PHP_EOL`. A key written
/// line by line (`'-----BEGIN…' || CHR(10) || 'MIIE…'`) is joined across them.
const LINE_BREAK_NAMES: [&[u8]; 11] = [
    b"chr(10)",
    b"chr(13)",
    b"char(10)",
    b"char(13)",
    b"nchar(10)",
    b"nchar(13)",
    b"vbcrlf",
    b"vblf",
    b"vbnewline",
    b"environment.newline",
    b"php_eol",
];

/// The length of the line break named at the start of `bytes` (see `LINE_BREAK_NAMES`), or 0.
fn line_break_name(bytes: &[u8]) -> usize {
    LINE_BREAK_NAMES
        .iter()
        .find(|name| {
            bytes
                .get(..name.len())
                .is_some_and(|text| text.eq_ignore_ascii_case(name))
        })
        .map_or(0, |name| name.len())
}

/// Past the line breaks named between two operators after a literal (`|| CHR(13) || CHR(10)
/// ||`), from `at`, the first byte after the first operator and its spaces: where the glue goes
/// on, and how many line breaks were named. Nothing is passed when no operator follows a name.
fn past_line_breaks(bytes: &[u8], mut at: usize) -> (usize, usize) {
    let mut breaks = 0;
    loop {
        let name = line_break_name(&bytes[at..]);
        if name == 0 {
            return (at, breaks);
        }
        let after = skip_spaces(bytes, at + name);
        let op = operator(&bytes[after..]);
        if op == 0 {
            return (at, breaks);
        }
        at = skip_spaces(bytes, after + op);
        breaks += 1;
    }
}

fn skip_spaces(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t') {
        at += 1;
    }
    at
}

/// Where the glue after a closing quote at `at` ends (the next literal's opening quote), if a
/// literal of the same quote follows: an operator between them (a comma too, in a list that
/// is joined: `commas`), or at least a space; and how many line breaks the glue names
/// (`|| CHR(10) ||`).
fn glue_end(bytes: &[u8], at: usize, commas: bool) -> Option<(usize, usize)> {
    let quote = bytes[at];
    let after = skip_spaces(bytes, at + 1);
    let op = match operator(&bytes[after..]) {
        0 if commas && bytes.get(after) == Some(&b',') => 1,
        op => op,
    };
    let (next, breaks) = match op {
        0 => (skip_spaces(bytes, after), 0),
        _ => past_line_breaks(bytes, skip_spaces(bytes, after + op)),
    };
    let spaced = after > at + 1 || next > after + op;
    let next = next + literal_prefix(&bytes[next..]);
    let opens = bytes.get(next).copied().filter(|b| QUOTES.contains(b))?;
    // Literals of one quote are glued by an operator or spaces. Right after a closing quote,
    // another quote glues only between word characters, as a shell reads a word going on
    // (`"ghp_"'…'`, `"ghp_""…"`): elsewhere it is an escaped quote (`'it''s'`, CSV's `""`), a
    // triple quote, or a string inside another (a Go struct tag's `"name"` before its closing
    // backtick).
    let adjacent = op == 0 && !spaced;
    let glued = if adjacent {
        at > 0 && is_word(bytes[at - 1]) && bytes.get(next + 1).copied().is_some_and(is_word)
    } else {
        opens == quote
    };
    glued.then_some((next, breaks))
}

/// Whether the quote at `at` opens an empty literal inside a word (`ghp_''…`, `ab""cd`), which
/// a shell reads as nothing: the word's two halves are one.
fn empty_inside_a_word(bytes: &[u8], at: usize) -> bool {
    at > 0
        && bytes.get(at + 1) == Some(&bytes[at])
        && is_word(bytes[at - 1])
        && bytes.get(at + 2).copied().is_some_and(is_word)
}

/// A byte of a token's word (a base64 value's included).
fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'+' | b'/')
}

/// A string prefix such as Python's `f`, `b`, `r` or C's `L`, `u8` before a quote.
fn literal_prefix(bytes: &[u8]) -> usize {
    let len = bytes
        .iter()
        .take(3)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let is_prefix = len <= 2
        && bytes.get(len).is_some_and(|b| QUOTES.contains(b))
        && bytes[..len].iter().all(|b| {
            matches!(
                b,
                b'f' | b'F' | b'b' | b'B' | b'r' | b'R' | b'u' | b'U' | b'L' | b'8'
            )
        });
    if is_prefix {
        len
    } else {
        0
    }
}

/// The quotes of a chunk that close a literal glued to the next one, on its line or the next
/// (bits of the chunk at `base`). Only quotes whose next byte past spaces may be glue are
/// looked at: most quotes are followed by a letter, a comma, a colon or a bracket.
#[inline]
pub(super) fn glue_hits(text: &[u8], base: usize, masks: &Masks) -> u64 {
    if masks.quote == 0 {
        return 0;
    }
    // Adding the bit after each quote to the space mask carries it over the spaces that follow:
    // the sum has the first byte past them set.
    let (sum, carried) = masks.space.overflowing_add(masks.quote << 1);
    let mut glued_next = sum & !masks.space & masks.glue;
    let mut candidates = 0u64;
    while glued_next != 0 {
        let bit = glued_next.trailing_zeros();
        let quotes_before = masks.quote & ((1u64 << bit) - 1);
        candidates |= 1 << (63 - quotes_before.leading_zeros());
        glued_next &= glued_next - 1;
    }
    // The chunk's last quote, when what follows it is in the next chunk.
    if carried || masks.quote >> 63 != 0 {
        candidates |= 1 << (63 - masks.quote.leading_zeros());
    }
    super::encodings::hits_where(candidates, |bit| glues(text, base + bit))
}

/// Whether the quote at `found` closes a literal that another joins, on its line or the next.
fn glues(text: &[u8], found: usize) -> bool {
    let next = skip_spaces(text, found + 1);
    let glue = [
        b'\r', b'\n', b'\\', b'+', b'.', b'&', b'|', b'~', b'"', b'\'', b'`',
    ];
    text.get(next).is_some_and(|b| glue.contains(b))
        && (glue_end(text, found, false).is_some()
            || continues(text, found).is_some()
            || empty_inside_a_word(text, found))
}

/// Where the next line's literal starts, when the literal closing at `at` is continued on it:
/// `"…" +` or `"…" \` ending the line, or the next line starting with an operator and a
/// literal (or with a literal, after a literal ending this one).
fn continues(text: &[u8], at: usize) -> Option<usize> {
    let quote = text[at];
    let after = skip_spaces(text, at + 1);
    let op = operator(&text[after..]);
    let mut end = match op {
        0 => skip_spaces(text, after),
        _ => past_line_breaks(text, skip_spaces(text, after + op)).0,
    };
    // A line continued by `\` (C's macros, Python, shells), or after a space by PowerShell's
    // backtick or VB's `_` (`"…" + \``, `"…" & _`).
    let marker = match text.get(end) {
        Some(b'\\') => op == 0,
        Some(b'`' | b'_') => matches!(text[end - 1], b' ' | b'\t'),
        _ => false,
    };
    if marker {
        end += 1;
    }
    if text.get(end) == Some(&b'\r') {
        end += 1;
    }
    if text.get(end) != Some(&b'\n') {
        return None;
    }
    let next = skip_spaces(text, end + 1);
    let next_op = if op == 0 && !marker {
        operator(&text[next..])
    } else {
        0
    };
    let literal = skip_spaces(text, next + next_op);
    let literal = literal + literal_prefix(&text[literal..]);
    // A literal ending one line and another starting the next join (C and Python concatenate
    // them, inside parentheses or not); lists of lines (`"a",`) never do, the comma ends the
    // first line's literal.
    (text.get(literal) == Some(&quote)).then_some(literal)
}

/// The line starting at `start` with the lines that continue its literals (at most `max`
/// more), joined by spaces with continuation backslashes dropped; where that text ends in
/// `text`, and how many lines were added.
pub(super) fn logical_line(text: &[u8], start: usize, max: usize) -> (Vec<u8>, usize, usize) {
    let mut end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |nl| start + nl);
    let mut continued = 0;
    while continued < max && end < text.len() {
        let line = without_marker(&text[start..end]);
        let Some(last_quote) = line.iter().rposition(|b| QUOTES.contains(b)) else {
            break;
        };
        if continues(text, start + last_quote).is_none() {
            break;
        }
        end = memchr::memchr(b'\n', &text[end + 1..]).map_or(text.len(), |nl| end + 1 + nl);
        continued += 1;
    }
    let mut logical = Vec::with_capacity(end - start);
    for (index, part) in text[start..end].split(|&b| b == b'\n').enumerate() {
        if index > 0 {
            logical.push(b' ');
        }
        let part = part.strip_suffix(b"\r").unwrap_or(part);
        let part = if index < continued {
            without_marker(part)
        } else {
            part
        };
        logical.extend_from_slice(part);
    }
    (logical, end, continued)
}

/// `line` without the marker that continues it on the next (`\`, or after a space PowerShell's
/// backtick or VB's `_`) and the spaces around it.
fn without_marker(line: &[u8]) -> &[u8] {
    let trimmed = line.trim_ascii_end();
    match trimmed {
        [rest @ .., b'\\'] => rest,
        [rest @ .., b' ' | b'\t', b'`' | b'_'] => rest,
        _ => line,
    }
}

/// The line starting at `start` joined with the lines that continue a word it ends in (at most
/// `max` more): a shell, a Dockerfile or C drop a backslash before a line break, so `ghp_…\`
/// and a next line starting with the rest (at its first column) are one word. Where that text
/// ends, and how many lines were joined; None when the line does not end so.
pub(super) fn continued_word(text: &[u8], start: usize, max: usize) -> Option<(Vec<u8>, usize, usize)> {
    super::joined_lines(text, start, max, |line, from| {
        !line.is_empty() && word_continues(text, from + line.len() - 1)
    })
}

/// Whether the byte at `at` is a backslash that ends its line inside a word: a word byte before
/// it, and one opening the next line.
pub(super) fn word_continues(text: &[u8], at: usize) -> bool {
    if text.get(at) != Some(&b'\\') || at == 0 || !is_word(text[at - 1]) {
        return false;
    }
    let after = match text.get(at + 1..) {
        Some([b'\r', b'\n', ..]) => at + 3,
        Some([b'\n', ..]) => at + 2,
        _ => return false,
    };
    text.get(after).copied().is_some_and(is_word)
}

/// The quoted literals of `line`, quotes included, left to right (a backslash escapes the
/// next byte inside one; a literal left open at the line's end is none).
pub(super) fn quoted(line: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let mut open: Option<(u8, usize)> = None;
        while at < line.len() {
            let byte = line[at];
            at += 1;
            match open {
                Some(_) if byte == b'\\' => at += 1,
                Some((quote, start)) if byte == quote => return Some(start..at),
                None if QUOTES.contains(&byte) => open = Some((byte, at - 1)),
                _ => {}
            }
        }
        None
    })
}

/// `line` with its glued literals made one, or None when none are glued. Literals are read
/// left to right (a backslash escapes the next byte), so glue is only ever taken between a
/// literal's closing quote and the next one's opening quote.
pub(super) fn join(line: &[u8]) -> Option<Vec<u8>> {
    join_with(line, false)
}

/// `line` with the literals of its comma-separated lists made one, as a join call makes them
/// (the caller knows the line joins a list: in any other line a list is data).
pub(super) fn join_list(line: &[u8]) -> Option<Vec<u8>> {
    join_with(line, true)
}

fn join_with(line: &[u8], commas: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(line.len());
    let mut joined = false;
    let mut at = 0;
    let mut inside: Option<u8> = None;
    // The quote the literal being read opened with (joined literals close with it).
    let mut opened = b'"';
    while at < line.len() {
        let byte = line[at];
        match inside {
            None if QUOTES.contains(&byte) && empty_inside_a_word(line, at) => {
                joined = true;
                at += 2;
            }
            None => {
                if QUOTES.contains(&byte) {
                    inside = Some(byte);
                    opened = byte;
                }
                out.push(byte);
                at += 1;
            }
            Some(_) if byte == b'\\' => {
                out.extend_from_slice(&line[at..(at + 2).min(line.len())]);
                at += 2;
            }
            Some(quote) if byte == quote => match glue_end(line, at, commas) {
                Some((next, breaks)) => {
                    // Read on to the next literal's own closing quote, whichever it is; the
                    // joined literal closes with the quote it opened with.
                    joined = true;
                    out.resize(out.len() + breaks, b'\n');
                    inside = Some(line[next]);
                    at = next + 1;
                }
                None => {
                    inside = None;
                    out.push(opened);
                    at += 1;
                }
            },
            Some(_) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    joined.then_some(out)
}
