//! Parses a patchset: the list of files a change touches, as `git diff --name-only` writes it
//! (one name per line, names with unusual bytes in git's C-style quotes) or as
//! `git diff -z --name-only` writes it (NUL-separated, never quoted). The names are raw bytes:
//! a file name need not be UTF-8. An entry that cannot be parsed is an error, never a file that
//! "does not exist": a patchset that anteater misreads would silently leave files unscanned.

use std::fmt;

/// How entries are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// One entry per line (`\n`, or `\r\n`); quoted entries are unquoted.
    Lines,
    /// Entries end with NUL bytes and are taken as they are.
    Nul,
}

impl Separator {
    /// NUL-separated when asked for, or when the list holds a NUL byte (which no line-based
    /// list can: git never writes one, and no file name contains one).
    pub fn detect(bytes: &[u8], nul_requested: bool) -> Self {
        if nul_requested || bytes.contains(&0) {
            Separator::Nul
        } else {
            Separator::Lines
        }
    }
}

/// One listed file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number (or entry number, for NUL-separated lists).
    pub number: usize,
    /// The name, unquoted.
    pub name: Vec<u8>,
}

/// An entry that is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub number: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {}: {}", self.number, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// Every entry of `bytes`, in order. Empty entries (blank lines, a trailing separator) are
/// skipped.
pub fn parse(bytes: &[u8], separator: Separator) -> Result<Vec<Entry>, ParseError> {
    let mut entries = Vec::new();
    match separator {
        Separator::Nul => {
            for (index, field) in bytes.split(|&b| b == 0).enumerate() {
                // A list written by hand or by `printf '%s\0'` may end with a newline.
                if field.is_empty() || field == b"\n" {
                    continue;
                }
                entries.push(Entry {
                    number: index + 1,
                    name: field.to_vec(),
                });
            }
        }
        Separator::Lines => {
            for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let number = index + 1;
                let name = if line.first() == Some(&b'"') {
                    unquote(line).map_err(|reason| ParseError { number, reason })?
                } else {
                    line.to_vec()
                };
                if name.is_empty() {
                    return Err(ParseError {
                        number,
                        reason: "an empty quoted name".into(),
                    });
                }
                if name.contains(&0) {
                    return Err(ParseError {
                        number,
                        reason: "a name with a NUL byte".into(),
                    });
                }
                entries.push(Entry { number, name });
            }
        }
    }
    Ok(entries)
}

