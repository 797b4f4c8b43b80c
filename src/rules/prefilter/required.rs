//! What every match of a content rule's regex must contain, checked on a candidate line before
//! the regex runs.

use regex_syntax::hir::{self, Hir, HirKind};

use super::parse;

/// What every match of a content rule's regex contains, checked on a candidate line before the
/// regex runs: byte strings (`://` and `@` for a URL with credentials) and small sets of bytes
/// of which one must appear (a quote, `["'`]`, for a quoted password). A line the keyword found
/// but that lacks one of them cannot match, and a substring or `memchr` search is far cheaper
/// than the regex. Only what the regex makes certain is listed; an alternation contributes
/// nothing.
#[derive(Debug, Default)]
pub struct RequiredLiterals {
    finders: Vec<memchr::memmem::Finder<'static>>,
    /// Sets of two or three bytes: one of each set must be on the line.
    any_of: Vec<Vec<u8>>,
}

impl RequiredLiterals {
    pub fn of(pattern: &str) -> Result<Self, String> {
        let hir = parse(pattern)?;
        let mut literals = Vec::new();
        let mut any_of = Vec::new();
        collect_required(&hir, &mut literals, &mut any_of);
        literals.sort();
        literals.dedup();
        any_of.sort();
        any_of.dedup();
        Ok(Self {
            finders: literals
                .iter()
                .map(|literal| memchr::memmem::Finder::new(literal).into_owned())
                .collect(),
            any_of,
        })
    }

    /// False when `line` lacks one of the literals or byte sets, so the regex cannot match on it.
    pub fn all_in(&self, line: &[u8]) -> bool {
        self.finders.iter().all(|finder| finder.find(line).is_some())
            && self.any_of.iter().all(|set| match set[..] {
                [a, b] => memchr::memchr2(a, b, line).is_some(),
                [a, b, c] => memchr::memchr3(a, b, c, line).is_some(),
                _ => true,
            })
    }
}

/// Adds to `literals` the byte strings every match of `hir` contains, and to `any_of` the small
/// byte sets of which every match contains one. A set that is one letter in both cases (`[pP]`
/// of a case-insensitive keyword) is left out: the keyword search has made sure of it already.
fn collect_required(hir: &Hir, literals: &mut Vec<Vec<u8>>, any_of: &mut Vec<Vec<u8>>) {
    match hir.kind() {
        HirKind::Literal(hir::Literal(bytes)) => literals.push(bytes.to_vec()),
        HirKind::Class(class) => {
            if let Some(bytes) = class.literal() {
                literals.push(bytes);
            } else if let Some(set) = small_byte_set(class) {
                any_of.push(set);
            }
        }
        HirKind::Capture(capture) => collect_required(&capture.sub, literals, any_of),
        HirKind::Repetition(repetition) if repetition.min > 0 => {
            collect_required(&repetition.sub, literals, any_of);
        }
        HirKind::Concat(parts) => parts
            .iter()
            .for_each(|part| collect_required(part, literals, any_of)),
        HirKind::Repetition(_) | HirKind::Alternation(_) | HirKind::Empty | HirKind::Look(_) => {}
    }
}

/// The bytes of a class of two or three bytes, unless they are one letter in both cases.
fn small_byte_set(class: &hir::Class) -> Option<Vec<u8>> {
    let bytes: Vec<u8> = match class {
        hir::Class::Bytes(class) => class
            .ranges()
            .iter()
            .flat_map(|range| range.start()..=range.end())
            .take(4)
            .collect(),
        hir::Class::Unicode(class) => class
            .ranges()
            .iter()
            .flat_map(|range| range.start()..=range.end())
            .take(4)
            .map(|c| u8::try_from(u32::from(c)).ok().filter(u8::is_ascii))
            .collect::<Option<_>>()?,
    };
    let one_letter = bytes.len() == 2 && bytes[0].eq_ignore_ascii_case(&bytes[1]);
    ((2..=3).contains(&bytes.len()) && !one_letter).then_some(bytes)
}
