//! Secrets stored reversed or in rot13 and turned back at run time: `"…"[::-1]`,
//! `strrev("…")`, `"…".split("").reverse().join("")`, `codecs.decode("…", "rot13")`,
//! `str_rot13("…")`, `tr 'A-Za-z' 'N-ZA-Mn-za-m'`. Two things tell such a line:
//! - the line names the transform: each of its string literals is read transformed;
//! - a long run of token characters that, read transformed, starts like a token of a provider
//!   whose tokens carry a prefix (`AKIA`, `ghp_`, `xoxb-`, `sk_live_`, …): that run is read
//!   transformed wherever the transform is written, even in another file.
//!
//! A transformed literal never replaces the line as written (which the rules search anyway);
//! it only adds a reading of it.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

use super::classes::Masks;
use super::encodings::hits_where;
use super::Undone;

/// Prefixes of tokens that say whose they are, at least four characters of the run alphabet
/// (letters, digits, `_ - + /`) each: a run that starts with one of them when reversed or in
/// rot13 is a token so written.
const TOKEN_PREFIXES: [&[u8]; 36] = [
    b"AKIA",
    b"ASIA",
    b"ABIA",
    b"ACCA",
    b"AGPA",
    b"AIDA",
    b"AROA",
    b"ANPA",
    b"ANVA",
    b"APKA",
    b"ghp_",
    b"gho_",
    b"ghu_",
    b"ghs_",
    b"ghr_",
    b"github_pat_",
    b"glpat-",
    b"glptt-",
    b"gldt-",
    b"glrt-",
    b"xoxb-",
    b"xoxp-",
    b"xoxa-",
    b"xoxe-",
    b"xoxr-",
    b"xoxs-",
    b"xapp-",
    b"sk_live_",
    b"rk_live_",
    b"AIza",
    b"sk-proj-",
    b"sk-ant-",
    b"npm_",
    b"pypi-",
    b"dop_v1_",
    b"shpat_",
];

/// What a line names, as the transforms it applies to its literals.
const NAMES: [(&str, Undone); 9] = [
    ("[::-1]", Undone::REVERSED),
    ("reverse", Undone::REVERSED),
    ("strrev", Undone::REVERSED),
    ("rev <<<", Undone::REVERSED),
    ("rot13", Undone::ROT13),
    ("rot_13", Undone::ROT13),
    ("rot-13", Undone::ROT13),
    ("N-ZA-Mn-za-m", Undone::ROT13),
    ("n-za-mN-ZA-M", Undone::ROT13),
];

fn names() -> &'static AhoCorasick {
    static FINDER: OnceLock<AhoCorasick> = OnceLock::new();
    FINDER.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(NAMES.iter().map(|(name, _)| name))
            .expect("transform names")
    })
}

/// The fewest characters a literal needs to be read transformed: shorter ones are words.
const MIN_LITERAL: usize = 8;

/// The bytes of a chunk (bits of the chunk at `base`) that end or hold a transform's name:
/// the `v` of `reverse`/`strrev`/`rev`, the `]` of `[::-1]`, a quote or `(` right after
/// `rot13` or after `tr`'s rot13 alphabet. Checked from the classifying pass's masks (`vee`,
/// `bracket`, `quote`), as the assemblers are: a search for the names would be a pass of its
/// own. `after_name_end` marks the bytes right after a `name_end` byte (`classes`): only those
/// can end a name, which leaves a few bytes a chunk to look at.
pub(super) fn named_hits(text: &[u8], base: usize, masks: &Masks, after_name_end: u64) -> u64 {
    let reverse = hits_where(masks.vee & after_name_end, |bit| {
        let at = base + bit;
        let rev = at >= 2 && text[at - 2..at].eq_ignore_ascii_case(b"re");
        rev && (text
            .get(at + 1..at + 5)
            .is_some_and(|rest| rest.eq_ignore_ascii_case(b"erse"))
            || at >= 5 && text[at - 5..at - 2].eq_ignore_ascii_case(b"str")
            || text.get(at + 1..at + 5) == Some(b" <<<"))
    });
    let closing = hits_where((masks.bracket | masks.quote) & after_name_end, |bit| {
        let at = base + bit;
        let before = &text[..at];
        let ends_with = |name: &[u8]| {
            before.len() >= name.len() && before[before.len() - name.len()..].eq_ignore_ascii_case(name)
        };
        if text[at] == b']' {
            return ends_with(b"[::-1");
        }
        NAMES
            .iter()
            .any(|(name, how)| *how == Undone::ROT13 && ends_with(name.as_bytes()))
    });
    reverse | closing
}

