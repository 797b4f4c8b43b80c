//! A string assembled at run time from parts a scanner never sees in a row: a list of literals
//! joined (`"".join(["ghp_", "…"])`, `["ghp_", "…"].join("")`, `String.join("", "ghp_", "…")`,
//! `concat("ghp_", "…")`), character codes (`String.fromCharCode(103, 104, …)`,
//! `bytes([103, 104, …])`, `new char[] {'g', 'h', …}`, `chr(103) + chr(104)`, PowerShell's
//! `[char]103`), or literals placed side by side by a format call (`Sprintf("%s%s", "ghp_",
//! "…")`). Only a line that calls such an assembler is read this way: a list of literals or of
//! numbers alone is data, and gluing it would invent text.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use super::literals::QUOTES;

/// The calls that assemble a string from a list or from character codes.
const ASSEMBLERS: [&str; 25] = [
    "join(",
    "Join(",
    "concat(",
    "Concat(",
    "CONCAT(",
    "CONCATENATE(",
    "fromCharCode(",
    "char[]",
    "bytes(",
    "bytearray(",
    "[]byte{",
    "[]rune{",
    "byte[]",
    "chr(",
    "Chr(",
    "ChrW(",
    "[char]",
    // SQL's `CHAR(103) + …`, Lua's `string.char(103, …)`.
    "char(",
    "CHAR(",
    // Ruby's and Perl's `[103, …].pack("c*")`, `pack("C*", 103, …)`.
    "pack(",
    // Rust's `String::from_utf8(vec![…])`, Node's `Buffer.from([…])`, Kotlin's `byteArrayOf(…)`.
    "from_utf8(",
    "from([",
    "ArrayOf(",
    // A C or C++ array of characters initialised from codes: `char key[] = {0x67, …}`.
    "] = {",
    "]={",
];

/// The fewest character codes read as text: shorter lists are version numbers, colours and
/// coordinates, and no token is this short.
const MIN_CODES: usize = 8;

fn assemblers() -> &'static AhoCorasick {
    static FINDER: OnceLock<AhoCorasick> = OnceLock::new();
    FINDER.get_or_init(|| AhoCorasick::new(ASSEMBLERS.iter().chain(&FORMATTERS)).expect("assembler patterns"))
}

/// The brackets of a chunk (bits of the chunk at `base`) that end an assembler's name. Checked
/// bracket by bracket from the classifying pass: a search for the names themselves would cost
/// a third of the scan, since their first letters (`con`, `byt`, `cha`) begin half of Go.
#[inline]
pub(super) fn call_hits(text: &[u8], base: usize, brackets: u64) -> u64 {
    super::encodings::hits_where(brackets, |bit| {
        let end = base + bit + 1;
        let before = &text[..end];
        if end < 2 {
            return false;
        }
        // Every assembler's name ends in one of these before its bracket; a space or `=` before
        // a `{` (every block of C-like code has one) is asked only for the array initialisers.
        match before[end - 2] {
            b' ' | b'=' => before.ends_with(b"] = {") || before.ends_with(b"]={"),
            b'n' | b't' | b'T' | b'e' | b'E' | b's' | b'y' | b'r' | b'R' | b'W' | b'[' | b'k' | b'8'
            | b'm' | b'f' => {
                ASSEMBLERS.iter().any(|name| before.ends_with(name.as_bytes()))
                    || (FORMATTERS.iter().any(|name| before.ends_with(name.as_bytes()))
                        && only_places_its_arguments(text, end))
            }
            _ => false,
        }
    })
}

/// Whether the format call whose bracket ends at `end` has a format string of placeholders
/// alone, right after the bracket (`Sprintf("%s%s", …)`) or right before its name
/// (`"{}{}".format(…)`): most format calls (`Sprintf("%d items", n)`, every Go file has some)
/// are left to the plain view.
fn only_places_its_arguments(text: &[u8], end: usize) -> bool {
    let after = &text[end..text.len().min(end + 40)];
    let before = &text[end.saturating_sub(48)..end];
    let after = after.trim_ascii_start();
    let first = after.first().filter(|b| QUOTES.contains(b)).and_then(|quote| {
        after[1..]
            .iter()
            .position(|b| b == quote)
            .map(|close| &after[1..1 + close])
    });
    let preceding = before.strip_suffix(b".format(").and_then(|head| {
        let quote = *head.last()?;
        QUOTES.contains(&quote).then_some(())?;
        let open = head[..head.len() - 1].iter().rposition(|&b| b == quote)?;
        Some(&head[open + 1..head.len() - 1])
    });
    first.is_some_and(only_placeholders) || preceding.is_some_and(only_placeholders)
}

