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
/// own. Only the bytes right after a name's tail or after an `e` (`NameEnds`) can end a name,
/// which leaves few bytes a chunk to look at: a quote after an `e` (`"name"`) is most of JSON.
#[inline]
pub(super) fn named_hits(text: &[u8], base: usize, masks: &Masks, (after_tail, after_e): (u64, u64)) -> u64 {
    let reverse = hits_where(masks.vee & after_e, |bit| {
        let at = base + bit;
        if at < 2 || !text[at - 2].eq_ignore_ascii_case(&b'r') {
            return false;
        }
        text.get(at + 1..at + 5)
            .is_some_and(|rest| rest.eq_ignore_ascii_case(b"erse"))
            || at >= 5 && text[at - 5..at - 2].eq_ignore_ascii_case(b"str")
            || text.get(at + 1..at + 5) == Some(b" <<<")
    });
    let closing = hits_where((masks.bracket | masks.quote) & after_tail, |bit| {
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

/// Which bytes of each chunk come right after a name's tail, and right after an `e`, for
/// `named_hits`: the masks of the chunk before carry over its last byte.
#[derive(Debug, Default)]
pub(super) struct NameEnds {
    tail: u64,
    e: u64,
}

impl NameEnds {
    pub(super) fn after(&mut self, masks: &Masks) -> (u64, u64) {
        let after_tail = masks.name_tail << 1 | self.tail >> 63;
        let after_e = masks.e << 1 | self.e >> 63;
        (self.tail, self.e) = (masks.name_tail, masks.e);
        (after_tail, after_e)
    }
}

/// Whether a run of token characters, reversed, in rot13 or both, starts like a token. Called
/// on every long run of a window, so the first test is on the run's first and last four bytes
/// as they are, against filters built at compile time from the prefixes so transformed, and
/// only a run passing it is read.
#[inline]
pub(super) fn run_hides_token(run: &[u8]) -> bool {
    token_reading(run).is_some()
}

/// The reading of a run (reversed, in rot13 or both) that starts like a token, and which it is.
#[inline]
fn token_reading(run: &[u8]) -> Option<(Vec<u8>, Undone)> {
    let (first, last) = (run.first_chunk::<4>()?, run.last_chunk::<4>()?);
    if !in_filter(&ROT13_HEADS, u32::from_le_bytes(*first))
        && !in_filter(&REVERSED_HEADS, u32::from_le_bytes(*last))
    {
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

/// Whether four bytes (a little-endian word) are in a 4096-bit filter of four-byte words,
/// which rules out almost every run with one multiplication (a run is tested at both ends, and
/// most runs are identifiers). A word it lets through is read and checked against the prefixes
/// themselves.
#[inline(always)]
fn in_filter(filter: &[u64; 64], word: u32) -> bool {
    let slot = filter_slot(word);
    filter[slot / 64] & (1 << (slot % 64)) != 0
}

#[inline(always)]
const fn filter_slot(word: u32) -> usize {
    (word.wrapping_mul(0x9E37_79B1) >> 20) as usize
}

/// The first four bytes of a run that starts like a token when read in rot13: each prefix's
/// head in rot13 (which is its own inverse).
const ROT13_HEADS: [u64; 64] = heads_filter(false, true);
/// The last four bytes of a run that starts like a token when read reversed, or reversed and
/// in rot13: each prefix's head reversed, as it is and in rot13.
const REVERSED_HEADS: [u64; 64] = {
    let (reversed, both) = (heads_filter(true, false), heads_filter(true, true));
    let mut filter = [0u64; 64];
    let mut index = 0;
    while index < 64 {
        filter[index] = reversed[index] | both[index];
        index += 1;
    }
    filter
};

const fn heads_filter(reversed: bool, in_rot13: bool) -> [u64; 64] {
    let mut filter = [0u64; 64];
    let mut index = 0;
    while index < TOKEN_PREFIXES.len() {
        let prefix = TOKEN_PREFIXES[index];
        let mut head = [prefix[0], prefix[1], prefix[2], prefix[3]];
        if reversed {
            head = [head[3], head[2], head[1], head[0]];
        }
        if in_rot13 {
            head = [rot13(head[0]), rot13(head[1]), rot13(head[2]), rot13(head[3])];
        }
        let slot = filter_slot(u32::from_le_bytes(head));
        filter[slot / 64] |= 1 << (slot % 64);
        index += 1;
    }
    filter
}

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

    /// The filters are built from the prefixes transformed, at compile time: each prefix in
    /// each transform must pass them.
    #[test]
    fn every_prefix_hidden_in_every_transform_is_read() {
        let body = "Q7wPz3Kd9XbT2mVn8RcYs4Lf";
        for prefix in TOKEN_PREFIXES {
            let token = format!("{}{body}", String::from_utf8_lossy(prefix));
            for (written, how) in [
                (reversed(&token), Undone::REVERSED),
                (rot(&token), Undone::ROT13),
                (rot(&reversed(&token)), Undone::REVERSED.with(Undone::ROT13)),
            ] {
                let (reading, found) =
                    token_reading(written.as_bytes()).unwrap_or_else(|| panic!("{written}"));
                assert_eq!((reading, found), (token.clone().into_bytes(), how), "{written}");
            }
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
        assert_eq!(marked_lines(text), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn names_are_marked_wherever_a_chunk_boundary_cuts_them() {
        for name in [
            "s[::-1]",
            "strrev($x)",
            "x.reverse()",
            "rev <<< $y",
            "str_rot13($y)",
            "'N-ZA-Mn-za-m'",
        ] {
            for padding in 0..70 {
                let text = format!("{}{name}\n", " ".repeat(padding));
                assert_eq!(
                    marked_lines(text.as_bytes()),
                    vec![0],
                    "{name} after {padding} spaces"
                );
            }
        }
        assert!(marked_lines(b"level event previous_v severity \"name\" ").is_empty());
    }

    /// The lines (0-based) holding a byte `named_hits` marks.
    fn marked_lines(text: &[u8]) -> Vec<usize> {
        let mut marked = Vec::new();
        let mut ends = NameEnds::default();
        for (base, masks) in super::super::classes::chunks(text) {
            let mut hits = named_hits(text, base, &masks, ends.after(&masks));
            while hits != 0 {
                let at = base + hits.trailing_zeros() as usize;
                let line = text[..at].iter().filter(|&&b| b == b'\n').count();
                marked.push(line);
                hits &= hits - 1;
            }
        }
        marked.dedup();
        marked
    }
}