/// Whether a run of token characters, reversed, in rot13 or both, starts like a token. Called
/// on every long run of a window, so the first test is on the four bytes each reading starts
/// with, against a filter built at compile time, and only a run passing it is read.
#[inline]
pub(super) fn run_hides_token(run: &[u8]) -> bool {
    token_reading(run).is_some()
}

/// The reading of a run (reversed, in rot13 or both) that starts like a token, and which it is.
#[inline]
fn token_reading(run: &[u8]) -> Option<(Vec<u8>, Undone)> {
    let (first, last) = (run.first_chunk::<4>()?, run.last_chunk::<4>()?);
    let reversed = u32::from_le_bytes(*last);
    let may = may_be_a_head(rot13_head(u32::from_be_bytes(*first)))
        || may_be_a_head(reversed)
        || may_be_a_head(rot13_head(reversed));
    if !may {
        return None;
    }
    [
        Undone::REVERSED,
        Undone::ROT13,
        Undone::REVERSED.with(Undone::ROT13),
    ]
    .into_iter()
    .map(|how| (transformed(run, how), how))
    .find(|(reading, _)| starts_like_a_token(reading))
}

/// Four bytes (as a big-endian word) in rot13.
#[inline(always)]
fn rot13_head(head: u32) -> u32 {
    u32::from_be_bytes(head.to_be_bytes().map(|byte| ROT13[usize::from(byte)]))
}

/// Each byte in rot13, as a table: the run test reads it three times a run.
const ROT13: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = rot13(byte as u8);
        byte += 1;
    }
    table
};

/// `line` with its literals read through the transforms it names, or with its runs that
/// start like a token when transformed so read; None when it has neither. When the line
/// assigns the result (`secret = "…"[::-1]`), `NAME = "literal"` follows, as for an assembled
/// string, for the rules that know a secret by its name.
pub(super) fn undo(line: &[u8]) -> Option<(Vec<u8>, Undone)> {
    let mut named = Undone::default();
    for found in names().find_iter(line) {
        named.add(NAMES[found.pattern().as_usize()].1);
    }
    if named.is_empty() {
        return tokens_read(line);
    }
    let mut out = Vec::with_capacity(line.len());
    let mut copied = 0;
    for literal in literals(line) {
        out.extend_from_slice(&line[copied..literal.start]);
        out.extend_from_slice(&transformed(&line[literal.clone()], named));
        copied = literal.end;
    }
    if copied == 0 {
        return None;
    }
    out.extend_from_slice(&line[copied..]);
    super::parts::append_assignment(line, &mut out);
    Some((out, named))
}

/// The runs of `line` that start like a token when read transformed, so read.
fn tokens_read(line: &[u8]) -> Option<(Vec<u8>, Undone)> {
    let mut out = Vec::new();
    let mut undone = Undone::default();
    let mut copied = 0;
    for run in super::encodings::runs(line) {
        let Some((reading, how)) = token_reading(&line[run.clone()]) else {
            continue;
        };
        out.extend_from_slice(&line[copied..run.start]);
        out.extend_from_slice(&reading);
        copied = run.end;
        undone.add(how);
    }
    if undone.is_empty() {
        return None;
    }
    out.extend_from_slice(&line[copied..]);
    Some((out, undone))
}

/// The contents of the quoted literals of `line` (between their quotes) of at least
/// `MIN_LITERAL` characters.
fn literals(line: &[u8]) -> Vec<std::ops::Range<usize>> {
    super::literals::quoted(line)
        .map(|quoted| quoted.start + 1..quoted.end - 1)
        .filter(|contents| contents.len() >= MIN_LITERAL)
        .collect()
}

/// `text` reversed, in rot13, or both, as `how` says.
fn transformed(text: &[u8], how: Undone) -> Vec<u8> {
    let mut out: Vec<u8> = if how.contains(Undone::ROT13) {
        text.iter().map(|&b| rot13(b)).collect()
    } else {
        text.to_vec()
    };
    if how.contains(Undone::REVERSED) {
        out.reverse();
    }
    out
}