/// Whether a format string's text is placeholders alone (`%s%s`, `{}{}`, `{0}{1}`), at least two.
fn only_placeholders(inner: &[u8]) -> bool {
    let mut rest = inner;
    while !rest.is_empty() {
        rest = match rest {
            [b'%', b's' | b'v' | b'd', tail @ ..] | [b'{', b'}', tail @ ..] => tail,
            [b'{', b'0'..=b'9', b'}', tail @ ..] => tail,
            _ => return false,
        };
    }
    inner.len() >= 4
}

/// The line starting at `start`, with the lines after it while an assembler's brackets opened
/// on it stay open (at most `max` more), joined by spaces; where that text ends, and how many
/// lines were added. A list written one part per line is read as one line.
pub(super) fn logical_line(text: &[u8], start: usize, max: usize) -> Option<(Vec<u8>, usize, usize)> {
    let first_end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |nl| start + nl);
    let call = assemblers().find(&text[start..first_end])?;
    // Codes a line that the dump reader reads (`xxd -i`'s twelve `0x` codes a line) are read
    // there, as many lines as it takes: six would cut a token off.
    let next_end =
        memchr::memchr(b'\n', text.get(first_end + 1..)?).map_or(text.len(), |nl| first_end + 1 + nl);
    if super::dumps::opens_a_dump(&text[first_end + 1..next_end]) {
        return None;
    }
    let mut depth = 0i32;
    let mut end = first_end;
    // An array initialiser's match starts at its declarator's `]`, which no bracket here opens.
    let mut line_from = start + call.start() + usize::from(text[start + call.start()] == b']');
    let mut continued = 0;
    loop {
        depth += text[line_from..end]
            .iter()
            .map(|b| match b {
                b'(' | b'[' | b'{' => 1,
                b')' | b']' | b'}' => -1,
                _ => 0,
            })
            .sum::<i32>();
        if depth <= 0 || continued == max || end >= text.len() {
            break;
        }
        line_from = end + 1;
        end = memchr::memchr(b'\n', &text[line_from..]).map_or(text.len(), |nl| line_from + nl);
        continued += 1;
    }
    if continued == 0 {
        return None;
    }
    let logical = text[start..end]
        .split(|&b| b == b'\n')
        .map(|part| part.strip_suffix(b"\r").unwrap_or(part).trim_ascii())
        .collect::<Vec<_>>()
        .join(&b' ');
    Some((logical, end, continued))
}

/// `line` with its assembled strings written as the literal they make, or None when it calls no
/// assembler or assembles nothing. When the line assigns the result (`aws_secret = "".join(…)`),
/// `NAME = "literal"` follows, so that rules knowing a secret by its name see it assigned.
pub(super) fn assemble(line: &[u8]) -> Option<Vec<u8>> {
    assemblers().find(line)?;
    let without_template = without_placeholder_template(line);
    let line = without_template.as_deref().unwrap_or(line);
    let joined = super::literals::join_list(line);
    let current = joined.as_deref().unwrap_or(line);
    let mut assembled = char_codes(current).or(joined)?;
    append_assignment(line, &mut assembled);
    Some(assembled)
}

/// `line` without the format string of a call that only places its arguments side by side
/// (`Sprintf("%s%s", "ghp_", "…")`, `String.format("%s%s", …)`, `"{}{}".format(…)` is read by
/// its arguments alone), or None when it has none: the arguments are then a list joined.
fn without_placeholder_template(line: &[u8]) -> Option<Vec<u8>> {
    let template = super::literals::quoted(line).find(|literal| {
        let before = line[..literal.start].trim_ascii_end();
        only_placeholders(&line[literal.start + 1..literal.end - 1])
            && FORMATTERS.iter().any(|name| before.ends_with(name.as_bytes()))
            && line[literal.end..].trim_ascii_start().starts_with(b",")
    })?;
    let comma = template.end + line[template.end..].iter().position(|&b| b == b',')?;
    let mut out = line[..template.start].to_vec();
    out.extend_from_slice(line[comma + 1..].trim_ascii_start());
    Some(out)
}

/// The calls whose first argument is a format string (Python's `str.format` has it before).
const FORMATTERS: [&str; 3] = ["format(", "Sprintf(", "sprintf("];

/// When `line` assigns to a name, appends `\tNAME = "literal"` to its reading `read`, with the
/// longest literal of the reading: the value a call (`"".join(…)`, `"…"[::-1]`) makes, as an
/// assignment the rules that know a secret by its name can see.
pub(super) fn append_assignment(line: &[u8], read: &mut Vec<u8>) {
    let Some(name) = assigned_name(line) else {
        return;
    };
    if let Some(literal) = longest_literal(read) {
        let literal = read[literal].to_vec();
        read.push(b'\t');
        read.extend_from_slice(name);
        read.extend_from_slice(b" = ");
        read.extend_from_slice(&literal);
    }
}