/// Undoes git's C-style quoting (`quote_c_style` in git's quote.c): the whole entry is in double
/// quotes; `\a \b \t \n \v \f \r \" \\` and three-digit octal escapes (`\303\251`) stand for
/// bytes. Anything else (an unknown escape, a short octal escape, text after the closing quote)
/// is an error.
pub fn unquote(quoted: &[u8]) -> Result<Vec<u8>, String> {
    let Some(inner) = quoted.strip_prefix(b"\"") else {
        return Err("a quoted name must start with `\"`".into());
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut rest = inner.iter().copied().enumerate();
    while let Some((at, byte)) = rest.next() {
        match byte {
            b'"' => {
                if at + 1 != inner.len() {
                    return Err("text after the closing quote".into());
                }
                return Ok(out);
            }
            b'\\' => {
                let Some((_, escape)) = rest.next() else {
                    return Err("a quoted name ends in the middle of an escape".into());
                };
                let value = match escape {
                    b'a' => 0x07,
                    b'b' => 0x08,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'v' => 0x0b,
                    b'f' => 0x0c,
                    b'r' => b'\r',
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'0'..=b'3' => {
                        let mut value = u32::from(escape - b'0');
                        for _ in 0..2 {
                            match rest.next() {
                                Some((_, digit @ b'0'..=b'7')) => value = value * 8 + u32::from(digit - b'0'),
                                _ => return Err("an octal escape needs three digits (\\303)".into()),
                            }
                        }
                        value as u8
                    }
                    other => {
                        return Err(format!(
                            "unknown escape `\\{}` in a quoted name",
                            crate::redact::escape(&String::from_utf8_lossy(&[other]))
                        ))
                    }
                };
                out.push(value);
            }
            other => out.push(other),
        }
    }
    Err("a quoted name has no closing quote".into())
}

/// Quotes `name` the way git does with `core.quotePath` on (its default): only when it holds a
/// byte below 0x20, `"`, `\`, DEL or a non-ASCII byte. Used by the tests to check round trips.
#[cfg(test)]
pub fn git_quote(name: &[u8]) -> Vec<u8> {
    let needs_quoting = |b: u8| b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f || b >= 0x80;
    if !name.iter().any(|&b| needs_quoting(b)) {
        return name.to_vec();
    }
    let mut out = vec![b'"'];
    for &b in name {
        match b {
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0b => out.extend_from_slice(b"\\v"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b if needs_quoting(b) => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
            b => out.push(b),
        }
    }
    out.push(b'"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(list: &[u8], separator: Separator) -> Vec<Vec<u8>> {
        parse(list, separator)
            .unwrap()
            .into_iter()
            .map(|entry| entry.name)
            .collect()
    }

    #[test]
    fn quoted_names_are_unquoted() {
        let list = b"plain.py\n\"caf\\303\\251.py\"\n\"tab\\there\"\r\n\n\"q\\\"uote\\\\\"\n";
        assert_eq!(
            names(list, Separator::Lines),
            vec![
                b"plain.py".to_vec(),
                "café.py".as_bytes().to_vec(),
                b"tab\there".to_vec(),
                b"q\"uote\\".to_vec(),
            ]
        );
    }

    #[test]
    fn nul_separated_lists_are_taken_as_written() {
        let list = "a b.txt\0\"quoted\".txt\0café.py\0\n";
        assert_eq!(Separator::detect(list.as_bytes(), false), Separator::Nul);
        assert_eq!(
            names(list.as_bytes(), Separator::Nul),
            vec![
                b"a b.txt".to_vec(),
                b"\"quoted\".txt".to_vec(),
                "café.py".as_bytes().to_vec()
            ]
        );
    }

    #[test]
    fn malformed_quoting_is_an_error_with_its_line() {
        for (list, reason) in [
            (&b"ok\n\"unterminated\n"[..], "no closing quote"),
            (b"ok\n\"bad \\q escape\"\n", "unknown escape"),
            (b"\"short \\30\"\n", "three digits"),
            (b"\"x\" trailing\n", "after the closing quote"),
            (b"\"\"\n", "empty quoted name"),
            (b"\"nul \\000\"\n", "NUL"),
            (b"\"ends in \\", "middle of an escape"),
        ] {
            let err = parse(list, Separator::Lines).unwrap_err();
            assert!(err.reason.contains(reason), "{list:?}: {err}");
        }
        assert_eq!(parse(b"ok\n\"x\n", Separator::Lines).unwrap_err().number, 2);
    }

    // The fuzz stand-in for the patchset parser: arbitrary input never panics, and every name git
    // can write comes back unchanged from its quoted form. 512 cases each keep it under a second.
    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256), nul in any::<bool>()) {
            let separator = Separator::detect(&bytes, nul);
            let _ = parse(&bytes, separator);
            let _ = parse(&bytes, Separator::Lines);
            let _ = unquote(&bytes);
        }

        #[test]
        fn git_quoted_names_round_trip(
            names_in in proptest::collection::vec(
                proptest::collection::vec(any::<u8>().prop_filter("no NUL", |b| *b != 0), 1..40)
                    .prop_filter("not blank", |name| !name.iter().all(u8::is_ascii_whitespace)),
                1..8,
            )
        ) {
            let mut list = Vec::new();
            for name in &names_in {
                list.extend(git_quote(name));
                list.push(b'\n');
            }
            let parsed = names(&list, Separator::Lines);
            prop_assert_eq!(&parsed, &names_in);

            let mut list = Vec::new();
            for name in &names_in {
                list.extend_from_slice(name);
                list.push(0);
            }
            // A name that is only a newline is indistinguishable from a trailing newline.
            let expected: Vec<Vec<u8>> = names_in.iter().filter(|n| n.as_slice() != b"\n").cloned().collect();
            prop_assert_eq!(names(&list, Separator::Nul), expected);
        }
    }
}