/// Whether four bytes (a big-endian word) may be the first four of a token prefix: a
/// 4096-bit filter of the prefixes' heads, which rules out almost every run with one
/// multiplication (a run is tested three times, and most runs are identifiers). A word it lets
/// through is checked against the prefixes themselves.
#[inline(always)]
fn may_be_a_head(head: u32) -> bool {
    let slot = head_slot(head);
    HEAD_FILTER[slot / 64] & (1 << (slot % 64)) != 0
}

#[inline(always)]
const fn head_slot(head: u32) -> usize {
    (head.wrapping_mul(0x9E37_79B1) >> 20) as usize
}

const HEAD_FILTER: [u64; 64] = {
    let mut filter = [0u64; 64];
    let mut index = 0;
    while index < TOKEN_PREFIXES.len() {
        let prefix = TOKEN_PREFIXES[index];
        let head = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let slot = head_slot(head);
        filter[slot / 64] |= 1 << (slot % 64);
        index += 1;
    }
    filter
};

fn starts_like_a_token(text: &[u8]) -> bool {
    TOKEN_PREFIXES.iter().any(|prefix| text.starts_with(prefix))
}

const fn rot13(byte: u8) -> u8 {
    match byte {
        b'a'..=b'z' => (byte - b'a' + 13) % 26 + b'a',
        b'A'..=b'Z' => (byte - b'A' + 13) % 26 + b'A',
        _ => byte,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reversed(text: &str) -> String {
        text.chars().rev().collect()
    }

    fn rot(text: &str) -> String {
        text.bytes().map(|b| rot13(b) as char).collect()
    }

    // Built at run time: the literal alone must not read as a token to anteater's own scan.
    fn token() -> String {
        format!("{}_{}", "ghp", "0123456789abcdefghijklmnopqrst3j70pI")
    }

    #[test]
    fn a_line_naming_a_transform_has_its_literals_read_through_it() {
        let line = format!("t = \"{}\"[::-1]", reversed(&token()));
        let (read, how) = undo(line.as_bytes()).unwrap();
        assert_eq!(how, Undone::REVERSED);
        assert!(String::from_utf8(read)
            .unwrap()
            .starts_with(&format!("t = \"{}\"", token())));
        let line = format!("t = codecs.decode('{}', 'ROT13')", rot(&token()));
        let (read, how) = undo(line.as_bytes()).unwrap();
        assert_eq!(how, Undone::ROT13);
        assert!(String::from_utf8(read).unwrap().contains(&token()));
    }

    #[test]
    fn a_run_that_reads_as_a_token_transformed_is_read_so_without_a_name() {
        for (written, how) in [
            (reversed(&token()), Undone::REVERSED),
            (rot(&token()), Undone::ROT13),
            (rot(&reversed(&token())), Undone::REVERSED.with(Undone::ROT13)),
        ] {
            assert!(run_hides_token(written.as_bytes()));
            let line = format!("value: {written}");
            let (read, done) = undo(line.as_bytes()).unwrap();
            assert_eq!(done, how);
            assert_eq!(String::from_utf8(read).unwrap(), format!("value: {}", token()));
        }
    }

    #[test]
    fn identifiers_and_lines_naming_nothing_are_left_alone() {
        for run in [
            "ListObjectsV2WithContext",
            "reverse_proxy_settings",
            "abcdefghijklmnop",
        ] {
            assert!(!run_hides_token(run.as_bytes()), "{run}");
        }
        assert!(undo(b"let name = \"previous-revision-id\";").is_none());
        assert!(undo(b"s = ''.join(reversed(short))").is_none());
    }

    #[test]
    fn names_are_marked_where_the_classifying_pass_sees_them() {
        let text = b"a = s[::-1]\nb = strrev($x)\nc = x.reverse()\nd = str_rot13($y)\ne = \"rot13\"\nf = tr 'A-Za-z' 'N-ZA-Mn-za-m'\nprevious revision\n";
        let mut marked = Vec::new();
        let mut carry = 0;
        for (base, masks) in super::super::classes::chunks(text) {
            let mut hits = named_hits(text, base, &masks, masks.name_end << 1 | carry);
            carry = masks.name_end >> 63;
            while hits != 0 {
                let at = base + hits.trailing_zeros() as usize;
                let line = text[..at].iter().filter(|&&b| b == b'\n').count();
                marked.push(line);
                hits &= hits - 1;
            }
        }
        marked.dedup();
        assert_eq!(marked, vec![0, 1, 2, 3, 4, 5]);
    }
}