/// The name a line assigns to first (`name = `, `name := `, `"name": `, `$name = `).
fn assigned_name(line: &[u8]) -> Option<&[u8]> {
    static ASSIGNED: OnceLock<regex::bytes::Regex> = OnceLock::new();
    let assigned = ASSIGNED.get_or_init(|| {
        regex::bytes::Regex::new(r#"(?-u)([A-Za-z_][A-Za-z0-9_]*)["']?\s*(?::=|=|:)[^=]"#)
            .expect("assignment pattern")
    });
    assigned
        .captures(line)
        .and_then(|found| found.get(1))
        .map(|name| name.as_bytes())
}

/// The longest quoted literal of `line`, quotes included (the assembled one: the parts it was
/// made of are gone).
fn longest_literal(line: &[u8]) -> Option<std::ops::Range<usize>> {
    super::literals::quoted(line)
        .reduce(|longest, quoted| {
            if quoted.len() > longest.len() {
                quoted
            } else {
                longest
            }
        })
        .filter(|quoted| quoted.len() >= MIN_CODES + 2)
}

/// One item of a list of character codes: a decimal, `0x` or octal (`0147`) number, or a
/// one-character literal.
fn code_at(line: &[u8], at: usize) -> Option<(u8, usize)> {
    let rest = &line[at..];
    if at > 0 && (line[at - 1].is_ascii_alphanumeric() || line[at - 1] == b'_') {
        return None; // Inside a word: `x2`, `utf8`.
    }
    let (value, len) = match rest {
        [b'\'', c, b'\'', ..] => (u32::from(*c), 3),
        [b'0', b'x' | b'X', ..] => {
            let digits = rest[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            let value = super::escapes::hex_value(&rest[2..2 + digits.min(4)])?;
            (value, 2 + digits)
        }
        // C's octal: `0147` is a `g`.
        [b'0', b'0'..=b'7', ..] => {
            let digits = rest[1..].iter().take_while(|b| (b'0'..=b'7').contains(b)).count();
            let value = rest[1..1 + digits.min(4)]
                .iter()
                .fold(0u32, |value, digit| value << 3 | u32::from(digit - b'0'));
            (value, 1 + digits)
        }
        [b'0'..=b'9', ..] => {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let value = std::str::from_utf8(&rest[..digits.min(4)]).ok()?.parse().ok()?;
            (value, digits)
        }
        _ => return None,
    };
    let ends_word = rest
        .get(len)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.');
    (!ends_word && (0x20..0x7f).contains(&value)).then_some((value as u8, len))
}

/// Where the next code starts after a separator at `at`: commas, spaces, operators, brackets
/// and the names that convert a code (`chr`, `Chr`, `ChrW`, `char`, `CHAR`, `[char]`) between
/// two codes.
fn next_code(line: &[u8], mut at: usize) -> usize {
    loop {
        // `.` joins PHP's and Perl's `chr(103).chr(104)`, `&` VB's, `||` SQL's, `~` D's.
        while at < line.len() && b" \t,+()[]{}.&|~".contains(&line[at]) {
            at += 1;
        }
        let word = line[at..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
        if word > 0
            && matches!(
                &line[at..at + word],
                b"chr" | b"Chr" | b"ChrW" | b"char" | b"CHAR"
            )
        {
            at += word;
            continue;
        }
        return at;
    }
}

/// `line` with each run of at least `MIN_CODES` printable character codes written as the quoted
/// text they spell, or None when it holds none.
fn char_codes(line: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(line.len());
    let mut copied = 0;
    let mut at = 0;
    let mut found = false;
    while at < line.len() {
        let Some((first, len)) = code_at(line, at) else {
            at += 1;
            continue;
        };
        let mut spelled = vec![first];
        let mut end = at + len;
        loop {
            let next = next_code(line, end);
            let Some((code, len)) = (next > end).then(|| code_at(line, next)).flatten() else {
                break;
            };
            spelled.push(code);
            end = next + len;
        }
        if spelled.len() >= MIN_CODES {
            out.extend_from_slice(&line[copied..at]);
            out.push(b'"');
            out.extend_from_slice(&spelled);
            out.push(b'"');
            copied = end;
            found = true;
        }
        at = end;
    }
    found.then(|| {
        out.extend_from_slice(&line[copied..]);
        out
    })
}
